//! One sealed entry: a patient's summary as received, sealed under the user's key with
//! XChaCha20-Poly1305. The entry's identity — format version, user, patient, fetched-at — is
//! the associated data, so an entry moved to another user or patient slot, given another
//! fetch time, or edited in any byte fails to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::CacheError;
use crate::keys::UserKey;

pub const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Who and what an entry is; bound to the ciphertext as associated data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryIdentity {
    pub user_id: String,
    /// The patient: their NHS number, or the keyed slot the store files it under (a keyed
    /// hash of the NHS number, which binds the entry to the patient just as well).
    pub patient: String,
    /// Unix milliseconds when the summary was fetched from the spine.
    pub fetched_at_ms: i64,
}

impl EntryIdentity {
    fn associated_data(&self) -> Vec<u8> {
        // Length-prefixed fields: no two identities share an encoding.
        let mut out = vec![FORMAT_VERSION];
        for field in [self.user_id.as_bytes(), self.patient.as_bytes()] {
            out.extend_from_slice(&(field.len() as u32).to_be_bytes());
            out.extend_from_slice(field);
        }
        out.extend_from_slice(&self.fetched_at_ms.to_be_bytes());
        out
    }
}

/// Seals `plaintext` for `identity` under `key`: version ‖ nonce ‖ ciphertext+tag.
pub fn seal(
    key: &UserKey,
    identity: &EntryIdentity,
    plaintext: &[u8],
) -> Result<Vec<u8>, CacheError> {
    if identity.user_id != key.user_id {
        return Err(CacheError::WrongUser);
    }
    let cipher = XChaCha20Poly1305::new_from_slice(&key.key[..])
        .map_err(|_| CacheError::Malformed("key length".into()))?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let aad = identity.associated_data();
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CacheError::Malformed("encryption".into()))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens an entry stored for `identity`. Any change to the bytes, or a different identity,
/// is `Tampered`; the caller deletes such an entry and never shows it.
pub fn open(
    key: &UserKey,
    identity: &EntryIdentity,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CacheError> {
    if identity.user_id != key.user_id {
        return Err(CacheError::WrongUser);
    }
    let (&version, rest) = stored.split_first().ok_or(CacheError::Tampered)?;
    if version != FORMAT_VERSION {
        return Err(CacheError::UnknownFormat);
    }
    if rest.len() < NONCE_LEN + 16 {
        return Err(CacheError::Tampered);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CacheError::Tampered)?;
    let cipher = XChaCha20Poly1305::new_from_slice(&key.key[..])
        .map_err(|_| CacheError::Malformed("key length".into()))?;
    let aad = identity.associated_data();
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CacheError::Tampered)
}

//! One sealed entry: a patient's summary as received, sealed under the user's key with
//! XChaCha20-Poly1305. The entry's identity — format version, user, patient, fetched-at — is
//! the associated data, so an entry moved to another user or patient slot, given another
//! fetch time, or edited in any byte fails to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::CacheError;
use crate::keys::UserKey;

/// Format 2: sealed under the user's cipher key, filed under slots from the slot key.
pub const FORMAT_VERSION: u8 = 2;
/// Format 1: one key for both; read only to reseal as format 2.
pub(crate) const LEGACY_FORMAT_VERSION: u8 = 1;
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
    fn associated_data(&self, version: u8) -> Vec<u8> {
        // Length-prefixed fields: no two identities share an encoding.
        let mut out = vec![version];
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
    seal_with(key.cipher_key(), identity, plaintext)
}

/// Seals under a given 32-byte key (the user's cipher key, or another in tests).
pub(crate) fn seal_with(
    cipher_key: &[u8; 32],
    identity: &EntryIdentity,
    plaintext: &[u8],
) -> Result<Vec<u8>, CacheError> {
    seal_as(FORMAT_VERSION, cipher_key, identity, plaintext)
}

fn seal_as(
    version: u8,
    cipher_key: &[u8; 32],
    identity: &EntryIdentity,
    plaintext: &[u8],
) -> Result<Vec<u8>, CacheError> {
    let cipher = XChaCha20Poly1305::new_from_slice(&cipher_key[..])
        .map_err(|_| CacheError::Malformed("key length".into()))?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let aad = identity.associated_data(version);
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
    out.push(version);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens an entry stored for `identity`. Any change to the bytes, or a different identity,
/// is `Tampered`; the caller deletes such an entry and never shows it. Only the current
/// format opens here (an older one is resealed by the store first).
pub fn open(
    key: &UserKey,
    identity: &EntryIdentity,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CacheError> {
    if identity.user_id != key.user_id {
        return Err(CacheError::WrongUser);
    }
    open_as(FORMAT_VERSION, key.cipher_key(), identity, stored)
}

/// Opens what format 1 sealed (under the single key it used), to reseal it as format 2.
pub(crate) fn open_legacy(
    key: &UserKey,
    identity: &EntryIdentity,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CacheError> {
    if identity.user_id != key.user_id {
        return Err(CacheError::WrongUser);
    }
    open_as(LEGACY_FORMAT_VERSION, key.legacy_key(), identity, stored)
}

fn open_as(
    version: u8,
    cipher_key: &[u8; 32],
    identity: &EntryIdentity,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CacheError> {
    let (&found, rest) = stored.split_first().ok_or(CacheError::Tampered)?;
    if found != version {
        return Err(CacheError::UnknownFormat);
    }
    if rest.len() < NONCE_LEN + 16 {
        return Err(CacheError::Tampered);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CacheError::Tampered)?;
    let cipher = XChaCha20Poly1305::new_from_slice(&cipher_key[..])
        .map_err(|_| CacheError::Malformed("key length".into()))?;
    let aad = identity.associated_data(version);
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

/// What format 1 wrote, for tests of reading an older cache.
#[cfg(test)]
pub(crate) fn seal_legacy(
    key: &UserKey,
    identity: &EntryIdentity,
    plaintext: &[u8],
) -> Result<Vec<u8>, CacheError> {
    seal_as(LEGACY_FORMAT_VERSION, key.legacy_key(), identity, plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::a_key;

    fn identity(user: &str) -> EntryIdentity {
        EntryIdentity {
            user_id: user.into(),
            patient: "9990000018".into(),
            fetched_at_ms: 1_763_900_000_000,
        }
    }

    const BUNDLE: &[u8] = br#"{"resourceType":"Bundle","type":"document"}"#;

    #[test]
    fn an_entry_round_trips_under_the_cipher_key() {
        let key = a_key("555000000101");
        let sealed = seal(&key, &identity("555000000101"), BUNDLE).expect("seal");
        assert_eq!(sealed[0], FORMAT_VERSION);
        let opened = open(&key, &identity("555000000101"), &sealed).expect("open");
        assert_eq!(&opened[..], BUNDLE);
    }

    /// Something sealed under the slot key (the one patient slots are HMAC'd under) does not
    /// open as an entry: the two keys are not interchangeable.
    #[test]
    fn an_entry_sealed_under_the_slot_key_does_not_open() {
        let key = a_key("555000000101");
        let sealed = seal_with(key.slot_key(), &identity("555000000101"), BUNDLE).expect("seal");
        assert_eq!(
            open(&key, &identity("555000000101"), &sealed).err(),
            Some(CacheError::Tampered)
        );
    }

    /// Format 1 opens only by the legacy path and under the legacy key; format 2 is never
    /// read as format 1 nor the other way round.
    #[test]
    fn the_two_formats_do_not_open_as_each_other() {
        let key = a_key("555000000101");
        let old = seal_legacy(&key, &identity("555000000101"), BUNDLE).expect("seal");
        let new = seal(&key, &identity("555000000101"), BUNDLE).expect("seal");
        let id = identity("555000000101");
        assert_eq!(&open_legacy(&key, &id, &old).expect("legacy")[..], BUNDLE);
        assert_eq!(open(&key, &id, &old).err(), Some(CacheError::UnknownFormat));
        assert_eq!(
            open_legacy(&key, &id, &new).err(),
            Some(CacheError::UnknownFormat)
        );
        // Relabelled as the other format, neither opens.
        let mut relabelled = old.clone();
        relabelled[0] = FORMAT_VERSION;
        assert_eq!(
            open(&key, &id, &relabelled).err(),
            Some(CacheError::Tampered)
        );
    }
}

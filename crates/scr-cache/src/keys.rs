//! The per-user cache key. Two halves, each useless alone:
//!
//! - the **card secret**: ECDH between the card's key-management key (PIV slot 9D) and a
//!   public key kept in the user's cache header. When the header is made, a throwaway key
//!   pair is generated, the secret computed from its private half and the card's 9D
//!   certificate, and the private half discarded: from then on only the card (after its
//!   passcode) can produce that secret again;
//! - the **device secret**: 256 random bits in this machine's OS keyring.
//!
//! From `HKDF-SHA256(salt = version label, ikm = card secret ‖ device secret)` come two
//! subkeys, one per purpose, by their own labels (`info = label ‖ user id`): the **cipher
//! key** entries and queued audit records are sealed under, and the **slot key** patient
//! slots are HMAC'd under. The key of format 1 (`info = user id`, used for both) is derived
//! only to read and reseal a cache written by an older version. The header also keeps a check value for each half (an HMAC under that
//! half of a fixed label), so a wrong card and a wrong device secret are told apart and
//! refused before any entry is touched; the check values reveal nothing of the secrets.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::CacheError;

pub const KEY_LABEL: &[u8] = b"scr-viewer offline cache v1";
/// HKDF `info` prefixes of the two subkeys (then the user id): distinct, so neither key can
/// stand in for the other.
const CIPHER_KEY_LABEL: &[u8] = b"scr cache entry key v1\0";
const SLOT_KEY_LABEL: &[u8] = b"scr cache slot id v1\0";
const SLOT_LABEL: &[u8] = b"patient slot v1\0";
const CARD_CHECK_LABEL: &[u8] = b"scr-viewer cache card check v1";
const DEVICE_CHECK_LABEL: &[u8] = b"scr-viewer cache device check v1";
const CARD_BINDING_LABEL: &[u8] = scr_model::signing::CACHE_HEADER_LABEL;

/// A 32-byte secret, wiped on drop, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<[u8; 32]>);

impl Secret {
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, CacheError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CacheError::Malformed("a secret that is not 32 bytes".into()))?;
        Ok(Secret(Zeroizing::new(arr)))
    }

    /// A fresh random device secret.
    pub fn random() -> Secret {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let s = Secret(Zeroizing::new(bytes));
        bytes.zeroize();
        s
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

fn check_value(secret: &Secret, label: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// What the cache keeps about a user, in clear: enough to ask the card for its half and to
/// check both halves, nothing that opens an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserHeader {
    pub user_id: String,
    /// The ephemeral public key (SEC1 uncompressed) the card does ECDH against.
    pub ephemeral_public: Vec<u8>,
    pub card_check: [u8; 32],
    pub device_check: [u8; 32],
    /// The card's own signature (9A, DER ECDSA) over [`UserHeader::card_binding_message`]:
    /// anyone can make a header from the card's public 9D certificate, but only the card,
    /// after its passcode, can vouch for one. A header whose binding does not verify against
    /// the card's certificate is never used.
    pub card_binding: Vec<u8>,
}

impl UserHeader {
    /// Makes a header for `user_id` whose card half only the holder of the key in
    /// `key_management_public` (the card's 9D certificate key) can recompute. Returns the
    /// header and, for the first entry, the card secret itself. Its card binding is empty
    /// until the card signs it.
    pub fn create(
        user_id: &str,
        key_management_public: &p256::PublicKey,
        device: &Secret,
    ) -> (UserHeader, Secret) {
        let (mut header, card) = UserHeader::begin(key_management_public);
        header.user_id = user_id.to_string();
        header.bind_device(device);
        (header, card)
    }

    /// The first half of making a header during sign-in, before the user id and the device
    /// secret are known: the ephemeral key and the card half. [`UserHeader::bind_device`]
    /// and the card's signature over [`UserHeader::card_binding_message`] complete it.
    pub fn begin(key_management_public: &p256::PublicKey) -> (UserHeader, Secret) {
        let ephemeral = p256::ecdh::EphemeralSecret::random(&mut rand::rngs::OsRng);
        let shared = ephemeral.diffie_hellman(key_management_public);
        let card = Secret(Zeroizing::new((*shared.raw_secret_bytes()).into()));
        let header = UserHeader {
            user_id: String::new(),
            ephemeral_public: ephemeral
                .public_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            card_check: check_value(&card, CARD_CHECK_LABEL),
            device_check: [0; 32],
            card_binding: Vec::new(),
        };
        // `ephemeral` is dropped (and zeroized by p256) here: the card is now needed.
        (header, card)
    }

    /// Records the check value of this machine's device secret.
    pub fn bind_device(&mut self, device: &Secret) {
        self.device_check = check_value(device, DEVICE_CHECK_LABEL);
    }

    /// What the card signs to vouch for this header: its ECDH public key and card check.
    pub fn card_binding_message(&self) -> Vec<u8> {
        let mut m = CARD_BINDING_LABEL.to_vec();
        m.extend_from_slice(&self.ephemeral_public);
        m.extend_from_slice(&self.card_check);
        m
    }

    /// The public key to hand to the card for ECDH.
    pub fn ephemeral_public_key(&self) -> Result<p256::PublicKey, CacheError> {
        p256::PublicKey::from_sec1_bytes(&self.ephemeral_public)
            .map_err(|_| CacheError::Malformed("the header's public key".into()))
    }

    /// Checks both halves and derives the user's key.
    pub fn user_key(&self, card: &Secret, device: &Secret) -> Result<UserKey, CacheError> {
        if !constant_time_eq(&check_value(card, CARD_CHECK_LABEL), &self.card_check) {
            return Err(CacheError::WrongCard);
        }
        if !constant_time_eq(&check_value(device, DEVICE_CHECK_LABEL), &self.device_check) {
            return Err(CacheError::WrongDeviceSecret);
        }
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(card.expose());
        ikm[32..].copy_from_slice(device.expose());
        let hk = Hkdf::<Sha256>::new(Some(KEY_LABEL), &ikm[..]);
        let expand = |label: &[u8]| -> Result<Zeroizing<[u8; 32]>, CacheError> {
            let mut key = Zeroizing::new([0u8; 32]);
            hk.expand_multi_info(&[label, self.user_id.as_bytes()], &mut key[..])
                .map_err(|_| CacheError::Malformed("key derivation".into()))?;
            Ok(key)
        };
        Ok(UserKey {
            user_id: self.user_id.clone(),
            cipher: expand(CIPHER_KEY_LABEL)?,
            slot: expand(SLOT_KEY_LABEL)?,
            // Format 1's single key: `info` was the user id alone.
            legacy: expand(b"")?,
        })
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The derived keys of one user's cache. Wiped on drop.
pub struct UserKey {
    pub(crate) user_id: String,
    /// Seals entries and queued audit records (XChaCha20-Poly1305).
    cipher: Zeroizing<[u8; 32]>,
    /// Files entries: HMAC-SHA256 of the NHS number.
    slot: Zeroizing<[u8; 32]>,
    /// Format 1's key, which did both: used only to open and reseal what an older version
    /// wrote (`CacheStore` does that once per user), never to seal or file anything new.
    legacy: Zeroizing<[u8; 32]>,
}

fn slot_under(key: &[u8; 32], nhs_number: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(SLOT_LABEL);
    mac.update(nhs_number.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl UserKey {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The XChaCha20-Poly1305 key entries and queued audit records are sealed under.
    pub(crate) fn cipher_key(&self) -> &[u8; 32] {
        &self.cipher
    }

    /// The HMAC key patient slots are computed under.
    pub(crate) fn slot_key(&self) -> &[u8; 32] {
        &self.slot
    }

    /// Format 1's single key (see the field).
    pub(crate) fn legacy_key(&self) -> &[u8; 32] {
        &self.legacy
    }

    /// Where the store files a patient's entry: HMAC of the NHS number under the user's
    /// slot key, so the file names no patient to anyone without the key.
    pub fn patient_slot(&self, nhs_number: &str) -> String {
        slot_under(self.slot_key(), nhs_number)
    }

    /// Where format 1 filed the entry (under the single key).
    pub(crate) fn legacy_patient_slot(&self, nhs_number: &str) -> String {
        slot_under(self.legacy_key(), nhs_number)
    }
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({}, <hidden>)", self.user_id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn a_key(user: &str) -> UserKey {
        let card_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let device = Secret::random();
        let (header, card) = UserHeader::create(user, &card_key.public_key(), &device);
        header
            .user_key(&card, &device)
            .expect("right card and device")
    }

    /// One key, one purpose: the key entries are sealed under is not the key patient slots
    /// are HMAC'd under, so neither use can be turned against the other.
    #[test]
    fn the_cipher_key_and_the_slot_key_differ() {
        let key = a_key("555000000101");
        assert_ne!(key.cipher_key(), key.slot_key());
        assert_ne!(key.cipher_key(), key.legacy_key());
        assert_ne!(key.slot_key(), key.legacy_key());
        // The slot is not an HMAC under the cipher key.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.cipher_key()).expect("hmac");
        mac.update(b"patient slot v1\0");
        mac.update(b"9990000018");
        let under_cipher_key: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(key.patient_slot("9990000018"), under_cipher_key);
    }
}

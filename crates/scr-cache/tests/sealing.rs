//! Each way of opening an entry without the right card, device, user or bytes fails closed
//! with its own error; the right ones open it.

use scr_cache::*;

struct Holder {
    /// Stands in for the card's 9D private key (the card does this ECDH in production).
    card_key: p256::SecretKey,
    device: Secret,
    header: UserHeader,
}

impl Holder {
    fn new(user: &str) -> Holder {
        let card_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let device = Secret::random();
        let (header, _) = UserHeader::create(user, &card_key.public_key(), &device);
        Holder {
            card_key,
            device,
            header,
        }
    }

    /// What the card answers to GENERAL AUTHENTICATE (ECDH) with the header's public key.
    fn card_secret(&self) -> Secret {
        let peer = self.header.ephemeral_public_key().expect("header key");
        let shared =
            p256::ecdh::diffie_hellman(self.card_key.to_nonzero_scalar(), peer.as_affine());
        Secret::from_bytes(shared.raw_secret_bytes()).expect("32 bytes")
    }

    fn key(&self) -> UserKey {
        self.header
            .user_key(&self.card_secret(), &self.device)
            .expect("right card and device")
    }
}

fn identity(user: &str) -> EntryIdentity {
    EntryIdentity {
        user_id: user.into(),
        patient: "9990000018".into(),
        fetched_at_ms: 1_763_900_000_000,
    }
}

const BUNDLE: &[u8] = br#"{"resourceType":"Bundle","type":"document"}"#;

#[test]
fn the_card_recomputes_the_secret_made_at_creation() {
    let card_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let device = Secret::random();
    let (header, at_creation) = UserHeader::create("555000000101", &card_key.public_key(), &device);
    let peer = header.ephemeral_public_key().expect("key");
    let by_card = p256::ecdh::diffie_hellman(card_key.to_nonzero_scalar(), peer.as_affine());
    assert_eq!(at_creation.expose(), &by_card.raw_secret_bytes()[..]);
}

#[test]
fn round_trip_with_the_right_card_device_and_user() {
    let a = Holder::new("555000000101");
    let sealed = seal(&a.key(), &identity("555000000101"), BUNDLE).expect("seal");
    assert!(
        !sealed.windows(BUNDLE.len()).any(|w| w == BUNDLE),
        "plaintext visible"
    );
    let opened = open(&a.key(), &identity("555000000101"), &sealed).expect("open");
    assert_eq!(&opened[..], BUNDLE);
}

#[test]
fn another_card_is_refused_before_any_entry() {
    let a = Holder::new("555000000101");
    let other = Holder::new("555000000101");
    assert_eq!(
        a.header.user_key(&other.card_secret(), &a.device).err(),
        Some(CacheError::WrongCard)
    );
}

#[test]
fn another_device_secret_is_refused() {
    let a = Holder::new("555000000101");
    assert_eq!(
        a.header.user_key(&a.card_secret(), &Secret::random()).err(),
        Some(CacheError::WrongDeviceSecret)
    );
}

#[test]
fn an_edited_byte_anywhere_is_tampering() {
    let a = Holder::new("555000000101");
    let sealed = seal(&a.key(), &identity("555000000101"), BUNDLE).expect("seal");
    for i in 1..sealed.len() {
        let mut edited = sealed.clone();
        edited[i] ^= 0x01;
        assert_eq!(
            open(&a.key(), &identity("555000000101"), &edited).err(),
            Some(CacheError::Tampered),
            "byte {i}"
        );
    }
    let mut version = sealed.clone();
    version[0] = 9;
    assert_eq!(
        open(&a.key(), &identity("555000000101"), &version).err(),
        Some(CacheError::UnknownFormat)
    );
    assert_eq!(
        open(&a.key(), &identity("555000000101"), &sealed[..10]).err(),
        Some(CacheError::Tampered)
    );
}

#[test]
fn edited_associated_data_is_tampering() {
    let a = Holder::new("555000000101");
    let sealed = seal(&a.key(), &identity("555000000101"), BUNDLE).expect("seal");
    let mut other_patient = identity("555000000101");
    other_patient.patient = "9990000026".into();
    let mut other_time = identity("555000000101");
    other_time.fetched_at_ms += 1;
    for id in [other_patient, other_time] {
        assert_eq!(
            open(&a.key(), &id, &sealed).err(),
            Some(CacheError::Tampered)
        );
    }
}

#[test]
fn an_entry_copied_between_users_does_not_open() {
    let a = Holder::new("555000000101");
    let b = Holder::new("555000000202");
    let sealed = seal(&a.key(), &identity("555000000101"), BUNDLE).expect("seal");
    // B's key on A's entry as filed under A: not B's to open.
    assert_eq!(
        open(&b.key(), &identity("555000000101"), &sealed).err(),
        Some(CacheError::WrongUser)
    );
    // A's entry copied into B's slot: B's key and B's identity do not open it.
    assert_eq!(
        open(&b.key(), &identity("555000000202"), &sealed).err(),
        Some(CacheError::Tampered)
    );
    // Nor can anyone seal into another user's slot with their own key.
    assert_eq!(
        seal(&b.key(), &identity("555000000101"), BUNDLE).err(),
        Some(CacheError::WrongUser)
    );
}

#[test]
fn secrets_do_not_print() {
    let s = Secret::random();
    assert_eq!(format!("{s:?}"), "Secret(<hidden>)");
    let a = Holder::new("555000000101");
    assert_eq!(format!("{:?}", a.key()), "UserKey(555000000101, <hidden>)");
}

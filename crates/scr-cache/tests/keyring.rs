//! The device secret in the real OS keyring (Secret Service: gnome-keyring under
//! `dbus-run-session`, as `scripts/test` starts it). With `SCR_REQUIRE_KEYRING=1` a missing
//! keyring fails these tests instead of skipping them.

use scr_cache::*;

fn keyring(test: &str) -> Option<DeviceKeyring> {
    let k = DeviceKeyring::new(&format!("scr-viewer-test-{}-{test}", std::process::id()));
    match k.probe() {
        Ok(()) => Some(k),
        Err(e) if std::env::var("SCR_REQUIRE_KEYRING").as_deref() == Ok("1") => {
            panic!("SCR_REQUIRE_KEYRING=1 but the keyring is not usable: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no usable OS keyring ({e})");
            None
        }
    }
}

#[test]
fn each_user_gets_one_lasting_device_secret_until_it_is_deleted() {
    let Some(k) = keyring("lasting") else { return };
    let first = k.get_or_create("555000000101").expect("create");
    let again = k.get_or_create("555000000101").expect("read back");
    assert_eq!(
        first.expose(),
        again.expose(),
        "the same secret is read back"
    );
    let other = k.get_or_create("555000000505").expect("other user");
    assert_ne!(first.expose(), other.expose(), "each user has their own");
    assert_eq!(
        k.get("555000000101").expect("get").map(|s| *s.expose()),
        Some(*first.expose())
    );
    k.delete("555000000101").expect("delete");
    assert!(k.get("555000000101").expect("get").is_none());
    k.delete("555000000101").expect("deleting twice is fine");
    k.delete("555000000505").expect("clean up");
}

#[test]
fn a_new_device_secret_does_not_open_what_the_old_one_sealed() {
    let Some(k) = keyring("replaced") else { return };
    let card_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let device = k.get_or_create("555000000101").expect("create");
    let (header, card) = UserHeader::create("555000000101", &card_key.public_key(), &device);
    assert!(header.user_key(&card, &device).is_ok());
    // The keyring entry is lost (another machine, or "forget this device"): a fresh secret
    // with the same card is refused before any entry is touched.
    k.delete("555000000101").expect("delete");
    let fresh = k.get_or_create("555000000101").expect("fresh");
    assert_eq!(
        header.user_key(&card, &fresh).err(),
        Some(CacheError::WrongDeviceSecret)
    );
    k.delete("555000000101").expect("clean up");
}

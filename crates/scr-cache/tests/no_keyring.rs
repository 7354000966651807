//! With no Secret Service on the session bus the keyring says so at once, as
//! `KeyringUnavailable`: the app turns the cache off and never falls back to a file.

use scr_cache::*;

#[test]
fn no_secret_service_means_keyring_unavailable_not_a_fallback() {
    // The only test in this binary, so changing the environment races nothing.
    let dir = tempfile::tempdir().expect("dir");
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}/no-bus", dir.path().display()),
    );
    let k = DeviceKeyring::new("scr-viewer-test-no-bus");
    let started = std::time::Instant::now();
    match k.probe() {
        Err(CacheError::KeyringUnavailable(why)) => assert!(!why.is_empty()),
        other => panic!("expected KeyringUnavailable, got {other:?}"),
    }
    assert!(matches!(
        k.get_or_create("555000000101"),
        Err(CacheError::KeyringUnavailable(_))
    ));
    // Nothing was written anywhere in its place.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    eprintln!("refused in {:?}", started.elapsed());
}

//! The spine's settings file (`DIR/spine.toml`), read and checked as `SpineConfig::load`
//! does (without the environment).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scr_spine::config::SpineConfig;

/// Milliseconds since 1970 some years from now.
const NOW_MS: i64 = 2_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = SpineConfig::from_toml(text) else {
        return;
    };
    // Accepted settings are ones the spine can run with: auth.rs adds each time, in
    // milliseconds, to the clock, and a pool needs a connection.
    for secs in [
        config.challenge_secs,
        config.session_idle_secs,
        config.session_absolute_secs,
    ] {
        let expiry = secs.checked_mul(1000).and_then(|ms| ms.checked_add(NOW_MS));
        assert!(secs > 0 && expiry.is_some(), "accepted a time of {secs} s");
    }
    assert!(
        config.max_db_connections > 0,
        "accepted a pool of no connections"
    );
    // What the spine writes back out (`spine-setup`) must read back in.
    let again = config.to_toml();
    assert!(
        SpineConfig::from_toml(&again).is_ok(),
        "to_toml wrote settings it cannot read: {again:?}"
    );
    let _ = config.database_url(std::path::Path::new("/nonexistent"));
});

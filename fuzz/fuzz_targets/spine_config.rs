//! The spine's settings file (`DIR/spine.toml`), parsed as `SpineConfig::load` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scr_spine::config::SpineConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = toml::from_str::<SpineConfig>(text) {
        // What the spine writes back out (`spine-setup`) must read back in.
        let again = config.to_toml();
        assert!(
            toml::from_str::<SpineConfig>(&again).is_ok(),
            "to_toml wrote settings it cannot read: {again:?}"
        );
        let _ = config.database_url(std::path::Path::new("/nonexistent"));
    }
});

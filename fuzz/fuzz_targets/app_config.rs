//! The viewer's settings file, through `AppConfig::from_text` (no disk, no real environment:
//! the `SCR_*` variables are taken from the end of the input when it has a NUL separator).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use scr_app::config::AppConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // `TOML \0 NAME=value \0 NAME=value …`
    let mut parts = input.split('\0');
    let text = parts.next().unwrap_or_default();
    let env: Vec<(String, String)> = parts
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let _ = AppConfig::from_text(Path::new("/etc/scr-viewer/viewer.toml"), text, lookup);
});

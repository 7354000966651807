//! Not a fuzz target: writes the seed corpora. A libFuzzer binary like the others so that it
//! needs no second build of the workspace without the fuzzing flags; run it with no input:
//! `SCR_FUZZ_SEEDS_OUT=DIR SCR_FUZZ_IPS_DIR=DIR seeds -runs=0`
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        let out = std::env::var_os("SCR_FUZZ_SEEDS_OUT").map(PathBuf::from);
        let Some(out) = out else {
            eprintln!("seeds: set SCR_FUZZ_SEEDS_OUT to the folder to write the seeds into");
            std::process::exit(2);
        };
        let ips = std::env::var_os("SCR_FUZZ_IPS_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        scr_fuzz::seeds::write_all(&out, ips.as_deref());
    },
    |_data: &[u8]| {}
);

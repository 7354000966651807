//! A GP practice's transaction Bundle, as `POST /FHIR/R4` receives it.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    let _ = scr_model::fhir::parse_upload(data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    scr_fuzz::mutate_json(data, size, max_size, seed)
});

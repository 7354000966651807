//! A patient summary document as the viewer reads it from `$summary` (or another vendor's IPS).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = scr_model::fhir::parse_document(data) {
        // The viewer shows the dates; formatting them must not panic either.
        let _ = doc.date.map(|d| d.to_string());
        let _ = doc.patient.birth_date.map(|d| d.to_string());
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    scr_fuzz::mutate_json(data, size, max_size, seed)
});

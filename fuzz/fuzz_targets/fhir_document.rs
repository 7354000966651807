//! A patient summary document as the viewer reads it from `$summary` (or another vendor's IPS).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = scr_model::fhir::parse_document(data) {
        // The viewer shows the dates; formatting them must not panic either.
        let _ = doc.date.map(|d| d.to_string());
        let _ = doc.patient.birth_date.map(|d| d.to_string());
        // And each section's own text, as the window shows it and the spine re-serves it.
        let n = &doc.summary.narratives;
        for xhtml in [&n.allergies, &n.medications, &n.problems]
            .into_iter()
            .flatten()
        {
            scr_fuzz::narrative::check(xhtml);
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    scr_fuzz::mutate_json(data, size, max_size, seed)
});

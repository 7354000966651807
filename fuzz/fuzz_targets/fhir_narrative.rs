//! A section narrative (`text.div`, XHTML as the document sent it) on its own, byte by byte:
//! `fhir_document` reaches the same reader, but its JSON mutator seldom changes the markup
//! inside a string. See `scr_fuzz::narrative` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A JSON string is always UTF-8; the lossy form lets every input reach the reader.
    scr_fuzz::narrative::check(&String::from_utf8_lossy(data));
});

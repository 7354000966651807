//! An NHS number as typed or sent (`943 476 5919`, `943-476-5919`, …).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scr_model::NhsNumber;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = NhsNumber::parse(s) {
        // A number that parses prints and parses back to itself.
        assert_eq!(NhsNumber::parse(&n.to_string()), Ok(n));
        assert_eq!(NhsNumber::parse(&n.as_digits()), Ok(n));
    }
});

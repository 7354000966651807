//! The NHS number: Modulus 11, input forms, display, the 999 test range.

use proptest::prelude::*;
use scr_model::{NhsNumber, NhsNumberError};

#[test]
fn known_numbers() {
    let n = NhsNumber::parse("9434765919").expect("valid");
    assert_eq!(n.to_string(), "943 476 5919");
    assert_eq!(NhsNumber::parse("943 476 5919"), Ok(n));
    assert_eq!(NhsNumber::parse("943-476-5919"), Ok(n));
    assert_eq!(NhsNumber::parse(" 943 476 5919 "), Ok(n));
    assert_eq!(
        NhsNumber::parse("9434765918"),
        Err(NhsNumberError::CheckDigitMismatch)
    );
    assert_eq!(
        NhsNumber::parse("943476591"),
        Err(NhsNumberError::WrongLength(9))
    );
    assert_eq!(
        NhsNumber::parse("94347659190"),
        Err(NhsNumberError::WrongLength(11))
    );
    assert_eq!(
        NhsNumber::parse("94347A5919"),
        Err(NhsNumberError::NotDigits)
    );
    assert_eq!(NhsNumber::parse(""), Err(NhsNumberError::WrongLength(0)));
    assert!(!n.is_test_range());
}

#[test]
fn a_check_digit_of_ten_is_never_issued() {
    // 999 000 001: 9·10+9·9+9·8+0+0+0+0+0+1·2 = 245; 245 mod 11 = 3 → check 8. Search for a
    // prefix whose check would be 10 and show every final digit is refused.
    let prefix = (0..1000u32)
        .map(|i| format!("999000{i:03}"))
        .find(|p| {
            let sum: u32 = p
                .chars()
                .zip((2..=10).rev())
                .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
                .sum();
            11 - sum % 11 == 10
        })
        .expect("some prefix has check digit 10");
    for last in 0..10 {
        assert_eq!(
            NhsNumber::parse(&format!("{prefix}{last}")),
            Err(NhsNumberError::CheckDigitTen),
            "{prefix}{last}"
        );
    }
}

#[test]
fn the_test_range_mapping_is_one_to_one_and_ascending() {
    let mut previous: Option<NhsNumber> = None;
    for i in (0..NhsNumber::TEST_NUMBERS)
        .step_by(997)
        .chain([NhsNumber::TEST_NUMBERS - 1])
    {
        let n = NhsNumber::nth_test_number(i).expect("in range");
        assert!(n.is_test_range());
        if let Some(p) = previous {
            assert!(p < n, "{p:?} then {n:?}");
        }
        previous = Some(n);
    }
    assert_eq!(NhsNumber::nth_test_number(NhsNumber::TEST_NUMBERS), None);
    let consecutive: Vec<NhsNumber> = (0..200).filter_map(NhsNumber::nth_test_number).collect();
    assert!(consecutive.windows(2).all(|w| w[0] < w[1]));
}

proptest! {
    #[test]
    fn generated_numbers_parse_in_every_form(seed in any::<u64>()) {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let n = NhsNumber::generate_test_number(&mut rng);
        prop_assert!(n.is_test_range());
        let digits = n.as_digits();
        prop_assert_eq!(NhsNumber::parse(&digits), Ok(n));
        prop_assert_eq!(NhsNumber::parse(&n.to_string()), Ok(n));
        let dashed = format!("{}-{}-{}", &digits[0..3], &digits[3..6], &digits[6..]);
        prop_assert_eq!(NhsNumber::parse(&dashed), Ok(n));
        let json = serde_json::to_string(&n).expect("json");
        prop_assert_eq!(serde_json::from_str::<NhsNumber>(&json).expect("back"), n);
    }

    /// Modulus 11 catches every single-digit error.
    #[test]
    fn any_single_digit_change_is_detected(index in 0u32..NhsNumber::TEST_NUMBERS, position in 0usize..10, delta in 1u8..10) {
        let n = NhsNumber::nth_test_number(index).expect("in range");
        let mut digits: Vec<u8> = n.as_digits().bytes().map(|b| b - b'0').collect();
        digits[position] = (digits[position] + delta) % 10;
        let changed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        prop_assert!(NhsNumber::parse(&changed).is_err(), "{} → {}", n.as_digits(), changed);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,30}") {
        let _ = NhsNumber::parse(&s);
    }
}

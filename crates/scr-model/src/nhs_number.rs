//! The NHS number: ten digits, the last a Modulus 11 check digit (DOMAIN.md).

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A valid NHS number. The only way to build one is by parsing (or generating), so holding
/// an `NhsNumber` means the check digit has been verified.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("an NHS number has 10 digits; this has {0}")]
    WrongLength(usize),
    #[error("an NHS number has only digits (spaces or dashes between groups are allowed)")]
    NotDigits,
    #[error("the check digit is wrong: this is not a valid NHS number (mistyped digit?)")]
    CheckDigitMismatch,
    #[error("no NHS number is ever issued with these first nine digits (check digit would be 10)")]
    CheckDigitTen,
}

/// Modulus 11 over the first nine digits: weights 10..2; 11 → 0; 10 → never issued.
fn check_digit(first_nine: &[u8]) -> Option<u8> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        c => Some(c as u8),
    }
}

impl NhsNumber {
    /// Parses `9434765919`, `943 476 5919` or `943-476-5919` (spaces and dashes anywhere are ignored).
    pub fn parse(input: &str) -> Result<Self, NhsNumberError> {
        let mut digits = [0u8; 10];
        let mut count = 0usize;
        for ch in input.trim().chars() {
            match ch {
                ' ' | '-' => continue,
                '0'..='9' => {
                    if count < 10 {
                        digits[count] = ch as u8 - b'0';
                    }
                    count += 1;
                }
                _ => return Err(NhsNumberError::NotDigits),
            }
        }
        if count != 10 {
            return Err(NhsNumberError::WrongLength(count));
        }
        match check_digit(&digits[..9]) {
            None => Err(NhsNumberError::CheckDigitTen),
            Some(c) if c != digits[9] => Err(NhsNumberError::CheckDigitMismatch),
            Some(_) => Ok(NhsNumber(digits)),
        }
    }

    /// A random valid number in the 999 test range (999 000 0000 – 999 999 9999), the range
    /// used for synthetic data.
    pub fn generate_test_number<R: Rng + ?Sized>(rng: &mut R) -> Self {
        loop {
            let mut digits = [9u8; 10];
            for d in digits.iter_mut().take(9).skip(3) {
                *d = rng.gen_range(0..10);
            }
            if let Some(c) = check_digit(&digits[..9]) {
                digits[9] = c;
                return NhsNumber(digits);
            }
        }
    }

    /// How many distinct numbers [`NhsNumber::nth_test_number`] gives. The 999 range has
    /// 1 000 000 nine-digit prefixes of which about 909 000 have a valid check digit; taking
    /// nine from each run of ten keeps the mapping O(1) and one-to-one.
    pub const TEST_NUMBERS: u32 = 900_000;

    /// The `index`-th number of the 999 test range (`index < TEST_NUMBERS`), ascending.
    /// Deterministic, so a seeded population is the same on every machine.
    pub fn nth_test_number(index: u32) -> Option<Self> {
        if index >= Self::TEST_NUMBERS {
            return None;
        }
        // Within a run of ten prefixes sharing their first eight digits, the last digit moves
        // the weighted sum by 2 each step, so at most one of the ten has check digit 10.
        let run = 999_000_000u64 + u64::from(index / 9) * 10;
        let wanted = (index % 9) as usize;
        (0..10u64)
            .filter_map(|d| {
                let prefix = run + d;
                let mut digits = [0u8; 10];
                let mut p = prefix;
                for i in (0..9).rev() {
                    digits[i] = (p % 10) as u8;
                    p /= 10;
                }
                check_digit(&digits[..9]).map(|c| {
                    digits[9] = c;
                    NhsNumber(digits)
                })
            })
            .nth(wanted)
    }

    /// Ten digits, no separators: the form used in URLs, identifiers and storage.
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// True for the 999 range reserved for test data.
    pub fn is_test_range(&self) -> bool {
        self.0[..3] == [9, 9, 9]
    }
}

/// Displays as `943 476 5919` (3-3-4), the NHS CUI form.
impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_digits();
        write!(f, "{} {} {}", &s[0..3], &s[3..6], &s[6..10])
    }
}

impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NhsNumber({})", self.as_digits())
    }
}

impl FromStr for NhsNumber {
    type Err = NhsNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NhsNumber::parse(s)
    }
}

impl Serialize for NhsNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_digits())
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NhsNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

//! The card passcode (the PIV PIN). Held in memory that is wiped on drop, never printed.

use zeroize::{Zeroize, Zeroizing};

use crate::error::CardError;

/// A passcode of 6 to 8 digits (FIPS 201 PIN rules). `Debug` shows nothing of it.
pub struct Passcode(Zeroizing<Vec<u8>>);

impl Passcode {
    /// Takes ownership of the typed text and wipes it, whether or not it is valid.
    pub fn new(mut typed: String) -> Result<Passcode, CardError> {
        let valid = (6..=8).contains(&typed.len()) && typed.bytes().all(|b| b.is_ascii_digit());
        let passcode = Passcode(Zeroizing::new(typed.as_bytes().to_vec()));
        typed.zeroize();
        if valid {
            Ok(passcode)
        } else {
            Err(CardError::PasscodeFormat)
        }
    }

    /// The VERIFY data field: the digits padded with `FF` to 8 bytes (SP 800-73-4).
    pub(crate) fn piv_block(&self) -> Zeroizing<Vec<u8>> {
        let mut block = Zeroizing::new(vec![0xFF; 8]);
        block[..self.0.len()].copy_from_slice(&self.0);
        block
    }
}

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passcode(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_six_to_eight_digits_are_passcodes() {
        assert!(Passcode::new("246810".into()).is_ok());
        assert!(Passcode::new("12345678".into()).is_ok());
        assert_eq!(
            Passcode::new("12345".into()).err(),
            Some(CardError::PasscodeFormat)
        );
        assert!(Passcode::new("123456789".into()).is_err());
        assert!(Passcode::new("12a456".into()).is_err());
        assert!(Passcode::new("".into()).is_err());
    }

    #[test]
    fn the_block_is_padded_and_debug_hides_the_digits() {
        let p = Passcode::new("246810".into()).expect("valid");
        assert_eq!(&p.piv_block()[..], b"246810\xFF\xFF");
        assert!(!format!("{p:?}").contains("246810"));
    }
}

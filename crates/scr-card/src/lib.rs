//! The smartcard side of sign-in: watch PC/SC readers and cards, and run the PIV
//! operations (select, certificates, passcode, sign, ECDH) on a card in a reader.
//!
//! Only PC/SC is spoken here (through the `pcsc` crate), so a real USB reader and a real
//! PIV card work exactly as the virtual ones used in the tests and the demo.

pub mod apdu;
pub mod error;
pub mod passcode;
pub mod piv;
pub mod reader;
pub mod tlv;
pub mod watch;

pub use error::CardError;
pub use passcode::Passcode;
pub use piv::{certificate_fingerprint, signature_matches, PasscodeStatus, Piv, Slot};
pub use reader::{CardConnection, PcscContext, ReaderStatus};
pub use watch::{ReaderEvent, ReaderWatcher};

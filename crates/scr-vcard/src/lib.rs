//! A virtual PIV smartcard for vsmartcard's vpcd reader driver, provisioned from an
//! identity folder written by `scr-demo seed`. For tests and the demo only: its keys sit
//! in files, which is exactly what a real card exists to prevent.

pub mod applet;
pub mod identity;
pub mod vpcd;

pub use applet::{Fault, PivApplet, RetryCounter, PASSCODE_TRIES};
pub use identity::CardIdentity;
pub use vpcd::{insert, CardConfig, InsertedCard, VPCD_BASE_PORT};

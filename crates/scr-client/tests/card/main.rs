//! End-to-end sign-in through the real PC/SC stack: pcscd, vsmartcard's vpcd readers, the
//! virtual PIV card, a spine over HTTPS. Skipped without pcscd unless SCR_REQUIRE_PCSC is set.

mod faults;
mod harness;
mod relay;
mod restart;
mod session_end;
mod sign_in;

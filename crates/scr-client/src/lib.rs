//! The viewer's client of the spine: smartcard sign-in over PC/SC, a session that lives
//! only in memory and dies with the card, and the HTTPS calls (trusting one configured CA).

pub mod error;
pub mod session;
pub mod sign_in;
pub mod spine;

pub use error::{ClientError, SpineCode};
pub use session::{CardSession, EndReason, ReaderView, SessionEvent};
pub use sign_in::{
    prove_and_agree, read_authentication_certificate, sign_in, sign_in_agreeing, CardAsk,
    CardCertificates, KeyAgreement, OfflineTarget, SignedIn, CARD_STEP_TIMEOUT,
};
pub use spine::{
    AlertQuery, AlertStatus, FetchedSummary, OfflineReport, PatientSearch, SessionToken,
    SpineClient, Timeouts, TrailQuery, User,
};

//! What can go wrong talking to a reader or a card, in words a user can act on.

/// A card or reader failure. Every card answer that is not what PIV promises becomes one
/// of these; nothing the card sends can panic the caller.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CardError {
    #[error("the smartcard service (pcscd) is not running")]
    ServiceUnavailable,
    #[error("no smartcard reader is connected")]
    NoReader,
    #[error("the reader {0:?} is not connected")]
    ReaderNotFound(String),
    #[error("no smartcard is in the reader")]
    NoCard,
    #[error("the smartcard was removed")]
    CardRemoved,
    #[error("the card is not a PIV smartcard (no PIV application)")]
    NotPivCard,
    #[error("the card has no certificate in slot {0}")]
    NoCertificate(&'static str),
    #[error("wrong passcode: {tries_left} {} left before the card is blocked", if *tries_left == 1 { "try" } else { "tries" })]
    WrongPasscode { tries_left: u8 },
    #[error("the card is blocked after too many wrong passcodes; ask your registration authority to unblock it")]
    CardBlocked,
    #[error("the passcode must be 6 to 8 digits")]
    PasscodeFormat,
    #[error("the card refused the operation: passcode not verified")]
    PasscodeRequired,
    #[error("the card did not answer in time")]
    Timeout,
    #[error("the card answered with something that is not valid PIV: {0}")]
    Malformed(String),
    /// The card kept saying more data follows (`61xx`) past any PIV object's size: without
    /// a cap the client would send GET RESPONSE for ever.
    #[error("the card's answer never ended: it kept saying more data follows")]
    EndlessResponse,
    #[error("the card refused the command (status {0:04X})")]
    Refused(u16),
    #[error("smartcard communication failed: {0}")]
    Communication(String),
}

impl CardError {
    /// A stable machine-readable code for the UI and logs (no patient or user data).
    pub fn code(&self) -> &'static str {
        match self {
            CardError::ServiceUnavailable => "CARD_SERVICE_UNAVAILABLE",
            CardError::NoReader => "NO_READER",
            CardError::ReaderNotFound(_) => "READER_NOT_FOUND",
            CardError::NoCard => "NO_CARD",
            CardError::CardRemoved => "CARD_REMOVED",
            CardError::NotPivCard => "NOT_PIV_CARD",
            CardError::NoCertificate(_) => "NO_CERTIFICATE",
            CardError::WrongPasscode { .. } => "WRONG_PASSCODE",
            CardError::CardBlocked => "CARD_BLOCKED",
            CardError::PasscodeFormat => "PASSCODE_FORMAT",
            CardError::PasscodeRequired => "PASSCODE_REQUIRED",
            CardError::Timeout => "CARD_TIMEOUT",
            CardError::Malformed(_) => "CARD_MALFORMED_RESPONSE",
            CardError::EndlessResponse => "CARD_ENDLESS_RESPONSE",
            CardError::Refused(_) => "CARD_REFUSED",
            CardError::Communication(_) => "CARD_COMMUNICATION",
        }
    }

    pub(crate) fn malformed(what: impl Into<String>) -> CardError {
        CardError::Malformed(what.into())
    }
}

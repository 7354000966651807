//! Sign-in and spine call failures, each with a stable code and a message a user can act on.

use scr_card::CardError;
use scr_model::ErrorCode;

/// The code of a spine refusal as this client read it: one of the spine's closed set, or a
/// code this build does not know (from a newer spine, or a bare HTTP status from something
/// in the way), kept as sent so logs and the UI can still show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpineCode {
    Known(ErrorCode),
    Unknown(String),
}

impl SpineCode {
    pub fn parse(code: &str) -> SpineCode {
        ErrorCode::parse(code)
            .map_or_else(|| SpineCode::Unknown(code.to_string()), SpineCode::Known)
    }

    pub fn as_str(&self) -> &str {
        match self {
            SpineCode::Known(code) => code.as_str(),
            SpineCode::Unknown(code) => code,
        }
    }

    pub fn known(&self) -> Option<ErrorCode> {
        match self {
            SpineCode::Known(code) => Some(*code),
            SpineCode::Unknown(_) => None,
        }
    }
}

impl PartialEq<ErrorCode> for SpineCode {
    fn eq(&self, other: &ErrorCode) -> bool {
        self.known() == Some(*other)
    }
}

impl PartialEq<&str> for SpineCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for SpineCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("the spine at {0} cannot be reached")]
    SpineUnreachable(String),
    #[error("the secure connection to the spine failed (its certificate is not from the configured CA, or TLS failed): {0}")]
    Tls(String),
    #[error("the spine did not answer in time")]
    Timeout,
    #[error("the spine does not accept this card's certificate")]
    CertificateNotAccepted,
    #[error("this card's certificate has been revoked")]
    CertificateRevoked,
    #[error("the session has ended; sign in again with your card")]
    SessionEnded,
    #[error("the smartcard was removed or changed during sign-in")]
    CardChangedDuringSignIn,
    #[error("this card is not the one that set up offline records on this computer")]
    OfflineCardMismatch,
    #[error("this card has no offline records on this computer; sign in online first")]
    OfflineNotSetUp,
    #[error("the spine refused: {message}")]
    Spine {
        status: u16,
        code: SpineCode,
        message: String,
    },
    #[error("the spine answered something unexpected: {0}")]
    Protocol(String),
    /// A record came back that cannot be read (not the FHIR resource asked for).
    #[error("the spine sent a record that cannot be read: {0}")]
    Unreadable(String),
    #[error("configuration: {0}")]
    Config(String),
    /// A value the caller gave cannot be put in a request at all (checked before sending;
    /// the spine checks everything else).
    #[error("this cannot be sent to the spine: {0}")]
    InvalidInput(String),
}

impl ClientError {
    /// A stable machine-readable code (for the UI and logs; carries no personal data).
    pub fn code(&self) -> String {
        match self {
            ClientError::Card(e) => e.code().into(),
            ClientError::SpineUnreachable(_) => "SPINE_UNREACHABLE".into(),
            ClientError::Tls(_) => "TLS_FAILURE".into(),
            ClientError::Timeout => "SPINE_TIMEOUT".into(),
            ClientError::CertificateNotAccepted => "CERTIFICATE_NOT_ACCEPTED".into(),
            ClientError::CertificateRevoked => "CERTIFICATE_REVOKED".into(),
            ClientError::SessionEnded => "SESSION_ENDED".into(),
            ClientError::CardChangedDuringSignIn => "CARD_CHANGED".into(),
            ClientError::OfflineCardMismatch => "WRONG_CARD".into(),
            ClientError::OfflineNotSetUp => "OFFLINE_NOT_SET_UP".into(),
            ClientError::Spine { code, .. } => code.as_str().into(),
            ClientError::Protocol(_) => "SPINE_PROTOCOL".into(),
            ClientError::Unreadable(_) => "UNREADABLE_RECORD".into(),
            ClientError::Config(_) => "CONFIG".into(),
            ClientError::InvalidInput(_) => "INVALID_INPUT".into(),
        }
    }
}

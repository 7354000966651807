//! Sign-in and spine call failures, each with a stable code and a message a user can act on.

use scr_card::CardError;

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
        code: String,
        message: String,
    },
    #[error("the spine answered something unexpected: {0}")]
    Protocol(String),
    #[error("configuration: {0}")]
    Config(String),
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
            ClientError::Spine { code, .. } => code.clone(),
            ClientError::Protocol(_) => "SPINE_PROTOCOL".into(),
            ClientError::Config(_) => "CONFIG".into(),
        }
    }
}

//! The one error the viewer's operations return, as it crosses into the UI: a code from a
//! closed set (the UI's TypeScript union is generated from it, so its switches are checked
//! for every code) and words for the user. Every conversion into it lives here.

use scr_cache::CacheError;
use scr_card::CardError;
use scr_client::{ClientError, SpineCode};
use scr_model::ErrorCode;
use serde::Serialize;
use ts_rs::TS;

/// An error for the UI: `{ code, message }`, plus what a code needs beside it (`triesLeft`
/// for `WRONG_PASSCODE`).
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
pub struct AppError {
    #[serde(flatten)]
    #[ts(flatten)]
    pub kind: AppErrorKind,
    /// Words for the user, specific to this failure.
    pub message: String,
}

/// What went wrong, as the UI branches on it. Serialised as the `code` field.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(
    tag = "code",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum AppErrorKind {
    // The smartcard (`scr_card::CardError`).
    CardServiceUnavailable,
    NoReader,
    ReaderNotFound,
    NoCard,
    CardRemoved,
    NotPivCard,
    NoCertificate,
    /// The card refused the passcode; `tries_left` more before it blocks.
    WrongPasscode {
        tries_left: u8,
    },
    /// Too many wrong passcodes: only the registration authority can unblock it. Online and
    /// offline sign-in alike.
    CardBlocked,
    PasscodeFormat,
    PasscodeRequired,
    CardTimeout,
    CardMalformedResponse,
    CardEndlessResponse,
    CardRefused,
    CardCommunication,

    // Reaching the spine and signing in (`scr_client::ClientError`).
    SpineUnreachable,
    TlsFailure,
    SpineTimeout,
    CertificateNotAccepted,
    CertificateRevoked,
    /// The session ended (signed out, expired, card pulled), or the one that asked did.
    SessionEnded,
    CardChanged,
    /// Not the card that set up the offline records on this computer.
    WrongCard,
    OfflineNotSetUp,
    SpineProtocol,
    Config,

    // The viewer's own checks.
    InvalidNhsNumber,
    /// A date or time given to the privacy officer's searches that is not one.
    InvalidDate,
    UnreadableRecord,
    WrongPatient,
    CacheUnavailable,
    OfflineRecordGone,
    /// A value from the window that cannot be put in a request (an empty id, say); nothing
    /// was sent.
    InvalidInput,
    /// The printing was recorded, but the print or the PDF could not be made (no printer
    /// backend, the folder not writable, the print operation failed or never finished).
    PrintFailed,
    /// A document file that was not opened (too large, not a document Bundle, no patient,
    /// …); `reason` is the kind, the message says it in words. Nothing of it was shown.
    DocumentRefused {
        reason: crate::document::DocumentRefusal,
    },
    /// Something only a clinical role may do here, decided by the viewer itself (opening a
    /// document from a file: it shows patient data and no spine is asked).
    ClinicalRoleRequired,

    /// The spine refused under a code this build does not know (a newer spine, or a bare
    /// HTTP status from something in the way); `spine_code` is what it sent.
    SpineUnknownCode {
        spine_code: String,
    },
    /// The spine refused under one of its own codes (`scr_model::ErrorCode`), which is the
    /// `code` the UI sees. Untagged (serde puts untagged variants last); its TypeScript is
    /// written out because ts-rs would add a `"code": "SPINE"` tag to a flattened one.
    #[serde(untagged)]
    #[ts(type = "{ code: ErrorCode }")]
    Spine {
        code: ErrorCode,
    },
}

impl AppError {
    pub fn new(kind: AppErrorKind, message: impl Into<String>) -> AppError {
        AppError {
            kind,
            message: message.into(),
        }
    }

    /// The code as the UI receives it (for logs and tests).
    pub fn code(&self) -> String {
        serde_json::to_value(&self.kind)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// For `WRONG_PASSCODE`: the tries left before the card blocks.
    pub fn tries_left(&self) -> Option<u8> {
        match self.kind {
            AppErrorKind::WrongPasscode { tries_left } => Some(tries_left),
            _ => None,
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for AppError {}

/// `s` with a capital first letter and a full stop: error texts are written as clauses.
pub(crate) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

impl From<&CardError> for AppErrorKind {
    fn from(e: &CardError) -> Self {
        use AppErrorKind as K;
        match e {
            CardError::ServiceUnavailable => K::CardServiceUnavailable,
            CardError::NoReader => K::NoReader,
            CardError::ReaderNotFound(_) => K::ReaderNotFound,
            CardError::NoCard => K::NoCard,
            CardError::CardRemoved => K::CardRemoved,
            CardError::NotPivCard => K::NotPivCard,
            CardError::NoCertificate(_) => K::NoCertificate,
            CardError::WrongPasscode { tries_left } => K::WrongPasscode {
                tries_left: *tries_left,
            },
            CardError::CardBlocked => K::CardBlocked,
            CardError::PasscodeFormat => K::PasscodeFormat,
            CardError::PasscodeRequired => K::PasscodeRequired,
            CardError::Timeout => K::CardTimeout,
            CardError::Malformed(_) => K::CardMalformedResponse,
            CardError::EndlessResponse => K::CardEndlessResponse,
            CardError::Refused(_) => K::CardRefused,
            CardError::Communication(_) => K::CardCommunication,
        }
    }
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        use AppErrorKind as K;
        let kind = match &e {
            ClientError::Card(card) => K::from(card),
            ClientError::SpineUnreachable(_) => K::SpineUnreachable,
            ClientError::Tls(_) => K::TlsFailure,
            ClientError::Timeout => K::SpineTimeout,
            ClientError::CertificateNotAccepted => K::CertificateNotAccepted,
            ClientError::CertificateRevoked => K::CertificateRevoked,
            ClientError::SessionEnded => K::SessionEnded,
            ClientError::CardChangedDuringSignIn => K::CardChanged,
            ClientError::OfflineCardMismatch => K::WrongCard,
            ClientError::OfflineNotSetUp => K::OfflineNotSetUp,
            ClientError::Spine { code, .. } => match code {
                SpineCode::Known(code) => K::Spine { code: *code },
                SpineCode::Unknown(code) => K::SpineUnknownCode {
                    spine_code: code.clone(),
                },
            },
            ClientError::Protocol(_) => K::SpineProtocol,
            ClientError::Unreadable(_) => K::UnreadableRecord,
            ClientError::Config(_) => K::Config,
            ClientError::InvalidInput(_) => K::InvalidInput,
        };
        let message = match e {
            // The spine's own words are written for users.
            ClientError::Spine { message, .. } => message,
            other => capitalised(&other.to_string()),
        };
        AppError { kind, message }
    }
}

impl From<CacheError> for AppError {
    fn from(e: CacheError) -> Self {
        use AppErrorKind as K;
        let kind = match &e {
            CacheError::WrongCard => K::WrongCard,
            CacheError::WrongDeviceSecret => K::OfflineNotSetUp,
            CacheError::KeyringUnavailable(_) => K::CacheUnavailable,
            CacheError::WrongUser | CacheError::Tampered | CacheError::UnknownFormat => {
                K::OfflineRecordGone
            }
            CacheError::Malformed(_) | CacheError::Storage(_) => K::CacheUnavailable,
        };
        let mut message = e.to_string();
        if let Some(first) = message.get(..1) {
            message = first.to_uppercase() + &message[1..];
        }
        if !message.ends_with('.') {
            message.push('.');
        }
        AppError::new(kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_passcode_keeps_its_tries_for_the_ui() {
        let e: AppError = ClientError::Card(CardError::WrongPasscode { tries_left: 2 }).into();
        assert_eq!(e.code(), "WRONG_PASSCODE");
        assert_eq!(e.tries_left(), Some(2));
        assert!(e.message.starts_with("Wrong passcode"));
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(
            json,
            serde_json::json!({ "code": "WRONG_PASSCODE", "triesLeft": 2, "message": e.message })
        );
    }

    #[test]
    fn a_blocked_card_is_card_blocked() {
        let e: AppError = ClientError::Card(CardError::CardBlocked).into();
        assert_eq!(e.code(), "CARD_BLOCKED");
    }

    #[test]
    fn card_errors_keep_the_cards_codes() {
        let all = [
            CardError::ServiceUnavailable,
            CardError::NoReader,
            CardError::ReaderNotFound("r".into()),
            CardError::NoCard,
            CardError::CardRemoved,
            CardError::NotPivCard,
            CardError::NoCertificate("9A"),
            CardError::WrongPasscode { tries_left: 1 },
            CardError::CardBlocked,
            CardError::PasscodeFormat,
            CardError::PasscodeRequired,
            CardError::Timeout,
            CardError::Malformed("m".into()),
            CardError::EndlessResponse,
            CardError::Refused(0x6a82),
            CardError::Communication("c".into()),
        ];
        for card in all {
            let code = card.code();
            let e: AppError = ClientError::Card(card).into();
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn client_errors_keep_the_clients_codes() {
        let all = [
            ClientError::SpineUnreachable("x".into()),
            ClientError::Tls("x".into()),
            ClientError::Timeout,
            ClientError::CertificateNotAccepted,
            ClientError::CertificateRevoked,
            ClientError::SessionEnded,
            ClientError::CardChangedDuringSignIn,
            ClientError::OfflineCardMismatch,
            ClientError::OfflineNotSetUp,
            ClientError::Protocol("x".into()),
            ClientError::Config("x".into()),
            ClientError::InvalidInput("x".into()),
        ];
        for client in all {
            let code = client.code();
            let e: AppError = client.into();
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn every_spine_code_reaches_the_ui_as_sent_with_the_spines_words() {
        for &code in ErrorCode::ALL {
            let e: AppError = ClientError::Spine {
                status: code.http_status(),
                code: SpineCode::Known(code),
                message: "The spine's words.".into(),
            }
            .into();
            assert_eq!(e.kind, AppErrorKind::Spine { code });
            assert_eq!(
                serde_json::to_value(&e).expect("json"),
                serde_json::json!({ "code": code.as_str(), "message": "The spine's words." })
            );
        }
    }

    #[test]
    fn an_unknown_spine_code_is_one_code_with_what_was_sent_beside_it() {
        let e: AppError = ClientError::Spine {
            status: 418,
            code: SpineCode::Unknown("HTTP_418".into()),
            message: "HTTP 418 without an explanation".into(),
        }
        .into();
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({
                "code": "SPINE_UNKNOWN_CODE",
                "spineCode": "HTTP_418",
                "message": "HTTP 418 without an explanation"
            })
        );
    }

    #[test]
    fn cache_errors_reach_the_ui_with_their_own_codes() {
        let e: AppError = CacheError::WrongCard.into();
        assert_eq!(e.code(), "WRONG_CARD");
        assert!(e.message.starts_with("This card"));
        let e: AppError = CacheError::KeyringUnavailable("no OS keyring".into()).into();
        assert_eq!(e.code(), "CACHE_UNAVAILABLE");
        let e: AppError = CacheError::Tampered.into();
        assert_eq!(e.code(), "OFFLINE_RECORD_GONE");
    }
}

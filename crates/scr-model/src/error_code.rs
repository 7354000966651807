//! The spine's error codes: the closed set it sends in `issue[0].details.coding[0].code` of
//! every error `OperationOutcome`, each with the HTTP status it is sent with and a short
//! meaning. The spine answers only with these, the client maps every one of them, and the
//! UI's TypeScript union is generated from [`ErrorCode::ALL`], so a code added here that any
//! side does not handle fails a build or a test rather than reaching a user as a bare string.

use serde::{Deserialize, Serialize};

/// Declares the enum and its table together, so `ALL`, the wire name (serde and
/// [`ErrorCode::as_str`] use the same literal), the status and the meaning cannot drift
/// apart or miss a variant.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $status:literal, $meaning:literal;)+) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as it is sent (`SCREAMING_SNAKE_CASE`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }

            /// The HTTP status the spine answers with this code.
            pub const fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// What the code means, in a few words (for documentation and logs; the user
            /// sees the answer's own message).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }

            /// The code with this wire name, if it is one of ours.
            pub fn parse(name: &str) -> Option<ErrorCode> {
                match name {
                    $($name => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    InvalidRequest = "INVALID_REQUEST", 400, "The request body is not the JSON this call expects.";
    NotFound = "NOT_FOUND", 404, "No such resource or operation.";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, "The method is not supported on this resource.";

    // Sign-in and the session.
    InvalidCertificate = "INVALID_CERTIFICATE", 400, "The certificate is not base64 DER.";
    CertificateNotAccepted = "CERTIFICATE_NOT_ACCEPTED", 401, "The certificate does not chain to the CA, is out of date, or is not registered.";
    CertificateRevoked = "CERTIFICATE_REVOKED", 401, "The card's certificate has been revoked.";
    ChallengeInvalid = "CHALLENGE_INVALID", 401, "The sign-in challenge is unknown or already used.";
    ChallengeExpired = "CHALLENGE_EXPIRED", 401, "The sign-in challenge has expired.";
    SignatureInvalid = "SIGNATURE_INVALID", 401, "The signature over the challenge is not valid for the certificate.";
    Unauthenticated = "UNAUTHENTICATED", 401, "No session token, or one the spine does not know.";
    SessionEnded = "SESSION_ENDED", 401, "The session was ended (signed out or its card revoked).";
    SessionExpired = "SESSION_EXPIRED", 401, "The session passed its idle or absolute expiry.";
    RoleNotSelected = "ROLE_NOT_SELECTED", 403, "No role has been chosen for the session.";
    RoleNotHeld = "ROLE_NOT_HELD", 403, "The role profile asked for is not the user's.";
    NotPermittedForRole = "NOT_PERMITTED_FOR_ROLE", 403, "The selected role does not allow this.";

    // Finding a patient and reading their record.
    InvalidNhsNumber = "INVALID_NHS_NUMBER", 400, "Not a valid NHS number (length or check digit).";
    InvalidSearchData = "INVALID_SEARCH_DATA", 400, "A search parameter has a value the spine cannot use.";
    MissingSearchParameters = "MISSING_SEARCH_PARAMETERS", 400, "Not enough search parameters were given.";
    TooManyMatches = "TOO_MANY_MATCHES", 422, "The trace matches too many patients to list.";
    PatientNotFound = "PATIENT_NOT_FOUND", 404, "No patient has this NHS number.";
    AccessReasonRequired = "ACCESS_REASON_REQUIRED", 403, "The summary was asked for without a reason for access.";
    PatientDissented = "PATIENT_DISSENTED", 403, "The patient has opted out of sharing (final: do not retry).";
    NoSummaryHeld = "NO_SUMMARY_HELD", 404, "No summary has been received from the patient's practice.";
    NoLegitimateRelationship = "NO_LEGITIMATE_RELATIONSHIP", 403, "No relationship between the user's organisation and the patient is recorded; the user may self-claim one.";
    PermissionRefused = "PERMISSION_REFUSED", 403, "The patient refused permission to view; the refusal is recorded and nothing clinical is released.";
    JustificationRequired = "JUSTIFICATION_REQUIRED", 403, "Emergency access needs a reason in words.";
    InvalidJustification = "INVALID_JUSTIFICATION", 400, "The reason in words is too long or not readable.";
    VolumeLimitReached = "VOLUME_LIMIT_REACHED", 403, "The user or organisation has opened as many patients as the hour or day allows.";

    // The privacy officer's alerts.
    AlertNotFound = "ALERT_NOT_FOUND", 404, "No such alert for the privacy officer's organisations.";
    AlertAlreadyReviewed = "ALERT_ALREADY_REVIEWED", 409, "The alert was already reviewed.";
    ReviewNoteRequired = "REVIEW_NOTE_REQUIRED", 400, "A review needs a note in words.";

    // A GP practice's upload.
    BundleTooLarge = "BUNDLE_TOO_LARGE", 413, "The request body is larger than the spine accepts.";
    SummaryTooLarge = "SUMMARY_TOO_LARGE", 413, "The summary would be served larger than viewers accept.";
    MissingNhsNumber = "MISSING_NHS_NUMBER", 400, "The Bundle names no patient by NHS number.";
    InvalidBundle = "INVALID_BUNDLE", 400, "The Bundle is not one the spine can read.";
    NotRegisteredAtPractice = "NOT_REGISTERED_AT_PRACTICE", 403, "The patient is not registered at the uploading practice.";
    BundleIdentifierReused = "BUNDLE_IDENTIFIER_REUSED", 409, "The Bundle identifier was already used for different content.";
    NothingToApply = "NOTHING_TO_APPLY", 400, "The Bundle has neither a summary nor a sharing preference.";
    OlderThanHeld = "OLDER_THAN_HELD", 409, "The summary was composed before the one already held.";

    // The viewer's report of views of offline copies.
    TooManyEntries = "TOO_MANY_ENTRIES", 400, "The report has more views than one Bundle may carry.";
    InvalidOfflineView = "INVALID_OFFLINE_VIEW", 400, "A reported view is incomplete, misdated or has an unknown reason.";
    OfflineViewQuota = "OFFLINE_VIEW_QUOTA", 429, "The user has reported as many offline views as a day allows.";

    // The service's state.
    TooManyRequests = "TOO_MANY_REQUESTS", 429, "Too many requests from this caller; wait and retry.";
    ServiceBusy = "SERVICE_BUSY", 503, "Too many requests in flight; retry shortly.";
    ServiceUnavailable = "SERVICE_UNAVAILABLE", 503, "The records cannot be reached for now; retry shortly.";
    Timeout = "TIMEOUT", 503, "The request passed the spine's deadline; retry.";
    AuditUnavailable = "AUDIT_UNAVAILABLE", 503, "The access cannot be audited, so no data is released; retry shortly.";
    InternalError = "INTERNAL_ERROR", 500, "The spine failed; the detail is in its log.";

    // The registration authority (`/ra/…`, for roles with the local RA-MANAGE activity).
    UserNotFound = "USER_NOT_FOUND", 404, "No user is registered with this user id.";
    UserExists = "USER_EXISTS", 409, "A user with this user id is already registered.";
    RoleProfileNotFound = "ROLE_PROFILE_NOT_FOUND", 404, "The user holds no role profile with this id.";
    RoleProfileExists = "ROLE_PROFILE_EXISTS", 409, "A role profile with this id already exists.";
    CardNotFound = "CARD_NOT_FOUND", 404, "No registered card has this serial (and issuer).";
    CardAmbiguous = "CARD_AMBIGUOUS", 409, "Cards from more than one issuer have this serial; name the issuer.";
    InvalidRegistration = "INVALID_REGISTRATION", 400, "A user id, name, role, organisation or activity is not in the form required.";
    OwnRoleChange = "OWN_ROLE_CHANGE", 403, "A registration authority agent may not add or remove their own role profiles.";

    // Encounters and referrals in an upload; the child protection attendance.
    EncounterNotAtUploader = "ENCOUNTER_NOT_AT_UPLOADER", 403, "An uploaded encounter is at another organisation than the uploader's; only the organisation it is at may record it.";
    NoChildProtectionPlan = "NO_CHILD_PROTECTION_PLAN", 404, "The patient has no child protection plan in force, so no attendance can be recorded.";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_serde_under_its_wire_name() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialise");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).expect("deserialise");
            assert_eq!(back, code);
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("NOT_A_CODE"), None);
    }

    #[test]
    fn codes_are_screaming_snake_case_with_distinct_names_and_meanings() {
        let mut names = std::collections::HashSet::new();
        let mut meanings = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(
                name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{name}"
            );
            assert!(names.insert(name), "{name} twice");
            assert!(meanings.insert(code.meaning()), "{name}'s meaning twice");
            assert!(code.meaning().ends_with('.'), "{name}");
        }
    }

    #[test]
    fn every_code_has_an_error_status() {
        for &code in ErrorCode::ALL {
            let status = code.http_status();
            assert!((400..600).contains(&status), "{code}: {status}");
        }
        // The ones the viewer retries are the transient ones.
        assert_eq!(ErrorCode::ServiceUnavailable.http_status(), 503);
        assert_eq!(ErrorCode::TooManyRequests.http_status(), 429);
    }
}

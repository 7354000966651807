//! Audit records: who did what to whose record, why, and with what outcome. The spine chains
//! them by hash; privacy officers read them as FHIR `AuditEvent`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{AccessReason, AlertKind, RelationshipBasis};
use crate::NhsNumber;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    SignIn,
    SignOut,
    SelectRole,
    PatientRead,
    PatientTrace,
    SummaryRead,
    ConsentRead,
    Upload,
    AuditRead,
    /// A view of an offline copy, reported by the app after the fact.
    OfflineView,
    /// An operator revoked a smartcard certificate.
    CardRevoke,
    /// A privacy officer reviewed an entry's alerts (the note is the entry's justification).
    AlertReview,
    // The registration authority (RA): the operations that manage who may sign in, as what.
    /// A new user (an SDS-style user id and a name) was registered.
    UserRegister,
    /// A role profile was added to a user.
    RoleAdd,
    /// A role profile was taken from a user.
    RoleRemove,
    /// A card (a PIV identity: 9A and 9D keys and certificates) was issued to a user.
    CardIssue,
    /// The RA listed users, a user's role profiles or the cards.
    RegistrationRead,
    /// The app kept a session alive ("Stay signed in"); only refusals are recorded, in the
    /// refusal tally.
    KeepAlive,
    /// A clinician said a child on a protection plan is attending unscheduled care (alerts
    /// the organisation responsible for the child).
    CpAttendance,
    /// A clinician printed (or saved as PDF) the summary on screen: a copy of the record now
    /// exists outside the spine and the app, so it is recorded like a read.
    SummaryPrint,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign-in",
            AuditAction::SignOut => "sign-out",
            AuditAction::SelectRole => "select-role",
            AuditAction::PatientRead => "patient-read",
            AuditAction::PatientTrace => "patient-trace",
            AuditAction::SummaryRead => "summary-read",
            AuditAction::ConsentRead => "consent-read",
            AuditAction::Upload => "upload",
            AuditAction::AuditRead => "audit-read",
            AuditAction::OfflineView => "offline-view",
            AuditAction::CardRevoke => "card-revoke",
            AuditAction::AlertReview => "alert-review",
            AuditAction::UserRegister => "user-register",
            AuditAction::RoleAdd => "role-add",
            AuditAction::RoleRemove => "role-remove",
            AuditAction::CardIssue => "card-issue",
            AuditAction::RegistrationRead => "registration-read",
            AuditAction::KeepAlive => "keep-alive",
            AuditAction::CpAttendance => "cp-attendance",
            AuditAction::SummaryPrint => "summary-print",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            AuditAction::SignIn,
            AuditAction::SignOut,
            AuditAction::SelectRole,
            AuditAction::PatientRead,
            AuditAction::PatientTrace,
            AuditAction::SummaryRead,
            AuditAction::ConsentRead,
            AuditAction::Upload,
            AuditAction::AuditRead,
            AuditAction::OfflineView,
            AuditAction::CardRevoke,
            AuditAction::AlertReview,
            AuditAction::UserRegister,
            AuditAction::RoleAdd,
            AuditAction::RoleRemove,
            AuditAction::CardIssue,
            AuditAction::RegistrationRead,
            AuditAction::KeepAlive,
            AuditAction::CpAttendance,
            AuditAction::SummaryPrint,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditOutcome {
    Success,
    /// Refused by policy (RBAC, consent, missing reason, bad credential).
    Refused,
    /// Asked for something that does not exist.
    NotFound,
    /// The request was malformed.
    Invalid,
}

impl AuditOutcome {
    pub fn code(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Refused => "refused",
            AuditOutcome::NotFound => "not-found",
            AuditOutcome::Invalid => "invalid",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            AuditOutcome::Success,
            AuditOutcome::Refused,
            AuditOutcome::NotFound,
            AuditOutcome::Invalid,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}

/// What one access was: who, in which role, which patient, what was done and why, and how
/// it ended. The spine builds one per request; its audit writer gives it a place in the chain
/// and makes it an [`AuditRecord`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// SDS user id, or the GP system's id; `None` before sign-in succeeded.
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub role_code: Option<String>,
    pub org_ods: Option<String>,
    pub patient: Option<NhsNumber>,
    pub action: AuditAction,
    pub reason: Option<AccessReason>,
    pub outcome: AuditOutcome,
    /// Short machine-readable detail (an error code), never clinical content.
    pub detail: Option<String>,
    /// True for an emergency access: a privacy-officer alert.
    pub alert: bool,
    /// For a view of an offline copy: the app's id of the view and its times (the record's
    /// `at` is when the spine received the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflineAccess>,
    /// For a summary read: the legitimate relationship it relied on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<RelationshipBasis>,
    /// The user's reason in words (emergency access, a self-claimed relationship, a
    /// privacy officer's review note). Never clinical content by design of the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The alerts this entry raises for the privacy officer; `alert` is true when any is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertKind>,
    /// The organisation whose privacy officer receives this entry's child protection alert
    /// (the child's responsible organisation), where that is not the user's own. Other
    /// alerts always go to the user's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_org: Option<String>,
}

impl AuditEntry {
    /// Raises `kind` for the privacy officer (once).
    pub fn raise(&mut self, kind: AlertKind) {
        if !self.alerts.contains(&kind) {
            self.alerts.push(kind);
        }
        self.alert = true;
    }
}

/// One entry of the audit trail, as stored and as shown to privacy officers: the entry and
/// its place in the hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// Hex SHA-256 of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over this entry's canonical form and `prev_hash`.
    pub hash: String,
}

/// A clinician's view of an offline copy of a summary, queued by the app while offline and
/// reported to the spine (`POST /FHIR/R4/AuditEvent`) when next signed in online.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineView {
    /// Client-generated, unique per view (32 lowercase hex chars); makes re-sending safe.
    pub id: String,
    pub nhs_number: NhsNumber,
    /// "permission-to-view" or "emergency" (the reason given when the copy was fetched).
    pub reason: String,
    pub viewed_at: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
}

impl OfflineView {
    /// A fresh view id: 128 random bits as 32 lowercase hex characters.
    pub fn new_id() -> String {
        let bytes: [u8; 16] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `id` has the form of a view id (32 lowercase hex characters).
    pub fn is_valid_id(id: &str) -> bool {
        id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// What the audit record of an offline view keeps beyond an online access: the view's id
/// (the spine records each id once per user) and when the view happened and the copy was
/// fetched, as the app reported them (to the millisecond).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineAccess {
    pub view_id: String,
    pub viewed_at: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registration_authoritys_actions_read_back_from_their_codes() {
        // Stored entries are read back (and `AuditEvent?action=` searched) by these codes; an
        // action whose code does not read back makes its entries unreadable.
        for code in [
            "user-register",
            "role-add",
            "role-remove",
            "card-issue",
            "card-revoke",
            "registration-read",
        ] {
            let action = AuditAction::from_code(code);
            assert_eq!(action.map(AuditAction::code), Some(code));
            assert_eq!(
                action.and_then(|a| serde_json::to_value(a).ok()),
                Some(serde_json::Value::String(code.to_string()))
            );
        }
    }
}

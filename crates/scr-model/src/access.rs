//! The gates before clinical data, as the national service (NCRS) sets them: a *legitimate
//! relationship* between the user's organisation and the patient, then *permission to view*
//! (yes, refused, or emergency with a reason in words), then the volume of patients a user
//! and an organisation open. The spine decides each; these are the words both sides use for
//! them, on the wire and in the audit trail, and the alerts a privacy officer reviews.

use serde::{Deserialize, Serialize};

/// The answer to "Has the patient given permission to view their record?", sent as the
/// `X-Access-Reason` header of `$summary`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessReason {
    /// Yes: the patient gave permission to view.
    PermissionToView,
    /// No: the patient refused. The spine records the refusal and releases nothing clinical.
    PermissionRefused,
    /// The patient cannot be asked; needs a reason in words and always raises an alert.
    Emergency,
}

impl AccessReason {
    /// Every answer, for the UI's generated union.
    pub const ALL: [AccessReason; 3] = [
        AccessReason::PermissionToView,
        AccessReason::PermissionRefused,
        AccessReason::Emergency,
    ];

    pub fn header_value(self) -> &'static str {
        match self {
            AccessReason::PermissionToView => "permission-to-view",
            AccessReason::PermissionRefused => "permission-refused",
            AccessReason::Emergency => "emergency",
        }
    }

    pub fn from_header(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.header_value() == value.trim())
    }
}

/// `$summary`'s header carrying the answer to the permission question.
pub const ACCESS_REASON_HEADER: &str = "x-access-reason";
/// `$summary`'s header carrying the reason in words (emergency access, a self-claimed
/// relationship), percent-encoded UTF-8 so any language fits in a header.
pub const ACCESS_JUSTIFICATION_HEADER: &str = "x-access-justification";
/// `$summary`'s header by which a user with no recorded relationship claims one
/// (value [`SELF_CLAIM_HEADER_VALUE`]).
pub const RELATIONSHIP_HEADER: &str = "x-legitimate-relationship";
pub const SELF_CLAIM_HEADER_VALUE: &str = "self-claimed";
/// A successful `$summary`'s header saying a soft volume limit was passed (see
/// [`VolumeWarning`]).
pub const VOLUME_WARNING_HEADER: &str = "x-access-volume-warning";

/// The longest reason in words the spine keeps, in characters.
pub const MAX_JUSTIFICATION_CHARS: usize = 500;

/// Why a reason in words cannot be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JustificationError {
    #[error("the reason is empty")]
    Empty,
    #[error("the reason is longer than {MAX_JUSTIFICATION_CHARS} characters")]
    TooLong,
    #[error("the reason is not valid percent-encoded UTF-8")]
    Undecodable,
}

/// A reason in words: trimmed, not empty, at most [`MAX_JUSTIFICATION_CHARS`], control
/// characters (line breaks included) folded to spaces so an audit line stays one line.
pub fn clean_justification(text: &str) -> Result<String, JustificationError> {
    let folded: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = folded.trim();
    if trimmed.is_empty() {
        return Err(JustificationError::Empty);
    }
    if trimmed.chars().count() > MAX_JUSTIFICATION_CHARS {
        return Err(JustificationError::TooLong);
    }
    Ok(trimmed.to_string())
}

/// The header form of a reason in words.
pub fn encode_justification(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A reason in words from its header form, cleaned ([`clean_justification`]).
pub fn decode_justification(header: &str) -> Result<String, JustificationError> {
    let text = percent_encoding::percent_decode_str(header)
        .decode_utf8()
        .map_err(|_| JustificationError::Undecodable)?;
    clean_justification(&text)
}

/// Everything a user says when they ask for a patient's summary: the answer to the
/// permission question, their reason in words (required for an emergency), and whether they
/// claim a relationship the spine has no record of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    pub reason: AccessReason,
    #[serde(default)]
    pub justification: Option<String>,
    #[serde(default)]
    pub self_claimed_relationship: bool,
}

impl AccessRequest {
    /// An answer with nothing more said.
    pub fn new(reason: AccessReason) -> Self {
        AccessRequest {
            reason,
            justification: None,
            self_claimed_relationship: false,
        }
    }

    /// An emergency access with its reason in words.
    pub fn emergency(words: &str) -> Self {
        AccessRequest {
            justification: Some(words.to_string()),
            ..AccessRequest::new(AccessReason::Emergency)
        }
    }

    /// The same request, claiming a relationship.
    pub fn self_claimed(mut self) -> Self {
        self.self_claimed_relationship = true;
        self
    }

    /// The request as `$summary`'s headers.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![(ACCESS_REASON_HEADER, self.reason.header_value().to_string())];
        if let Some(words) = &self.justification {
            headers.push((ACCESS_JUSTIFICATION_HEADER, encode_justification(words)));
        }
        if self.self_claimed_relationship {
            headers.push((RELATIONSHIP_HEADER, SELF_CLAIM_HEADER_VALUE.to_string()));
        }
        headers
    }
}

/// Why the spine let a user's organisation see a patient's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationshipBasis {
    /// The patient is registered at the user's organisation.
    Registered,
    /// The patient has an open encounter (an attendance, an admission) there.
    Encounter,
    /// The patient has an open referral to the user's organisation.
    Referral,
    /// The user said they have one; recorded, and an alert for the privacy officer.
    SelfClaimed,
}

impl RelationshipBasis {
    pub const ALL: [RelationshipBasis; 4] = [
        RelationshipBasis::Registered,
        RelationshipBasis::Encounter,
        RelationshipBasis::Referral,
        RelationshipBasis::SelfClaimed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RelationshipBasis::Registered => "registered",
            RelationshipBasis::Encounter => "encounter",
            RelationshipBasis::Referral => "referral",
            RelationshipBasis::SelfClaimed => "self-claimed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.code() == code)
    }
}

/// What a privacy officer is alerted to. Each is raised by one audit entry (its `alerts`)
/// and reviewed once, with a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// Emergency access (activity B0015's alerts).
    EmergencyAccess,
    /// A self-claimed legitimate relationship (B0016's alerts).
    SelfClaimedRelationship,
    /// A user or organisation passed a soft volume limit (opened on a warning).
    VolumeSoftLimit,
    /// A user or organisation reached a hard volume limit (refused).
    VolumeHardLimit,
    /// A reported view of an offline copy that no summary read of the spine's explains.
    UnmatchedOfflineView,
    /// A child on a protection plan attends unscheduled care: for the child's responsible
    /// organisation.
    ChildProtectionAttendance,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::EmergencyAccess,
        AlertKind::SelfClaimedRelationship,
        AlertKind::VolumeSoftLimit,
        AlertKind::VolumeHardLimit,
        AlertKind::UnmatchedOfflineView,
        AlertKind::ChildProtectionAttendance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AlertKind::EmergencyAccess => "emergency-access",
            AlertKind::SelfClaimedRelationship => "self-claimed-relationship",
            AlertKind::VolumeSoftLimit => "volume-soft-limit",
            AlertKind::VolumeHardLimit => "volume-hard-limit",
            AlertKind::UnmatchedOfflineView => "unmatched-offline-view",
            AlertKind::ChildProtectionAttendance => "child-protection-attendance",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// Whose volume of opened patients is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeScope {
    User,
    Organisation,
}

/// Over what time the distinct patients opened are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeWindow {
    Hour,
    Day,
}

impl VolumeWindow {
    pub fn seconds(self) -> i64 {
        match self {
            VolumeWindow::Hour => 3_600,
            VolumeWindow::Day => 86_400,
        }
    }
}

/// A soft volume limit passed by this open: `opened` distinct patients (this one included)
/// in the last `window` by the `scope`, whose soft limit is `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeWarning {
    pub scope: VolumeScope,
    pub window: VolumeWindow,
    pub opened: u32,
    pub limit: u32,
}

impl VolumeWarning {
    /// The header form: `user;hour;31;30`.
    pub fn to_header(self) -> String {
        let scope = match self.scope {
            VolumeScope::User => "user",
            VolumeScope::Organisation => "organisation",
        };
        let window = match self.window {
            VolumeWindow::Hour => "hour",
            VolumeWindow::Day => "day",
        };
        format!("{scope};{window};{};{}", self.opened, self.limit)
    }

    pub fn from_header(value: &str) -> Option<Self> {
        let mut parts = value.trim().split(';');
        let scope = match parts.next()? {
            "user" => VolumeScope::User,
            "organisation" => VolumeScope::Organisation,
            _ => return None,
        };
        let window = match parts.next()? {
            "hour" => VolumeWindow::Hour,
            "day" => VolumeWindow::Day,
            _ => return None,
        };
        let opened = parts.next()?.parse().ok()?;
        let limit = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(VolumeWarning {
            scope,
            window,
            opened,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_round_trips_through_its_header() {
        for r in AccessReason::ALL {
            assert_eq!(AccessReason::from_header(r.header_value()), Some(r));
        }
        assert_eq!(AccessReason::from_header("yes"), None);
    }

    #[test]
    fn a_reason_in_words_is_trimmed_folded_and_bounded() {
        assert_eq!(
            clean_justification("  unconscious,\nbrought in by ambulance "),
            Ok("unconscious, brought in by ambulance".to_string())
        );
        assert_eq!(
            clean_justification(" \n\t "),
            Err(JustificationError::Empty)
        );
        let long = "a".repeat(MAX_JUSTIFICATION_CHARS + 1);
        assert_eq!(clean_justification(&long), Err(JustificationError::TooLong));
        let exact = "é".repeat(MAX_JUSTIFICATION_CHARS);
        assert!(clean_justification(&exact).is_ok(), "characters, not bytes");
    }

    #[test]
    fn a_reason_in_words_survives_the_header() {
        let text = "Patient unconscious — Zoë's carer absent; 100% sure";
        let header = encode_justification(text);
        assert!(header.is_ascii());
        assert_eq!(decode_justification(&header), Ok(text.to_string()));
        assert_eq!(
            decode_justification("%FF%FE"),
            Err(JustificationError::Undecodable)
        );
    }

    #[test]
    fn codes_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::from_code(k.code()), Some(k));
        }
        for b in RelationshipBasis::ALL {
            assert_eq!(RelationshipBasis::from_code(b.code()), Some(b));
        }
    }

    #[test]
    fn a_volume_warning_round_trips_and_junk_is_none() {
        let w = VolumeWarning {
            scope: VolumeScope::Organisation,
            window: VolumeWindow::Day,
            opened: 501,
            limit: 500,
        };
        assert_eq!(w.to_header(), "organisation;day;501;500");
        assert_eq!(VolumeWarning::from_header(&w.to_header()), Some(w));
        for junk in [
            "",
            "user",
            "user;week;1;2",
            "user;hour;x;2",
            "user;hour;1;2;3",
        ] {
            assert_eq!(VolumeWarning::from_header(junk), None, "{junk}");
        }
    }
}

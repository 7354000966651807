//! The audit trail's hash chain: the canonical form of an entry and its SHA-256, linked to
//! the entry before. The one definition the writer (appending) and `audit verify` (walking)
//! share.

use scr_model::AuditEntry;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The offline-view part of the canonical form.
#[derive(Serialize)]
struct CanonicalOffline<'a> {
    view_id: &'a str,
    viewed_at: i64,
    fetched_at: i64,
}

/// The canonical form that is hashed: field order fixed, JSON-escaped strings.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: i64,
    user_id: Option<&'a str>,
    user_name: Option<&'a str>,
    role_code: Option<&'a str>,
    org_ods: Option<&'a str>,
    patient: Option<String>,
    action: &'a str,
    reason: Option<&'a str>,
    outcome: &'a str,
    detail: Option<&'a str>,
    alert: bool,
    /// Absent (not `null`) on entries without it, so entries written before offline views
    /// existed keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    offline: Option<CanonicalOffline<'a>>,
    /// The access model's fields (relationship, reason in words, alerts raised): absent on
    /// entries without them, so entries written before they existed keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alerts: Vec<&'a str>,
    /// Where a child protection alert goes: absent on entries without one, so entries
    /// written before it existed keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_org: Option<&'a str>,
    prev_hash: &'a str,
}

/// The hash of `entry` at position `seq`, written at `at` (ms), after `prev_hash`: the one
/// definition the writer and the verifier share.
pub fn entry_hash(seq: i64, at: i64, entry: &AuditEntry, prev_hash: &str) -> String {
    let canonical = Canonical {
        seq,
        at,
        user_id: entry.user_id.as_deref(),
        user_name: entry.user_name.as_deref(),
        role_code: entry.role_code.as_deref(),
        org_ods: entry.org_ods.as_deref(),
        patient: entry.patient.map(|p| p.as_digits()),
        action: entry.action.code(),
        reason: entry.reason.map(|r| r.header_value()),
        outcome: entry.outcome.code(),
        detail: entry.detail.as_deref(),
        alert: entry.alert,
        offline: entry.offline.as_ref().map(|o| CanonicalOffline {
            view_id: &o.view_id,
            viewed_at: o.viewed_at.timestamp_millis(),
            fetched_at: o.fetched_at.timestamp_millis(),
        }),
        relationship: entry.relationship.map(|r| r.code()),
        justification: entry.justification.as_deref(),
        alerts: entry.alerts.iter().map(|k| k.code()).collect(),
        alert_org: entry.alert_org.as_deref(),
        prev_hash,
    };
    // Serialising plain strings, integers and booleans cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use scr_model::{AccessReason, AuditAction, AuditOutcome, NhsNumber, OfflineAccess};

    fn entry(offline: Option<OfflineAccess>) -> AuditEntry {
        AuditEntry {
            user_id: Some("555000000101".into()),
            user_name: Some("Dr Amara Okafor".into()),
            role_code: Some("R8000".into()),
            org_ods: Some("RX901".into()),
            patient: NhsNumber::nth_test_number(1),
            action: AuditAction::SummaryRead,
            reason: Some(AccessReason::Emergency),
            outcome: AuditOutcome::Success,
            detail: None,
            alert: true,
            offline,
            relationship: None,
            justification: None,
            alerts: Vec::new(),
            alert_org: None,
        }
    }

    #[test]
    fn entries_without_an_offline_view_hash_as_before_offline_views_existed() {
        // The canonical form of 0.1 (no offline fields), hashed by hand.
        let e = entry(None);
        let old = format!(
            r#"{{"seq":7,"at":1000,"user_id":"555000000101","user_name":"Dr Amara Okafor","role_code":"R8000","org_ods":"RX901","patient":"{}","action":"summary-read","reason":"emergency","outcome":"success","detail":null,"alert":true,"prev_hash":"{GENESIS_HASH}"}}"#,
            e.patient.map(|p| p.as_digits()).unwrap_or_default()
        );
        assert_eq!(
            entry_hash(7, 1000, &e, GENESIS_HASH),
            hex::encode(Sha256::digest(old.as_bytes()))
        );
    }

    #[test]
    fn the_offline_view_times_and_id_are_covered_by_the_hash() {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        let offline = |id: &str, viewed: i64, fetched: i64| {
            Some(OfflineAccess {
                view_id: id.into(),
                viewed_at: at(viewed),
                fetched_at: at(fetched),
            })
        };
        let id = "0123456789abcdef0123456789abcdef";
        let base = entry_hash(1, 5, &entry(offline(id, 200, 100)), GENESIS_HASH);
        for changed in [
            offline("0123456789abcdef0123456789abcdee", 200, 100),
            offline(id, 201, 100),
            offline(id, 200, 101),
            None,
        ] {
            assert_ne!(entry_hash(1, 5, &entry(changed), GENESIS_HASH), base);
        }
    }

    #[test]
    fn the_access_model_fields_are_covered_by_the_hash() {
        use scr_model::{AlertKind, RelationshipBasis};
        let base = entry_hash(1, 5, &entry(None), GENESIS_HASH);
        let mut claimed = entry(None);
        claimed.relationship = Some(RelationshipBasis::SelfClaimed);
        let mut worded = entry(None);
        worded.justification = Some("unconscious".into());
        let mut raised = entry(None);
        raised.alerts = vec![AlertKind::EmergencyAccess];
        let mut elsewhere = entry(None);
        elsewhere.alerts = vec![AlertKind::ChildProtectionAttendance];
        elsewhere.alert_org = Some("LA901".into());
        let mut nowhere = elsewhere.clone();
        nowhere.alert_org = None;
        assert_ne!(
            entry_hash(1, 5, &elsewhere, GENESIS_HASH),
            entry_hash(1, 5, &nowhere, GENESIS_HASH),
            "where the alert goes is covered"
        );
        let hashes: Vec<String> = [claimed, worded, raised]
            .iter()
            .map(|e| entry_hash(1, 5, e, GENESIS_HASH))
            .collect();
        for h in &hashes {
            assert_ne!(h, &base);
        }
        assert_ne!(hashes[0], hashes[1]);
        assert_ne!(hashes[1], hashes[2]);
    }
}

//! The privacy officer's reading of the spine's audit trail: `AuditEvent` searchsets
//! (`GET /FHIR/R4/AuditEvent?…`) back into [`AuditRecord`]s, and the alert searchset
//! (`GET /FHIR/R4/AuditEvent/$alerts`) back into [`AlertItem`]s, as `render.rs` writes them.
//!
//! Tolerant of what is optional (no role, no patient, no relationship, an alert kind this
//! build does not know), strict about what an entry is without: its place in the chain, when
//! it was recorded, what was done. An entry that cannot be read refuses the whole answer,
//! naming the entry: an officer is never shown a trail with a silent hole in it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::parse::{array, load_as, text};
use super::render::{
    ext_url, ACCESS_EXTENSION, ALERT_REVIEW_EXTENSION, CHAIN_EXTENSION, NOT_SIGNED_IN,
    OUTCOME_EXTENSION, PRIVACY_ALERT_EXTENSION,
};
use super::{
    offline, AlertItem, AlertReview, FhirError, ACCESS_REASON_SYSTEM, AUDIT_ACTION_SYSTEM,
};
use crate::systems::{NHS_NUMBER, ODS_CODE, SDS_ROLE_CODE, SDS_USER_ID};
use crate::{
    AccessReason, AlertKind, AuditAction, AuditEntry, AuditOutcome, AuditRecord, NhsNumber,
    OfflineAccess, RelationshipBasis,
};

/// The extension of `resource` named `name` (under the project's base).
fn extension<'a>(resource: &'a Value, name: &str) -> Option<&'a Value> {
    let url = ext_url(name);
    array(resource, "extension")
        .iter()
        .find(|e| text(e, "url") == Some(url.as_str()))
}

/// The parts of a complex extension called `url`, in order.
fn parts<'a>(ext: Option<&'a Value>, url: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    ext.map(|e| array(e, "extension"))
        .unwrap_or(&[])
        .iter()
        .filter(move |p| text(p, "url") == Some(url))
}

fn part_text<'a>(ext: Option<&'a Value>, url: &'a str, key: &str) -> Option<&'a str> {
    parts(ext, url).find_map(|p| text(p, key))
}

fn instant(raw: &str, what: &str) -> Result<DateTime<Utc>, FhirError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| FhirError::Invalid(format!("{what} is not a date-time with a time zone")))
}

/// The entry's position in the chain: the chain extension's `seq`, or the id `audit-N`.
fn seq(resource: &Value) -> Result<i64, FhirError> {
    let chain = extension(resource, CHAIN_EXTENSION);
    part_text(chain, "seq", "valueString")
        .and_then(|s| s.parse().ok())
        .or_else(|| {
            text(resource, "id")
                .and_then(|id| id.strip_prefix("audit-"))
                .and_then(|n| n.parse().ok())
        })
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            FhirError::Missing("the entry's place in the trail (id audit-N, or its seq)".into())
        })
}

/// Reads one `AuditEvent` of the spine's trail.
pub(super) fn audit_record(resource: &Value) -> Result<AuditRecord, FhirError> {
    let found = text(resource, "resourceType").unwrap_or("nothing");
    if found != "AuditEvent" {
        return Err(FhirError::WrongResourceType {
            expected: "AuditEvent".into(),
            found: found.into(),
        });
    }
    let seq = seq(resource)?;
    let at = text(resource, "recorded")
        .ok_or_else(|| FhirError::Missing("AuditEvent.recorded".into()))
        .and_then(|raw| instant(raw, "AuditEvent.recorded"))?;
    let action_code = array(resource, "subtype")
        .iter()
        .find(|c| text(c, "system") == Some(AUDIT_ACTION_SYSTEM))
        .and_then(|c| text(c, "code"))
        .ok_or_else(|| {
            FhirError::Missing(format!(
                "what was done (AuditEvent.subtype in {AUDIT_ACTION_SYSTEM})"
            ))
        })?;
    let action = AuditAction::from_code(action_code)
        .ok_or_else(|| FhirError::Invalid(format!("the action {action_code:?} is not known")))?;
    // The trail's own code where it is given; otherwise R4's: 0 succeeded, anything else not.
    let outcome = extension(resource, OUTCOME_EXTENSION)
        .and_then(|e| text(e, "valueCode"))
        .and_then(AuditOutcome::from_code)
        .unwrap_or(match text(resource, "outcome") {
            Some("0") => AuditOutcome::Success,
            _ => AuditOutcome::Refused,
        });

    let agent = array(resource, "agent")
        .iter()
        .find(|a| a.get("requestor").and_then(Value::as_bool) == Some(true))
        .or_else(|| array(resource, "agent").first());
    let who = agent.and_then(|a| a.get("who"));
    let user_id = who
        .and_then(|w| w.get("identifier"))
        .filter(|i| text(i, "system").is_none_or(|s| s == SDS_USER_ID))
        .and_then(|i| text(i, "value"))
        .map(str::to_string);
    // Nobody had signed in: the render's placeholder is not a name.
    let user_name = who
        .and_then(|w| text(w, "display"))
        .filter(|d| user_id.is_some() || *d != NOT_SIGNED_IN)
        .map(str::to_string);
    let role_code = agent
        .map(|a| array(a, "role"))
        .unwrap_or(&[])
        .iter()
        .flat_map(|r| array(r, "coding"))
        .find(|c| text(c, "system").is_none_or(|s| s == SDS_ROLE_CODE))
        .and_then(|c| text(c, "code"))
        .map(str::to_string);
    let org_ods = agent
        .and_then(|a| a.get("location"))
        .and_then(|l| l.get("identifier"))
        .filter(|i| text(i, "system").is_none_or(|s| s == ODS_CODE))
        .and_then(|i| text(i, "value"))
        .map(str::to_string);

    let patient_entity = array(resource, "entity").iter().find(|e| {
        e.get("what")
            .and_then(|w| w.get("identifier"))
            .is_some_and(|i| text(i, "system") == Some(NHS_NUMBER))
    });
    let patient = patient_entity
        .and_then(|e| e.get("what")?.get("identifier"))
        .and_then(|i| text(i, "value"))
        .map(|v| NhsNumber::parse(v).map_err(FhirError::InvalidNhsNumber))
        .transpose()?;
    let offline = patient_entity.and_then(|e| {
        let detail = |kind: &str| {
            array(e, "detail")
                .iter()
                .find(|d| text(d, "type") == Some(kind))
                .and_then(|d| text(d, "valueString"))
        };
        let view_id = detail(offline::DETAIL_VIEW_ID)?;
        let viewed_at = instant(detail(offline::DETAIL_VIEWED_AT)?, "viewed-at").ok()?;
        let fetched_at = instant(detail(offline::DETAIL_FETCHED_AT)?, "fetched-at").ok()?;
        Some(OfflineAccess {
            view_id: view_id.to_string(),
            viewed_at,
            fetched_at,
        })
    });

    let reason = array(resource, "purposeOfEvent")
        .iter()
        .flat_map(|p| array(p, "coding"))
        .find(|c| text(c, "system") == Some(ACCESS_REASON_SYSTEM))
        .and_then(|c| text(c, "code"))
        .and_then(AccessReason::from_header);
    let access = extension(resource, ACCESS_EXTENSION);
    let relationship =
        part_text(access, "relationship", "valueCode").and_then(RelationshipBasis::from_code);
    let justification = part_text(access, "justification", "valueString").map(str::to_string);
    // A kind from a newer spine is left out rather than refusing the trail; `alert` still
    // says the entry alerted.
    let alerts: Vec<AlertKind> = parts(access, "alert")
        .filter_map(|p| text(p, "valueCode"))
        .filter_map(AlertKind::from_code)
        .collect();
    let alert = extension(resource, PRIVACY_ALERT_EXTENSION)
        .and_then(|e| e.get("valueBoolean"))
        .and_then(Value::as_bool)
        .unwrap_or(!alerts.is_empty());

    let chain = extension(resource, CHAIN_EXTENSION);
    Ok(AuditRecord {
        seq,
        at,
        entry: AuditEntry {
            user_id,
            user_name,
            role_code,
            org_ods,
            patient,
            action,
            reason,
            outcome,
            detail: text(resource, "outcomeDesc").map(str::to_string),
            alert,
            offline,
            relationship,
            justification,
            alerts,
            alert_org: part_text(access, "alertFor", "valueString").map(str::to_string),
        },
        prev_hash: part_text(chain, "prevHash", "valueString")
            .unwrap_or_default()
            .to_string(),
        hash: part_text(chain, "hash", "valueString")
            .unwrap_or_default()
            .to_string(),
    })
}

/// The resources of a searchset, each read by `read`; the first that cannot be read refuses
/// the answer, naming its entry.
fn searchset<T>(
    json: &[u8],
    read: impl Fn(&Value) -> Result<T, FhirError>,
) -> Result<Vec<T>, FhirError> {
    let bundle = load_as(json, "Bundle")?;
    let kind = text(&bundle, "type").unwrap_or("(none)");
    if kind != "searchset" {
        return Err(FhirError::Invalid(format!(
            "the Bundle is of type {kind:?}, not a searchset"
        )));
    }
    array(&bundle, "entry")
        .iter()
        .enumerate()
        // Included resources and outcomes (search.mode include/outcome) are not entries.
        .filter(|(_, e)| {
            e.get("search")
                .and_then(|s| text(s, "mode"))
                .is_none_or(|m| m == "match")
        })
        .map(|(index, e)| {
            e.get("resource")
                .ok_or_else(|| FhirError::Missing("the entry's resource".into()))
                .and_then(&read)
                .map_err(|problem| FhirError::Entry {
                    index,
                    problem: Box::new(problem),
                })
        })
        .collect()
}

/// Reads `GET /FHIR/R4/AuditEvent?…`: the trail's entries, in the order sent (newest first).
pub fn parse_audit_searchset(json: &[u8]) -> Result<Vec<AuditRecord>, FhirError> {
    searchset(json, audit_record)
}

fn alert_item(resource: &Value) -> Result<AlertItem, FhirError> {
    let record = audit_record(resource)?;
    let review = extension(resource, ALERT_REVIEW_EXTENSION);
    // Kinds this build does not know are left out; with none left the entry's own list
    // (what it raised) stands in, so an alert never shows as being about nothing.
    let mut kinds: Vec<AlertKind> = parts(review, "kind")
        .filter_map(|p| text(p, "valueCode"))
        .filter_map(AlertKind::from_code)
        .collect();
    if kinds.is_empty() {
        kinds = record.entry.alerts.clone();
    }
    let reviewed = part_text(review, "status", "valueCode") == Some("reviewed")
        || part_text(review, "reviewedAt", "valueInstant").is_some();
    let review = if reviewed {
        let at = part_text(review, "reviewedAt", "valueInstant")
            .ok_or_else(|| FhirError::Missing("when a reviewed alert was reviewed".into()))
            .and_then(|raw| instant(raw, "reviewedAt"))?;
        Some(AlertReview {
            reviewed_by: part_text(review, "reviewedBy", "valueString")
                .unwrap_or_default()
                .to_string(),
            reviewed_at: at,
            note: part_text(review, "note", "valueString")
                .unwrap_or_default()
                .to_string(),
        })
    } else {
        None
    };
    Ok(AlertItem {
        record,
        kinds,
        review,
    })
}

/// Reads `GET /FHIR/R4/AuditEvent/$alerts`: the alerts, in the order sent (newest first).
pub fn parse_alert_searchset(json: &[u8]) -> Result<Vec<AlertItem>, FhirError> {
    searchset(json, alert_item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::{alert_searchset, audit_searchset};
    use chrono::TimeZone;
    use serde_json::json;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 12, h, m, 0)
            .single()
            .expect("time")
    }

    fn nhs(i: u32) -> NhsNumber {
        NhsNumber::nth_test_number(i).expect("test number")
    }

    fn record(seq: i64, entry: AuditEntry) -> AuditRecord {
        AuditRecord {
            seq,
            at: at(14, 5),
            entry,
            prev_hash: format!("{:064x}", seq - 1),
            hash: format!("{seq:064x}"),
        }
    }

    fn entry(action: AuditAction, outcome: AuditOutcome) -> AuditEntry {
        AuditEntry {
            user_id: Some("555000000101".into()),
            user_name: Some("Dr Amara Okafor".into()),
            role_code: Some("R8000".into()),
            org_ods: Some("RX901".into()),
            patient: Some(nhs(9)),
            action,
            reason: Some(AccessReason::PermissionToView),
            outcome,
            detail: None,
            alert: false,
            offline: None,
            relationship: None,
            justification: None,
            alerts: vec![],
            alert_org: None,
        }
    }

    /// Entries of every shape the spine writes.
    fn trail() -> Vec<AuditRecord> {
        let mut claimed = entry(AuditAction::SummaryRead, AuditOutcome::Success);
        claimed.relationship = Some(RelationshipBasis::SelfClaimed);
        claimed.justification = Some("Seeing them in clinic — Zoë's referral <b>late</b>".into());
        claimed.raise(AlertKind::SelfClaimedRelationship);
        claimed.raise(AlertKind::VolumeSoftLimit);
        let mut emergency = entry(AuditAction::SummaryRead, AuditOutcome::Success);
        emergency.reason = Some(AccessReason::Emergency);
        emergency.relationship = Some(RelationshipBasis::Encounter);
        emergency.justification = Some("Unconscious on arrival".into());
        emergency.raise(AlertKind::EmergencyAccess);
        let mut refused = entry(AuditAction::SummaryRead, AuditOutcome::Refused);
        refused.reason = Some(AccessReason::PermissionRefused);
        refused.detail = Some("PERMISSION_REFUSED".into());
        let mut not_found = entry(AuditAction::PatientTrace, AuditOutcome::NotFound);
        not_found.patient = None;
        not_found.reason = None;
        let mut invalid = entry(AuditAction::PatientRead, AuditOutcome::Invalid);
        invalid.detail = Some("INVALID_NHS_NUMBER".into());
        invalid.patient = None;
        invalid.reason = None;
        let anonymous = AuditEntry {
            user_id: None,
            user_name: None,
            role_code: None,
            org_ods: None,
            patient: None,
            reason: None,
            detail: Some("CERTIFICATE_NOT_ACCEPTED".into()),
            ..entry(AuditAction::SignIn, AuditOutcome::Refused)
        };
        let mut offline_view = entry(AuditAction::OfflineView, AuditOutcome::Success);
        offline_view.offline = Some(OfflineAccess {
            view_id: "0123456789abcdef0123456789abcdef".into(),
            viewed_at: at(9, 1) + chrono::Duration::milliseconds(250),
            fetched_at: at(8, 0),
        });
        offline_view.raise(AlertKind::UnmatchedOfflineView);
        let mut review = entry(AuditAction::AlertReview, AuditOutcome::Success);
        review.reason = None;
        review.detail = Some("audit-2".into());
        review.justification = Some("Confirmed with the ED consultant.".into());
        [
            claimed,
            emergency,
            refused,
            not_found,
            invalid,
            anonymous,
            offline_view,
            review,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, e)| record(i as i64 + 1, e))
        .collect()
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).expect("json")
    }

    #[test]
    fn the_trail_reads_back_as_the_spine_wrote_it() {
        let records = trail();
        let read = parse_audit_searchset(&bytes(&audit_searchset(&records))).expect("reads");
        assert_eq!(read, records);
    }

    #[test]
    fn alerts_read_back_with_their_kinds_and_reviews() {
        let records = trail();
        let items = vec![
            AlertItem {
                record: records[0].clone(),
                kinds: vec![
                    AlertKind::SelfClaimedRelationship,
                    AlertKind::VolumeSoftLimit,
                ],
                review: None,
            },
            AlertItem {
                record: records[1].clone(),
                // The officer may see fewer kinds than the entry raised.
                kinds: vec![AlertKind::EmergencyAccess],
                review: Some(AlertReview {
                    reviewed_by: "555000000303".into(),
                    reviewed_at: at(16, 30),
                    note: "Confirmed with the ED consultant.".into(),
                }),
            },
        ];
        let read = parse_alert_searchset(&bytes(&alert_searchset(&items))).expect("reads");
        assert_eq!(read, items);
        assert_eq!(
            parse_alert_searchset(&bytes(&alert_searchset(&[]))).expect("empty"),
            vec![]
        );
    }

    #[test]
    fn optional_parts_may_be_missing() {
        let bare = json!({
            "resourceType": "Bundle", "type": "searchset",
            "entry": [{ "resource": {
                "resourceType": "AuditEvent", "id": "audit-41",
                "recorded": "2026-03-12T14:05:00+00:00",
                "subtype": [{ "system": AUDIT_ACTION_SYSTEM, "code": "summary-read" }],
                "outcome": "4",
                "agent": [{ "who": { "display": "Dr Someone" } }],
                "extension": [
                    { "url": ext_url(ALERT_REVIEW_EXTENSION), "extension": [
                        { "url": "status", "valueCode": "open" },
                        { "url": "kind", "valueCode": "a-kind-from-later" }
                    ]}
                ]
            }}]
        });
        let items = parse_alert_searchset(&bytes(&bare)).expect("reads");
        let [item] = items.as_slice() else {
            panic!("{items:?}")
        };
        let e = &item.record.entry;
        assert_eq!(item.record.seq, 41);
        assert_eq!(item.record.at, at(14, 5));
        assert_eq!(e.outcome, AuditOutcome::Refused, "R4's 4 is a failure");
        assert_eq!(e.user_name.as_deref(), Some("Dr Someone"));
        assert_eq!((e.user_id.as_deref(), e.org_ods.as_deref()), (None, None));
        assert_eq!((e.patient, e.reason, e.relationship), (None, None, None));
        assert!(item.kinds.is_empty() && item.review.is_none());
        assert_eq!(item.record.hash, "");
    }

    #[test]
    fn an_entry_without_what_makes_it_an_entry_refuses_the_answer_naming_it() {
        let good = audit_event_value(&trail()[0]);
        for (broken, why) in [
            (strip(&good, "recorded"), "recorded"),
            (strip(&good, "subtype"), "subtype"),
            (
                {
                    let mut v = strip(&good, "id");
                    v["extension"] = json!([]);
                    v
                },
                "place in the trail",
            ),
        ] {
            let bundle = json!({ "resourceType": "Bundle", "type": "searchset",
                "entry": [{ "resource": good.clone() }, { "resource": broken }] });
            match parse_audit_searchset(&bytes(&bundle)) {
                Err(FhirError::Entry { index: 1, problem }) => {
                    assert!(problem.to_string().contains(why), "{problem}")
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        let mut bad_nhs = good.clone();
        bad_nhs["entity"][0]["what"]["identifier"]["value"] = json!("9434765918");
        let bundle = json!({ "resourceType": "Bundle", "type": "searchset", "entry": [{ "resource": bad_nhs }] });
        assert!(matches!(
            parse_audit_searchset(&bytes(&bundle)),
            Err(FhirError::Entry { index: 0, .. })
        ));
        let not_a_searchset =
            json!({ "resourceType": "Bundle", "type": "collection", "entry": [] });
        assert!(parse_audit_searchset(&bytes(&not_a_searchset)).is_err());
        assert!(matches!(
            parse_alert_searchset(br#"{"resourceType":"OperationOutcome"}"#),
            Err(FhirError::WrongResourceType { .. })
        ));
    }

    #[test]
    fn a_reviewed_alert_must_say_when() {
        let mut event = audit_event_value(&trail()[1]);
        if let Some(list) = event["extension"].as_array_mut() {
            list.push(
                json!({ "url": ext_url(ALERT_REVIEW_EXTENSION), "extension": [
                    { "url": "status", "valueCode": "reviewed" },
                    { "url": "kind", "valueCode": "emergency-access" }
                ]}),
            );
        }
        let bundle = json!({ "resourceType": "Bundle", "type": "searchset", "entry": [{ "resource": event }] });
        assert!(matches!(
            parse_alert_searchset(&bytes(&bundle)),
            Err(FhirError::Entry { index: 0, .. })
        ));
    }

    fn audit_event_value(r: &AuditRecord) -> Value {
        crate::fhir::audit_event(r)
    }

    fn strip(v: &Value, key: &str) -> Value {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove(key);
        }
        v
    }
}

//! Views of offline copies, reported by the app when it is next online: a `collection`
//! Bundle of R4 `AuditEvent`s (`POST /FHIR/R4/AuditEvent`) and the spine's answer (an
//! informational OperationOutcome carrying the counts).
//!
//! One AuditEvent per view: `subtype` offline-view, `action` R, `recorded` = when the copy
//! was viewed, `purposeOfEvent` = the reason given when the copy was fetched, and the
//! patient as `entity.what.identifier` (NHS number) with two `entity.detail`s: `view-id`
//! (32 lowercase hex, the app's id of the view) and `fetched-at` (when the copy was fetched).
//! The agent is a placeholder that R4 requires; the spine takes who, role and organisation
//! from the session, never from the body.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::parse::{array, load_as, text};
use super::render::{ext_url, uuid_from};
use super::{FhirError, ACCESS_REASON_SYSTEM, AUDIT_ACTION_SYSTEM, ERROR_CODE_SYSTEM};
use crate::systems::NHS_NUMBER;
use crate::{AccessReason, AuditAction, NhsNumber, OfflineView};

/// The most views one Bundle may carry; a longer queue goes in several Bundles.
pub const MAX_OFFLINE_VIEWS: usize = 1000;

/// `entity.detail.type` of the view's id.
pub(crate) const DETAIL_VIEW_ID: &str = "view-id";
/// `entity.detail.type` of when the offline copy was fetched.
pub(crate) const DETAIL_FETCHED_AT: &str = "fetched-at";
/// `entity.detail.type` of when the offline copy was viewed (in the spine's audit trail,
/// where `recorded` is when the spine recorded the report).
pub(crate) const DETAIL_VIEWED_AT: &str = "viewed-at";

const EXT_RECORDED: &str = "offline-views-recorded";
const EXT_ALREADY_RECORDED: &str = "offline-views-already-recorded";
const V3_ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

/// Times of offline views travel to the millisecond (what the audit trail keeps).
pub(crate) fn instant_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `purposeOfEvent` for an access reason (our code, plus HL7's ETREAT for an emergency).
pub(crate) fn purpose_of_event(reason: &str) -> Value {
    let mut codings = vec![json!({ "system": ACCESS_REASON_SYSTEM, "code": reason })];
    if reason == AccessReason::Emergency.header_value() {
        codings.push(
            json!({ "system": V3_ACT_REASON, "code": "ETREAT", "display": "Emergency Treatment" }),
        );
    }
    json!([{ "coding": codings }])
}

fn offline_view_event(v: &OfflineView) -> Value {
    json!({
        "resourceType": "AuditEvent",
        "type": { "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110", "display": "Patient Record" },
        "subtype": [{ "system": AUDIT_ACTION_SYSTEM, "code": AuditAction::OfflineView.code(), "display": "View of an offline copy" }],
        "action": "R",
        "recorded": instant_ms(v.viewed_at),
        "outcome": "0",
        "purposeOfEvent": purpose_of_event(&v.reason),
        "agent": [{ "requestor": true, "who": { "display": "offline viewer" } }],
        "source": { "observer": { "display": "scr-viewer" } },
        "entity": [{
            "what": { "identifier": { "system": NHS_NUMBER, "value": v.nhs_number.as_digits() } },
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
            "detail": [
                { "type": DETAIL_VIEW_ID, "valueString": v.id },
                { "type": DETAIL_FETCHED_AT, "valueString": instant_ms(v.fetched_at) }
            ]
        }]
    })
}

/// The Bundle the app sends: one `AuditEvent` per view, in order.
pub fn offline_views_bundle(views: &[OfflineView]) -> Value {
    let entries: Vec<Value> = views
        .iter()
        .map(|v| {
            json!({
                "fullUrl": format!("urn:uuid:{}", uuid_from(&format!("offline-view:{}", v.id))),
                "resource": offline_view_event(v)
            })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}

fn instant_of(raw: &str, what: &str) -> Result<DateTime<Utc>, FhirError> {
    // RFC 3339 also allows a space or a lower-case t between date and time; FHIR does not.
    let fhir_form = raw.as_bytes().get(10) == Some(&b'T');
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .filter(|_| fhir_form)
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            FhirError::Invalid(format!(
                "{what} is not a date-time with seconds and a time zone (e.g. 2026-11-24T10:15:30.000Z)"
            ))
        })
}

fn detail<'a>(entity: &'a Value, kind: &str) -> Option<&'a str> {
    array(entity, "detail")
        .iter()
        .find(|d| text(d, "type") == Some(kind))
        .and_then(|d| text(d, "valueString"))
}

fn parse_view(resource: &Value) -> Result<OfflineView, FhirError> {
    let found = text(resource, "resourceType").unwrap_or("nothing");
    if found != "AuditEvent" {
        return Err(FhirError::WrongResourceType {
            expected: "AuditEvent".into(),
            found: found.into(),
        });
    }
    let is_offline_view = array(resource, "subtype").iter().any(|c| {
        text(c, "system") == Some(AUDIT_ACTION_SYSTEM)
            && text(c, "code") == Some(AuditAction::OfflineView.code())
    });
    if !is_offline_view {
        return Err(FhirError::Invalid(format!(
            "the AuditEvent is not a view of an offline copy (subtype {} of {AUDIT_ACTION_SYSTEM})",
            AuditAction::OfflineView.code()
        )));
    }
    let patients: Vec<(&Value, &Value)> = array(resource, "entity")
        .iter()
        .filter_map(|e| {
            let identifier = e.get("what")?.get("identifier")?;
            (text(identifier, "system") == Some(NHS_NUMBER)).then_some((e, identifier))
        })
        .collect();
    let (entity, identifier) = match patients.as_slice() {
        [] => return Err(FhirError::MissingNhsNumber),
        [one] => *one,
        _ => {
            return Err(FhirError::Invalid(
                "the AuditEvent names more than one patient; send one AuditEvent per view".into(),
            ))
        }
    };
    let nhs_number = NhsNumber::parse(text(identifier, "value").unwrap_or_default())
        .map_err(FhirError::InvalidNhsNumber)?;
    let id = detail(entity, DETAIL_VIEW_ID).ok_or_else(|| {
        FhirError::Missing(format!(
            "the view id (AuditEvent.entity.detail of type {DETAIL_VIEW_ID}, valueString)"
        ))
    })?;
    if !OfflineView::is_valid_id(id) {
        return Err(FhirError::Invalid(
            "the view id is not 32 lowercase hexadecimal characters".into(),
        ));
    }
    let viewed_at = text(resource, "recorded")
        .ok_or_else(|| FhirError::Missing("AuditEvent.recorded (when the copy was viewed)".into()))
        .and_then(|raw| instant_of(raw, "AuditEvent.recorded"))?;
    let fetched_at = detail(entity, DETAIL_FETCHED_AT)
        .ok_or_else(|| {
            FhirError::Missing(format!(
                "when the copy was fetched (AuditEvent.entity.detail of type {DETAIL_FETCHED_AT}, valueString)"
            ))
        })
        .and_then(|raw| instant_of(raw, "the fetched-at time"))?;
    let reason_code = array(resource, "purposeOfEvent")
        .iter()
        .flat_map(|p| array(p, "coding"))
        .find(|c| text(c, "system") == Some(ACCESS_REASON_SYSTEM))
        .and_then(|c| text(c, "code"))
        .ok_or_else(|| {
            FhirError::Missing(format!(
                "the access reason (AuditEvent.purposeOfEvent coded in {ACCESS_REASON_SYSTEM})"
            ))
        })?;
    // A refused permission releases nothing, so no copy can have been fetched under it.
    let reason = AccessReason::from_header(reason_code)
        .filter(|r| *r != AccessReason::PermissionRefused)
        .ok_or_else(|| {
            FhirError::Invalid(
                "the access reason is not known: use permission-to-view or emergency".into(),
            )
        })?;
    Ok(OfflineView {
        id: id.to_string(),
        nhs_number,
        reason: reason.header_value().to_string(),
        viewed_at,
        fetched_at,
    })
}

/// Reads the app's Bundle of offline views. Strict: every entry must be a complete offline
/// view (valid NHS number, known reason, both times with a time zone, a well-formed id);
/// one bad entry refuses the Bundle, naming the entry. At most [`MAX_OFFLINE_VIEWS`].
pub fn parse_offline_views_bundle(json: &[u8]) -> Result<Vec<OfflineView>, FhirError> {
    let bundle = load_as(json, "Bundle")?;
    let kind = text(&bundle, "type").unwrap_or("(none)");
    if kind != "collection" {
        return Err(FhirError::Invalid(format!(
            "the Bundle is of type {kind:?}; offline views are sent as a collection"
        )));
    }
    let entries = match bundle.get("entry") {
        None => &[][..],
        Some(Value::Array(entries)) => entries.as_slice(),
        Some(_) => return Err(FhirError::Invalid("Bundle.entry is not a list".into())),
    };
    if entries.len() > MAX_OFFLINE_VIEWS {
        return Err(FhirError::TooManyEntries {
            count: entries.len(),
            limit: MAX_OFFLINE_VIEWS,
        });
    }
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let resource = entry
                .get("resource")
                .ok_or_else(|| FhirError::Missing("the entry's resource".into()))
                .and_then(parse_view);
            resource.map_err(|problem| FhirError::Entry {
                index,
                problem: Box::new(problem),
            })
        })
        .collect()
}

/// The spine's answer to a Bundle of offline views: how many were recorded now and how many
/// had been recorded before (a re-sent view).
pub fn offline_views_outcome(recorded: usize, already_recorded: usize) -> Value {
    let message = format!(
        "{recorded} offline view{} recorded; {already_recorded} had already been recorded.",
        if recorded == 1 { "" } else { "s" }
    );
    json!({
        "resourceType": "OperationOutcome",
        "extension": [
            { "url": ext_url(EXT_RECORDED), "valueUnsignedInt": recorded },
            { "url": ext_url(EXT_ALREADY_RECORDED), "valueUnsignedInt": already_recorded }
        ],
        "issue": [{
            "severity": "information",
            "code": "informational",
            "details": {
                "coding": [{ "system": ERROR_CODE_SYSTEM, "code": "OFFLINE_VIEWS_RECORDED" }],
                "text": message
            }
        }]
    })
}

/// Reads [`offline_views_outcome`]: `(recorded, already_recorded)`.
pub fn parse_offline_views_outcome(outcome: &Value) -> Result<(usize, usize), FhirError> {
    let found = text(outcome, "resourceType").unwrap_or("nothing");
    if found != "OperationOutcome" {
        return Err(FhirError::WrongResourceType {
            expected: "OperationOutcome".into(),
            found: found.into(),
        });
    }
    let count = |name: &str| {
        let url = ext_url(name);
        array(outcome, "extension")
            .iter()
            .find(|e| text(e, "url") == Some(url.as_str()))
            .and_then(|e| e.get("valueUnsignedInt"))
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| FhirError::Missing(format!("the {name} count")))
    };
    Ok((count(EXT_RECORDED)?, count(EXT_ALREADY_RECORDED)?))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::NhsNumberError;

    fn at(h: u32, m: u32, ms: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, 5)
            .single()
            .map(|t| t + chrono::Duration::milliseconds(i64::from(ms)))
            .expect("time")
    }

    fn view(n: u32, reason: &str) -> OfflineView {
        OfflineView {
            id: format!("{n:032x}"),
            nhs_number: NhsNumber::nth_test_number(n).expect("number"),
            reason: reason.into(),
            viewed_at: at(10, n % 60, 123),
            fetched_at: at(8, 0, 7),
        }
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).expect("json")
    }

    /// A one-view Bundle changed by `edit`, parsed.
    fn parse_edited(edit: impl FnOnce(&mut Value)) -> Result<Vec<OfflineView>, FhirError> {
        let mut b = offline_views_bundle(&[view(1, "permission-to-view")]);
        edit(&mut b["entry"][0]["resource"]);
        parse_offline_views_bundle(&bytes(&b))
    }

    fn inner(r: Result<Vec<OfflineView>, FhirError>) -> FhirError {
        match r {
            Err(FhirError::Entry { index: 0, problem }) => *problem,
            other => panic!("expected a refusal of entry 0, got {other:?}"),
        }
    }

    #[test]
    fn views_round_trip() {
        let views = vec![
            view(1, "permission-to-view"),
            view(2, "emergency"),
            OfflineView {
                id: OfflineView::new_id(),
                ..view(3, "emergency")
            },
        ];
        let bundle = offline_views_bundle(&views);
        assert_eq!(bundle["type"], "collection");
        let event = &bundle["entry"][1]["resource"];
        assert_eq!(event["resourceType"], "AuditEvent");
        assert_eq!(event["action"], "R");
        assert_eq!(event["recorded"], "2026-11-24T10:02:05.123Z");
        assert_eq!(event["agent"][0]["requestor"], true);
        assert_eq!(event["purposeOfEvent"][0]["coding"][1]["code"], "ETREAT");
        assert_eq!(
            parse_offline_views_bundle(&bytes(&bundle)).expect("parse"),
            views
        );
        assert_eq!(
            parse_offline_views_bundle(&bytes(&offline_views_bundle(&[]))).expect("empty"),
            vec![]
        );
    }

    #[test]
    fn new_ids_are_well_formed_and_distinct() {
        let (a, b) = (OfflineView::new_id(), OfflineView::new_id());
        assert!(OfflineView::is_valid_id(&a) && OfflineView::is_valid_id(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn a_bad_nhs_number_is_refused() {
        let r = parse_edited(|e| {
            e["entity"][0]["what"]["identifier"]["value"] = json!("9434765918");
        });
        assert_eq!(
            inner(r),
            FhirError::InvalidNhsNumber(NhsNumberError::CheckDigitMismatch)
        );
        let r = parse_edited(|e| e["entity"][0]["what"]["identifier"]["system"] = json!("x"));
        assert_eq!(inner(r), FhirError::MissingNhsNumber);
    }

    #[test]
    fn bad_dates_are_refused() {
        for bad in [
            "2026-11-24",
            "2026-11-24T10:00:00",
            "yesterday",
            "2026-13-01T00:00:00Z",
        ] {
            let r = parse_edited(|e| e["recorded"] = json!(bad));
            assert!(
                matches!(inner(r), FhirError::Invalid(m) if m.contains("AuditEvent.recorded")),
                "{bad}"
            );
            let r = parse_edited(|e| e["entity"][0]["detail"][1]["valueString"] = json!(bad));
            assert!(
                matches!(inner(r), FhirError::Invalid(m) if m.contains("fetched-at")),
                "{bad}"
            );
        }
        let r = parse_edited(|e| {
            e.as_object_mut().map(|o| o.remove("recorded"));
        });
        assert!(matches!(inner(r), FhirError::Missing(_)));
        let r = parse_edited(|e| {
            e["entity"][0]["detail"].as_array_mut().map(|d| d.remove(1));
        });
        assert!(matches!(inner(r), FhirError::Missing(m) if m.contains("fetched")));
    }

    #[test]
    fn unknown_or_missing_reasons_are_refused() {
        let r = parse_edited(|e| e["purposeOfEvent"][0]["coding"][0]["code"] = json!("because"));
        assert!(matches!(inner(r), FhirError::Invalid(m) if m.contains("access reason")));
        let r = parse_edited(|e| {
            e.as_object_mut().map(|o| o.remove("purposeOfEvent"));
        });
        assert!(matches!(inner(r), FhirError::Missing(m) if m.contains("access reason")));
    }

    #[test]
    fn missing_or_malformed_ids_are_refused() {
        let r = parse_edited(|e| {
            e["entity"][0]["detail"].as_array_mut().map(|d| d.remove(0));
        });
        assert!(matches!(inner(r), FhirError::Missing(m) if m.contains("view id")));
        for bad in [
            "abc",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdefa",
            "0123456789abcdef0123456789abcdeg",
        ] {
            let r = parse_edited(|e| e["entity"][0]["detail"][0]["valueString"] = json!(bad));
            assert!(
                matches!(inner(r), FhirError::Invalid(m) if m.contains("view id")),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        let r = parse_edited(|e| e["subtype"][0]["code"] = json!("summary-read"));
        assert!(matches!(inner(r), FhirError::Invalid(m) if m.contains("offline copy")));
        let r = parse_edited(|e| e["resourceType"] = json!("Patient"));
        assert!(matches!(inner(r), FhirError::WrongResourceType { .. }));
        let mut b = offline_views_bundle(&[view(1, "emergency")]);
        b["type"] = json!("transaction");
        assert!(matches!(
            parse_offline_views_bundle(&bytes(&b)),
            Err(FhirError::Invalid(_))
        ));
        assert!(matches!(
            parse_offline_views_bundle(b"{nope"),
            Err(FhirError::NotJson(_))
        ));
        assert!(matches!(
            parse_offline_views_bundle(br#"{"resourceType":"AuditEvent"}"#),
            Err(FhirError::WrongResourceType { .. })
        ));
        assert!(matches!(
            parse_offline_views_bundle(
                br#"{"resourceType":"Bundle","type":"collection","entry":{}}"#
            ),
            Err(FhirError::Invalid(_))
        ));
        // The entry is named in the message.
        let mut b = offline_views_bundle(&[view(1, "emergency"), view(2, "emergency")]);
        b["entry"][1]["resource"]["recorded"] = json!("soon");
        let err = parse_offline_views_bundle(&bytes(&b)).expect_err("refused");
        assert!(err.to_string().starts_with("Bundle.entry[1]: "), "{err}");
        assert!(matches!(err.innermost(), FhirError::Invalid(_)));
    }

    #[test]
    fn more_than_a_thousand_views_are_refused() {
        let views: Vec<OfflineView> = (1..=1000).map(|n| view(n, "emergency")).collect();
        let b = offline_views_bundle(&views);
        assert_eq!(
            parse_offline_views_bundle(&bytes(&b)).expect("1000").len(),
            1000
        );
        let views: Vec<OfflineView> = (1..=1001).map(|n| view(n, "emergency")).collect();
        let b = offline_views_bundle(&views);
        assert_eq!(
            parse_offline_views_bundle(&bytes(&b)),
            Err(FhirError::TooManyEntries {
                count: 1001,
                limit: MAX_OFFLINE_VIEWS
            })
        );
    }

    #[test]
    fn the_outcome_round_trips() {
        let o = offline_views_outcome(2, 3);
        assert_eq!(parse_offline_views_outcome(&o), Ok((2, 3)));
        assert!(parse_offline_views_outcome(&json!({"resourceType": "OperationOutcome"})).is_err());
        assert!(parse_offline_views_outcome(&json!({"resourceType": "Bundle"})).is_err());
    }
}

//! The national service's gates before clinical data (issue 13): a legitimate relationship
//! (registration, an encounter, a referral, or a self-claim that alerts), the three answers
//! to the permission question, the volume limits, and the privacy officer who reviews the
//! alerts — each decided by the spine and recorded in the trail.

use reqwest::{Method, StatusCode};
use scr_model::{AlertKind, AuditAction, AuditOutcome, AuditRecord, NhsNumber, RelationshipBasis};
use scr_spine::store::AuditFilter;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::harness::{error_code, Backend, TestSpine};

backend_tests!(
    relationships_decide_who_may_open_a_summary,
    the_permission_question_has_three_answers,
    the_privacy_officer_reviews_alerts_of_their_organisation
);

const ALERTS: &str = "/FHIR/R4/AuditEvent/$alerts";

/// Seeded patient `i` (see scr-demo's seed: nine in ten have an encounter at the demo
/// hospital and a referral to the out-of-hours service; `i % 10 == 9` has neither).
fn seeded(i: u32) -> NhsNumber {
    NhsNumber::nth_test_number(i).expect("test number")
}

/// A seeded patient with a summary, among those with (or without) care relationships.
async fn patient_with_summary(spine: &TestSpine, related: bool) -> NhsNumber {
    for i in 0..1_000u32 {
        if scr_demo::seed::has_care_relationship(i) != related {
            continue;
        }
        let nhs = seeded(i);
        if let Ok(Some((_, Some(_), consent))) = spine.store().summary_view(nhs).await {
            if !consent.is_some_and(|c| c.preference.is_dissent()) {
                return nhs;
            }
        }
    }
    panic!("no seeded patient with a summary (related: {related})");
}

async fn last_entry(spine: &TestSpine, action: AuditAction) -> AuditRecord {
    spine
        .store()
        .audit_records(&AuditFilter {
            action: Some(action),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .expect("trail")
        .into_iter()
        .next()
        .expect("an entry")
}

fn saying<'a>(reason: &'a str, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("X-Access-Reason", reason)];
    headers.extend_from_slice(more);
    headers
}

const CLAIM: (&str, &str) = ("X-Legitimate-Relationship", "self-claimed");

async fn relationships_decide_who_may_open_a_summary(spine: &TestSpine) {
    let doctor = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let related = patient_with_summary(spine, true).await;
    let stranger = patient_with_summary(spine, false).await;

    // An open encounter at the doctor's hospital.
    let (status, body) = spine
        .summary(&related.as_digits(), &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let read = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(read.entry.relationship, Some(RelationshipBasis::Encounter));
    assert!(read.entry.alerts.is_empty(), "{:?}", read.entry.alerts);

    // No relationship recorded: refused, audited, nothing clinical.
    let (status, body) = spine
        .summary(&stranger.as_digits(), &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "NO_LEGITIMATE_RELATIONSHIP");
    assert_eq!(body["resourceType"], "OperationOutcome");
    let refused = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(
        (refused.entry.outcome, refused.entry.patient),
        (AuditOutcome::Refused, Some(stranger))
    );
    assert_eq!(
        refused.entry.detail.as_deref(),
        Some("NO_LEGITIMATE_RELATIONSHIP")
    );

    // A self-claim opens it, is recorded, and alerts the privacy officer once.
    let (status, body) = spine
        .summary_saying(
            &stranger.as_digits(),
            &doctor,
            &saying("permission-to-view", &[CLAIM]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claimed = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(
        claimed.entry.relationship,
        Some(RelationshipBasis::SelfClaimed)
    );
    assert_eq!(
        claimed.entry.alerts,
        vec![AlertKind::SelfClaimedRelationship]
    );
    assert!(claimed.entry.alert);
    // The claim stands for the rest of the day: the next look needs no claim and no alert.
    let (status, body) = spine
        .summary(&stranger.as_digits(), &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(
        again.entry.relationship,
        Some(RelationshipBasis::SelfClaimed)
    );
    assert!(again.entry.alerts.is_empty(), "{:?}", again.entry.alerts);

    // The claim is the doctor's own: a colleague's session in another organisation (the
    // doctor's out-of-hours role) has only what is recorded there — a referral.
    let ooh = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ooh"))
        .await;
    let (status, body) = spine
        .summary(&related.as_digits(), &ooh, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let referral = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(
        referral.entry.relationship,
        Some(RelationshipBasis::Referral)
    );
    assert_eq!(referral.entry.org_ods.as_deref(), Some("NX901"));
    let (status, body) = spine
        .summary(&stranger.as_digits(), &ooh, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "NO_LEGITIMATE_RELATIONSHIP");

    // The patient's own practice: registration is the relationship.
    let gp = spine.sign_in(&spine.identity("gp"), None).await;
    let gp_practice = spine
        .store()
        .role_profiles("555000000505")
        .await
        .expect("profiles")[0]
        .org_ods
        .clone();
    let mut registered = None;
    for i in (9..1_000u32).step_by(10) {
        let nhs = seeded(i);
        if let Ok(Some((d, Some(_), consent))) = spine.store().summary_view(nhs).await {
            if d.gp_ods.as_deref() == Some(gp_practice.as_str())
                && !consent.is_some_and(|c| c.preference.is_dissent())
            {
                registered = Some(nhs);
                break;
            }
        }
    }
    let registered = registered.expect("a patient of the demo practice with no other relationship");
    let (status, body) = spine
        .summary(&registered.as_digits(), &gp, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let own = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(own.entry.relationship, Some(RelationshipBasis::Registered));
}

async fn the_permission_question_has_three_answers(spine: &TestSpine) {
    let doctor = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let nhs = patient_with_summary(spine, true).await.as_digits();

    // Refused: recorded, and nothing from the record comes back.
    let (status, body) = spine
        .summary_saying(&nhs, &doctor, &saying("permission-refused", &[]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "PERMISSION_REFUSED");
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert!(!body.to_string().contains("AllergyIntolerance"), "{body}");
    let refused = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(refused.entry.outcome, AuditOutcome::Refused);
    assert_eq!(
        refused.entry.reason,
        Some(scr_model::AccessReason::PermissionRefused)
    );
    assert_eq!(refused.entry.detail.as_deref(), Some("PERMISSION_REFUSED"));

    // Emergency needs a reason in words: none, blank, or too long are refused.
    for (more, code, status_wanted) in [
        (vec![], "JUSTIFICATION_REQUIRED", StatusCode::FORBIDDEN),
        (
            vec![("X-Access-Justification", "%20%0A%20")],
            "JUSTIFICATION_REQUIRED",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, body) = spine
            .summary_saying(&nhs, &doctor, &saying("emergency", &more))
            .await;
        assert_eq!(status, status_wanted, "{body}");
        assert_eq!(error_code(&body), code);
    }
    let long = "a".repeat(501);
    let (status, body) = spine
        .summary_saying(
            &nhs,
            &doctor,
            &saying("emergency", &[("X-Access-Justification", &long)]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "INVALID_JUSTIFICATION");

    // With its reason (any language, percent-encoded), emergency access opens the record,
    // keeps the words in the trail and alerts the privacy officer.
    let words = "Unconscious on arrival — no carer present";
    let encoded = scr_model::access::encode_justification(words);
    let (status, body) = spine
        .summary_saying(
            &nhs,
            &doctor,
            &saying("emergency", &[("X-Access-Justification", &encoded)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let emergency = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(emergency.entry.justification.as_deref(), Some(words));
    assert_eq!(emergency.entry.alerts, vec![AlertKind::EmergencyAccess]);

    // Yes: the record, no alert.
    let (status, body) = spine
        .summary_saying(&nhs, &doctor, &saying("permission-to-view", &[]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(last_entry(spine, AuditAction::SummaryRead)
        .await
        .entry
        .alerts
        .is_empty());
}

/// The alert items of an `$alerts` answer: (AuditEvent id, kinds, status, note).
fn alert_items(bundle: &Value) -> Vec<(String, Vec<String>, String, Option<String>)> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let r = &e["resource"];
                    let review = r["extension"]
                        .as_array()
                        .and_then(|x| {
                            x.iter().find(|x| {
                                x["url"]
                                    .as_str()
                                    .is_some_and(|u| u.ends_with("privacy-alert-review"))
                            })
                        })
                        .cloned()
                        .unwrap_or(Value::Null);
                    let parts = review["extension"].as_array().cloned().unwrap_or_default();
                    let value = |name: &str, key: &str| -> Vec<String> {
                        parts
                            .iter()
                            .filter(|p| p["url"] == name)
                            .filter_map(|p| p[key].as_str().map(str::to_string))
                            .collect()
                    };
                    (
                        r["id"].as_str().unwrap_or_default().to_string(),
                        value("kind", "valueCode"),
                        value("status", "valueCode").join(""),
                        value("note", "valueString").into_iter().next(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn review(
    spine: &TestSpine,
    token: &str,
    id: &str,
    note: Option<&str>,
) -> (StatusCode, Value) {
    let body = match note {
        Some(n) => {
            json!({"resourceType": "Parameters", "parameter": [{"name": "note", "valueString": n}]})
        }
        None => json!({"resourceType": "Parameters", "parameter": []}),
    };
    spine
        .call(
            Method::POST,
            &format!("/FHIR/R4/AuditEvent/{id}/$review"),
            Some(token),
            &[],
            Some(body.to_string().into_bytes()),
        )
        .await
}

async fn the_privacy_officer_reviews_alerts_of_their_organisation(spine: &TestSpine) {
    let doctor = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let stranger = patient_with_summary(spine, false).await.as_digits();
    let related = patient_with_summary(spine, true).await.as_digits();
    let (status, _) = spine
        .summary_saying(&stranger, &doctor, &saying("permission-to-view", &[CLAIM]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = spine.summary(&related, &doctor, Some("emergency")).await;
    assert_eq!(status, StatusCode::OK);
    // An emergency access in another organisation is for that organisation's officer.
    let ooh = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ooh"))
        .await;
    let (status, _) = spine.summary(&related, &ooh, Some("emergency")).await;
    assert_eq!(status, StatusCode::OK);

    // Only a privacy officer may look.
    let reception = spine.sign_in(&spine.identity("receptionist"), None).await;
    for token in [&doctor, &reception] {
        let (status, body) = spine.get(ALERTS, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(error_code(&body), "NOT_PERMITTED_FOR_ROLE");
        let (status, _) = spine.get("/FHIR/R4/AuditEvent", token).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = review(spine, token, "audit-1", Some("fine")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    let officer = spine
        .sign_in(&spine.identity("privacy-officer"), None)
        .await;
    let (status, open) = spine.get(ALERTS, &officer).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    let items = alert_items(&open);
    assert_eq!(
        items.len(),
        2,
        "the hospital's two, not the out-of-hours one: {open}"
    );
    assert!(items.iter().all(|(_, _, status, _)| status == "open"));
    let kinds: Vec<&str> = items
        .iter()
        .flat_map(|(_, k, _, _)| k)
        .map(String::as_str)
        .collect();
    assert!(kinds.contains(&"emergency-access"), "{kinds:?}");
    assert!(kinds.contains(&"self-claimed-relationship"), "{kinds:?}");
    // The emergency alert carries the reason given, the user and the patient.
    let text = open.to_string();
    assert!(text.contains("unconscious on arrival"), "{text}");
    assert!(text.contains("555000000101") && text.contains(&related));

    // Another organisation is not theirs to ask about.
    let (status, body) = spine
        .get(&format!("{ALERTS}?organization=NX901"), &officer)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Filters: by user, by patient, by date.
    let (_, by_patient) = spine
        .get(&format!("{ALERTS}?patient={stranger}"), &officer)
        .await;
    assert_eq!(alert_items(&by_patient).len(), 1, "{by_patient}");
    let (_, by_other_user) = spine
        .get(&format!("{ALERTS}?agent=555000000999"), &officer)
        .await;
    assert_eq!(alert_items(&by_other_user).len(), 0);
    let (_, before) = spine
        .get(&format!("{ALERTS}?date=le2020-01-01"), &officer)
        .await;
    assert_eq!(alert_items(&before).len(), 0);

    // Review: a note is needed; once reviewed it leaves the open list, and twice is refused.
    let emergency_id = items
        .iter()
        .find(|(_, k, _, _)| k.iter().any(|k| k == "emergency-access"))
        .map(|(id, _, _, _)| id.clone())
        .expect("emergency alert");
    let (status, body) = review(spine, &officer, &emergency_id, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "REVIEW_NOTE_REQUIRED");
    let (status, body) = review(
        spine,
        &officer,
        &emergency_id,
        Some("Confirmed with the ED consultant: patient arrived unconscious."),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = review(spine, &officer, &emergency_id, Some("again")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "ALERT_ALREADY_REVIEWED");
    let (status, body) = review(spine, &officer, "audit-999999", Some("x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "ALERT_NOT_FOUND");
    let (_, open) = spine.get(ALERTS, &officer).await;
    assert_eq!(alert_items(&open).len(), 1, "{open}");
    let (_, reviewed) = spine
        .get(&format!("{ALERTS}?status=reviewed"), &officer)
        .await;
    let reviewed = alert_items(&reviewed);
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0].0, emergency_id);
    assert!(reviewed[0]
        .3
        .as_deref()
        .is_some_and(|n| n.starts_with("Confirmed")));
    let reviews = spine
        .store()
        .audit_records(&AuditFilter {
            action: Some(AuditAction::AlertReview),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("trail");
    // Every try is audited: the doctor's and the receptionist's (refused by role), and the
    // officer's four (no note, the review, twice, an unknown alert), one of which succeeded.
    assert_eq!(reviews.len(), 6, "{reviews:?}");
    let by_officer = reviews
        .iter()
        .filter(|r| r.entry.user_id.as_deref() == Some("555000000303"))
        .count();
    assert_eq!(by_officer, 4, "{reviews:?}");
    let done: Vec<_> = reviews
        .iter()
        .filter(|r| r.entry.outcome == AuditOutcome::Success)
        .collect();
    assert_eq!(done.len(), 1);
    let audited = done[0];
    assert_eq!(audited.entry.user_id.as_deref(), Some("555000000303"));
    assert_eq!(audited.entry.detail.as_deref(), Some(emergency_id.as_str()));
    assert!(audited
        .entry
        .justification
        .as_deref()
        .is_some_and(|n| n.starts_with("Confirmed")));

    // "Who has viewed this record": the trail of one patient in the officer's organisation.
    let (status, viewed) = spine
        .get(
            &format!("/FHIR/R4/AuditEvent?patient={related}&action=summary-read"),
            &officer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{viewed}");
    assert_eq!(viewed["total"], 1, "the hospital's read only: {viewed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_limits_warn_then_refuse_sqlite() {
    volume_limits_warn_then_refuse(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_limits_warn_then_refuse_postgres() {
    volume_limits_warn_then_refuse(Backend::Postgres).await;
}

async fn volume_limits_warn_then_refuse(backend: Backend) {
    let Some(spine) = TestSpine::start_configured(backend, |c| {
        c.volume_limits.user_per_hour = scr_spine::config::VolumeLimit { soft: 2, hard: 3 };
    })
    .await
    else {
        return;
    };
    let doctor = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let mut patients = Vec::new();
    for i in 0..200u32 {
        if patients.len() == 5 {
            break;
        }
        if !scr_demo::seed::has_care_relationship(i) {
            continue;
        }
        if let Ok(Some((_, Some(_), None))) = spine.store().summary_view(seeded(i)).await {
            patients.push(seeded(i).as_digits());
        }
    }
    assert_eq!(patients.len(), 5);
    let open = |nhs: String| {
        let (spine, doctor) = (&spine, &doctor);
        async move {
            let path = format!("/FHIR/R4/Patient/{nhs}/$summary");
            spine
                .call_keeping_headers(
                    Method::GET,
                    &path,
                    Some(doctor),
                    &[("X-Access-Reason", "permission-to-view")],
                    None,
                )
                .await
        }
    };
    let warning = |h: &reqwest::header::HeaderMap| {
        h.get("x-access-volume-warning")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    for nhs in &patients[..2] {
        let (status, headers, body) = open(nhs.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(warning(&headers), None);
    }
    // The third different patient passes the soft limit: served, with a warning and an alert.
    let (status, headers, body) = open(patients[2].clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(warning(&headers).as_deref(), Some("user;hour;3;2"));
    let soft = last_entry(&spine, AuditAction::SummaryRead).await;
    assert_eq!(soft.entry.alerts, vec![AlertKind::VolumeSoftLimit]);
    // Opening one of them again adds nothing.
    let (status, headers, _) = open(patients[0].clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(warning(&headers).as_deref(), Some("user;hour;3;2"));
    assert!(last_entry(&spine, AuditAction::SummaryRead)
        .await
        .entry
        .alerts
        .is_empty());
    // A fourth different patient is past the hard limit: refused with its own code, alerted
    // once however often it is tried.
    for attempt in 0..2 {
        let (status, _, body) = open(patients[3 + attempt].clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(error_code(&body), "VOLUME_LIMIT_REACHED");
        let hard = last_entry(&spine, AuditAction::SummaryRead).await;
        assert_eq!(hard.entry.outcome, AuditOutcome::Refused);
        let expected = if attempt == 0 {
            vec![AlertKind::VolumeHardLimit]
        } else {
            vec![]
        };
        assert_eq!(hard.entry.alerts, expected, "attempt {attempt}");
    }
    let officer = spine
        .sign_in(&spine.identity("privacy-officer"), None)
        .await;
    let (_, alerts) = spine.get(ALERTS, &officer).await;
    let kinds: Vec<String> = alert_items(&alerts).into_iter().flat_map(|i| i.1).collect();
    assert_eq!(
        kinds,
        vec!["volume-hard-limit", "volume-soft-limit"],
        "{alerts}"
    );
    spine.stop().await;
}

//! Encounters and referrals in uploads open (and end) legitimate relationships; flags and a
//! death uploaded by the practice are served with the summary; and a clinician's "yes, the
//! child is attending unscheduled care" is recorded and alerts the privacy officer of the
//! organisation responsible for the child (issue 13).

use chrono::{Duration, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use scr_model::fhir::{upload_bundle, CareEvent, CareEventKind, Upload};
use scr_model::{
    AlertKind, AuditAction, AuditOutcome, AuditRecord, ChildProtectionPlan, ClinicalDate, Deceased,
    Demographics, NhsNumber, ReasonableAdjustment, RelationshipBasis,
};
use scr_spine::store::AuditFilter;
use serde_json::Value;

use crate::backend_tests;
use crate::harness::{error_code, TestSpine};
use crate::upload::{post, summary_with_allergy};

backend_tests!(
    an_uploaded_referral_opens_the_referred_organisations_access,
    a_hospitals_encounters_open_and_end_its_access,
    flags_and_a_death_from_the_practice_are_served_with_the_summary,
    a_child_protection_attendance_alerts_the_childs_responsible_organisation
);

const ALERTS: &str = "/FHIR/R4/AuditEvent/$alerts";

/// A seeded patient with a summary and no dissent, restriction or death: registered at the
/// demo practice (A81001) or not, with the seeded hospital encounter and out-of-hours
/// referral or without (scr-demo's seed: `i % 10 == 9` has none). `skip` of them passed over.
async fn seeded_patient(
    spine: &TestSpine,
    at_demo_practice: bool,
    related: bool,
    skip: usize,
) -> Demographics {
    let mut skipped = 0;
    for i in 0..1_500u32 {
        if scr_demo::seed::has_care_relationship(i) != related {
            continue;
        }
        let nhs = NhsNumber::nth_test_number(i).expect("test number");
        let Ok(Some((d, Some(s), consent))) = spine.store().summary_view(nhs).await else {
            continue;
        };
        if consent.is_some_and(|c| c.preference.is_dissent())
            || d.restricted
            || d.deceased.is_some()
            || s.flags.child_protection.is_some()
            || (d.gp_ods.as_deref() == Some("A81001")) != at_demo_practice
        {
            continue;
        }
        if skipped == skip {
            return d;
        }
        skipped += 1;
    }
    panic!("no such seeded patient (at the demo practice: {at_demo_practice}, related: {related})");
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

fn event(kind: CareEventKind, org: &str, open: bool) -> CareEvent {
    CareEvent {
        kind,
        org_ods: org.into(),
        open,
        start: Some(Utc::now() - Duration::hours(2)),
        end: (!open).then(|| Utc::now() - Duration::minutes(5)),
    }
}

fn care(id: &str, patient: &Demographics, events: Vec<CareEvent>) -> Upload {
    Upload {
        care: events,
        ..Upload::new(id, patient.clone())
    }
}

/// Opens `nhs`'s summary with permission: the status and, on a refusal, its code.
async fn open(spine: &TestSpine, token: &str, nhs: NhsNumber) -> (StatusCode, String) {
    let (status, body) = spine
        .summary(&nhs.as_digits(), token, Some("permission-to-view"))
        .await;
    (status, error_code(&body))
}

async fn an_uploaded_referral_opens_the_referred_organisations_access(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let ooh = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ooh"))
        .await;
    let patient = seeded_patient(spine, true, false, 0).await;
    let nhs = patient.nhs_number;
    assert_eq!(
        open(spine, &ooh, nhs).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into())
    );

    // The practice refers its patient to the out-of-hours service.
    let referral = care(
        "referral-1",
        &patient,
        vec![event(CareEventKind::Referral, "NX901", true)],
    );
    spine.keep_sample("upload-referral", &upload_bundle(&referral));
    let (status, body) = post(spine, &gp, &referral).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::OK, "RELATIONSHIPS_RECORDED"),
        "{body}"
    );
    assert_eq!(
        open(spine, &ooh, nhs).await,
        (StatusCode::OK, String::new())
    );
    let read = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(read.entry.relationship, Some(RelationshipBasis::Referral));
    assert_eq!(read.entry.org_ods.as_deref(), Some("NX901"));
    assert!(read.entry.alerts.is_empty(), "{:?}", read.entry.alerts);
    // The same upload again is a no-op.
    let (status, body) = post(spine, &gp, &referral).await;
    assert_eq!(error_code(&body), "ALREADY_APPLIED", "{status} {body}");

    // The referral completed: the relationship ends.
    let done = care(
        "referral-2",
        &patient,
        vec![event(CareEventKind::Referral, "NX901", false)],
    );
    let (status, body) = post(spine, &gp, &done).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        open(spine, &ooh, nhs).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into())
    );

    // A practice refers only its own registered patients.
    let elsewhere = seeded_patient(spine, false, false, 0).await;
    let (status, body) = post(
        spine,
        &gp,
        &care(
            "referral-3",
            &elsewhere,
            vec![event(CareEventKind::Referral, "NX901", true)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "NOT_REGISTERED_AT_PRACTICE");
    assert_eq!(
        open(spine, &ooh, elsewhere.nhs_number).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into())
    );
}

async fn a_hospitals_encounters_open_and_end_its_access(spine: &TestSpine) {
    let hospital = spine
        .sign_in(&spine.identity("hospital-system"), None)
        .await;
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let ed = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let ooh = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ooh"))
        .await;
    // Registered at another practice than the demo's: a hospital's encounters need none.
    let patient = seeded_patient(spine, false, false, 0).await;
    let nhs = patient.nhs_number;
    assert_eq!(
        open(spine, &ed, nhs).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into())
    );

    // The patient arrives in the hospital's emergency department.
    let arrived = care(
        "ed-attendance-1",
        &patient,
        vec![event(CareEventKind::Encounter, "RX901", true)],
    );
    spine.keep_sample("upload-encounter", &upload_bundle(&arrived));
    let (status, body) = post(spine, &hospital, &arrived).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::OK, "RELATIONSHIPS_RECORDED"),
        "{body}"
    );
    let upload = last_entry(spine, AuditAction::Upload).await;
    assert_eq!(upload.entry.outcome, AuditOutcome::Success);
    assert_eq!(upload.entry.patient, Some(nhs));
    assert_eq!(upload.entry.org_ods.as_deref(), Some("RX901"));
    assert_eq!(open(spine, &ed, nhs).await, (StatusCode::OK, String::new()));
    let read = last_entry(spine, AuditAction::SummaryRead).await;
    assert_eq!(read.entry.relationship, Some(RelationshipBasis::Encounter));

    // Discharged: the encounter finished, the relationship ends.
    let (status, body) = post(
        spine,
        &hospital,
        &care(
            "ed-attendance-2",
            &patient,
            vec![event(CareEventKind::Encounter, "RX901", false)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        open(spine, &ed, nhs).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into())
    );

    // An encounter at another organisation is not the hospital's to record, nor the
    // practice's; nothing of such an upload is kept.
    for (token, id) in [(&hospital, "elsewhere-1"), (&gp, "elsewhere-2")] {
        let (status, body) = post(
            spine,
            token,
            &care(
                id,
                &patient,
                vec![
                    event(CareEventKind::Encounter, "RX901", true),
                    event(CareEventKind::Encounter, "NX901", true),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(error_code(&body), "ENCOUNTER_NOT_AT_UPLOADER");
        let refused = last_entry(spine, AuditAction::Upload).await;
        assert_eq!(refused.entry.outcome, AuditOutcome::Refused);
        assert_eq!(
            refused.entry.detail.as_deref(),
            Some("ENCOUNTER_NOT_AT_UPLOADER")
        );
    }
    assert_eq!(
        open(spine, &ooh, nhs).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into())
    );
    assert_eq!(
        open(spine, &ed, nhs).await,
        (StatusCode::FORBIDDEN, "NO_LEGITIMATE_RELATIONSHIP".into()),
        "the refused upload's own encounter was not kept either"
    );

    // The hospital's system sends encounters only: a summary or a referral is the
    // practice's to send.
    let registered = seeded_patient(spine, true, false, 0).await;
    let mut summary = summary_with_allergy("Latex");
    summary.provenance.last_updated = Some(Utc::now());
    for upload in [
        Upload {
            summary: Some(summary),
            ..Upload::new("not-a-gp-1", registered.clone())
        },
        care(
            "not-a-gp-2",
            &registered,
            vec![event(CareEventKind::Referral, "RX901", true)],
        ),
    ] {
        let (status, body) = post(spine, &hospital, &upload).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(error_code(&body), "NOT_PERMITTED_FOR_ROLE");
    }
    // No one else may upload at all.
    let doctor = ed;
    let (status, _) = post(spine, &doctor, &arrived).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn flags_and_a_death_from_the_practice_are_served_with_the_summary(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let ed = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let mut patient = seeded_patient(spine, true, true, 0).await;
    let nhs = patient.nhs_number;
    let died = NaiveDate::from_ymd_opt(2025, 3, 12).map(ClinicalDate::Day);
    patient.deceased = Some(Deceased { date: died });
    let mut summary = summary_with_allergy("Penicillin");
    summary.provenance.last_updated = Some(Utc::now());
    summary.flags.reasonable_adjustment = Some(ReasonableAdjustment {
        adjustments: vec!["Needs a British Sign Language interpreter".into()],
        recorded: NaiveDate::from_ymd_opt(2024, 2, 1).map(ClinicalDate::Day),
    });
    let upload = Upload {
        summary: Some(summary.clone()),
        ..Upload::new("flags-1", patient.clone())
    };
    let (status, body) = post(spine, &gp, &upload).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::OK, "STORED"),
        "{body}"
    );

    let (status, doc) = spine
        .summary(&nhs.as_digits(), &ed, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    spine.keep_sample("summary-flags", &doc);
    let parsed =
        scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    assert_eq!(parsed.summary.flags, summary.flags);
    assert_eq!(parsed.patient.deceased, Some(Deceased { date: died }));
    // The demographics record the death too: the patient lookup says so before any summary.
    let (status, read) = spine
        .get(&format!("/FHIR/R4/Patient/{}", nhs.as_digits()), &ed)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["deceasedDateTime"], "2025-03-12");

    // A later summary without the flag: the flag is gone (the summary is replaced whole);
    // a Patient that says nothing of a death does not undo it.
    let mut later = summary_with_allergy("Penicillin");
    later.provenance.last_updated = Some(Utc::now());
    let mut alive = patient.clone();
    alive.deceased = None;
    let (status, body) = post(
        spine,
        &gp,
        &Upload {
            summary: Some(later),
            ..Upload::new("flags-2", alive)
        },
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, doc) = spine
        .summary(&nhs.as_digits(), &ed, Some("permission-to-view"))
        .await;
    let parsed =
        scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    assert!(
        parsed.summary.flags.is_empty(),
        "{:?}",
        parsed.summary.flags
    );
    assert_eq!(parsed.patient.deceased, Some(Deceased { date: died }));
}

/// Uploads a summary for `patient` with a child protection plan held by LA901.
async fn with_a_plan(spine: &TestSpine, gp: &str, patient: &Demographics, id: &str, ended: bool) {
    let mut summary = summary_with_allergy("Penicillin");
    summary.provenance.last_updated = Some(Utc::now());
    summary.flags.child_protection = Some(ChildProtectionPlan {
        responsible_ods: Some("LA901".into()),
        responsible_name: Some("Synthetic County Council Children's Services".into()),
        start: NaiveDate::from_ymd_opt(2025, 9, 1).map(ClinicalDate::Day),
        end: ended.then(|| ClinicalDate::Day(Utc::now().date_naive() - Duration::days(3))),
    });
    let upload = Upload {
        summary: Some(summary),
        ..Upload::new(id, patient.clone())
    };
    spine.keep_sample("upload-child-protection-plan", &upload_bundle(&upload));
    let (status, body) = post(spine, gp, &upload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn attend(spine: &TestSpine, token: &str, nhs: NhsNumber) -> (StatusCode, Value) {
    spine
        .call(
            Method::POST,
            &format!("/FHIR/R4/Patient/{}/$cp-attendance", nhs.as_digits()),
            Some(token),
            &[],
            None,
        )
        .await
}

/// The alert items of an `$alerts` answer: (patient, kinds).
fn alert_items(bundle: &Value) -> Vec<(String, Vec<String>)> {
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let r = &e["resource"];
            let patient = r["entity"][0]["what"]["identifier"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let kinds = r["extension"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|x| {
                    x["url"]
                        .as_str()
                        .is_some_and(|u| u.ends_with("privacy-alert-review"))
                })
                .flat_map(|x| x["extension"].as_array().cloned().unwrap_or_default())
                .filter(|p| p["url"] == "kind")
                .filter_map(|p| p["valueCode"].as_str().map(str::to_string))
                .collect();
            (patient, kinds)
        })
        .collect()
}

async fn a_child_protection_attendance_alerts_the_childs_responsible_organisation(
    spine: &TestSpine,
) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let ed = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let child = seeded_patient(spine, true, true, 0).await;
    let nhs = child.nhs_number;
    with_a_plan(spine, &gp, &child, "plan-1", false).await;

    // Yes, the child is attending unscheduled care: recorded and alerted.
    let (status, body) = attend(spine, &ed, nhs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(error_code(&body), "ATTENDANCE_RECORDED");
    let recorded = last_entry(spine, AuditAction::CpAttendance).await;
    assert_eq!(recorded.entry.outcome, AuditOutcome::Success);
    assert_eq!(recorded.entry.patient, Some(nhs));
    assert_eq!(recorded.entry.user_id.as_deref(), Some("555000000101"));
    assert_eq!(recorded.entry.org_ods.as_deref(), Some("RX901"));
    assert_eq!(
        recorded.entry.alerts,
        vec![AlertKind::ChildProtectionAttendance]
    );
    assert_eq!(recorded.entry.alert_org.as_deref(), Some("LA901"));
    assert_eq!(
        recorded.entry.relationship,
        Some(RelationshipBasis::Encounter)
    );

    // The local authority's privacy officer has it; the hospital's does not.
    let la_officer = spine
        .sign_in(&spine.identity("la-privacy-officer"), None)
        .await;
    let (status, alerts) = spine.get(ALERTS, &la_officer).await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    assert_eq!(
        alert_items(&alerts),
        vec![(
            nhs.as_digits(),
            vec!["child-protection-attendance".to_string()]
        )],
        "{alerts}"
    );
    assert!(
        alerts.to_string().contains("555000000101"),
        "who attended: {alerts}"
    );
    assert!(
        alerts
            .to_string()
            .contains(r#""url":"alertFor","valueString":"LA901""#),
        "the AuditEvent says whose alert it is: {alerts}"
    );
    let hospital_officer = spine
        .sign_in(&spine.identity("privacy-officer"), None)
        .await;
    let (_, theirs) = spine.get(ALERTS, &hospital_officer).await;
    assert!(
        alert_items(&theirs)
            .iter()
            .all(|(_, kinds)| !kinds.iter().any(|k| k == "child-protection-attendance")),
        "{theirs}"
    );
    // The chain is whole with the new field in it.
    assert!(matches!(
        scr_spine::audit::verify_chain(spine.store())
            .await
            .expect("verify"),
        scr_spine::audit::ChainReport::Intact { .. }
    ));

    // No plan, or one that has ended: refused, audited, nothing alerted.
    let no_plan = seeded_patient(spine, true, true, 1).await;
    let ended = seeded_patient(spine, true, true, 2).await;
    with_a_plan(spine, &gp, &ended, "plan-2", true).await;
    for patient in [&no_plan, &ended] {
        let (status, body) = attend(spine, &ed, patient.nhs_number).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(error_code(&body), "NO_CHILD_PROTECTION_PLAN");
        let refused = last_entry(spine, AuditAction::CpAttendance).await;
        assert_eq!(refused.entry.outcome, AuditOutcome::NotFound);
        assert_eq!(refused.entry.patient, Some(patient.nhs_number));
        assert!(refused.entry.alerts.is_empty());
    }

    // A child with a plan but no relationship with the hospital: refused as $summary is.
    let stranger = seeded_patient(spine, true, false, 0).await;
    with_a_plan(spine, &gp, &stranger, "plan-3", false).await;
    let (status, body) = attend(spine, &ed, stranger.nhs_number).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "NO_LEGITIMATE_RELATIONSHIP");

    // A role that does not open summaries may not say so either.
    let reception = spine.sign_in(&spine.identity("receptionist"), None).await;
    let (status, body) = attend(spine, &reception, nhs).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "NOT_PERMITTED_FOR_ROLE");

    let (_, alerts) = spine.get(ALERTS, &la_officer).await;
    assert_eq!(
        alert_items(&alerts).len(),
        1,
        "only the one attendance: {alerts}"
    );
}

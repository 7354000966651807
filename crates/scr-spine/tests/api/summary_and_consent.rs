//! Reading a summary (reason required, emergency alerts), consent states, and what answers
//! without a session.

use reqwest::{Method, StatusCode};
use scr_model::{AllergyState, NhsNumber};

use crate::backend_tests;
use crate::harness::{error_code, TestSpine};

backend_tests!(
    summary_needs_a_reason_and_emergency_alerts,
    consent_states_are_distinct,
    open_routes_and_bad_input,
    a_restricted_patients_source_practice_is_withheld
);

/// A restricted patient's summary names neither their address, their GP, nor the practice
/// that sent it (the source practice locates them as surely as the GP does).
async fn a_restricted_patients_source_practice_is_withheld(spine: &TestSpine) {
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let (mut patient, stored, _) = spine
        .store()
        .summary_view(nhs)
        .await
        .expect("view")
        .expect("patient");
    let ods = stored
        .and_then(|s| s.provenance.practice_ods)
        .expect("a seeded summary names its practice");
    // The record is marked sensitive at the practice (both the column and the record).
    patient.restricted = true;
    sqlx::query("UPDATE patients SET restricted = 1, record = $1 WHERE nhs_number = $2")
        .bind(serde_json::to_string(&patient).expect("json"))
        .bind(nhs.as_digits())
        .execute(spine.store().write_pool())
        .await
        .expect("restrict");
    let (status, doc) = spine
        .summary(&nhs.as_digits(), &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let served = doc.to_string();
    assert!(
        !served.contains(&ods),
        "the source practice {ods} was served: …{}…",
        served
            .find(&ods)
            .map(|i| &served[i.saturating_sub(200)..(i + 50).min(served.len())])
            .unwrap_or("")
    );
    let parsed = scr_model::fhir::parse_document(served.as_bytes()).expect("parse");
    assert!(parsed.patient.restricted);
    assert_eq!(parsed.summary.provenance.practice_ods, None);
}

async fn summary_needs_a_reason_and_emergency_alerts(spine: &TestSpine) {
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patients = spine
        .store()
        .sample_patients(true, 200)
        .await
        .expect("sample");
    // One patient of each allergy state, to check each comes back as itself.
    let mut seen = std::collections::HashSet::new();
    for nhs in &patients {
        let (_, stored, _) = spine
            .store()
            .summary_view(*nhs)
            .await
            .expect("view")
            .expect("patient");
        let Some(stored) = stored else { continue };
        let state = match &stored.allergies {
            AllergyState::Known { .. } => "known",
            AllergyState::NoKnownAllergies { .. } => "nka",
            AllergyState::NotRecorded => "not-recorded",
            AllergyState::DescribedInText => "text-only",
        };
        if !seen.insert(state) {
            continue;
        }
        let (status, doc) = spine
            .summary(&nhs.as_digits(), &doctor, Some("permission-to-view"))
            .await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        assert_eq!(doc["resourceType"], "Bundle");
        assert_eq!(doc["type"], "document");
        assert_eq!(doc["entry"][0]["resource"]["resourceType"], "Composition");
        let parsed = scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json"))
            .expect("parse own document");
        assert_eq!(
            parsed.summary.allergies, stored.allergies,
            "allergy state {state} round-trips"
        );
        assert_eq!(parsed.patient.nhs_number, Some(*nhs));
        spine.keep_sample(&format!("summary-{state}"), &doc);
    }
    assert_eq!(
        seen.len(),
        3,
        "the seeded population has all three allergy states"
    );

    let nhs = patients[0].as_digits();
    let (status, body) = spine.summary(&nhs, &doctor, None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "ACCESS_REASON_REQUIRED")
    );
    let (status, _) = spine.summary(&nhs, &doctor, Some("because")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Emergency access works and raises an alert the privacy officer reads.
    let (status, _) = spine.summary(&nhs, &doctor, Some("emergency")).await;
    assert_eq!(status, StatusCode::OK);
    let privacy = spine
        .sign_in(&spine.identity("privacy-officer"), None)
        .await;
    let (status, alerts) = spine.get("/FHIR/R4/AuditEvent?alert=true", &privacy).await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let entries = alerts["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        entries.len(),
        1,
        "exactly one emergency access so far: {alerts}"
    );
    let text = entries[0].to_string();
    assert!(
        text.contains(&nhs) && text.contains("555000000101"),
        "who and whose record: {text}"
    );
    spine.keep_sample("audit-alerts", &alerts);
    let (status, trail) = spine
        .get(
            &format!("/FHIR/R4/AuditEvent?patient={nhs}&_count=50"),
            &privacy,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        trail["entry"].as_array().map(|e| e.len()).unwrap_or(0) >= 4,
        "{trail}"
    );
}

async fn consent_states_are_distinct(spine: &TestSpine) {
    let reception = spine.sign_in(&spine.identity("receptionist"), None).await;
    let dissenter = spine
        .store()
        .dissented_patients(1)
        .await
        .expect("dissenters")[0];
    let (status, bundle) = spine
        .get(
            &format!("/FHIR/R4/Consent?patient={}", dissenter.as_digits()),
            &reception,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 1, "{bundle}");
    assert_eq!(
        bundle["entry"][0]["resource"]["provision"]["type"], "deny",
        "{bundle}"
    );
    spine.keep_sample("consent-dissent", &bundle);

    // A patient with no recorded preference: an empty result, not an error.
    let mut none = None;
    for n in spine
        .store()
        .sample_patients(false, 300)
        .await
        .expect("sample")
    {
        if spine.store().consent(n).await.expect("consent") == Some(None) {
            none = Some(n);
            break;
        }
    }
    let none = none.expect("a patient with no preference");
    let (status, bundle) = spine
        .get(
            &format!("/FHIR/R4/Consent?patient={}", none.as_digits()),
            &reception,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 0, "{bundle}");
    spine.keep_sample("consent-none", &bundle);

    // An NHS number nobody has: 404, distinguishable from "no preference".
    let unknown = NhsNumber::nth_test_number(890_000).expect("number");
    let (status, body) = spine
        .get(
            &format!("/FHIR/R4/Consent?patient={}", unknown.as_digits()),
            &reception,
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "PATIENT_NOT_FOUND")
    );
    spine.keep_sample("outcome-not-found", &body);

    // The receptionist reads demographics for the banner, never the summary.
    let (status, patient) = spine
        .get(
            &format!("/FHIR/R4/Patient/{}", none.as_digits()),
            &reception,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    spine.keep_sample("patient", &patient);
    let (status, body) = spine
        .summary(&none.as_digits(), &reception, Some("permission-to-view"))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "NOT_PERMITTED_FOR_ROLE")
    );
}

async fn open_routes_and_bad_input(spine: &TestSpine) {
    let (status, metadata) = spine
        .call(Method::GET, "/FHIR/R4/metadata", None, &[], None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["resourceType"], "CapabilityStatement");
    spine.keep_sample("metadata", &metadata);
    let (status, _) = spine.call(Method::GET, "/healthz", None, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = spine
        .call(Method::GET, "/no/such/route", None, &[], None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["resourceType"], "OperationOutcome");

    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    // Wrong check digit (9434765918), letters, wrong length: each a clear 400.
    for bad in ["9434765918", "94347A5919", "12345"] {
        let (status, body) = spine
            .summary(bad, &doctor, Some("permission-to-view"))
            .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::BAD_REQUEST, "INVALID_NHS_NUMBER"),
            "{bad}"
        );
    }
    let unknown = NhsNumber::nth_test_number(890_001)
        .expect("number")
        .as_digits();
    let (status, body) = spine
        .summary(&unknown, &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "PATIENT_NOT_FOUND")
    );
    let (status, _) = spine
        .call(
            Method::POST,
            "/auth/challenge",
            None,
            &[],
            Some(b"[]".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

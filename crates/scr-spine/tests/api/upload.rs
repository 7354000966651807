//! GP practice uploads: create, replace, retry, dissent — and nothing stored for a dissenter.

use chrono::NaiveDate;
use reqwest::{Method, StatusCode};
use scr_model::fhir::{upload_bundle, Upload};
use scr_model::{
    Allergy, AllergyState, Coding, ConsentRecord, Provenance, SharingPreference, Summary,
    Verification,
};
use serde_json::Value;

use crate::backend_tests;
use crate::harness::{error_code, TestSpine};

backend_tests!(
    upload_rules,
    dissent_withdraws_the_summary,
    text_only_allergies_are_stored_and_served_as_text,
    the_source_shown_is_the_practice_that_uploaded
);

/// A GP system's document may name any practice as its custodian; the source a viewer is
/// shown is the practice whose system signed in and uploaded it.
async fn the_source_shown_is_the_practice_that_uploaded(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let mut summary = summary_with_allergy("Penicillin");
    summary.provenance.practice_ods = Some("Y99999".into());
    summary.provenance.practice_name = Some("A Practice That Did Not Send This".into());
    let upload = Upload {
        bundle_id: "claims-another-practice".into(),
        patient: patient.clone(),
        summary: Some(summary),
        consent: None,
        care: Vec::new(),
    };
    let (status, body) = post(spine, &gp, &upload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, doc) = spine
        .summary(
            &patient.nhs_number.as_digits(),
            &doctor,
            Some("permission-to-view"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = doc.to_string();
    assert!(
        !text.contains("Y99999"),
        "the claimed practice is not served"
    );
    assert!(!text.contains("A Practice That Did Not Send This"));
    let parsed =
        scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    assert_eq!(
        parsed.summary.provenance.practice_ods.as_deref(),
        Some("A81001")
    );
    assert_eq!(
        parsed.summary.provenance.practice_name.as_deref(),
        Some("The Surgery")
    );
}

/// A practice that sends allergies as text only (as the NHS SCR API does): the spine keeps
/// the text and serves it as text, so the viewer reads "described in text only", never
/// "not recorded".
async fn text_only_allergies_are_stored_and_served_as_text(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let mut summary = summary_with_allergy("unused");
    summary.allergies = scr_model::AllergyState::DescribedInText;
    summary.narratives.allergies = Some(
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Penicillin - anaphylaxis 1998</p></div>"#
            .into(),
    );
    let upload = Upload {
        bundle_id: "text-only-1".into(),
        patient: patient.clone(),
        summary: Some(summary),
        consent: None,
        care: Vec::new(),
    };
    let (status, body) = post(spine, &gp, &upload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, doc) = spine
        .summary(
            &patient.nhs_number.as_digits(),
            &doctor,
            Some("permission-to-view"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    spine.keep_sample("summary-text-only", &doc);
    let parsed =
        scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    assert_eq!(
        parsed.summary.allergies,
        scr_model::AllergyState::DescribedInText
    );
    let text = parsed.summary.narratives.allergies.unwrap_or_default();
    assert!(text.contains("Penicillin - anaphylaxis 1998"), "{text}");
}

pub(crate) fn summary_with_allergy(substance: &str) -> Summary {
    Summary {
        allergies: AllergyState::Known {
            allergies: vec![Allergy {
                substance: Coding {
                    system: Some(scr_model::systems::SNOMED.into()),
                    code: Some("764146007".into()),
                    display: substance.into(),
                },
                reaction: Some("Anaphylaxis".into()),
                severity: None,
                criticality: None,
                verification: Verification::Confirmed,
                recorded: None,
            }],
        },
        medications: vec![],
        problems: vec![],
        provenance: Provenance {
            practice_ods: Some("A81001".into()),
            practice_name: Some("The Surgery".into()),
            author: None,
            // Fixed, so a retry of the same upload is byte-identical.
            last_updated: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 3, 9, 0, 0)
                .single(),
        },
        narratives: Default::default(),
        flags: Default::default(),
        additional: Default::default(),
    }
}

/// A seeded patient registered at the GP system's practice (A81001), with no dissent.
pub(crate) async fn patient_at_a81001(
    spine: &TestSpine,
    dissented: bool,
) -> scr_model::Demographics {
    patient_at_a81001_in(spine.store(), dissented).await
}

pub(crate) async fn patient_at_a81001_in(
    store: &scr_spine::store::Store,
    dissented: bool,
) -> scr_model::Demographics {
    for nhs in store.sample_patients(false, 1_500).await.expect("sample") {
        let (d, _, consent) = store
            .summary_view(nhs)
            .await
            .expect("view")
            .expect("patient");
        let is_dissent = consent.is_some_and(|c| c.preference.is_dissent());
        if d.gp_ods.as_deref() == Some("A81001") && is_dissent == dissented && !d.restricted {
            return d;
        }
    }
    panic!("no suitable patient at A81001 in the seeded population");
}

pub(crate) async fn post(spine: &TestSpine, token: &str, upload: &Upload) -> (StatusCode, Value) {
    let body = serde_json::to_vec(&upload_bundle(upload)).expect("json");
    spine
        .call(Method::POST, "/FHIR/R4", Some(token), &[], Some(body))
        .await
}

async fn upload_rules(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let nhs = patient.nhs_number.as_digits();
    let upload = Upload {
        bundle_id: "upload-1".into(),
        patient: patient.clone(),
        summary: Some(summary_with_allergy("Penicillin")),
        consent: None,
        care: Vec::new(),
    };
    spine.keep_sample("upload-bundle", &upload_bundle(&upload));
    let (status, body) = post(spine, &gp, &upload).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::OK, "STORED"),
        "{body}"
    );
    spine.keep_sample("upload-outcome", &body);
    let (status, doc) = spine
        .summary(&nhs, &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let parsed =
        scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    assert_eq!(
        parsed.summary.allergies,
        summary_with_allergy("Penicillin").allergies
    );

    // A retry of the same upload changes nothing and says so.
    let (status, body) = post(spine, &gp, &upload).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::OK, "ALREADY_APPLIED")
    );
    // The same identifier with other content is a conflict, and nothing changes.
    let other = Upload {
        summary: Some(summary_with_allergy("Latex")),
        ..upload.clone()
    };
    let (status, body) = post(spine, &gp, &other).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "BUNDLE_IDENTIFIER_REUSED")
    );
    // A new upload replaces the summary.
    let replace = Upload {
        bundle_id: "upload-2".into(),
        ..other
    };
    let (status, _) = post(spine, &gp, &replace).await;
    assert_eq!(status, StatusCode::OK);
    let (_, doc) = spine
        .summary(&nhs, &doctor, Some("permission-to-view"))
        .await;
    let parsed =
        scr_model::fhir::parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    assert_eq!(
        parsed.summary.allergies,
        summary_with_allergy("Latex").allergies
    );

    // A patient registered elsewhere is not this practice's to upload.
    let mut elsewhere = None;
    for n in spine
        .store()
        .sample_patients(false, 200)
        .await
        .expect("sample")
    {
        let d = spine
            .store()
            .patient(n)
            .await
            .expect("read")
            .expect("patient");
        if d.gp_ods.as_deref() != Some("A81001") {
            elsewhere = Some(d);
            break;
        }
    }
    let elsewhere = elsewhere.expect("a patient at another practice");
    let (status, body) = post(
        spine,
        &gp,
        &Upload {
            bundle_id: "upload-3".into(),
            patient: elsewhere,
            summary: Some(summary_with_allergy("Latex")),
            consent: None,
            care: Vec::new(),
        },
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "NOT_REGISTERED_AT_PRACTICE")
    );

    // Malformed and oversized bodies are clear refusals.
    let (status, body) = spine
        .call(
            Method::POST,
            "/FHIR/R4",
            Some(&gp),
            &[],
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_BUNDLE")
    );
    let huge = vec![b' '; scr_model::fhir::MAX_DOCUMENT_BYTES + 200 * 1024];
    let (status, _) = spine
        .call(Method::POST, "/FHIR/R4", Some(&gp), &[], Some(huge))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn dissent_withdraws_the_summary(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let reception = spine.sign_in(&spine.identity("receptionist"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let nhs = patient.nhs_number.as_digits();
    let (status, _) = post(
        spine,
        &gp,
        &Upload {
            bundle_id: "d-1".into(),
            patient: patient.clone(),
            summary: Some(summary_with_allergy("Penicillin")),
            consent: None,
            care: Vec::new(),
        },
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let dissent = ConsentRecord {
        preference: SharingPreference::Dissent,
        code: "9Ndo".into(),
        recorded: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        recorded_by_ods: Some("A81001".into()),
    };
    let (status, body) = post(
        spine,
        &gp,
        &Upload {
            bundle_id: "d-2".into(),
            patient: patient.clone(),
            summary: None,
            consent: Some(dissent.clone()),
            care: Vec::new(),
        },
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::OK, "DISSENT_RECORDED"),
        "{body}"
    );

    // Nothing clinical is held any more; the summary is refused with a final answer.
    let (_, stored, consent) = spine
        .store()
        .summary_view(patient.nhs_number)
        .await
        .expect("view")
        .expect("patient");
    assert!(stored.is_none(), "the central summary must be deleted");
    assert_eq!(
        consent.as_ref().map(|c| c.preference),
        Some(SharingPreference::Dissent)
    );
    let (status, body) = spine.summary(&nhs, &doctor, Some("emergency")).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "PATIENT_DISSENTED")
    );

    // Reception can still confirm the opt-out, with its code and date.
    let (status, bundle) = spine
        .get(&format!("/FHIR/R4/Consent?patient={nhs}"), &reception)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = bundle.to_string();
    assert!(
        text.contains("9Ndo") && text.contains("2026-11-20"),
        "{bundle}"
    );

    // A later summary upload without a new preference is refused; nothing is stored.
    let (status, body) = post(
        spine,
        &gp,
        &Upload {
            bundle_id: "d-3".into(),
            patient: patient.clone(),
            summary: Some(summary_with_allergy("Latex")),
            consent: None,
            care: Vec::new(),
        },
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "PATIENT_DISSENTED")
    );
    let (_, stored, _) = spine
        .store()
        .summary_view(patient.nhs_number)
        .await
        .expect("view")
        .expect("patient");
    assert!(stored.is_none());

    // An upload that itself carries the dissent code (93C3) and a summary stores nothing clinical.
    let other = patient_at_a81001(spine, false).await;
    let with_code = ConsentRecord {
        code: "93C3".into(),
        ..dissent
    };
    let (status, _) = post(
        spine,
        &gp,
        &Upload {
            bundle_id: "d-4".into(),
            patient: other.clone(),
            summary: Some(summary_with_allergy("Latex")),
            consent: Some(with_code),
            care: Vec::new(),
        },
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, stored, _) = spine
        .store()
        .summary_view(other.nhs_number)
        .await
        .expect("view")
        .expect("patient");
    assert!(stored.is_none());
}

//! SCR Additional Information and the consent rules of DOMAIN.md, on both stores: held and
//! served only for express consent to core and additional information or no stated
//! preference, never for a dissent, the sensitive categories only at the patient's request,
//! and served under the preference in force when it is read.

use chrono::NaiveDate;
use reqwest::StatusCode;
use scr_model::fhir::{parse_document, Upload};
use scr_model::{
    AdditionalInformation, ConsentRecord, Demographics, Immunisation, ImmunisationStatus,
    PastCondition, PastProcedure, Section, SensitiveCategory, SharingPreference, Summary,
};

use crate::backend_tests;
use crate::harness::{error_code, TestSpine};
use crate::upload::{patient_at_a81001, post, summary_with_allergy};

backend_tests!(
    additional_information_follows_the_sharing_preference,
    sensitive_categories_are_held_only_at_the_patients_request,
    a_dissent_leaves_no_additional_information
);

fn consent(preference: SharingPreference, code: &str) -> ConsentRecord {
    ConsentRecord {
        preference,
        code: code.into(),
        recorded: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        recorded_by_ods: Some("A81001".into()),
    }
}

fn coding(display: &str) -> scr_model::Coding {
    scr_model::Coding {
        system: None,
        code: None,
        display: display.into(),
    }
}

/// A summary with Additional Information: a past illness, a procedure, an immunisation, a
/// section with nothing recorded, a repeat medicine with its reason, and one entry in a
/// sensitive category.
fn with_additional(sensitive_included: bool) -> Summary {
    let mut s = summary_with_allergy("Penicillin");
    s.additional = AdditionalInformation {
        history: Section::recorded(vec![
            PastCondition {
                condition: coding("Pneumonia"),
                onset: None,
                ended: None,
                sensitive: None,
            },
            PastCondition {
                condition: coding("Chlamydial infection"),
                onset: None,
                ended: None,
                sensitive: Some(SensitiveCategory::SexuallyTransmittedInfection),
            },
        ]),
        procedures: Section::recorded(vec![PastProcedure {
            procedure: coding("Cholecystectomy"),
            performed: None,
            sensitive: None,
        }]),
        immunisations: Section::recorded(vec![Immunisation {
            vaccine: coding("Seasonal influenza vaccine"),
            status: ImmunisationStatus::Given,
            date: None,
        }]),
        end_of_life: Section::recorded(Vec::new()),
        sensitive_included,
        ..Default::default()
    };
    s.medications = vec![scr_model::Medication {
        medicine: coding("Ramipril 5mg capsules"),
        kind: scr_model::MedicationKind::Repeat,
        status: scr_model::MedicationStatus::Active,
        dosage: None,
        quantity: None,
        started: None,
        last_issued: None,
        discontinued: None,
        reason: Some("Hypertensive disorder".into()),
    }];
    s
}

async fn upload(
    spine: &TestSpine,
    gp: &str,
    id: &str,
    patient: &Demographics,
    summary: Option<Summary>,
    consent: Option<ConsentRecord>,
) {
    let upload = Upload {
        bundle_id: id.into(),
        patient: patient.clone(),
        summary,
        consent,
        care: Vec::new(),
    };
    let (status, body) = post(spine, gp, &upload).await;
    assert_eq!(status, StatusCode::OK, "{id}: {body}");
}

/// What the doctor is served (kept as a sample for the independent FHIR validator under
/// `keep`, where given).
async fn served_kept(
    spine: &TestSpine,
    doctor: &str,
    patient: &Demographics,
    keep: Option<&str>,
) -> (Summary, String) {
    let (status, doc) = spine
        .summary(
            &patient.nhs_number.as_digits(),
            doctor,
            Some("permission-to-view"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    if let Some(name) = keep {
        spine.keep_sample(name, &doc);
    }
    let parsed = parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
    (parsed.summary, doc.to_string())
}

async fn served(spine: &TestSpine, doctor: &str, patient: &Demographics) -> (Summary, String) {
    served_kept(spine, doctor, patient, None).await
}

/// What the store holds (the row itself, not what is served from it).
async fn held(spine: &TestSpine, patient: &Demographics) -> Summary {
    let (_, summary, _) = spine
        .store()
        .summary_view(patient.nhs_number)
        .await
        .expect("view")
        .expect("patient");
    summary.expect("a summary held")
}

fn names<T>(s: &Section<T>, name: impl Fn(&T) -> &str) -> Vec<String> {
    s.entries().iter().map(|e| name(e).to_string()).collect()
}

async fn additional_information_follows_the_sharing_preference(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;

    // Express consent for core and additional: shared, each section as sent.
    let both = consent(SharingPreference::ExpressConsentCoreAndAdditional, "9Ndn");
    upload(
        spine,
        &gp,
        "ai-1",
        &patient,
        Some(with_additional(false)),
        Some(both),
    )
    .await;
    let (s, _) = served_kept(spine, &doctor, &patient, Some("summary-additional")).await;
    assert_eq!(
        names(&s.additional.history, |c| &c.condition.display),
        ["Pneumonia"]
    );
    assert_eq!(
        names(&s.additional.procedures, |p| &p.procedure.display),
        ["Cholecystectomy"]
    );
    assert_eq!(s.additional.immunisations.entries().len(), 1);
    assert_eq!(
        s.additional.end_of_life,
        Section::recorded(Vec::new()),
        "nothing recorded stays nothing recorded"
    );
    assert_eq!(s.additional.anticipatory_care, Section::NotIncluded);
    assert_eq!(
        s.medications[0].reason.as_deref(),
        Some("Hypertensive disorder")
    );

    // The practice records core-only consent (no new summary): what is held is served under
    // the preference now in force — withheld, every section that was carried.
    let core = consent(SharingPreference::ExpressConsentCore, "9Ndm");
    upload(spine, &gp, "ai-2", &patient, None, Some(core.clone())).await;
    let (s, text) = served_kept(
        spine,
        &doctor,
        &patient,
        Some("summary-additional-withheld"),
    )
    .await;
    assert_eq!(s.additional.history, Section::Withheld);
    assert_eq!(s.additional.procedures, Section::Withheld);
    assert_eq!(s.additional.immunisations, Section::Withheld);
    assert_eq!(s.additional.end_of_life, Section::Withheld);
    assert_eq!(s.medications[0].reason, None);
    for absent in ["Pneumonia", "Cholecystectomy", "influenza", "Hypertensive"] {
        assert!(
            !text.contains(absent),
            "{absent} served under core-only consent"
        );
    }
    // The allergies are the core record: still there.
    assert!(matches!(s.allergies, scr_model::AllergyState::Known { .. }));

    // A new summary under core-only consent: the spine does not even hold the additional
    // information.
    upload(
        spine,
        &gp,
        "ai-3",
        &patient,
        Some(with_additional(true)),
        None,
    )
    .await;
    let kept = held(spine, &patient).await;
    assert_eq!(kept.additional.history, Section::Withheld);
    assert_eq!(kept.additional.procedures, Section::Withheld);
    assert!(kept.medications.iter().all(|m| m.reason.is_none()));

    // Implied consent for the core is the same answer.
    let implied = consent(SharingPreference::ImpliedConsentCore, "9Ndl");
    upload(
        spine,
        &gp,
        "ai-4",
        &patient,
        Some(with_additional(false)),
        Some(implied),
    )
    .await;
    assert_eq!(
        held(spine, &patient).await.additional.history,
        Section::Withheld
    );
}

async fn sensitive_categories_are_held_only_at_the_patients_request(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let both = consent(SharingPreference::ExpressConsentCoreAndAdditional, "93C2");

    upload(
        spine,
        &gp,
        "sens-1",
        &patient,
        Some(with_additional(false)),
        Some(both),
    )
    .await;
    let kept = held(spine, &patient).await;
    assert_eq!(
        names(&kept.additional.history, |c| &c.condition.display),
        ["Pneumonia"],
        "not held without the patient's request"
    );
    let (_, text) = served(spine, &doctor, &patient).await;
    assert!(
        !text.contains("Chlamydial"),
        "served without the patient's request"
    );

    upload(
        spine,
        &gp,
        "sens-2",
        &patient,
        Some(with_additional(true)),
        None,
    )
    .await;
    let (s, _) = served(spine, &doctor, &patient).await;
    assert_eq!(
        names(&s.additional.history, |c| &c.condition.display),
        ["Pneumonia", "Chlamydial infection"]
    );
    assert_eq!(
        s.additional.history.entries()[1].sensitive,
        Some(SensitiveCategory::SexuallyTransmittedInfection)
    );
    assert!(s.additional.sensitive_included);
}

async fn a_dissent_leaves_no_additional_information(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    upload(
        spine,
        &gp,
        "dis-1",
        &patient,
        Some(with_additional(true)),
        None,
    )
    .await;
    let dissent = consent(SharingPreference::Dissent, "9Ndo");
    upload(spine, &gp, "dis-2", &patient, None, Some(dissent)).await;
    let (_, summary, _) = spine
        .store()
        .summary_view(patient.nhs_number)
        .await
        .expect("view")
        .expect("patient");
    assert!(
        summary.is_none(),
        "nothing clinical is held after a dissent"
    );
    let (status, body) = spine
        .summary(
            &patient.nhs_number.as_digits(),
            &doctor,
            Some("permission-to-view"),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "PATIENT_DISSENTED")
    );
    // A summary sent after the dissent, with no new preference, is refused whole.
    let upload_after = Upload {
        bundle_id: "dis-3".into(),
        patient: patient.clone(),
        summary: Some(with_additional(true)),
        consent: None,
        care: Vec::new(),
    };
    let (status, body) = post(spine, &gp, &upload_after).await;
    assert_eq!(error_code(&body), "PATIENT_DISSENTED", "{status}: {body}");
}

backend_tests!(printing_is_recorded_as_its_own_entry_before_anything_is_printed);

/// `$print-summary`: recorded with its own action (`summary-print`), for roles that open
/// summaries and organisations with a relationship; refused (and the refusal recorded) for
/// a receptionist and for a patient with no summary to print.
async fn printing_is_recorded_as_its_own_entry_before_anything_is_printed(spine: &TestSpine) {
    use reqwest::Method;
    use scr_model::{AuditAction, AuditOutcome};
    use scr_spine::store::AuditFilter;

    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let nhs = patient.nhs_number.as_digits();
    let path = format!("/FHIR/R4/Patient/{nhs}/$print-summary");
    let (status, body) = spine
        .call(Method::POST, &path, Some(&doctor), &[], None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let last = |action| async move {
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
    };
    let printed = last(AuditAction::SummaryPrint).await;
    assert_eq!(printed.entry.outcome, AuditOutcome::Success);
    assert_eq!(printed.entry.patient, Some(patient.nhs_number));
    assert_eq!(printed.entry.action.code(), "summary-print");

    let reception = spine.sign_in(&spine.identity("receptionist"), None).await;
    let (status, body) = spine
        .call(Method::POST, &path, Some(&reception), &[], None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        last(AuditAction::SummaryPrint).await.entry.outcome,
        AuditOutcome::Refused
    );

    let dissented = patient_at_a81001(spine, true).await;
    let (status, body) = spine
        .call(
            Method::POST,
            &format!(
                "/FHIR/R4/Patient/{}/$print-summary",
                dissented.nhs_number.as_digits()
            ),
            Some(&doctor),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "NO_SUMMARY_HELD")
    );
}

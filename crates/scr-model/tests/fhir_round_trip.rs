//! What the spine writes, it (and any reader) reads back the same: the three allergy states
//! stay distinct, uploads survive the trip exactly.

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use scr_model::fhir::{
    parse_document, parse_upload, summary_document, upload_bundle, SummaryDocumentInput, Upload,
};
use scr_model::{
    Address, Allergy, AllergyState, ClinicalDate, Coding, ConsentRecord, Criticality, Demographics,
    Gender, Medication, MedicationKind, MedicationStatus, NhsNumber, Problem, ProblemStatus,
    Provenance, Severity, SharingPreference, Summary, Verification,
};

fn patient(index: u32) -> Demographics {
    Demographics {
        nhs_number: NhsNumber::nth_test_number(index).expect("number"),
        title: Some("Mrs".into()),
        given: vec!["Ada".into(), "May".into()],
        family: "O'Neill".into(),
        gender: Gender::Female,
        birth_date: NaiveDate::from_ymd_opt(1970, 3, 12).expect("date"),
        address: Address {
            lines: vec!["1 High Street".into(), "Leeds".into()],
            postcode: Some("LS6 2AB".into()),
        },
        gp_ods: Some("A81001".into()),
        restricted: false,
        deceased: None,
    }
}

fn coding(system: &str, code: &str, display: &str) -> Coding {
    Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> Option<ClinicalDate> {
    NaiveDate::from_ymd_opt(y, m, d).map(ClinicalDate::Day)
}

fn summary(allergies: AllergyState) -> Summary {
    Summary {
        allergies,
        medications: vec![
            Medication {
                medicine: coding(
                    scr_model::systems::DMD,
                    "319283006",
                    "Amlodipine 5mg tablets",
                ),
                kind: MedicationKind::Repeat,
                status: MedicationStatus::Active,
                dosage: Some("One tablet once a day".into()),
                quantity: Some("28 tablet".into()),
                started: day(2020, 1, 2),
                last_issued: day(2026, 10, 1),
                discontinued: None,
                reason: None,
            },
            Medication {
                medicine: coding(
                    scr_model::systems::DMD,
                    "323509004",
                    "Amoxicillin 500mg capsules",
                ),
                kind: MedicationKind::Acute,
                status: MedicationStatus::Completed,
                dosage: None,
                quantity: None,
                started: day(2026, 6, 1),
                last_issued: day(2026, 6, 1),
                discontinued: None,
                reason: None,
            },
            Medication {
                medicine: coding(
                    scr_model::systems::DMD,
                    "321980002",
                    "Sertraline 50mg tablets",
                ),
                kind: MedicationKind::Repeat,
                status: MedicationStatus::Discontinued,
                dosage: Some("One tablet once a day".into()),
                quantity: Some("28 tablet".into()),
                started: day(2025, 1, 1),
                last_issued: day(2026, 7, 1),
                discontinued: day(2026, 8, 1),
                reason: None,
            },
        ],
        problems: vec![Problem {
            condition: coding(
                scr_model::systems::SNOMED,
                "38341003",
                "Hypertensive disorder",
            ),
            status: ProblemStatus::Active,
            onset: Some(ClinicalDate::YearMonth(2019, 4)),
            recorded: day(2019, 5, 1),
        }],
        provenance: Provenance {
            practice_ods: Some("A81001".into()),
            practice_name: Some("The Surgery".into()),
            author: Some("Dr Brennan".into()),
            last_updated: Utc.with_ymd_and_hms(2026, 11, 3, 9, 30, 0).single(),
        },
        narratives: Default::default(),
        flags: Default::default(),
        additional: Default::default(),
    }
}

fn allergy(display: &str, verification: Verification, severity: Option<Severity>) -> Allergy {
    Allergy {
        substance: coding(scr_model::systems::SNOMED, "764146007", display),
        reaction: Some("Anaphylaxis".into()),
        severity,
        criticality: Some(Criticality::High),
        verification,
        recorded: day(2001, 2, 3),
    }
}

fn three_states() -> Vec<AllergyState> {
    vec![
        AllergyState::Known {
            allergies: vec![
                allergy(
                    "Penicillin",
                    Verification::Confirmed,
                    Some(Severity::Severe),
                ),
                allergy("Latex", Verification::Unconfirmed, None),
            ],
        },
        AllergyState::NoKnownAllergies {
            recorded: day(2020, 2, 2),
        },
        AllergyState::NotRecorded,
    ]
}

#[test]
fn the_document_round_trips_each_allergy_state() {
    let p = patient(5);
    let mut seen = Vec::new();
    for state in three_states() {
        let s = summary(state.clone());
        let doc = summary_document(&SummaryDocumentInput {
            patient: &p,
            summary: &s,
            document_id: "0123456789abcdef0123456789abcdef",
            generated_at: Utc::now(),
        });
        assert_eq!(
            doc["entry"][0]["resource"]["resourceType"], "Composition",
            "Composition first"
        );
        let parsed = parse_document(&serde_json::to_vec(&doc).expect("json")).expect("parse");
        assert_eq!(coded(parsed.summary), s);
        assert_eq!(parsed.patient.nhs_number, Some(p.nhs_number));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        seen.push(serde_json::to_string(&doc["entry"][0]["resource"]["section"][0]).expect("json"));
    }
    // The three allergy sections differ from each other on the wire too.
    assert_ne!(seen[0], seen[1]);
    assert_ne!(seen[1], seen[2]);
    assert_ne!(seen[0], seen[2]);
}

#[test]
fn an_upload_round_trips_with_and_without_consent() {
    let dissent = ConsentRecord {
        preference: SharingPreference::Dissent,
        code: "9Ndo".into(),
        recorded: NaiveDate::from_ymd_opt(2024, 3, 12).expect("date"),
        recorded_by_ods: Some("A81001".into()),
    };
    for (i, (summary, consent)) in [
        (Some(summary(AllergyState::NotRecorded)), None),
        (None, Some(dissent.clone())),
        (
            Some(summary(three_states().remove(0))),
            Some(ConsentRecord {
                code: "93C3".into(),
                ..dissent.clone()
            }),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let upload = Upload {
            bundle_id: format!("b-{i}"),
            patient: patient(i as u32),
            summary,
            consent,
            care: Vec::new(),
        };
        let back = parse_upload(&serde_json::to_vec(&upload_bundle(&upload)).expect("json"))
            .expect("parse");
        assert_eq!(coded_upload(back), upload);
    }
}

/// The coded content: a rendered document's section text is made from its entries, and
/// comes back as the document's own text beside them.
fn coded(mut s: Summary) -> Summary {
    s.narratives = Default::default();
    s
}

fn coded_upload(mut u: Upload) -> Upload {
    u.summary = u.summary.map(coded);
    u
}

proptest! {
    #[test]
    fn uploads_round_trip(index in 0u32..NhsNumber::TEST_NUMBERS, state in 0usize..3, restricted in any::<bool>(), id in "[a-z0-9-]{1,30}") {
        let mut p = patient(index);
        p.restricted = restricted;
        if restricted {
            // A restricted record carries no address or GP on the wire.
            p.address = Address::default();
            p.gp_ods = None;
        }
        let upload = Upload { bundle_id: id, patient: p, summary: Some(summary(three_states().remove(state))), consent: None, care: Vec::new() };
        let back = parse_upload(&serde_json::to_vec(&upload_bundle(&upload)).expect("json")).expect("parse");
        prop_assert_eq!(coded_upload(back), upload);
    }
}

#[test]
fn patient_searchset_and_consent_read_back_what_the_spine_renders() {
    use scr_model::fhir::{parse_consent_searchset, parse_patient, parse_patient_searchset};
    let nhs = scr_model::NhsNumber::nth_test_number(3).expect("test number");
    let d = scr_model::Demographics {
        nhs_number: nhs,
        title: Some("Mrs".into()),
        given: vec!["Ada".into()],
        family: "Lovelace".into(),
        gender: scr_model::Gender::Female,
        birth_date: chrono::NaiveDate::from_ymd_opt(1970, 3, 12).expect("date"),
        address: scr_model::Address {
            lines: vec!["1 High Street".into(), "Leeds".into()],
            postcode: Some("LS1 1AA".into()),
        },
        gp_ods: Some("A81001".into()),
        restricted: false,
        deceased: None,
    };
    let patient = serde_json::to_vec(&scr_model::fhir::patient_resource(&d)).expect("json");
    let read = parse_patient(&patient).expect("patient");
    assert_eq!(read.nhs_number, Some(nhs));
    assert_eq!(read.family.as_deref(), Some("Lovelace"));
    assert_eq!(read.gp_ods.as_deref(), Some("A81001"));
    assert!(!read.restricted);
    let set = serde_json::to_vec(&scr_model::fhir::patient_searchset(&[(d.clone(), 0.93)]))
        .expect("json");
    let matches = parse_patient_searchset(&set).expect("searchset");
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].1, Some(0.93));
    assert!(parse_patient(b"{\"resourceType\":\"Bundle\"}").is_err());
    let empty = br#"{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}"#;
    assert_eq!(parse_consent_searchset(empty).expect("empty"), None);
}

/// A GP upload whose allergies and medication are text only (as the NHS SCR API sends them):
/// the spine serves the text, as text, and the viewer reads "described in text only" — not
/// "not recorded", and medication not "nil known". The sender's markup does not pass through.
/// A section empty on purpose (emptyReason) stays empty through a parse and a render: its
/// text ("No current medication") is not taken for the section's content.
#[test]
fn sections_empty_on_purpose_stay_empty_not_text_only() {
    let mut s = summary(AllergyState::NotRecorded);
    s.medications.clear();
    s.problems.clear();
    let first = summary_document(&SummaryDocumentInput {
        patient: &patient(8),
        summary: &s,
        document_id: "0123456789abcdef0123456789abcdef",
        generated_at: Utc::now(),
    });
    let read = parse_document(&serde_json::to_vec(&first).expect("json")).expect("parse");
    assert_eq!(read.summary.allergies, AllergyState::NotRecorded);
    assert!(read.summary.medications.is_empty() && read.summary.problems.is_empty());
    assert_eq!(read.summary.narratives, scr_model::Narratives::default());
    let again = summary_document(&SummaryDocumentInput {
        patient: &patient(8),
        summary: &read.summary,
        document_id: "0123456789abcdef0123456789abcdef",
        generated_at: Utc::now(),
    });
    let served = serde_json::to_string(&again).expect("json");
    assert_eq!(
        served.matches("\"nilknown\"").count(),
        2,
        "medication and problems stay nil known: {served}"
    );
}

#[test]
fn text_only_sections_round_trip_as_text() {
    let mut s = summary(AllergyState::DescribedInText);
    s.medications.clear();
    s.narratives.allergies = Some(
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Penicillin - anaphylaxis<script>alert(1)</script></p><ul><li onclick="x()">Latex</li></ul></div>"#.into(),
    );
    s.narratives.medications = Some(
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Amlodipine 5 mg once daily</p></div>"#
            .into(),
    );
    let upload = Upload {
        bundle_id: "text-only".into(),
        patient: patient(7),
        summary: Some(s.clone()),
        consent: None,
        care: Vec::new(),
    };
    let back = parse_upload(&serde_json::to_vec(&upload_bundle(&upload)).expect("json"))
        .expect("parse upload");
    let stored = back.summary.expect("summary");
    assert_eq!(stored.allergies, AllergyState::DescribedInText);

    let doc = summary_document(&SummaryDocumentInput {
        patient: &upload.patient,
        summary: &stored,
        document_id: "0123456789abcdef0123456789abcdef",
        generated_at: Utc::now(),
    });
    let served = serde_json::to_string(&doc).expect("json");
    assert!(
        !served.contains("<script") && !served.contains("onclick"),
        "{served}"
    );
    assert!(
        !served.contains("nilknown"),
        "text-only medication served as nil known"
    );
    let read = parse_document(served.as_bytes()).expect("parse document");
    assert_eq!(read.summary.allergies, AllergyState::DescribedInText);
    let text = scr_model::narrative::narrative_text(
        read.summary
            .narratives
            .allergies
            .as_deref()
            .expect("allergy text"),
    );
    assert_eq!(
        text.blocks,
        vec![
            scr_model::narrative::TextBlock::Paragraph {
                text: "Penicillin - anaphylaxis".into()
            },
            scr_model::narrative::TextBlock::Item {
                text: "Latex".into()
            },
        ]
    );
    assert!(read.summary.medications.is_empty());
    assert!(read
        .summary
        .narratives
        .medications
        .as_deref()
        .is_some_and(|m| m.contains("Amlodipine 5 mg once daily")));
}

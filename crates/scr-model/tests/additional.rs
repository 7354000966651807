//! SCR Additional Information through FHIR and the consent rules: every section's three
//! answers (withheld, nothing recorded, entries) survive the spine's document and the GP
//! upload; what a sharing preference allows is what is held.

use chrono::{NaiveDate, TimeZone, Utc};
use scr_model::fhir::{
    parse_document, parse_upload, summary_document, upload_bundle, FhirError, SummaryDocumentInput,
    Upload,
};
use scr_model::{
    AdditionalInformation, Address, AllergyState, CareNote, ClinicalDate, Coding, Demographics,
    Gender, Immunisation, ImmunisationStatus, Medication, MedicationKind, MedicationStatus,
    NhsNumber, PastCondition, PastProcedure, Provenance, Section, SensitiveCategory,
    SharingPreference, Summary,
};

fn patient() -> Demographics {
    Demographics {
        nhs_number: NhsNumber::nth_test_number(7).expect("number"),
        title: None,
        given: vec!["Sam".into()],
        family: "Carter".into(),
        gender: Gender::Unknown,
        birth_date: NaiveDate::from_ymd_opt(1950, 1, 2).expect("date"),
        address: Address {
            lines: vec!["2 Mill Lane".into()],
            postcode: Some("LS1 1AA".into()),
        },
        gp_ods: Some("A81001".into()),
        restricted: false,
        deceased: None,
    }
}

fn snomed(code: &str, display: &str) -> Coding {
    Coding {
        system: Some(scr_model::systems::SNOMED.into()),
        code: Some(code.into()),
        display: display.into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> Option<ClinicalDate> {
    NaiveDate::from_ymd_opt(y, m, d).map(ClinicalDate::Day)
}

fn additional(sensitive_included: bool) -> AdditionalInformation {
    AdditionalInformation {
        history: Section::recorded(vec![
            PastCondition {
                condition: snomed("74400008", "Appendicitis"),
                onset: day(1988, 6, 1),
                ended: day(1988, 6, 20),
                sensitive: None,
            },
            PastCondition {
                condition: snomed("105629000", "Chlamydial infection"),
                onset: day(2001, 2, 3),
                ended: None,
                sensitive: Some(SensitiveCategory::SexuallyTransmittedInfection),
            },
        ]),
        procedures: Section::recorded(vec![
            PastProcedure {
                procedure: snomed("80146002", "Appendicectomy"),
                performed: day(1988, 6, 2),
                sensitive: None,
            },
            PastProcedure {
                procedure: snomed("52637005", "In vitro fertilisation"),
                performed: day(2010, 5, 5),
                sensitive: Some(SensitiveCategory::FertilityTreatment),
            },
        ]),
        immunisations: Section::recorded(vec![
            Immunisation {
                vaccine: snomed("1119349007", "COVID-19 mRNA vaccine"),
                status: ImmunisationStatus::Given,
                date: day(2023, 10, 1),
            },
            Immunisation {
                vaccine: snomed("836374004", "Hepatitis B vaccine"),
                status: ImmunisationStatus::NotGiven,
                date: None,
            },
        ]),
        // Nothing recorded: shared, and empty.
        anticipatory_care: Section::recorded(Vec::new()),
        end_of_life: Section::recorded(vec![CareNote {
            title: "Preferred place of death".into(),
            detail: Some("Home, with family present".into()),
            recorded: day(2024, 1, 9),
        }]),
        // Text only, as some systems send it.
        communication: Section::Recorded {
            entries: Vec::new(),
            text: Some(
                "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Prefers written information</p></div>"
                    .into(),
            ),
        },
        sensitive_included,
    }
}

fn summary(ai: AdditionalInformation) -> Summary {
    Summary {
        allergies: AllergyState::NotRecorded,
        medications: vec![Medication {
            medicine: Coding {
                system: Some(scr_model::systems::DMD.into()),
                code: Some("39113611000001102".into()),
                display: "Metformin 500mg tablets".into(),
            },
            kind: MedicationKind::Repeat,
            status: MedicationStatus::Active,
            dosage: Some("One tablet twice a day".into()),
            quantity: Some("56 tablet".into()),
            started: day(2020, 1, 1),
            last_issued: day(2026, 11, 1),
            discontinued: None,
            reason: Some("Type 2 diabetes mellitus".into()),
        }],
        problems: Vec::new(),
        provenance: Provenance {
            practice_ods: Some("A81001".into()),
            practice_name: Some("The Demo Practice".into()),
            author: None,
            last_updated: Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).single(),
        },
        narratives: Default::default(),
        flags: Default::default(),
        additional: ai,
    }
}

fn served(s: &Summary) -> Summary {
    let doc = summary_document(&SummaryDocumentInput {
        patient: &patient(),
        summary: s,
        document_id: "doc-1",
        generated_at: Utc
            .with_ymd_and_hms(2026, 12, 1, 8, 0, 0)
            .single()
            .expect("t"),
    });
    let bytes = serde_json::to_vec(&doc).expect("json");
    let parsed = parse_document(&bytes).expect("our own document reads");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    parsed.summary
}

fn uploaded(s: &Summary) -> Summary {
    let mut upload = Upload::new("u-1", patient());
    upload.summary = Some(s.clone());
    let bytes = serde_json::to_vec(&upload_bundle(&upload)).expect("json");
    parse_upload(&bytes)
        .expect("our own upload reads")
        .summary
        .expect("with its summary")
}

/// The communication text comes back as our own markup of the same words.
fn words(s: &Section<CareNote>) -> String {
    match s {
        Section::Recorded { text: Some(t), .. } => scr_model::narrative::narrative_text(t)
            .blocks
            .iter()
            .map(|b| format!("{b:?}"))
            .collect(),
        other => format!("{other:?}"),
    }
}

#[test]
fn every_additional_section_and_its_state_survives_the_served_document_and_the_upload() {
    let sent = summary(additional(true));
    for (how, back) in [("served", served(&sent)), ("uploaded", uploaded(&sent))] {
        let (a, b) = (&sent.additional, &back.additional);
        assert_eq!(a.history, b.history, "{how}");
        assert_eq!(a.procedures, b.procedures, "{how}");
        assert_eq!(a.immunisations, b.immunisations, "{how}");
        assert_eq!(
            a.anticipatory_care, b.anticipatory_care,
            "{how}: nothing recorded"
        );
        assert_eq!(a.end_of_life, b.end_of_life, "{how}");
        assert!(
            words(&b.communication).contains("Prefers written information"),
            "{how}: {:?}",
            b.communication
        );
        assert!(b.sensitive_included, "{how}");
        assert_eq!(
            back.medications[0].reason.as_deref(),
            Some("Type 2 diabetes mellitus"),
            "{how}"
        );
    }
}

#[test]
fn withheld_sections_are_served_as_withheld_never_as_nothing_recorded() {
    let held =
        summary(additional(false)).as_held_under(Some(SharingPreference::ExpressConsentCore));
    assert_eq!(held.additional.history, Section::Withheld);
    assert_eq!(
        held.medications[0].reason, None,
        "reason for medication is additional"
    );
    let back = served(&held);
    for (name, withheld) in [
        ("history", back.additional.history == Section::Withheld),
        (
            "procedures",
            back.additional.procedures == Section::Withheld,
        ),
        (
            "immunisations",
            back.additional.immunisations == Section::Withheld,
        ),
        (
            "anticipatory care",
            back.additional.anticipatory_care == Section::Withheld,
        ),
        (
            "end of life",
            back.additional.end_of_life == Section::Withheld,
        ),
        (
            "communication",
            back.additional.communication == Section::Withheld,
        ),
    ] {
        assert!(withheld, "{name}: {:?}", back.additional);
    }
    assert_eq!(back.medications[0].reason, None);
    // And nothing of a withheld section's entries is in the document at all.
    let doc = summary_document(&SummaryDocumentInput {
        patient: &patient(),
        summary: &held,
        document_id: "doc-2",
        generated_at: Utc::now(),
    })
    .to_string();
    for absent in [
        "Appendicitis",
        "fertilisation",
        "Preferred place",
        "Type 2 diabetes",
    ] {
        assert!(
            !doc.contains(absent),
            "{absent} leaked into a core-only document"
        );
    }
}

#[test]
fn what_each_sharing_preference_lets_the_spine_hold() {
    let sent = summary(additional(false));
    // No stated preference and express consent for both: shared, less the sensitive entries.
    for preference in [
        None,
        Some(SharingPreference::ExpressConsentCoreAndAdditional),
    ] {
        let held = sent.as_held_under(preference);
        let history: Vec<&str> = held
            .additional
            .history
            .entries()
            .iter()
            .map(|c| c.condition.display.as_str())
            .collect();
        assert_eq!(history, ["Appendicitis"], "{preference:?}");
        assert_eq!(
            held.additional.procedures.entries().len(),
            1,
            "{preference:?}"
        );
        assert!(held.medications[0].reason.is_some());
    }
    // Core only, implied or express: none of it.
    for preference in [
        SharingPreference::ExpressConsentCore,
        SharingPreference::ImpliedConsentCore,
    ] {
        let held = sent.as_held_under(Some(preference));
        assert_eq!(
            held.additional.procedures,
            Section::Withheld,
            "{preference:?}"
        );
        assert!(held.medications[0].reason.is_none());
    }
    // The patient asked for the sensitive categories: they stay.
    let asked = summary(additional(true)).as_held_under(None);
    assert_eq!(asked.additional.history.entries().len(), 2);
    assert_eq!(asked.additional.procedures.entries().len(), 2);
}

#[test]
fn an_upload_with_an_unknown_sensitive_category_is_refused_not_read_as_not_sensitive() {
    let mut upload = Upload::new("u-2", patient());
    upload.summary = Some(summary(additional(false)));
    let text = serde_json::to_string(&upload_bundle(&upload))
        .expect("json")
        .replace("\"fertility-treatment\"", "\"something-else\"");
    match parse_upload(text.as_bytes()) {
        Err(FhirError::Invalid(why)) => assert!(why.contains("sensitive category"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_summary_without_additional_information_serves_no_additional_section() {
    let s = summary(AdditionalInformation::default());
    let doc = summary_document(&SummaryDocumentInput {
        patient: &patient(),
        summary: &s,
        document_id: "doc-3",
        generated_at: Utc::now(),
    });
    let sections = doc["entry"][0]["resource"]["section"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(sections, 3, "allergies, medication, problems only");
    assert!(served(&s).additional.is_empty());
}

//! The flags shown before a summary (reasonable adjustments, a child protection plan, other
//! alerts), a patient's death, and the encounters and referrals an upload carries: what the
//! spine writes it reads back the same, what other systems write is read as they mean it,
//! and what cannot be acted on is refused with its entry named.

use chrono::{NaiveDate, TimeZone, Utc};
use scr_model::fhir::{
    parse_document, parse_upload, summary_document, upload_bundle, CareEvent, CareEventKind,
    FhirError, SummaryDocumentInput, Upload,
};
use scr_model::{
    Address, AllergyState, ChildProtectionPlan, ClinicalDate, Deceased, Demographics, Flags,
    Gender, NhsNumber, OtherFlag, Provenance, ReasonableAdjustment, Summary,
};
use serde_json::{json, Value};

fn patient(index: u32) -> Demographics {
    Demographics {
        nhs_number: NhsNumber::nth_test_number(index).expect("number"),
        title: None,
        given: vec!["Sam".into()],
        family: "Okoro".into(),
        gender: Gender::Male,
        birth_date: NaiveDate::from_ymd_opt(2016, 5, 1).expect("date"),
        address: Address {
            lines: vec!["2 Mill Lane".into(), "Leeds".into()],
            postcode: Some("LS6 2AB".into()),
        },
        gp_ods: Some("A81001".into()),
        restricted: false,
        deceased: None,
    }
}

fn day(y: i32, m: u32, d: u32) -> Option<ClinicalDate> {
    NaiveDate::from_ymd_opt(y, m, d).map(ClinicalDate::Day)
}

fn flags() -> Flags {
    Flags {
        reasonable_adjustment: Some(ReasonableAdjustment {
            adjustments: vec![
                "Needs a British Sign Language interpreter".into(),
                "Needs information in easy read format".into(),
            ],
            recorded: day(2024, 2, 1),
        }),
        child_protection: Some(ChildProtectionPlan {
            responsible_ods: Some("LA901".into()),
            responsible_name: Some("Synthetic County Council Children's Services".into()),
            start: day(2025, 9, 1),
            end: None,
        }),
        other: vec![OtherFlag {
            text: "Shellfish free diet".into(),
            category: Some("Diet".into()),
        }],
    }
}

fn summary_with(flags: Flags) -> Summary {
    Summary {
        allergies: AllergyState::NotRecorded,
        medications: vec![],
        problems: vec![],
        provenance: Provenance {
            practice_ods: Some("A81001".into()),
            practice_name: Some("The Surgery".into()),
            author: None,
            last_updated: Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).single(),
        },
        narratives: Default::default(),
        flags,
        additional: Default::default(),
    }
}

fn document(patient: &Demographics, summary: &Summary) -> Vec<u8> {
    serde_json::to_vec(&summary_document(&SummaryDocumentInput {
        patient,
        summary,
        document_id: "0123456789abcdef0123456789abcdef",
        generated_at: Utc::now(),
    }))
    .expect("json")
}

#[test]
fn flags_and_a_death_round_trip_through_the_summary_document() {
    let mut p = patient(11);
    p.deceased = Some(Deceased {
        date: day(2025, 3, 12),
    });
    let s = summary_with(flags());
    let bytes = document(&p, &s);
    let served: Value = serde_json::from_slice(&bytes).expect("json");
    // The flags are IPS Flags in an Alerts section (LOINC 104605-1) of the Composition.
    let sections = served["entry"][0]["resource"]["section"]
        .as_array()
        .expect("sections");
    let alerts = sections
        .iter()
        .find(|s| s["code"]["coding"][0]["code"] == "104605-1")
        .expect("an Alerts section");
    assert_eq!(alerts["entry"].as_array().map(Vec::len), Some(3));
    assert!(bytes.windows(16).any(|w| w == b"1326341000000105"));
    let read = parse_document(&bytes).expect("parse");
    assert_eq!(read.summary.flags, s.flags);
    assert_eq!(read.patient.deceased, p.deceased);
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn a_summary_without_flags_has_no_alerts_section_and_reads_as_none() {
    let s = summary_with(Flags::default());
    let bytes = document(&patient(12), &s);
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(!text.contains("104605-1"), "{text}");
    let read = parse_document(&bytes).expect("parse");
    assert!(read.summary.flags.is_empty());
    assert_eq!(read.patient.deceased, None);
}

#[test]
fn flags_a_death_and_care_events_round_trip_through_the_upload() {
    let mut p = patient(13);
    p.deceased = Some(Deceased {
        date: day(2025, 3, 12),
    });
    let at = |h| Utc.with_ymd_and_hms(2026, 11, 2, h, 0, 0).single();
    let upload = Upload {
        summary: Some(summary_with(flags())),
        care: vec![
            CareEvent {
                kind: CareEventKind::Encounter,
                org_ods: "RX901".into(),
                open: true,
                start: at(9),
                end: None,
            },
            CareEvent {
                kind: CareEventKind::Encounter,
                org_ods: "RX901".into(),
                open: false,
                start: at(7),
                end: at(8),
            },
            CareEvent {
                kind: CareEventKind::Referral,
                org_ods: "RCARD".into(),
                open: true,
                start: at(10),
                end: None,
            },
        ],
        ..Upload::new("flags-and-care", p)
    };
    let bundle = serde_json::to_vec(&upload_bundle(&upload)).expect("json");
    let mut back = parse_upload(&bundle).expect("parse");
    // A rendered section's text comes back as the document's own; the coded content is what
    // round-trips.
    if let Some(s) = &mut back.summary {
        s.narratives = Default::default();
    }
    assert_eq!(back, upload);
}

/// A transaction Bundle as a hospital's or GP's system might write it: organisations as
/// resources in the Bundle or by identifier, the patient by reference or by NHS number.
fn care_bundle(nhs: NhsNumber, resources: Vec<Value>) -> Vec<u8> {
    let mut entry = vec![json!({
        "fullUrl": "urn:uuid:patient-1",
        "resource": {
            "resourceType": "Patient",
            "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs.as_digits() }],
            "name": [{ "family": "Okoro", "given": ["Sam"] }],
            "birthDate": "2016-05-01"
        }
    })];
    entry.push(json!({
        "fullUrl": "https://hospital.example/fhir/Organization/ed",
        "resource": {
            "resourceType": "Organization",
            "id": "ed",
            "identifier": [{ "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX901" }],
            "name": "Synthetic General Hospital"
        }
    }));
    for r in resources {
        entry.push(json!({ "resource": r }));
    }
    serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "identifier": { "value": "care-1" },
        "entry": entry
    }))
    .expect("json")
}

#[test]
fn care_events_are_read_as_real_systems_write_them() {
    let nhs = NhsNumber::nth_test_number(21).expect("number");
    let bundle = care_bundle(
        nhs,
        vec![
            json!({
                "resourceType": "Encounter",
                "status": "triaged",
                "subject": { "reference": "urn:uuid:patient-1" },
                "serviceProvider": { "reference": "Organization/ed" },
                "period": { "start": "2026-11-02T09:15:00+00:00" }
            }),
            json!({
                "resourceType": "Encounter",
                "status": "cancelled",
                "subject": { "identifier": { "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs.as_digits() } },
                "serviceProvider": { "identifier": { "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX901" } }
            }),
            json!({
                "resourceType": "ServiceRequest",
                "status": "revoked",
                "intent": "order",
                "category": [{ "text": "Referral to cardiology" }],
                "subject": { "reference": "urn:uuid:patient-1" },
                "performer": [{ "display": "a person, no organisation" }, { "identifier": { "value": "RCARD" } }],
                "authoredOn": "2026-10-01"
            }),
        ],
    );
    let upload = parse_upload(&bundle).expect("parse");
    assert_eq!(upload.summary, None);
    let seen: Vec<(CareEventKind, &str, bool)> = upload
        .care
        .iter()
        .map(|e| (e.kind, e.org_ods.as_str(), e.open))
        .collect();
    assert_eq!(
        seen,
        vec![
            (CareEventKind::Encounter, "RX901", true),
            (CareEventKind::Encounter, "RX901", false),
            (CareEventKind::Referral, "RCARD", false),
        ]
    );
    assert_eq!(
        upload.care[0].start,
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 15, 0).single()
    );
    assert_eq!(
        upload.care[2].start,
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single()
    );
}

#[test]
fn care_events_that_cannot_be_acted_on_are_refused_naming_their_entry() {
    let nhs = NhsNumber::nth_test_number(22).expect("number");
    let other = NhsNumber::nth_test_number(23).expect("number");
    let encounter = |status: &str| {
        json!({
            "resourceType": "Encounter",
            "status": status,
            "subject": { "reference": "urn:uuid:patient-1" },
            "serviceProvider": { "reference": "Organization/ed" }
        })
    };
    let cases: Vec<(Value, &str)> = vec![
        (encounter("planned"), "neither opens nor closes"),
        (
            json!({ "resourceType": "Encounter", "subject": { "reference": "urn:uuid:patient-1" }, "serviceProvider": { "reference": "Organization/ed" } }),
            "neither opens nor closes",
        ),
        (
            json!({ "resourceType": "Encounter", "status": "in-progress", "subject": { "reference": "urn:uuid:patient-1" } }),
            "Encounter.serviceProvider",
        ),
        (
            json!({ "resourceType": "Encounter", "status": "in-progress", "serviceProvider": { "reference": "Organization/ed" } }),
            "Encounter.subject",
        ),
        (
            json!({
                "resourceType": "Encounter", "status": "in-progress",
                "subject": { "identifier": { "system": "https://fhir.nhs.uk/Id/nhs-number", "value": other.as_digits() } },
                "serviceProvider": { "reference": "Organization/ed" }
            }),
            "different patient",
        ),
        (
            json!({
                "resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "108252007", "display": "Laboratory procedure" }] }],
                "subject": { "reference": "urn:uuid:patient-1" },
                "performer": [{ "reference": "Organization/ed" }]
            }),
            "must be a referral",
        ),
        (
            json!({
                "resourceType": "ServiceRequest", "status": "on-hold", "intent": "order",
                "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "3457005" }] }],
                "subject": { "reference": "urn:uuid:patient-1" },
                "performer": [{ "reference": "Organization/ed" }]
            }),
            "neither opens nor closes a referral",
        ),
        (
            json!({
                "resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "3457005" }] }],
                "subject": { "reference": "urn:uuid:patient-1" }
            }),
            "ServiceRequest.performer",
        ),
    ];
    for (resource, words) in cases {
        let bundle = care_bundle(nhs, vec![encounter("in-progress"), resource.clone()]);
        match parse_upload(&bundle) {
            Err(FhirError::Entry { index, problem }) => {
                // The Patient, the Organization, the good encounter, then this one.
                assert_eq!(index, 3, "{resource}");
                assert!(
                    problem.to_string().contains(words),
                    "{problem} for {resource}"
                );
            }
            other => panic!("{resource}: {other:?}"),
        }
    }
}

/// An upload's Composition with its Alerts section holding `flag`.
fn upload_with_flag(flag: Value) -> Vec<u8> {
    let upload = Upload {
        summary: Some(summary_with(Flags::default())),
        ..Upload::new("flag-1", patient(30))
    };
    let mut bundle = upload_bundle(&upload);
    let entries = bundle["entry"].as_array_mut().expect("entries");
    entries.push(json!({ "fullUrl": "urn:uuid:flag-1", "resource": flag }));
    let composition = entries
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == "Composition")
        .expect("composition");
    if let Some(sections) = composition["resource"]["section"].as_array_mut() {
        sections.push(json!({
            "title": "Alerts",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "104605-1" }] },
            "entry": [{ "reference": "urn:uuid:flag-1" }]
        }));
    }
    serde_json::to_vec(&bundle).expect("json")
}

#[test]
fn an_upload_must_say_what_its_flags_mean() {
    let raf_without_words = json!({
        "resourceType": "Flag", "status": "active",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "1326341000000105" }] },
        "subject": { "reference": "Patient/x" }
    });
    let plan_without_organisation = json!({
        "resourceType": "Flag", "status": "active",
        "category": [{ "coding": [{ "system": "https://fhir.scr-viewer.example/CodeSystem/flag-kind", "code": "child-protection-plan" }] }],
        "code": { "text": "Child protection plan" },
        "subject": { "reference": "Patient/x" }
    });
    let no_status = json!({
        "resourceType": "Flag",
        "code": { "text": "Needs a hoist" },
        "subject": { "reference": "Patient/x" }
    });
    for (flag, words) in [
        (raf_without_words, "reasonable adjustments in words"),
        (plan_without_organisation, "Flag.author"),
        (no_status, "Flag.status"),
    ] {
        let err = parse_upload(&upload_with_flag(flag.clone())).expect_err("refused");
        assert!(err.to_string().contains(words), "{err} for {flag}");
    }
    // Written the way a GP system might (the words as the code's text, the organisation as
    // a reference to one in the Bundle), it is taken.
    let raf = json!({
        "resourceType": "Flag", "status": "active",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "1326341000000105" }], "text": "Needs a longer appointment" },
        "subject": { "reference": "Patient/x" }
    });
    let read = parse_upload(&upload_with_flag(raf)).expect("taken");
    assert_eq!(
        read.summary
            .and_then(|s| s.flags.reasonable_adjustment)
            .map(|r| r.adjustments),
        Some(vec!["Needs a longer appointment".to_string()])
    );
}

#[test]
fn inactive_flags_are_not_shown_and_unknown_ones_are_shown_as_their_text() {
    let read_one = |flag: Value| {
        parse_upload(&upload_with_flag(flag))
            .expect("parse")
            .summary
            .expect("summary")
            .flags
    };
    let inactive = read_one(json!({
        "resourceType": "Flag", "status": "inactive",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "1326341000000105" }], "text": "Needs a BSL interpreter" },
        "subject": { "reference": "Patient/x" }
    }));
    assert!(inactive.is_empty(), "{inactive:?}");
    let in_error = read_one(json!({
        "resourceType": "Flag", "status": "entered-in-error",
        "code": { "text": "Violent" },
        "subject": { "reference": "Patient/x" }
    }));
    assert!(in_error.is_empty(), "{in_error:?}");
    let other = read_one(json!({
        "resourceType": "Flag", "status": "active",
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "safety", "display": "Safety" }] }],
        "code": { "text": "Uses a hoist: two staff to transfer" },
        "subject": { "reference": "Patient/x" }
    }));
    assert_eq!(
        other.other,
        vec![OtherFlag {
            text: "Uses a hoist: two staff to transfer".into(),
            category: Some("Safety".into())
        }]
    );
}

/// The IPS samples in ../shared/interop/ips carry a diet flag in their Alerts section.
#[test]
fn a_foreign_documents_alert_is_kept_as_its_text() {
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/interop/ips/validated_samples__NZ_Peter_Jordan_AAA1234.json");
    let bytes = std::fs::read(&path).expect("the NZ IPS sample");
    let doc = parse_document(&bytes).expect("parse");
    assert!(
        doc.summary
            .flags
            .other
            .iter()
            .any(|f| f.text == "Shellfish free diet"),
        "{:?}",
        doc.summary.flags
    );
    assert!(doc.summary.flags.reasonable_adjustment.is_none());
}

#[test]
fn a_death_without_a_readable_date_is_still_a_death() {
    let with = |field: Value| {
        let mut p = scr_model::fhir::patient_resource(&patient(40));
        if let (Some(obj), Some(f)) = (p.as_object_mut(), field.as_object()) {
            for (k, v) in f {
                obj.insert(k.clone(), v.clone());
            }
        }
        scr_model::fhir::parse_patient(&serde_json::to_vec(&p).expect("json"))
            .expect("patient")
            .deceased
    };
    assert_eq!(
        with(json!({ "deceasedBoolean": true })),
        Some(Deceased { date: None })
    );
    assert_eq!(with(json!({ "deceasedBoolean": false })), None);
    assert_eq!(
        with(json!({ "deceasedDateTime": "sometime last week" })),
        Some(Deceased { date: None })
    );
    assert_eq!(
        with(json!({ "deceasedDateTime": "2025-03-12T14:02:00+00:00" })).and_then(|d| d.date),
        ClinicalDate::parse("2025-03-12T14:02:00+00:00")
    );
    // A GP upload must give a date the spine can record.
    let upload = Upload::new("death-1", patient(41));
    let mut bundle = upload_bundle(&upload);
    bundle["entry"][0]["resource"]["deceasedDateTime"] = json!("sometime last week");
    let err = parse_upload(&serde_json::to_vec(&bundle).expect("json")).expect_err("refused");
    assert!(err.to_string().contains("deceasedDateTime"), "{err}");
}

#[test]
fn a_restricted_childs_plan_is_shown_without_the_organisation_that_would_locate_them() {
    let s = summary_with(flags()).with_source_withheld();
    let plan = s.flags.child_protection.expect("the plan is still shown");
    assert_eq!(plan.responsible_ods, None);
    assert_eq!(plan.responsible_name, None);
    assert!(s.flags.reasonable_adjustment.is_some());
}

#[test]
fn summaries_and_demographics_stored_before_flags_still_read() {
    let old_summary = r#"{"allergies":{"state":"not_recorded"},"medications":[],"problems":[],
        "provenance":{"practice_ods":"A81001","practice_name":null,"author":null,"last_updated":null}}"#;
    let s: Summary = serde_json::from_str(old_summary).expect("old summary");
    assert!(s.flags.is_empty());
    let mut d = serde_json::to_value(patient(50)).expect("json");
    if let Some(obj) = d.as_object_mut() {
        obj.remove("deceased");
    }
    let d: Demographics = serde_json::from_value(d).expect("old demographics");
    assert_eq!(d.deceased, None);
}

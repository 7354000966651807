//! The awkward cases real systems send, and the refusals that must be specific.

use scr_model::fhir::{parse_document, parse_upload, FhirError, MAX_DOCUMENT_BYTES};
use scr_model::{AllergyState, NhsNumberError, Verification};
use serde_json::{json, Value};

fn document(allergy_entries: Vec<Value>, resources: Vec<Value>, with_full_urls: bool) -> Vec<u8> {
    let mut entry = vec![json!({
        "fullUrl": "urn:uuid:00000000-0000-4000-a000-000000000001",
        "resource": {
            "resourceType": "Composition",
            "status": "final",
            "type": { "coding": [{ "system": "http://loinc.org", "code": "60591-5" }] },
            "subject": { "reference": "Patient/p1" },
            "date": "2026-11-03",
            "author": [{ "display": "Dr Someone" }],
            "title": "Patient summary",
            "section": [{
                "title": "Allergies",
                "code": { "coding": [{ "system": "http://loinc.org", "code": "48765-2" }] },
                "entry": allergy_entries
            }]
        }
    })];
    let patient = json!({ "resourceType": "Patient", "id": "p1", "name": [{ "family": "Kowalski", "given": ["Anna"] }], "birthDate": "1980-01-02" });
    for (i, r) in std::iter::once(patient).chain(resources).enumerate() {
        if with_full_urls {
            let kind = r["resourceType"].as_str().unwrap_or("Basic").to_string();
            let id = r["id"].as_str().unwrap_or("x").to_string();
            entry.push(json!({ "fullUrl": format!("https://example.org/fhir/{kind}/{id}"), "resource": r }));
        } else {
            let _ = i;
            entry.push(json!({ "resource": r }));
        }
    }
    serde_json::to_vec(&json!({ "resourceType": "Bundle", "type": "document", "entry": entry }))
        .expect("json")
}

fn allergy(id: &str, code: Value, extra: Value) -> Value {
    let mut a = json!({ "resourceType": "AllergyIntolerance", "id": id, "patient": { "reference": "Patient/p1" }, "code": code });
    if let (Some(obj), Some(more)) = (a.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    a
}

#[test]
fn missing_full_urls_and_missing_severity_are_fine() {
    let a = allergy(
        "a1",
        json!({ "text": "Penicillin" }),
        json!({ "verificationStatus": { "coding": [{ "code": "confirmed" }] }, "reaction": [{ "manifestation": [{ "text": "Rash" }] }] }),
    );
    let doc = parse_document(&document(
        vec![json!({ "reference": "AllergyIntolerance/a1" })],
        vec![a],
        false,
    ))
    .expect("parse");
    let AllergyState::Known { allergies } = doc.summary.allergies else {
        panic!("known")
    };
    assert_eq!(allergies[0].substance.display, "Penicillin");
    assert_eq!(allergies[0].reaction.as_deref(), Some("Rash"));
    assert_eq!(allergies[0].severity, None);
}

#[test]
fn no_known_allergies_not_recorded_and_unconfirmed_never_look_alike() {
    let nka = allergy(
        "a1",
        json!({ "coding": [{ "system": "http://snomed.info/sct", "code": "716186003", "display": "No known allergy" }] }),
        json!({}),
    );
    let doc = parse_document(&document(
        vec![json!({ "reference": "AllergyIntolerance/a1" })],
        vec![nka],
        true,
    ))
    .expect("parse");
    assert!(matches!(
        doc.summary.allergies,
        AllergyState::NoKnownAllergies { .. }
    ));

    let none = parse_document(&document(vec![], vec![], true)).expect("parse");
    assert_eq!(none.summary.allergies, AllergyState::NotRecorded);

    let info = allergy(
        "a1",
        json!({ "coding": [{ "system": "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips", "code": "no-allergy-info" }] }),
        json!({}),
    );
    let doc = parse_document(&document(
        vec![json!({ "reference": "AllergyIntolerance/a1" })],
        vec![info],
        true,
    ))
    .expect("parse");
    assert_eq!(doc.summary.allergies, AllergyState::NotRecorded);

    // No verification status at all: shown as unconfirmed, never as confirmed.
    let bare = allergy("a1", json!({ "text": "Latex" }), json!({}));
    let doc = parse_document(&document(
        vec![json!({ "reference": "AllergyIntolerance/a1" })],
        vec![bare],
        true,
    ))
    .expect("parse");
    let AllergyState::Known { allergies } = doc.summary.allergies else {
        panic!("known")
    };
    assert_eq!(allergies[0].verification, Verification::Unconfirmed);
}

#[test]
fn contained_and_absolute_references_resolve() {
    let mut statement = json!({
        "resourceType": "MedicationStatement", "id": "m1", "status": "active",
        "medicationReference": { "reference": "#med" },
        "contained": [{ "resourceType": "Medication", "id": "med", "code": { "text": "Metformin 500mg tablets" } }],
        "subject": { "reference": "Patient/p1" }
    });
    statement["dosage"] = json!([{ "text": "One twice a day" }]);
    let mut bytes: Value =
        serde_json::from_slice(&document(vec![], vec![statement], true)).expect("json");
    bytes["entry"][0]["resource"]["section"]
        .as_array_mut()
        .expect("sections")
        .push(json!({ "title": "Medication", "code": { "coding": [{ "system": "http://loinc.org", "code": "10160-0" }] }, "entry": [{ "reference": "https://example.org/fhir/MedicationStatement/m1" }] }));
    let doc = parse_document(&serde_json::to_vec(&bytes).expect("json")).expect("parse");
    assert_eq!(doc.summary.medications.len(), 1);
    assert_eq!(
        doc.summary.medications[0].medicine.display,
        "Metformin 500mg tablets"
    );
}

#[test]
fn an_unresolvable_entry_is_skipped_with_a_warning_but_an_unresolvable_subject_is_refused() {
    let doc = parse_document(&document(
        vec![json!({ "reference": "AllergyIntolerance/missing" })],
        vec![],
        true,
    ))
    .expect("parse");
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
    let mut bundle: Value = serde_json::from_slice(&document(vec![], vec![], true)).expect("json");
    bundle["entry"][0]["resource"]["subject"]["reference"] = json!("Patient/elsewhere");
    let err = parse_document(&serde_json::to_vec(&bundle).expect("json")).expect_err("refused");
    assert!(
        matches!(err, FhirError::UnresolvedReference(ref r) if r == "Patient/elsewhere"),
        "{err}"
    );
}

#[test]
fn bad_input_is_refused_with_a_specific_reason() {
    assert!(matches!(
        parse_document(b"{not json"),
        Err(FhirError::NotJson(_))
    ));
    assert!(matches!(
        parse_document(b"[]"),
        Err(FhirError::WrongResourceType { .. })
    ));
    assert!(matches!(
        parse_document(br#"{"resourceType":"Patient"}"#),
        Err(FhirError::WrongResourceType { .. })
    ));
    assert!(matches!(
        parse_document(br#"{"resourceType":"Bundle","type":"transaction"}"#),
        Err(FhirError::Invalid(_))
    ));
    let huge = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        parse_document(&huge),
        Err(FhirError::TooLarge { .. })
    ));
    // Deeply nested JSON is refused by the JSON reader's recursion limit, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_document(deep.as_bytes()).is_err());
}

fn upload_with_patient(patient: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "resourceType": "Bundle", "type": "transaction", "identifier": { "value": "u-1" },
        "entry": [{ "fullUrl": "urn:uuid:00000000-0000-4000-a000-000000000009", "resource": patient, "request": { "method": "PUT", "url": "Patient/x" } }]
    }))
    .expect("json")
}

#[test]
fn uploads_are_strict_about_the_nhs_number() {
    let no_number = json!({ "resourceType": "Patient", "name": [{ "family": "Smith" }], "birthDate": "1970-01-01" });
    assert_eq!(
        parse_upload(&upload_with_patient(no_number)),
        Err(FhirError::MissingNhsNumber)
    );
    let bad = json!({
        "resourceType": "Patient",
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765918" }],
        "name": [{ "family": "Smith" }], "birthDate": "1970-01-01"
    });
    assert_eq!(
        parse_upload(&upload_with_patient(bad)),
        Err(FhirError::InvalidNhsNumber(
            NhsNumberError::CheckDigitMismatch
        ))
    );
    let document = document(vec![], vec![], true);
    assert!(matches!(
        parse_upload(&document),
        Err(FhirError::Invalid(_))
    ));
}

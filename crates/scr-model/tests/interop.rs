//! Every real-world IPS document in `../shared/interop/ips` loads through the parser without a
//! panic, and either renders or is refused for a specific reason.

use std::path::PathBuf;

use scr_model::fhir::{parse_document, FhirError};
use scr_model::AllergyState;

fn samples_dir() -> PathBuf {
    // The directory cargo runs the test from, not the one it was compiled in: checkouts on
    // one machine share a target directory, and a test binary built in another clone is
    // reused as fresh.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/interop/ips")
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = samples_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{} must exist beside the repository (CI puts ../shared there): {e}",
                dir.display()
            )
        })
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(&p).expect("readable sample"))
        })
        .collect()
}

fn state(s: &AllergyState) -> String {
    match s {
        AllergyState::Known { allergies } => format!("known({})", allergies.len()),
        AllergyState::NoKnownAllergies { .. } => "no-known".into(),
        AllergyState::NotRecorded => "not-recorded".into(),
        AllergyState::DescribedInText => "text-only".into(),
    }
}

#[test]
fn every_sample_parses_or_is_refused_for_a_reason() {
    let samples = samples();
    assert_eq!(samples.len(), 60, "the interop set has 60 documents");
    let mut refused = Vec::new();
    for (name, bytes) in &samples {
        match parse_document(bytes) {
            Ok(doc) => {
                let p = &doc.patient;
                assert!(
                    p.family.is_some()
                        || !p.given.is_empty()
                        || p.name_text.is_some()
                        || !p.identifiers.is_empty(),
                    "{name}: a patient with neither name nor identifier"
                );
                println!(
                    "{name:<80} {:<14} meds={:<3} problems={:<3} warnings={}",
                    state(&doc.summary.allergies),
                    doc.summary.medications.len(),
                    doc.summary.problems.len(),
                    doc.warnings.len()
                );
            }
            Err(e) => {
                println!("{name:<80} REFUSED: {e}");
                refused.push((name.clone(), e));
            }
        }
    }
    let refused_names: Vec<&str> = refused.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        refused_names,
        EXPECTED_REFUSED.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "refused set changed"
    );
    for ((_, err), (_, why)) in refused.iter().zip(EXPECTED_REFUSED) {
        assert!(matches!(
            err,
            FhirError::UnresolvedReference(_)
                | FhirError::Invalid(_)
                | FhirError::Missing(_)
                | FhirError::WrongResourceType { .. }
        ));
        assert!(err.to_string().contains(why), "{err} should mention {why}");
    }
}

/// Documents refused, and a word their reason must contain. None today: all 60 render.
const EXPECTED_REFUSED: &[(&str, &str)] = &[];

fn parse(name: &str) -> scr_model::fhir::PatientSummaryDocument {
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample");
    parse_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn absent_and_unknown_codes_give_the_right_allergy_state() {
    // "no-allergy-info" is not "no known allergies".
    assert_eq!(
        parse("validated_samples__IPS_IG_bundle-no-info-required-sections.json")
            .summary
            .allergies,
        AllergyState::NotRecorded
    );
    assert_eq!(
        parse("connectathon_samples__NZ_Peter_Jordan_AAA1234.json")
            .summary
            .allergies,
        AllergyState::NotRecorded
    );
    // An empty section with emptyReason is "not recorded" too.
    assert_eq!(
        parse("connectathon_Jan2025__US_Epic_Jan_emptyReason.json")
            .summary
            .allergies,
        AllergyState::NotRecorded
    );
    assert!(matches!(
        parse("validated_samples__NZ_Peter_Jordan_AAA1234.json")
            .summary
            .allergies,
        AllergyState::NoKnownAllergies { .. }
    ));
}

#[test]
fn known_allergies_come_through_with_their_substances() {
    let doc = parse("validated_samples__IPS_IG-bundle-01.json");
    let AllergyState::Known { allergies } = &doc.summary.allergies else {
        panic!("expected known allergies")
    };
    assert_eq!(allergies.len(), 2);
    assert!(allergies.iter().all(|a| !a.substance.display.is_empty()));
    // Epic's relative references (idrefs) resolve.
    let epic = parse("connectathon_Jan2025__US_Epic_Jan_idrefs.json");
    assert!(
        matches!(&epic.summary.allergies, AllergyState::Known { allergies } if allergies.len() == 3)
    );
}

#[test]
fn a_search_result_holding_one_summary_is_read_and_flagged() {
    let doc = parse("connectathon_Sept2024__US_MEDITECH_ips_1.json");
    assert!(
        doc.warnings.iter().any(|w| w.contains("searchset")),
        "{:?}",
        doc.warnings
    );
    assert!(matches!(doc.summary.allergies, AllergyState::Known { .. }));
}

#[test]
fn the_largest_document_parses() {
    let (name, bytes) = samples()
        .into_iter()
        .max_by_key(|(_, b)| b.len())
        .expect("samples");
    assert!(bytes.len() > 1_000_000, "{name} is the 1.7 MB one");
    parse_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// The allergy section's LOINC code.
const LOINC_ALLERGIES: &str = "48765-2";

/// Drops the coded entries of every allergy section, as the NHS SCR API sends allergies
/// (text only). Returns how many sections lost entries.
fn strip_allergy_entries(v: &mut serde_json::Value) -> usize {
    let mut stripped = 0;
    match v {
        serde_json::Value::Object(map) => {
            if map.get("resourceType").and_then(|t| t.as_str()) == Some("Composition") {
                if let Some(sections) = map.get_mut("section").and_then(|s| s.as_array_mut()) {
                    for section in sections {
                        let is_allergies = section["code"]["coding"]
                            .as_array()
                            .is_some_and(|c| c.iter().any(|c| c["code"] == LOINC_ALLERGIES));
                        if let (true, Some(obj)) = (is_allergies, section.as_object_mut()) {
                            if obj.remove("entry").is_some() {
                                stripped += 1;
                            }
                        }
                    }
                }
            }
            for child in map.values_mut() {
                stripped += strip_allergy_entries(child);
            }
        }
        serde_json::Value::Array(items) => {
            for child in items {
                stripped += strip_allergy_entries(child);
            }
        }
        _ => {}
    }
    stripped
}

/// The real documents made text-only: an allergy section with text is "described in text
/// only" and shows that text; without text it is "not recorded"; never "no known
/// allergies", never "known" (the entries are gone).
#[test]
fn allergies_sent_as_text_only_are_never_shown_as_not_recorded() {
    let mut text_only = 0;
    let mut with_named_substance = 0;
    for (name, bytes) in samples() {
        let Ok(original) = parse_document(&bytes) else {
            continue;
        };
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        if strip_allergy_entries(&mut v) == 0 {
            continue;
        }
        let doc = parse_document(&serde_json::to_vec(&v).expect("json"))
            .unwrap_or_else(|e| panic!("{name} without allergy entries: {e}"));
        let text = doc
            .summary
            .narratives
            .allergies
            .as_deref()
            .map(scr_model::narrative::narrative_text);
        match (&doc.summary.allergies, &text) {
            (AllergyState::DescribedInText, Some(t)) if t.has_text() => {
                text_only += 1;
                // Where the original named an allergy and its text repeats the substance,
                // the text-only copy still shows it.
                if let AllergyState::Known { allergies } = &original.summary.allergies {
                    let shown = serde_json::to_string(&t.blocks)
                        .expect("json")
                        .to_lowercase();
                    if allergies
                        .iter()
                        .any(|a| shown.contains(&a.substance.display.to_lowercase()))
                    {
                        with_named_substance += 1;
                    }
                }
            }
            (AllergyState::NotRecorded, None) => {}
            (state, text) => panic!("{name}: text-only allergies read as {state:?} with {text:?}"),
        }
    }
    println!("{text_only} documents with allergies as text only; {with_named_substance} still name a coded substance in the text");
    assert!(
        text_only >= 20,
        "only {text_only} sample documents had allergy text"
    );
    assert!(with_named_substance >= 10, "{with_named_substance}");
}

/// How many entries an Additional Information section gave, or what it said instead.
fn ai_state<T>(s: &scr_model::Section<T>) -> String {
    match s {
        scr_model::Section::NotIncluded => "-".into(),
        scr_model::Section::Withheld => "withheld".into(),
        scr_model::Section::Recorded { entries, text } if entries.is_empty() && text.is_some() => {
            "text".into()
        }
        scr_model::Section::Recorded { entries, .. } => entries.len().to_string(),
    }
}

#[test]
fn the_additional_information_sections_of_real_documents_are_read() {
    let mut with_immunisations = 0;
    let mut with_history = 0;
    let mut with_procedures = 0;
    for (name, bytes) in samples() {
        let Ok(doc) = parse_document(&bytes) else {
            continue;
        };
        let ai = &doc.summary.additional;
        println!(
            "{name:<80} history={:<8} procedures={:<8} immunisations={:<8} plan={:<8} directives={:<8} functional={}",
            ai_state(&ai.history),
            ai_state(&ai.procedures),
            ai_state(&ai.immunisations),
            ai_state(&ai.anticipatory_care),
            ai_state(&ai.end_of_life),
            ai_state(&ai.communication),
        );
        with_immunisations += usize::from(!ai.immunisations.entries().is_empty());
        with_history += usize::from(!ai.history.entries().is_empty());
        with_procedures += usize::from(!ai.procedures.entries().is_empty());
        // A foreign document is never "withheld" by our consent rules; only its own
        // emptyReason can say so.
        if ai.immunisations == scr_model::Section::Withheld {
            assert!(
                String::from_utf8_lossy(&bytes).contains("withheld"),
                "{name}: withheld without saying so"
            );
        }
    }
    // Of the 60, 29 carry an Immunizations section, 16 a History of Past Illness and 10 a
    // History of Procedures (by LOINC code); most of those have entries we read.
    assert!(with_immunisations >= 20, "{with_immunisations}");
    assert!(with_history >= 10, "{with_history}");
    assert!(with_procedures >= 6, "{with_procedures}");
}

/// The sections the parser does not read (results, vital signs, social history, …) are kept
/// with their title and their own text as plain text, so the viewer can show them as the
/// document's text rather than drop them; and each document says who wrote it.
#[test]
fn sections_the_viewer_cannot_read_are_kept_as_their_own_text() {
    let mut kept = 0;
    let mut with_source = 0;
    for (name, bytes) in samples() {
        let Ok(doc) = parse_document(&bytes) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let composition = v["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "Composition")
            .expect("composition");
        let sections = composition["section"].as_array().map_or(0, Vec::len);
        assert!(doc.other_sections.len() <= sections, "{name}");
        for s in &doc.other_sections {
            assert!(s.title.is_some() || s.text.is_some(), "{name}: {s:?}");
            if let Some(t) = &s.text {
                assert!(t.has_text(), "{name}: an empty text kept");
                let shown = serde_json::to_string(&t.blocks).expect("json");
                assert!(
                    !shown.contains("<div") && !shown.contains("</"),
                    "{name}: markup kept"
                );
            }
        }
        kept += doc.other_sections.len();
        if !doc.source.authors.is_empty() || doc.source.custodian.is_some() {
            with_source += 1;
        }
    }
    println!("{kept} sections kept as text; {with_source} documents name a source");
    assert!(kept >= 30, "only {kept} other sections kept");
    assert!(
        with_source >= 40,
        "only {with_source} documents name an author or custodian"
    );
}

#[test]
fn an_ips_document_keeps_its_results_section_as_text_and_names_its_author() {
    let doc = parse("validated_samples__IPS_IG-bundle-01.json");
    let titles: Vec<&str> = doc
        .other_sections
        .iter()
        .filter_map(|s| s.title.as_deref())
        .collect();
    // Results is not an IPS section this parser reads (nor one being taught to it).
    assert!(titles.contains(&"Results"), "{titles:?}");
    let results = doc
        .other_sections
        .iter()
        .find(|s| s.title.as_deref() == Some("Results"))
        .expect("results");
    assert!(results.text.as_ref().is_some_and(|t| t.has_text()));
    assert_eq!(doc.source.authors, ["Beetje van Hulp"]);
    assert_eq!(
        doc.source.custodian.as_deref(),
        Some("Anorg Aniza Tion BV / The best custodian ever")
    );
}

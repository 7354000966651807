//! A document opened from a file, through the path the window uses (`scr_app::read_document`,
//! which `Viewer::open_document` calls once the role is checked): every real-world IPS
//! document in `../shared/interop/ips` is shown or refused with a plain reason, never a panic
//! and never an allergy state that says nothing.

use std::path::PathBuf;

use chrono::Utc;
use scr_app::{read_document, AllergySection, AppErrorKind, DocumentView};

fn samples_dir() -> PathBuf {
    // Where cargo runs the test from, not where it was compiled: checkouts share targets.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/interop/ips")
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = samples_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} must exist beside the repository: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
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
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect()
}

/// Whether the raw document has an allergy section (by LOINC code or title), as a reader
/// would see it.
fn has_allergy_section(bytes: &[u8]) -> bool {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let entries = v["entry"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Composition")
        .flat_map(|c| {
            c["resource"]["section"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .any(|s| {
            s["code"]["coding"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["code"] == "48765-2"))
                || s["title"]
                    .as_str()
                    .is_some_and(|t| t.to_lowercase().contains("allerg"))
        })
}

fn check_shown(name: &str, bytes: &[u8], view: &DocumentView) {
    let p = &view.summary.patient;
    assert!(
        p.family.is_some() || !p.given.is_empty() || p.name_text.is_some(),
        "{name}: the banner names nobody"
    );
    assert_eq!(view.source.file_name, name);
    match &view.summary.allergies {
        AllergySection::Known { allergies } => {
            assert!(
                !allergies.is_empty(),
                "{name}: 'known' with no allergy shown"
            );
            assert!(
                allergies.iter().all(|a| !a.substance.trim().is_empty()),
                "{name}"
            );
        }
        AllergySection::DescribedInText { text } => {
            assert!(
                !text.blocks.is_empty(),
                "{name}: text-only allergies with no text"
            )
        }
        AllergySection::NotRecorded => {
            // Either the document says so in its allergy section, or the warnings say the
            // section is missing: never an unexplained blank.
            assert!(
                has_allergy_section(bytes)
                    || view
                        .summary
                        .warnings
                        .iter()
                        .any(|w| w.contains("no allergy section")),
                "{name}: not recorded, with no allergy section and no warning"
            );
        }
        AllergySection::NoKnownAllergies { .. } => {}
    }
    for s in &view.other_sections {
        assert!(
            s.title.is_some() || s.text.is_some(),
            "{name}: an empty other section"
        );
    }
    // Never marked as anything but what it is.
    assert!(
        !view.summary.offline_copy && !view.summary.emergency,
        "{name}"
    );
}

#[test]
fn every_interop_document_is_shown_or_refused_with_a_plain_reason() {
    let samples = samples();
    assert_eq!(samples.len(), 60, "the interop set has 60 documents");
    let (mut shown, mut refused, mut other_sections, mut warnings) = (0, 0, 0, 0);
    for (name, bytes) in &samples {
        match read_document(bytes, name, Utc::now()) {
            Ok(view) => {
                check_shown(name, bytes, &view);
                shown += 1;
                other_sections += view.other_sections.len();
                warnings += view.summary.warnings.len();
            }
            Err(e) => {
                assert!(
                    matches!(e.kind, AppErrorKind::DocumentRefused { .. }),
                    "{name}: refused as {}",
                    e.code()
                );
                assert!(
                    e.message.len() > 20 && e.message.ends_with('.'),
                    "{name}: {e}"
                );
                println!("{name}: refused: {}", e.message);
                refused += 1;
            }
        }
    }
    println!(
        "{shown} shown, {refused} refused, {other_sections} sections as text, {warnings} warnings"
    );
    assert_eq!(shown + refused, 60);
    // All 60 are readable documents today (crates/scr-model/tests/interop.rs keeps the
    // parser's account of each).
    assert_eq!(refused, 0);
    assert!(other_sections >= 30 && warnings >= 1);
}

#[test]
fn every_interop_document_cut_short_is_refused_with_a_reason_not_a_panic() {
    for (name, bytes) in samples() {
        let cut = &bytes[..bytes.len() / 2];
        let e = read_document(cut, &name, Utc::now()).expect_err("half a document");
        assert!(
            matches!(e.kind, AppErrorKind::DocumentRefused { .. }),
            "{name}"
        );
        assert!(
            e.message.contains("not a FHIR document in JSON"),
            "{name}: {e}"
        );
    }
}

#[test]
fn a_document_shows_its_source_its_warnings_and_its_other_sections_as_text() {
    let name = "validated_samples__IPS_IG-bundle-01.json";
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample");
    let view = read_document(&bytes, &format!("/tmp/incoming/{name}"), Utc::now()).expect("shown");
    assert_eq!(view.source.file_name, name);
    assert_eq!(view.source.authors, ["Beetje van Hulp"]);
    assert!(view.source.custodian.is_some());
    assert!(view.source.date.is_some());
    assert!(matches!(
        view.summary.allergies,
        AllergySection::Known { .. }
    ));
    let results = view
        .other_sections
        .iter()
        .find(|s| s.title.as_deref() == Some("Results"))
        .expect("the Results section, as text");
    assert!(results.text.as_ref().is_some_and(|t| !t.blocks.is_empty()));
    // The window gets text blocks only: no markup of the document's survives.
    let json = serde_json::to_string(&view).expect("json");
    assert!(
        !json.contains("<div") && !json.contains("xmlns"),
        "markup reached the view"
    );
}

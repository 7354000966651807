//! Printing in the real window: "Save as PDF" writes an A4 PDF through WebKitGTK's own print
//! operation; read back with pdftotext, every page carries the NHS number, the user and the
//! time, the record is all there and the screen's controls are not; the spine holds the
//! `summary-print` entry.

use std::path::Path;
use std::process::Command;

use scr_e2e::*;

fn nhs_display(digits: &str) -> String {
    format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
}

/// pdftotext of one page (1-based), or of all of them, with the typeface's ligatures
/// ("ﬁ", "ﬂ") read back as the letters they join.
fn pdf_text(file: &Path, page: Option<u32>) -> String {
    let mut cmd = Command::new("pdftotext");
    if let Some(p) = page {
        cmd.args(["-f", &p.to_string(), "-l", &p.to_string()]);
    }
    let out = cmd
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup)");
    assert!(out.status.success(), "pdftotext failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .replace('\u{FB01}', "fi")
        .replace('\u{FB02}', "fl")
}

fn pdf_pages(file: &Path) -> u32 {
    let out = Command::new("pdfinfo")
        .arg(file)
        .output()
        .expect("pdfinfo (poppler-utils)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_as_pdf_writes_the_summary_on_screen_with_the_patient_user_and_time_on_every_page() {
    let Some(rig) = Rig::start("print").await else {
        return;
    };
    // A patient of the GP system's practice, with a medication list long enough for pages.
    let practice = {
        let profile: serde_json::Value = serde_json::from_slice(
            &std::fs::read(rig.identity("gp-system").join("profile.json")).expect("profile"),
        )
        .expect("profile JSON");
        profile["role_profiles"][0]["org_ods"]
            .as_str()
            .expect("the GP system's practice")
            .to_string()
    };
    let store = &rig.spine.as_ref().expect("spine").store;
    let mut found = None;
    for nhs in store.sample_patients(true, 400).await.expect("sample") {
        let Some((patient, Some(summary), consent)) = store.summary_view(nhs).await.expect("view")
        else {
            continue;
        };
        if patient.gp_ods.as_deref() == Some(practice.as_str())
            && !consent.is_some_and(|c| c.preference.is_dissent())
            && !patient.restricted
            && patient.deceased.is_none()
            && summary.flags.is_empty()
        {
            found = Some((patient, summary));
            break;
        }
    }
    let (patient, mut summary) = found.expect("a patient at the GP system's practice");
    let nhs = patient.nhs_number.as_digits();
    summary.provenance.last_updated = Some(chrono::Utc::now());
    summary.allergies = scr_model::AllergyState::NoKnownAllergies {
        recorded: scr_model::ClinicalDate::parse("2024-03-12"),
    };
    for n in 1..=40 {
        summary.medications.push(scr_model::Medication {
            medicine: scr_model::Coding {
                system: None,
                code: None,
                display: format!("Synthetic medicine {n} 5mg tablets"),
            },
            kind: scr_model::MedicationKind::Repeat,
            status: scr_model::MedicationStatus::Active,
            dosage: Some("One tablet once a day".into()),
            quantity: Some("28 tablet".into()),
            started: scr_model::ClinicalDate::parse("2024-01-02"),
            last_issued: scr_model::ClinicalDate::parse("2026-10-01"),
            discontinued: None,
            reason: None,
        });
    }
    let gp = rig.gp_system().await;
    let (status, body) = gp
        .post(
            "/FHIR/R4",
            &scr_model::fhir::upload_bundle(&scr_model::fhir::Upload {
                summary: Some(summary),
                ..scr_model::fhir::Upload::new("e2e-print", patient)
            }),
        )
        .await;
    assert_eq!(status, 200, "upload refused: {body}");
    drop(gp);

    let exports = rig.data.path().join("exports");
    let exports_text = exports.display().to_string();
    let app = rig
        .launch_with(&rig.config, &[("SCR_EXPORT_DIR", exports_text.as_str())])
        .await;
    let _card = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
    app.type_into("#nhs-number", &nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies[data-state='noKnownAllergies']", 20)
        .await;
    let user = app.text("#session-user").await;

    app.click("#save-pdf").await;
    app.wait("#print-status[data-state='done']", 60).await;
    let said = app.text("#print-status").await;
    let file = said
        .strip_prefix("Saved as PDF: ")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| panic!("{said}"));
    assert!(file.starts_with(&exports), "{}", file.display());
    let shot = app.screenshot("25-saved-as-pdf").await;
    // The first printed page beside the screenshots, as an image (for the README).
    if let Some(dir) = shot.parent() {
        let _ = Command::new("pdftoppm")
            .args(["-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&file)
            .arg(dir.join("26-printed-page-1"))
            .status();
    }

    let pages = pdf_pages(&file);
    assert!(pages >= 2, "a 40-medicine summary fits on {pages} page(s)?");
    let display = nhs_display(&nhs);
    for page in 1..=pages {
        let text = pdf_text(&file, Some(page));
        assert!(
            text.contains(&format!("NHS number {display}")),
            "page {page} lacks the NHS number:\n{text}"
        );
        assert!(
            text.contains("printed by") && text.contains(&user),
            "page {page} lacks the user:\n{text}"
        );
    }
    // The words, however the columns wrapped them.
    let all = pdf_text(&file, None)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(all.contains("No known allergies"), "{all}");
    assert!(all.contains("Synthetic medicine 40 5mg tablets"), "{all}");
    assert!(all.contains("Significant problems"), "{all}");
    for control in ["Save as PDF", "Find another patient", "Sign out"] {
        assert!(
            !all.contains(control),
            "the control {control:?} was printed"
        );
    }

    // The spine recorded the printing.
    let printed = store
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(scr_model::AuditAction::SummaryPrint),
            limit: 5,
            ..Default::default()
        })
        .await
        .expect("trail");
    assert!(
        printed.iter().any(
            |r| r.entry.patient.map(|p| p.as_digits()) == Some(nhs.clone())
                && r.entry.outcome == scr_model::AuditOutcome::Success
        ),
        "no summary-print entry for the patient: {printed:?}"
    );
    app.close().await;
}

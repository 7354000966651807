//! "What changed since you last looked" (issue 14), in the real window: the doctor views a
//! patient, the practice uploads a changed summary (an allergy added, a medicine stopped),
//! the doctor views again and the changes are listed with the date of the first look, above
//! the allergies, which stay in view.

use chrono::{DateTime, Duration, Utc};
use scr_e2e::*;
use scr_model::{
    systems, Allergy, AllergyState, ClinicalDate, Coding, Medication, MedicationKind,
    MedicationStatus, Severity, Verification,
};

/// Card in, passcode, role: lands on "Find a patient".
async fn sign_in(app: &App) {
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
}

/// Opens `nhs`'s summary with the patient's permission; back at "Find a patient" first if
/// a summary is on screen.
async fn view(app: &App, nhs: &str) {
    if app
        .eval("return document.getElementById('find-another') !== null;")
        .await
        == serde_json::json!(true)
    {
        app.click("#find-another").await;
    }
    app.type_into("#nhs-number", nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies[data-state='known']", 20).await;
}

/// The practice the GP system uploads for.
fn gp_system_practice(rig: &Rig) -> String {
    let profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(rig.identity("gp-system").join("profile.json")).expect("profile"),
    )
    .expect("profile JSON");
    profile["role_profiles"][0]["org_ods"]
        .as_str()
        .expect("the GP system's practice")
        .to_string()
}

/// A patient registered at `practice` whose summary opens straight away (no opt-out, not
/// restricted, no death, no flags asking a question first), with the summary held.
async fn plain_patient_at(
    rig: &Rig,
    practice: &str,
) -> (scr_model::Demographics, scr_model::Summary) {
    let store = &rig.spine.as_ref().expect("spine").store;
    for nhs in store.sample_patients(true, 400).await.expect("sample") {
        let Some((patient, Some(summary), consent)) = store.summary_view(nhs).await.expect("view")
        else {
            continue;
        };
        let dissented = consent.is_some_and(|c| c.preference.is_dissent());
        if patient.gp_ods.as_deref() == Some(practice)
            && !dissented
            && !patient.restricted
            && patient.deceased.is_none()
            && summary.flags.is_empty()
        {
            return (patient, summary);
        }
    }
    panic!("no plain patient at {practice} in the seeded population");
}

fn coded(system: &str, code: &str, display: &str) -> Coding {
    Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.into(),
    }
}

fn allergy(substance: Coding, reaction: &str) -> Allergy {
    Allergy {
        substance,
        reaction: Some(reaction.into()),
        severity: Some(Severity::Moderate),
        criticality: None,
        verification: Verification::Confirmed,
        recorded: ClinicalDate::parse("2021-04-01"),
    }
}

fn repeat(medicine: Coding, dosage: &str) -> Medication {
    Medication {
        medicine,
        kind: MedicationKind::Repeat,
        status: MedicationStatus::Active,
        dosage: Some(dosage.into()),
        quantity: Some("28 tablet".into()),
        started: ClinicalDate::parse("2024-01-02"),
        last_issued: ClinicalDate::parse("2025-12-01"),
        discontinued: None,
        reason: None,
    }
}

/// The GP practice's system uploads `summary` for `patient`, composed now (so it is newer
/// than the summary the spine holds).
async fn upload(
    rig: &Rig,
    id: &str,
    patient: &scr_model::Demographics,
    mut summary: scr_model::Summary,
) {
    summary.provenance.last_updated = Some(Utc::now());
    let upload = scr_model::fhir::Upload {
        summary: Some(summary),
        ..scr_model::fhir::Upload::new(id, patient.clone())
    };
    let gp = rig.gp_system().await;
    let (status, body) = gp
        .post("/FHIR/R4", &scr_model::fhir::upload_bundle(&upload))
        .await;
    assert_eq!(status, 200, "upload refused: {body}");
}

/// `12-Mar-2026 14:05` for every minute from `from` to `to`, in UTC and in British Summer
/// Time (the window shows UK time): the first look's fetch time is one of them.
fn shown_times(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    for offset in [0, 1] {
        let mut t = from - Duration::minutes(1);
        while t <= to + Duration::minutes(1) {
            out.push(
                (t + Duration::hours(offset))
                    .format("%d-%b-%Y %H:%M")
                    .to_string(),
            );
            t += Duration::minutes(1);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_look_lists_an_allergy_added_and_a_medicine_stopped_since_the_first() {
    let Some(rig) = Rig::start("changes-since-last-look").await else {
        return;
    };
    let (patient, held) = plain_patient_at(&rig, &gp_system_practice(&rig)).await;
    let nhs = patient.nhs_number.as_digits();
    // What the practice holds first: one allergy, two repeat medicines.
    let mut first = held.clone();
    first.allergies = AllergyState::Known {
        allergies: vec![allergy(
            coded(systems::SNOMED, "764146007", "Penicillin"),
            "Rash",
        )],
    };
    first.medications = vec![
        repeat(
            coded(systems::DMD, "319283006", "Amlodipine 5mg tablets"),
            "One tablet once a day",
        ),
        repeat(
            coded(systems::DMD, "325278007", "Metformin 500mg tablets"),
            "One tablet twice a day",
        ),
    ];
    upload(&rig, "e2e-changes-first", &patient, first.clone()).await;

    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app).await;

    // The first look on this computer: nothing to compare with, so no changes block.
    let before_first = Utc::now();
    view(&app, &nhs).await;
    let after_first = Utc::now();
    let none = app
        .eval("return document.getElementById('changes') === null;")
        .await;
    assert_eq!(
        none,
        serde_json::json!(true),
        "a first look shows no changes"
    );

    // The practice adds an allergy and stops a medicine.
    let mut second = first.clone();
    if let AllergyState::Known { allergies } = &mut second.allergies {
        allergies.push(allergy(
            coded(systems::SNOMED, "111088007", "Latex"),
            "Contact dermatitis",
        ));
    }
    second.medications[0].status = MedicationStatus::Discontinued;
    second.medications[0].discontinued = ClinicalDate::parse("2026-03-10");
    upload(&rig, "e2e-changes-second", &patient, second).await;

    // The second look lists both, with the date of the first, above the allergies.
    view(&app, &nhs).await;
    let block = app.wait("#changes", 20).await;
    let heading = app.text("#changes-heading").await;
    assert!(
        heading.starts_with("Changes since you last looked on "),
        "{heading}"
    );
    assert!(
        shown_times(before_first, after_first)
            .iter()
            .any(|t| heading.ends_with(t.as_str())),
        "{heading} does not name the first look ({before_first} to {after_first})"
    );
    let rows = app
        .eval("return [...document.querySelectorAll('#changes tr.scr-change')].map((r) => [r.dataset.change, r.innerText.replace(/\\s+/g, ' ').trim()]);")
        .await;
    let rows: Vec<(String, String)> = serde_json::from_value(rows).expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "added");
    assert!(
        rows[0].1.starts_with("Added Allergies Latex") && rows[0].1.contains("Contact dermatitis"),
        "{rows:?}"
    );
    assert_eq!(rows[1].0, "removed");
    assert!(
        rows[1]
            .1
            .starts_with("Stopped Medication Amlodipine 5mg tablets")
            && rows[1].1.contains("stopped 10-Mar-2026"),
        "{rows:?}"
    );
    assert_eq!(
        block
            .attr("data-changes")
            .await
            .expect("attribute")
            .as_deref(),
        Some("2")
    );
    // In the sticky block, right above the allergies, both on screen; the new allergy is in
    // the allergy table too.
    let placed = app
        .eval("const c = document.getElementById('changes'); const a = document.getElementById('allergies'); const r = a.getBoundingClientRect(); return [c.nextElementSibling === a, !!c.closest('.scr-sticky-top'), c.getBoundingClientRect().top >= 0, r.top < window.innerHeight && r.bottom > r.top];")
        .await;
    assert_eq!(placed, serde_json::json!([true, true, true, true]));
    let allergies = app.text("#allergies").await;
    assert!(
        allergies.contains("Latex") && allergies.contains("Penicillin"),
        "{allergies}"
    );
    app.screenshot("21-changes-since-last-look").await;

    // Scrolled to the end, the changes and the allergies are still in view.
    let in_view = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const bar = document.getElementById('status-bar').getBoundingClientRect(); const c = document.getElementById('changes').getBoundingClientRect(); const a = document.getElementById('allergies').getBoundingClientRect(); return c.top >= bar.bottom - 1 && a.top < window.innerHeight;")
        .await;
    assert_eq!(in_view, serde_json::json!(true));

    // A third look with nothing new says so, in one line.
    view(&app, &nhs).await;
    app.wait("#changes[data-changes='0']", 20).await;
    let heading = app.text("#changes-heading").await;
    assert!(
        heading.starts_with("No changes since you last looked on "),
        "{heading}"
    );
    app.close().await;
}

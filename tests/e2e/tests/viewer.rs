//! The journeys of the viewer issue, in the real window.

use scr_e2e::*;

fn nhs_display(digits: &str) -> String {
    format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
}

/// Card in, passcode, role: lands on "Find a patient".
async fn sign_in(app: &App, passcode: &str, role_index: usize) {
    app.wait("#passcode", 20).await;
    app.screenshot("02-passcode").await;
    app.type_into("#passcode", passcode).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.screenshot("03-role").await;
    let radios = format!(
        "#roles .nhsuk-radios__item:nth-child({}) input",
        role_index + 1
    );
    app.click(&radios).await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_signs_in_finds_by_nhs_number_and_sees_the_allergies_first() {
    let Some(rig) = Rig::start("doctor-summary").await else {
        return;
    };
    let app = rig.launch().await;
    // No card yet: the first screen says so.
    app.wait_text("h1", "Insert your smartcard", 20).await;
    assert_eq!(
        app.attr("#card-status", "data-state").await.as_deref(),
        Some("noCard")
    );
    app.screenshot("01-insert-card").await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    let bar = app.text("#signed-in-as").await;
    assert!(bar.contains("Dr Amara Okafor"), "{bar}");
    app.screenshot("04-find").await;

    // A wrong check digit is explained as you type.
    let nhs = &rig.patients.known_allergies;
    let mut wrong = nhs.clone();
    let last = wrong.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
    wrong.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
    app.type_into("#nhs-number", &wrong).await;
    let why = app.text("#nhs-number-check").await;
    assert!(why.contains("check digit"), "{why}");

    app.type_into("#nhs-number", &nhs_display(nhs)).await;
    app.click("#find-by-number").await;
    app.wait("#reason-form", 20).await;
    app.screenshot("05-reason").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    let allergies = app.wait("#allergies[data-state='known']", 20).await;
    let text = allergies.text().await.expect("allergy text");
    assert!(text.contains(&rig.patients.first_allergy), "{text}");
    let banner = app.text("#patient-nhs-number").await;
    assert_eq!(banner, nhs_display(nhs));
    // Allergies come before medication in the page, right under the banner.
    let order = app
        .eval("const a = document.getElementById('allergies'); const m = document.getElementById('repeat-medication'); return !!(a.compareDocumentPosition(m) & Node.DOCUMENT_POSITION_FOLLOWING);")
        .await;
    assert_eq!(order, serde_json::json!(true));
    app.screenshot("06-summary-known-allergies").await;
    // Scrolled to the bottom, the allergy section is still in view, below the session
    // strip (sticky too), not under it.
    let visible = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const r = document.getElementById('allergies').getBoundingClientRect(); const bar = document.getElementById('status-bar').getBoundingClientRect(); return r.top >= bar.bottom - 1 && r.top < window.innerHeight;")
        .await;
    assert_eq!(visible, serde_json::json!(true));
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_allergy_states_never_look_alike() {
    let Some(rig) = Rig::start("allergy-states").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    let mut looks = Vec::new();
    for (nhs, state, shot) in [
        (&rig.patients.known_allergies, "known", "allergies-known"),
        (
            &rig.patients.no_known_allergies,
            "noKnownAllergies",
            "allergies-none-known",
        ),
        (
            &rig.patients.not_recorded,
            "notRecorded",
            "allergies-not-recorded",
        ),
    ] {
        app.type_into("#nhs-number", nhs).await;
        app.click("#find-by-number").await;
        app.click("#reason-permission").await;
        app.click("#view-summary").await;
        let section = app
            .wait(&format!("#allergies[data-state='{state}']"), 20)
            .await;
        let class = section
            .attr("class")
            .await
            .expect("class")
            .unwrap_or_default();
        let heading_and_text = section.text().await.expect("text");
        let border = app
            .eval("return getComputedStyle(document.getElementById('allergies')).borderLeftStyle + ' ' + getComputedStyle(document.getElementById('allergies')).borderLeftColor + ' ' + getComputedStyle(document.getElementById('allergies')).backgroundColor;")
            .await;
        app.screenshot(shot).await;
        looks.push((state, class, heading_and_text, border.to_string()));
        app.click("#find-another").await;
        app.wait("#nhs-number", 10).await;
    }
    assert!(looks[1].2.contains("No known allergies"), "{}", looks[1].2);
    assert!(
        looks[2].2.contains("Allergy information not recorded"),
        "{}",
        looks[2].2
    );
    assert!(!looks[2].2.contains("No known allergies"));
    // Different words, different classes, different borders and backgrounds.
    for i in 0..3 {
        for j in (i + 1)..3 {
            assert_ne!(
                looks[i].1, looks[j].1,
                "{} and {} share a class",
                looks[i].0, looks[j].0
            );
            assert_ne!(
                looks[i].3, looks[j].3,
                "{} and {} share a look",
                looks[i].0, looks[j].0
            );
        }
    }
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_by_name_with_a_typo_finds_the_patient() {
    let Some(rig) = Rig::start("trace").await else {
        return;
    };
    let nhs = scr_model::NhsNumber::parse(&rig.patients.known_allergies).expect("nhs");
    let patient = rig
        .spine
        .as_ref()
        .expect("spine")
        .store
        .patient(nhs)
        .await
        .expect("store")
        .expect("patient");
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    // One letter wrong in the family name.
    let mut family: Vec<char> = patient.family.chars().collect();
    let i = family.len() / 2;
    family[i] = if family[i] == 'e' { 'a' } else { 'e' };
    let typo: String = family.into_iter().collect();
    app.type_into("#family", &typo).await;
    app.type_into(
        "#given",
        patient.given.first().map(String::as_str).unwrap_or(""),
    )
    .await;
    app.type_into(
        "#birth-date",
        &patient.birth_date.format("%d-%m-%Y").to_string(),
    )
    .await;
    app.click("#find-by-details").await;
    app.wait("#trace-results", 20).await;
    let results = app.text("#trace-results").await;
    assert!(
        results.contains(&nhs_display(&rig.patients.known_allergies)),
        "{results}"
    );
    assert!(
        results.contains(&patient.family.to_uppercase()),
        "{results}"
    );
    app.screenshot("trace-results").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receptionist_sees_the_opt_out_and_nothing_clinical() {
    let Some(rig) = Rig::start("reception").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("receptionist", 1);
    sign_in(&app, RECEPTIONIST_PASSCODE, 0).await;
    app.type_into("#nhs-number", &rig.patients.dissented).await;
    app.click("#find-by-number").await;
    let status = app.wait_text("#sharing-status", "Opted out", 20).await;
    assert!(status.contains(&rig.patients.dissent_code), "{status}");
    assert!(status.contains("dissent recorded"), "{status}");
    let clinical = app
        .eval("return document.getElementById('allergies') === null && !document.body.innerText.includes('medication');")
        .await;
    assert_eq!(clinical, serde_json::json!(true));
    app.screenshot("sharing-opted-out").await;
    app.click("#find-another").await;
    app.type_into("#nhs-number", &rig.patients.known_allergies)
        .await;
    app.click("#find-by-number").await;
    app.wait("#sharing-status", 20).await;
    // The spine refuses the summary to this role whatever the client does.
    let store = &rig.spine.as_ref().expect("spine").store;
    let refused = store
        .audit_records(&scr_spine::store::AuditFilter {
            user_id: Some("555000000202".into()),
            action: Some(scr_model::AuditAction::SummaryRead),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(
        refused.is_empty(),
        "the UI asked for a summary as a receptionist"
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_access_raises_an_alert_the_privacy_officer_reads() {
    let Some(rig) = Rig::start("emergency").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    let nhs = rig.patients.known_allergies.clone();
    app.type_into("#nhs-number", &nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-emergency").await;
    app.click("#view-summary").await;
    // No reason and not confirmed yet: the form asks for both.
    let problem = app.wait_text("#reason-problem", "Confirm", 10).await;
    assert!(
        problem.contains("Say why you are accessing this record without permission"),
        "{problem}"
    );
    let why = "Unconscious on arrival, no carer present";
    app.type_into("#justification", why).await;
    app.click("#emergency-confirm").await;
    app.screenshot("emergency-confirm").await;
    app.click("#view-summary").await;
    app.wait_text("#emergency-banner", "privacy officer", 20)
        .await;
    app.screenshot("summary-emergency").await;
    app.close().await;

    // The privacy officer signs in with her own card and reads the alert, with its reason.
    let officer = rig.privacy_officer().await;
    let alerts = officer
        .get(&format!("AuditEvent?patient={nhs}&alert=true"))
        .await;
    let total = alerts["entry"].as_array().map(Vec::len).unwrap_or(0);
    assert!(
        total >= 1,
        "no emergency alert for the privacy officer: {alerts}"
    );
    assert!(
        alerts.to_string().contains(why),
        "the reason given is not in the trail: {alerts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_the_card_clears_and_locks_the_screen() {
    let Some(rig) = Rig::start("card-removal").await else {
        return;
    };
    let app = rig.launch().await;
    let card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    app.type_into("#nhs-number", &rig.patients.known_allergies)
        .await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
    let name = app.text("#patient-name").await;
    card.remove();
    app.wait_text("h1", "Insert your smartcard", 5).await;
    let notice = app.text("#session-notice").await;
    assert!(notice.contains("smartcard was removed"), "{notice}");
    let leftovers = app
        .eval(&format!(
            "return document.body.innerText.includes({name:?}) || document.getElementById('allergies') !== null || !document.getElementById('status-bar').hidden;"
        ))
        .await;
    assert_eq!(
        leftovers,
        serde_json::json!(false),
        "patient data left on screen"
    );
    app.screenshot("locked-after-removal").await;
    // Signing in again needs the card and the passcode.
    let _again = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spine_stopped_mid_session_gives_a_clear_error() {
    let Some(mut rig) = Rig::start("spine-down").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    rig.stop_spine().await;
    app.type_into("#nhs-number", &rig.patients.known_allergies)
        .await;
    app.click("#find-by-number").await;
    let error = app
        .wait_text(".nhsuk-error-summary", "cannot be reached", 30)
        .await;
    assert!(error.contains("Try again"), "{error}");
    app.screenshot("spine-unreachable").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_locks_itself() {
    let Some(rig) = Rig::start_with("idle", |c| c.session_idle_secs = 4).await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    app.type_into("#nhs-number", &rig.patients.known_allergies)
        .await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
    // No input for the idle timeout: the page clears itself and asks for the passcode again.
    let notice = app.wait_text("#session-notice", "idle", 15).await;
    assert!(notice.contains("Session ended"), "{notice}");
    let leftovers = app
        .eval("return document.getElementById('allergies') !== null;")
        .await;
    assert_eq!(leftovers, serde_json::json!(false));
    app.screenshot("locked-after-idle").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_setting_gives_a_first_run_message_not_a_crash() {
    let Some(rig) = Rig::start("config").await else {
        return;
    };
    let bad = rig.data.path().join("bad.toml");
    std::fs::write(&bad, "spine_url = \"https://localhost:1\"\n").expect("write");
    let app = rig.launch_with_config(&bad).await;
    let text = app.wait_text("#config-error", "ca_file", 20).await;
    assert!(text.contains("SCR_CA_FILE"), "{text}");
    app.screenshot("config-missing").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usable_at_1280_by_720_and_at_200_percent_text() {
    let Some(rig) = Rig::start("layout").await else {
        return;
    };
    let app = rig.launch().await;
    app.client()
        .set_window_size(1280, 720)
        .await
        .expect("window size");
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    app.type_into("#nhs-number", &rig.patients.known_allergies)
        .await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
    // At 1280×720 the allergy heading is on screen without scrolling.
    let first_view = app
        .eval("const r = document.getElementById('allergies-heading').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;")
        .await;
    assert_eq!(first_view, serde_json::json!(true));
    app.screenshot("summary-1280x720").await;
    // Text at 200 % (the styles are in rem): no sideways scrolling, allergies still in view
    // after scrolling to the end of the record, below the session strip (which grows with
    // the text), not under it.
    app.eval("document.documentElement.style.fontSize = '200%'; return true;")
        .await;
    // The strip's new height reaches the stylesheet on the next frame (ResizeObserver).
    let _ = app
        .client()
        .execute_async(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await;
    let zoomed = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const r = document.getElementById('allergies-heading').getBoundingClientRect(); const bar = document.getElementById('status-bar').getBoundingClientRect(); return [document.documentElement.scrollWidth <= window.innerWidth + 1, r.top >= bar.bottom - 1 && r.top < window.innerHeight];")
        .await;
    app.screenshot("summary-1280x720-text-200").await;
    assert_eq!(
        zoomed,
        serde_json::json!([true, true]),
        "[no sideways scroll, allergies in view]"
    );
    // Keyboard only: the find form is reachable by Tab from the top of the page.
    app.click("#find-another").await;
    app.wait("#nhs-number", 10).await;
    let focusable = app
        .eval("return document.activeElement && document.activeElement.tagName === 'H1';")
        .await;
    assert_eq!(
        focusable,
        serde_json::json!(true),
        "focus moves to the new screen's heading"
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_without_piv_is_shown_as_unknown_and_a_wrong_passcode_shows_tries_left() {
    let Some(rig) = Rig::start("card-states").await else {
        return;
    };
    let app = rig.launch().await;
    app.wait_text("h1", "Insert your smartcard", 20).await;
    let bank_card = rig.insert_with("doctor", 0, scr_vcard::Fault::NotPiv);
    app.wait("#card-status[data-state='unknownCard']", 10).await;
    app.screenshot("unknown-card").await;
    bank_card.remove();
    app.wait("#card-status[data-state='noCard']", 10).await;
    let _card = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", "000000").await;
    app.click("#sign-in").await;
    let error = app.wait_text("#passcode-error", "2 tries left", 20).await;
    assert!(error.contains("Wrong passcode"), "{error}");
    app.screenshot("wrong-passcode").await;
    app.close().await;
}

/// LOINC code of the IPS allergy section.
const ALLERGY_SECTION: &str = "48765-2";

/// A patient registered at the GP system's practice, with a summary naming a confirmed
/// allergy: their NHS number, demographics, summary and the allergy's substance.
async fn patient_with_an_allergy_at(
    rig: &Rig,
    practice: &str,
) -> (scr_model::Demographics, scr_model::Summary, String) {
    let store = &rig.spine.as_ref().expect("spine").store;
    for nhs in store.sample_patients(true, 400).await.expect("sample") {
        let Some((patient, Some(summary), consent)) = store.summary_view(nhs).await.expect("view")
        else {
            continue;
        };
        let dissented = consent.is_some_and(|c| c.preference.is_dissent());
        if patient.gp_ods.as_deref() != Some(practice)
            || dissented
            || patient.restricted
            || patient.deceased.is_some()
            || !summary.flags.is_empty()
        {
            continue;
        }
        if let scr_model::AllergyState::Known { allergies } = &summary.allergies {
            if let Some(a) = allergies
                .iter()
                .find(|a| a.verification == scr_model::Verification::Confirmed)
            {
                let substance = a.substance.display.clone();
                return (patient, summary, substance);
            }
        }
    }
    panic!("no patient at {practice} with a confirmed allergy in the seeded population");
}

/// The GP transaction Bundle of `summary` with the allergy section's coded entries dropped,
/// its narrative kept: the allergies as the NHS SCR FHIR API sends them, text only.
fn text_only_allergy_upload(
    patient: scr_model::Demographics,
    mut summary: scr_model::Summary,
) -> serde_json::Value {
    // Composed now, so the spine takes it over the seeded summary it holds.
    summary.provenance.last_updated = Some(chrono::Utc::now());
    let upload = scr_model::fhir::Upload {
        bundle_id: "e2e-text-only-allergies".into(),
        patient,
        summary: Some(summary),
        consent: None,
        care: Vec::new(),
    };
    let mut bundle = scr_model::fhir::upload_bundle(&upload);
    let entries = bundle["entry"].as_array_mut().expect("entries");
    let composition = entries
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == "Composition")
        .expect("a Composition");
    let section = composition["resource"]["section"]
        .as_array_mut()
        .expect("sections")
        .iter_mut()
        .find(|s| s["code"]["coding"][0]["code"] == ALLERGY_SECTION)
        .expect("an allergy section");
    assert!(
        section["text"]["div"].as_str().is_some(),
        "the allergy section has a narrative"
    );
    let dropped: Vec<String> = section
        .as_object_mut()
        .and_then(|s| s.remove("entry"))
        .and_then(|e| e.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["reference"].as_str().map(str::to_string))
        .collect();
    assert!(!dropped.is_empty(), "the allergy section had coded entries");
    entries.retain(|e| {
        e["fullUrl"]
            .as_str()
            .is_none_or(|u| !dropped.iter().any(|d| d == u))
    });
    bundle
}

/// Opens `nhs`'s summary (permission to view) and returns the allergy section's class, text
/// and computed look (left border style and colour, background).
async fn allergy_look(app: &App, nhs: &str, state: &str) -> (String, String, String) {
    app.type_into("#nhs-number", nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    let section = app
        .wait(&format!("#allergies[data-state='{state}']"), 20)
        .await;
    let class = section
        .attr("class")
        .await
        .expect("class")
        .unwrap_or_default();
    let text = section.text().await.expect("text");
    let look = app
        .eval("const s = getComputedStyle(document.getElementById('allergies')); return s.borderLeftStyle + ' ' + s.borderLeftColor + ' ' + s.backgroundColor;")
        .await;
    (class, text, look.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allergies_sent_as_text_only_show_their_text_in_a_state_of_their_own() {
    let Some(rig) = Rig::start("allergies-text-only").await else {
        return;
    };
    // The GP practice's system uploads a summary whose allergy section is text only.
    let profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(rig.identity("gp-system").join("profile.json")).expect("profile"),
    )
    .expect("profile JSON");
    let practice = profile["role_profiles"][0]["org_ods"]
        .as_str()
        .expect("the GP system's practice")
        .to_string();
    let (patient, summary, substance) = patient_with_an_allergy_at(&rig, &practice).await;
    let nhs = patient.nhs_number.as_digits();
    let bundle = text_only_allergy_upload(patient, summary);
    {
        let gp = rig.gp_system().await;
        let (status, body) = gp.post("/FHIR/R4", &bundle).await;
        assert_eq!(status, 200, "upload refused: {body}");
    }

    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    let (class, text, look) = allergy_look(&app, &nhs, "describedInText").await;
    assert!(class.contains("scr-allergies--text-only"), "{class}");
    assert!(text.contains("Allergies described in text only"), "{text}");
    // The narrative's substance is in the allergy block itself, on screen.
    assert!(text.contains(&substance), "{substance:?} not in {text}");
    assert!(!text.contains("not recorded"), "{text}");
    assert!(!text.contains("No known allergies"), "{text}");
    let shown = app
        .eval("const t = document.querySelector('#allergies #allergies-text'); if (!t) return false; const r = t.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.top < window.innerHeight;")
        .await;
    assert_eq!(
        shown,
        serde_json::json!(true),
        "the allergy text is not on screen"
    );
    app.screenshot("allergies-text-only").await;

    // Unlike each of the other states: its own class and its own look.
    let mut others = Vec::new();
    for (nhs, state) in [
        (&rig.patients.not_recorded, "notRecorded"),
        (&rig.patients.no_known_allergies, "noKnownAllergies"),
        (&rig.patients.known_allergies, "known"),
    ] {
        app.click("#find-another").await;
        app.wait("#nhs-number", 10).await;
        others.push((state, allergy_look(&app, nhs, state).await));
    }
    for (state, (other_class, _, other_look)) in &others {
        assert_ne!(&class, other_class, "text only and {state} share a class");
        assert_ne!(&look, other_look, "text only and {state} look alike");
    }
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_the_card_clears_the_screen_though_a_card_in_the_other_reader_stalls() {
    let Some(rig) = Rig::start("card-removal-stalled-reader").await else {
        return;
    };
    let app = rig.launch().await;
    let card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    app.type_into("#nhs-number", &rig.patients.known_allergies)
        .await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
    let name = app.text("#patient-name").await;
    // A card that never answers a command goes into the other reader; once the doctor's card
    // is gone, every probe of the card status lands on it and hangs.
    let stalling = rig.insert_with("receptionist", 1, scr_vcard::Fault::Stall);
    // pcscd polls the virtual readers every 400 ms: let the app hear of the new card first.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    card.remove();
    let pulled = std::time::Instant::now();
    // The page clears: no name, no allergies, no signed-in bar (the harness's usual wait,
    // no stricter clock).
    let gone = format!(
        "return !document.body.innerText.includes({name:?}) && document.getElementById('allergies') === null && document.getElementById('status-bar').hidden;"
    );
    app.wait_until(&gone, "the patient's data gone from the page", 10)
        .await;
    let cleared_after = pulled.elapsed();
    // Back at sign-in: the passcode is asked for again (a card is in reader 1), and the
    // session is over for the app too.
    app.wait("#passcode", 10).await;
    let why = app
        .eval("const n = document.getElementById('session-notice'); return n ? n.innerText : '';")
        .await;
    eprintln!(
        "screen cleared {cleared_after:?} after the card was pulled, reader 1 stalling; notice: {why}"
    );
    let still_clear = app.eval(&gone).await;
    assert_eq!(
        still_clear,
        serde_json::json!(true),
        "patient data back on screen"
    );
    app.screenshot("locked-with-a-stalling-reader").await;
    app.close().await;
    drop(stalling);
}

/// The GP practice's system uploads `summary` for `patient` (its own registered patient).
async fn upload_as_the_practice(rig: &Rig, upload: &scr_model::fhir::Upload) {
    let gp = rig.gp_system().await;
    let (status, body) = gp
        .post("/FHIR/R4", &scr_model::fhir::upload_bundle(upload))
        .await;
    assert_eq!(status, 200, "upload refused: {body}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_death_and_reasonable_adjustments_are_shown_before_the_allergies_and_stay_in_view() {
    let Some(rig) = Rig::start("flags-before-the-summary").await else {
        return;
    };
    // The practice records the patient's death and a reasonable adjustment flag; the summary
    // is long enough that the page scrolls.
    let (mut patient, mut summary, substance) =
        patient_with_an_allergy_at(&rig, &gp_system_practice(&rig)).await;
    let nhs = patient.nhs_number.as_digits();
    patient.deceased = Some(scr_model::Deceased {
        date: scr_model::ClinicalDate::parse("2025-03-12"),
    });
    summary.provenance.last_updated = Some(chrono::Utc::now());
    summary.flags.reasonable_adjustment = Some(scr_model::ReasonableAdjustment {
        adjustments: vec![
            "Needs a British Sign Language interpreter".into(),
            "Needs a longer appointment".into(),
        ],
        recorded: scr_model::ClinicalDate::parse("2024-02-01"),
    });
    let template = scr_model::Medication {
        medicine: scr_model::Coding {
            system: None,
            code: None,
            display: String::new(),
        },
        kind: scr_model::MedicationKind::Repeat,
        status: scr_model::MedicationStatus::Active,
        dosage: Some("One tablet once a day".into()),
        quantity: Some("28 tablet".into()),
        started: scr_model::ClinicalDate::parse("2024-01-02"),
        last_issued: scr_model::ClinicalDate::parse("2026-10-01"),
        discontinued: None,
        reason: None,
    };
    for n in 1..=15 {
        let mut m = template.clone();
        m.medicine.display = format!("Synthetic medicine {n} 5mg tablets");
        summary.medications.push(m);
    }
    upload_as_the_practice(
        &rig,
        &scr_model::fhir::Upload {
            summary: Some(summary),
            ..scr_model::fhir::Upload::new("e2e-flags", patient)
        },
    )
    .await;

    let app = rig.launch().await;
    app.client()
        .set_window_size(1280, 720)
        .await
        .expect("window size");
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE, 0).await;
    app.type_into("#nhs-number", &nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    let allergies = app.wait("#allergies[data-state='known']", 20).await;
    assert!(
        allergies
            .text()
            .await
            .expect("allergy text")
            .contains(&substance),
        "the allergies are shown"
    );
    let died = app.text("#deceased-banner").await;
    assert_eq!(died, "This patient died on 12-Mar-2025");
    let raf = app.text("#raf-banner").await;
    assert!(
        raf.contains("Reasonable adjustments")
            && raf.contains("Needs a British Sign Language interpreter")
            && raf.contains("Needs a longer appointment"),
        "{raf}"
    );
    assert_eq!(app.text("#patient-died").await, "12-Mar-2025");
    // In the page: the death, then the adjustments, then the allergies, then medication.
    let order = app
        .eval("const [d, r, a, m] = ['deceased-banner', 'raf-banner', 'allergies', 'repeat-medication'].map((id) => document.getElementById(id)); const f = (x, y) => !!(x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING); return [f(d, r), f(r, a), f(a, m)];")
        .await;
    assert_eq!(order, serde_json::json!([true, true, true]));
    // The orange banner is not the allergies' look.
    let look = app
        .eval("const s = (id) => getComputedStyle(document.getElementById(id)).backgroundColor; return [s('raf-banner'), s('deceased-banner'), s('allergies')];")
        .await;
    let looks: Vec<String> = look
        .as_array()
        .map(|l| l.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(looks.len(), 3);
    assert!(
        looks[0] != looks[1] && looks[0] != looks[2] && looks[1] != looks[2],
        "{looks:?}"
    );
    app.screenshot("flags-before-the-allergies").await;

    // Scrolled to the end of the record: the page did scroll, and the death, the whole of
    // the adjustments and the allergy heading are all still in view.
    let in_view = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const whole = (id) => { const r = document.getElementById(id).getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }; return [window.scrollY > 0, whole('deceased-banner'), whole('raf-banner'), whole('allergies-heading')];")
        .await;
    app.screenshot("flags-after-scrolling").await;
    assert_eq!(
        in_view,
        serde_json::json!([true, true, true, true]),
        "[scrolled, death in view, adjustments in view, allergies in view]"
    );
    app.close().await;
}

//! The session conveniences in the real window: the strip with the user's name, role and
//! organisation on every screen (and never over the allergies), the idle warning and "Stay
//! signed in", and changing role without signing out.

use scr_e2e::*;

/// The idle timeout of the warning journey: the warning comes at half of it (15 s without
/// input), which leaves time to open another patient before the next one.
const IDLE_SECS: i64 = 30;

/// Card in, passcode, the role at `role_index`: lands on "Find a patient".
async fn sign_in(app: &App, role_index: usize) {
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click(&format!(
        "#roles .nhsuk-radios__item:nth-child({}) input",
        role_index + 1
    ))
    .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
}

async fn open_summary(app: &App, nhs: &str) {
    app.type_into("#nhs-number", nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
}

/// (name, role, organisation) as the strip shows them.
async fn strip(app: &App) -> (String, String, String) {
    (
        app.text("#session-user").await,
        app.text("#session-role").await,
        app.text("#session-org").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_warning_appears_and_stay_signed_in_keeps_the_session() {
    let Some(rig) = Rig::start_with("idle-warning", |c| c.session_idle_secs = IDLE_SECS).await
    else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, 0).await;
    let ed = (
        "Dr Amara Okafor".to_string(),
        "Clinical Practitioner Access Role".to_string(),
        "Synthetic General Hospital Emergency Department (RX901)".to_string(),
    );
    assert_eq!(strip(&app).await, ed);
    open_summary(&app, &rig.patients.known_allergies).await;
    assert_eq!(strip(&app).await, ed, "the strip on the summary");
    // Scrolled to the end of the record: the strip is at the top and the allergies stick
    // right below it, not under it.
    let layout = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const b = document.getElementById('status-bar').getBoundingClientRect(); const a = document.getElementById('allergies').getBoundingClientRect(); return [window.scrollY > 0, b.top === 0, a.top >= b.bottom - 1 && a.top < window.innerHeight];")
        .await;
    assert_eq!(
        layout,
        serde_json::json!([true, true, true]),
        "[scrolled, strip in view, allergies in view below the strip]"
    );
    app.screenshot("summary-with-session-strip").await;

    // No input: the warning comes at half the idle timeout, as an alert dialog with the
    // time left in words and the focus on its button.
    app.wait("#idle-warning", 30).await;
    let dialog = app
        .eval("const d = document.getElementById('idle-warning'); return [d.getAttribute('role'), document.activeElement && document.activeElement.id];")
        .await;
    assert_eq!(dialog, serde_json::json!(["alertdialog", "stay-signed-in"]));
    let countdown = app.text("#idle-warning-countdown").await;
    assert!(
        countdown.starts_with("You will be signed out in ") && countdown.contains("second"),
        "{countdown}"
    );
    app.screenshot("idle-warning").await;
    app.click("#stay-signed-in").await;
    app.wait_until(
        "return document.getElementById('idle-warning') === null;",
        "the warning goes",
        5,
    )
    .await;

    // The session still works, here and on the spine: another patient opens.
    app.click("#find-another").await;
    app.wait("#nhs-number", 10).await;
    open_summary(&app, &rig.patients.no_known_allergies).await;
    let state = app.attr("#allergies", "data-state").await;
    assert_eq!(state.as_deref(), Some("noKnownAllergies"));
    assert_eq!(strip(&app).await, ed, "the strip after Stay signed in");
    let ended = app
        .eval("return document.getElementById('session-ended') !== null || document.getElementById('session-notice') !== null;")
        .await;
    assert_eq!(ended, serde_json::json!(false), "the session ended");
    app.screenshot("after-stay-signed-in").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_changes_role_without_signing_out() {
    let Some(rig) = Rig::start("change-role").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, 0).await;
    open_summary(&app, &rig.patients.known_allergies).await;
    let name = app.text("#patient-name").await;

    // Change role: the patient leaves the page before anything else.
    app.click("#change-role").await;
    app.wait_text("h1", "Change role", 10).await;
    let leftovers = app
        .eval(&format!(
            "return document.body.innerText.includes({name:?}) || document.getElementById('allergies') !== null;"
        ))
        .await;
    assert_eq!(
        leftovers,
        serde_json::json!(false),
        "patient data left on screen"
    );
    app.screenshot("change-role").await;
    app.click("#role-doctor-ooh").await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
    assert_eq!(
        strip(&app).await,
        (
            "Dr Amara Okafor".to_string(),
            "Health Professional Access Role".to_string(),
            "Synthetic Out of Hours Service (NX901)".to_string(),
        )
    );

    // The next summary is read, and recorded, in the new role: the spine decides.
    open_summary(&app, &rig.patients.no_known_allergies).await;
    app.screenshot("summary-in-the-second-role").await;
    let store = &rig.spine.as_ref().expect("spine").store;
    let reads = store
        .audit_records(&scr_spine::store::AuditFilter {
            user_id: Some("555000000101".into()),
            action: Some(scr_model::AuditAction::SummaryRead),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    let roles: Vec<(Option<String>, Option<String>)> = reads
        .iter()
        .map(|r| (r.entry.role_code.clone(), r.entry.org_ods.clone()))
        .collect();
    assert!(
        roles.contains(&(Some("R8000".into()), Some("RX901".into())))
            && roles.contains(&(Some("R8003".into()), Some("NX901".into()))),
        "{roles:?}"
    );
    let signed_out = store
        .audit_records(&scr_spine::store::AuditFilter {
            user_id: Some("555000000101".into()),
            action: Some(scr_model::AuditAction::SignOut),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(signed_out.is_empty(), "the role change signed the user out");
    app.close().await;
}

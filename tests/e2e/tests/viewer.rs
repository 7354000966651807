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
    // Scrolled to the bottom, the allergy section is still in view.
    let visible = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const r = document.getElementById('allergies').getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight;")
        .await;
    assert_eq!(visible, serde_json::json!(true));
    app.close().await;
}

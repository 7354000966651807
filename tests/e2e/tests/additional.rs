//! SCR Additional Information in the real window: shared headings with their entries and
//! "nothing recorded" for a patient who allows it; "not shared" for one whose preference
//! covers the core record only. The section index reaches them in one click, with the
//! allergies still in view.

use scr_e2e::*;

async fn sign_in_as_doctor(app: &App) {
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
}

async fn open(app: &App, nhs: &str) {
    app.type_into("#nhs-number", nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
}

async fn state(app: &App, id: &str) -> String {
    app.attr(&format!("#{id}"), "data-state")
        .await
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additional_information_is_shown_when_shared_and_said_to_be_not_shared_when_not() {
    let Some(rig) = Rig::start("additional-information").await else {
        return;
    };
    assert!(
        !rig.patients.additional.is_empty() && !rig.patients.core_only.is_empty(),
        "the seeded population has a patient with additional information shared and one with it not shared"
    );
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in_as_doctor(&app).await;

    open(&app, &rig.patients.additional).await;
    app.wait("#additional", 20).await;
    assert_eq!(state(&app, "additional-history").await, "recorded");
    assert_eq!(state(&app, "additional-procedures").await, "recorded");
    assert_eq!(
        state(&app, "additional-end-of-life").await,
        "nothingRecorded"
    );
    let end_of_life = app.text("#additional-end-of-life").await;
    assert!(end_of_life.contains("Nothing recorded"), "{end_of_life}");
    assert!(!end_of_life.contains("Not shared"), "{end_of_life}");
    // The headings follow the core record, in the page's order.
    let order = app
        .eval("const p = document.getElementById('problems'); const a = document.getElementById('additional'); return !!(p.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING);")
        .await;
    assert_eq!(order, serde_json::json!(true));
    // One click on the section index brings the headings into view just below the sticky
    // block, with the allergies still in view above them.
    app.click("#section-index a[data-target='additional']")
        .await;
    let placed = app
        .eval("const s = document.getElementById('summary-sticky').getBoundingClientRect(); const a = document.getElementById('allergies').getBoundingClientRect(); const h = document.getElementById('additional-heading').getBoundingClientRect(); return [h.top >= s.bottom - 1, h.top < window.innerHeight, a.top >= 0 && a.top < window.innerHeight, document.activeElement && document.activeElement.id];")
        .await;
    assert_eq!(
        placed,
        serde_json::json!([true, true, true, "additional-heading"]),
        "the index takes the reader to the heading, below the allergies"
    );
    app.screenshot("23-additional-information").await;

    app.click("#find-another").await;
    app.wait("#nhs-number", 10).await;
    open(&app, &rig.patients.core_only).await;
    app.wait("#additional", 20).await;
    assert_eq!(state(&app, "additional-history").await, "notShared");
    let history = app.text("#additional-history").await;
    assert!(history.contains("Not shared"), "{history}");
    assert!(!history.contains("Nothing recorded"), "{history}");
    app.eval("document.getElementById('additional').scrollIntoView(); return true;")
        .await;
    app.screenshot("24-additional-not-shared").await;
    app.close().await;
}

//! The national service's gates before clinical data, in the real window (issue 13): a
//! doctor whose hospital has no recorded relationship with the patient self-claims one and
//! sees the summary (past a soft volume limit, so with its warning under the banner, the
//! allergies still first and never covered); the card is swapped for the privacy officer's,
//! who finds that alert, sees the doctor's accesses around it, and marks it reviewed with a
//! note, so it leaves the open list. And a patient who refuses permission: the refusal is
//! recorded and nothing from the record reaches the page.

use scr_e2e::*;
use scr_model::{AuditAction, AuditOutcome, NhsNumber};

fn nhs_display(digits: &str) -> String {
    format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
}

/// Card in, passcode, the first role.
async fn sign_in(app: &App, passcode: &str) {
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", passcode).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
}

/// A seeded patient with a summary (with a confirmed allergy) who shares it, and whom the
/// demo hospital has no recorded relationship with (`i % 10 == 9`), and that allergy.
async fn patient_without_a_relationship(rig: &Rig) -> (String, String) {
    let store = &rig.spine.as_ref().expect("spine").store;
    for i in (9..400u32).step_by(10) {
        assert!(!scr_demo::seed::has_care_relationship(i));
        let nhs = NhsNumber::nth_test_number(i).expect("test number");
        let Ok(Some((patient, Some(summary), consent))) = store.summary_view(nhs).await else {
            continue;
        };
        if consent.is_some_and(|c| c.preference.is_dissent()) || patient.restricted {
            continue;
        }
        if let scr_model::AllergyState::Known { allergies } = &summary.allergies {
            if let Some(a) = allergies
                .iter()
                .find(|a| a.verification == scr_model::Verification::Confirmed)
            {
                return (nhs.as_digits(), a.substance.display.clone());
            }
        }
    }
    panic!("no seeded patient without a relationship, with a confirmed allergy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_claimed_relationship_opens_the_record_and_the_privacy_officer_reviews_it() {
    // Every open past the first patient of the hour is past the soft limit: the summary
    // comes with the volume warning (and the same entry raises a volume alert).
    let Some(rig) = Rig::start_with("self-claim", |c| {
        c.volume_limits.user_per_hour = scr_spine::config::VolumeLimit {
            soft: 0,
            hard: 1000,
        };
    })
    .await
    else {
        return;
    };
    let (nhs, allergy) = patient_without_a_relationship(&rig).await;
    let app = rig.launch().await;
    app.client()
        .set_window_size(1280, 720)
        .await
        .expect("window size");
    let doctor_card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE).await;
    app.type_into("#nhs-number", &nhs).await;
    app.click("#find-by-number").await;
    app.wait("#reason-form", 20).await;
    let question = app.text("#reason-form legend").await;
    assert_eq!(
        question,
        "Has the patient given permission to view their record?"
    );
    app.click("#reason-permission").await;
    app.click("#view-summary").await;

    // No recorded relationship: the offer to self-claim, warned that it is reviewed.
    let heading = app
        .wait_text("#no-relationship", "no recorded relationship", 20)
        .await;
    assert!(heading.contains("Your organisation"), "{heading}");
    let warning = app.text("#claim-form").await;
    assert!(
        warning.contains("reviewed by your privacy officer"),
        "{warning}"
    );
    let nothing_yet = app
        .eval("return document.getElementById('allergies') === null;")
        .await;
    assert_eq!(nothing_yet, serde_json::json!(true));
    app.screenshot("01-no-relationship").await;
    app.click("#self-claim").await;
    app.type_into("#claim-reason", "Seeing them in the fracture clinic today")
        .await;
    app.click("#confirm-claim").await;

    // The summary, with the volume warning under the banner and the allergies first.
    let allergies = app.wait("#allergies[data-state='known']", 20).await;
    let text = allergies.text().await.expect("allergy text");
    assert!(text.contains(&allergy), "{text}");
    let volume = app.text("#volume-warning").await;
    assert!(
        volume.contains("You have opened 1 patient's record in the last hour."),
        "{volume}"
    );
    // At 1280×720 the allergy heading is on the first screen, below the warning, not under it.
    let layout = app
        .eval("const w = document.getElementById('volume-warning').getBoundingClientRect(); const s = document.getElementById('summary-sticky').getBoundingClientRect(); const a = document.getElementById('allergies-heading').getBoundingClientRect(); return [a.top >= 0 && a.bottom <= window.innerHeight, w.bottom <= s.top];")
        .await;
    assert_eq!(
        layout,
        serde_json::json!([true, true]),
        "[allergies on the first screen, warning above the sticky block]"
    );
    app.screenshot("02-summary-self-claimed-volume-warning")
        .await;
    // Scrolled to the end, the allergies are in view and nothing lies on top of them.
    let covered = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const a = document.getElementById('allergies-heading'); const r = a.getBoundingClientRect(); const hit = document.elementFromPoint(r.left + 4, r.top + r.height / 2); return [r.top >= 0 && r.top < window.innerHeight, !!hit && a.contains(hit)];")
        .await;
    assert_eq!(
        covered,
        serde_json::json!([true, true]),
        "[allergies in view, not covered]"
    );
    app.screenshot("03-summary-scrolled").await;

    // The card is swapped for the privacy officer's: the page clears, she signs in.
    doctor_card.remove();
    app.wait_text("h1", "Insert your smartcard", 10).await;
    let _officer_card = rig.insert("privacy-officer", 0);
    sign_in(&app, PRIVACY_OFFICER_PASSCODE).await;
    // Her role's work is the alerts: she lands on them, not on "Find a patient".
    let row = app.wait("tr.scr-alert-row", 20).await;
    let row_text = row.text().await.expect("row text");
    for expected in [
        nhs_display(&nhs),
        "Dr Amara Okafor (555000000101)".to_string(),
        "RX901".to_string(),
        "Self-claimed relationship".to_string(),
        "Seeing them in the fracture clinic today".to_string(),
    ] {
        assert!(
            row_text.contains(&expected),
            "{expected:?} not in {row_text}"
        );
    }
    let find = app
        .eval("return document.getElementById('nhs-number') === null;")
        .await;
    assert_eq!(find, serde_json::json!(true));
    app.eval("document.getElementById('alerts').scrollIntoView(); return true;")
        .await;
    app.screenshot("04-officer-alerts").await;

    // The alert's detail: the doctor's other reads around it (the refusal and this read).
    app.click("tr.scr-alert-row button.scr-open-alert").await;
    app.wait("#around-trail", 20).await;
    let around = app.text("#around-trail").await;
    assert!(around.contains("(this alert)"), "{around}");
    assert!(
        around.contains("no recorded relationship"),
        "the refusal before the claim: {around}"
    );
    let relationship = app.text("#alert-relationship").await;
    assert_eq!(relationship, "Self-claimed by the user");
    app.screenshot("05-officer-alert-detail").await;
    // A note is required.
    app.click("#mark-reviewed").await;
    app.wait_text("#review-problem", "Write a note", 10).await;
    app.type_into(
        "#review-note",
        "Confirmed with the fracture clinic: the patient was booked in today.",
    )
    .await;
    app.click("#mark-reviewed").await;
    app.wait_text("#alerts-notice", "marked as reviewed", 20)
        .await;
    let left = app.text("#alerts").await;
    assert_eq!(left, "There are no open alerts.");
    app.screenshot("06-officer-alert-reviewed").await;

    // Who has viewed this record: the refusal and the read.
    app.click("#who-viewed").await;
    app.type_into("#trail-nhs", &nhs).await;
    app.click("#show-trail").await;
    let trail = app.wait("#trail", 20).await;
    assert_eq!(
        trail.attr("data-count").await.expect("count").as_deref(),
        Some("2")
    );
    app.screenshot("07-who-has-viewed").await;
    app.close().await;

    // The spine kept the review with its note.
    let store = &rig.spine.as_ref().expect("spine").store;
    let reviews = store
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(AuditAction::AlertReview),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    let done: Vec<_> = reviews
        .iter()
        .filter(|r| r.entry.outcome == AuditOutcome::Success)
        .collect();
    assert_eq!(done.len(), 1, "{reviews:?}");
    assert!(done[0]
        .entry
        .justification
        .as_deref()
        .is_some_and(|n| n.starts_with("Confirmed with the fracture clinic")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_who_refuses_permission_gets_the_refusal_recorded_and_nothing_shown() {
    let Some(rig) = Rig::start("permission-refused").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in(&app, DOCTOR_PASSCODE).await;
    let nhs = rig.patients.known_allergies.clone();
    app.type_into("#nhs-number", &nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-refused").await;
    app.click("#view-summary").await;
    let notice = app.wait_text("#refused-notice", "recorded", 20).await;
    assert_eq!(
        notice,
        "The patient refused permission. This has been recorded. Nothing from their record is shown."
    );
    let clinical = app
        .eval(&format!(
            "const t = document.body.innerText; return document.getElementById('allergies') === null && !t.includes({:?}) && !/medication|problems/i.test(t);",
            rig.patients.first_allergy
        ))
        .await;
    assert_eq!(
        clinical,
        serde_json::json!(true),
        "clinical data on the page"
    );
    app.screenshot("permission-refused").await;
    app.click("#find-another").await;
    app.wait("#nhs-number", 10).await;
    app.close().await;

    // Recorded by the spine: the refusal, for that patient, with its answer.
    let store = &rig.spine.as_ref().expect("spine").store;
    let reads = store
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(AuditAction::SummaryRead),
            patient: Some(NhsNumber::parse(&nhs).expect("nhs")),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    let [refused] = reads.as_slice() else {
        panic!("one summary read: {reads:?}")
    };
    assert_eq!(refused.entry.outcome, AuditOutcome::Refused);
    assert_eq!(refused.entry.detail.as_deref(), Some("PERMISSION_REFUSED"));
    assert_eq!(
        refused.entry.reason,
        Some(scr_model::AccessReason::PermissionRefused)
    );
}

//! The registration authority in the real window: the RA agent's card signs in and lands on
//! "Users and cards", registers a user, gives them a role profile and revokes the
//! receptionist's card (ending her live session); then the receptionist's card can no
//! longer sign in.

use scr_e2e::*;

const RA_PASSCODE: &str = "192837";
const RA: &str = "555000000606";
const RECEPTIONIST: &str = "555000000202";
const ALEX: &str = "555000000999";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ra_registers_a_user_gives_a_role_and_revokes_a_card_that_then_cannot_sign_in() {
    let Some(rig) = Rig::start("registration").await else {
        return;
    };
    let store = rig.spine.as_ref().expect("spine").store.clone();
    let certificate = store
        .certificates()
        .await
        .expect("cards")
        .into_iter()
        .find(|c| c.user_id == RECEPTIONIST)
        .expect("the receptionist's card")
        .id;
    // The receptionist is signed in elsewhere with her card (a session the spine binds to
    // its certificate, as a card sign-in does).
    let desk_token = format!("e2e-desk-{}", scr_model::OfflineView::new_id());
    let now = chrono::Utc::now().timestamp_millis();
    store
        .insert_session_for(
            &scr_spine::auth::token_hash(&desk_token),
            RECEPTIONIST,
            Some(&certificate),
            now,
            now + 3_600_000,
        )
        .await
        .expect("her session");
    store
        .set_session_role(&scr_spine::auth::token_hash(&desk_token), "receptionist")
        .await
        .expect("her role");

    let app = rig.launch().await;
    let ra_card = rig.insert("ra", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", RA_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#choose-role").await;
    app.wait("#ra-users", 20).await;
    assert_eq!(app.text("h1").await, "Users and cards");
    assert_eq!(app.text("#session-user").await, "Robin Clarke");
    let issue = app.text("#ra-card-issue").await;
    assert!(issue.contains("scr-spine card issue"), "{issue}");
    app.screenshot("users-and-cards").await;

    // Register a user.
    app.type_into("#ra-new-user-id", ALEX).await;
    app.type_into("#ra-new-user-name", "Alex Jones").await;
    app.click("#ra-register-user").await;
    app.wait_text("#ra-notice", "Alex Jones (555000000999) is registered", 20)
        .await;

    // Give them a role profile.
    let alex = format!(".ra-user[data-user='{ALEX}']");
    app.click(&format!("{alex} .ra-add-role")).await;
    for (name, value) in [
        ("roleCode", "R8001"),
        ("roleName", "Nurse Access Role"),
        ("orgOds", "RX901"),
        ("orgName", "Synthetic General Hospital"),
    ] {
        app.type_into(&format!("{alex} input[name='{name}']"), value)
            .await;
    }
    for code in ["B0264", "B0370"] {
        app.click(&format!("{alex} input[name='activity'][value='{code}']"))
            .await;
    }
    app.screenshot("add-role-profile").await;
    app.click(&format!("{alex} .ra-add-role-submit")).await;
    app.wait_text("#ra-notice", "added for Alex Jones", 20)
        .await;
    let activities = app
        .text(&format!(
            "{alex} .ra-profile[data-profile='555000000999-r8001-rx901'] .ra-activities"
        ))
        .await;
    assert_eq!(activities, "B0264, B0370");

    // Revoke the receptionist's card: the confirmation says her live session ends.
    let card = format!(
        ".ra-user[data-user='{RECEPTIONIST}'] .ra-card[data-serial='{}']",
        certificate.serial_hex
    );
    app.click(&format!("{card} .ra-revoke")).await;
    let warning = app.text(&format!("{card} .ra-revoke-warning")).await;
    assert!(
        warning.contains("ends the card's 1 live session now"),
        "{warning}"
    );
    app.type_into(&format!("{card} .ra-revoke-reason"), "reported lost")
        .await;
    app.screenshot("revoke-confirmation").await;
    app.click(&format!("{card} .ra-revoke-confirm")).await;
    let notice = app.wait_text("#ra-notice", "is revoked", 20).await;
    assert!(notice.contains("1 live session ended"), "{notice}");
    assert_eq!(
        app.attr(&card, "data-status").await.as_deref(),
        Some("revoked")
    );
    app.screenshot("card-revoked").await;

    // The spine holds what the window showed, each change under the RA's name.
    assert_eq!(
        store
            .role_profiles(ALEX)
            .await
            .expect("roles")
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        ["555000000999-r8001-rx901"]
    );
    for action in [
        scr_model::AuditAction::UserRegister,
        scr_model::AuditAction::RoleAdd,
        scr_model::AuditAction::CardRevoke,
    ] {
        let done = store
            .audit_records(&scr_spine::store::AuditFilter {
                user_id: Some(RA.into()),
                action: Some(action),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("audit");
        assert!(
            done.iter()
                .any(|r| r.entry.outcome == scr_model::AuditOutcome::Success),
            "{action:?}: {done:?}"
        );
    }
    let ca = std::fs::read(rig.data.path().join("ca/ca.pem")).expect("CA");
    let client = scr_client::SpineClient::new(
        &format!("https://localhost:{}", rig.spine_port()),
        &ca,
        scr_client::Timeouts::default(),
    )
    .expect("client");
    let nhs = scr_model::NhsNumber::parse(&rig.patients.known_allergies).expect("number");
    let hers = client
        .patient(&scr_client::SessionToken::new(desk_token), nhs)
        .await;
    assert!(
        matches!(hers, Err(scr_client::ClientError::SessionEnded)),
        "her session outlived the card: {hers:?}"
    );

    // The RA leaves; the receptionist's card can no longer sign in.
    ra_card.remove();
    app.wait_text("h1", "Insert your smartcard", 10).await;
    let _desk_card = rig.insert("receptionist", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", RECEPTIONIST_PASSCODE).await;
    app.click("#sign-in").await;
    let error = app
        .wait_text("#passcode-error", "Your smartcard has been revoked", 20)
        .await;
    assert!(error.contains("certificate has been revoked"), "{error}");
    assert_eq!(
        app.attr("#passcode-error", "data-code").await.as_deref(),
        Some("CERTIFICATE_REVOKED")
    );
    app.screenshot("revoked-card-refused").await;
    let signed_in = app
        .eval("return document.getElementById('status-bar').hidden === false;")
        .await;
    assert_eq!(signed_in, serde_json::json!(false), "she was signed in");
    app.close().await;
}

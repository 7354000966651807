//! The registration authority: users, role profiles and cards managed over HTTPS by an RA
//! role (and refused to everyone else), and at the console with `scr-spine user|role|card`;
//! every change is in the audit trail with who made it.

use reqwest::{Method, StatusCode};
use scr_model::{AuditAction, AuditOutcome, AuditRecord};
use serde_json::{json, Value};

use crate::audit_chain::verify_cli;
use crate::backend_tests;
use crate::hardening::cli;
use crate::harness::{error_code, Identity, TestSpine};

backend_tests!(
    an_ra_agent_manages_users_role_profiles_and_cards,
    registration_is_refused_to_every_other_role,
    the_console_registers_a_user_and_issues_a_card_that_signs_in,
    a_role_profile_given_to_someone_else_is_not_in_force_in_old_sessions,
);

/// The demo's RA agent (`identities/ra`).
const RA_USER: &str = "555000000606";
const DOCTOR: &str = "555000000101";

async fn send(
    spine: &TestSpine,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    spine
        .call(
            method,
            path,
            Some(token),
            &[],
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
}

async fn entries(spine: &TestSpine, action: AuditAction) -> Vec<AuditRecord> {
    spine
        .store()
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(action),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("audit")
}

fn detail(r: &AuditRecord) -> String {
    r.entry.detail.clone().unwrap_or_default()
}

/// The serial of `user_id`'s (only) card.
async fn serial_of(spine: &TestSpine, user_id: &str) -> String {
    spine
        .store()
        .certificates()
        .await
        .expect("cards")
        .into_iter()
        .find(|c| c.user_id == user_id)
        .expect("a card")
        .id
        .serial_hex
}

fn nurse_role() -> Value {
    json!({
        "role_code": "R8001",
        "role_name": "Nurse Access Role",
        "org_ods": "RX901",
        "org_name": "Synthetic General Hospital",
        "activities": ["B0264", "B0370"],
    })
}

async fn an_ra_agent_manages_users_role_profiles_and_cards(spine: &TestSpine) {
    let ra = spine.sign_in(&spine.identity("ra"), None).await;
    let doctor = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let patient = format!("/FHIR/R4/Patient/{}", nhs.as_digits());
    assert_eq!(spine.get(&patient, &doctor).await.0, StatusCode::OK);

    // The users, with what they hold.
    let (status, body) = spine.get("/ra/users", &ra).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let users = body["users"].as_array().expect("users");
    let doc = users
        .iter()
        .find(|u| u["user_id"] == DOCTOR)
        .expect("the doctor is listed");
    assert_eq!(
        (doc["role_profiles"].as_i64(), doc["active_cards"].as_i64()),
        (Some(2), Some(1))
    );

    // Register a user; the same id again, or a malformed one, is refused.
    let new = json!({"user_id": "555000000999", "name": "Alex Jones"});
    let (status, body) = send(spine, Method::POST, "/ra/users", &ra, Some(new.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["name"], "Alex Jones");
    let (status, body) = send(spine, Method::POST, "/ra/users", &ra, Some(new)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "USER_EXISTS")
    );
    let bad = json!({"user_id": "12345", "name": "Short Id"});
    let (status, body) = send(spine, Method::POST, "/ra/users", &ra, Some(bad)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_REGISTRATION")
    );

    // Give them a role; the same role at the same organisation again, a role for nobody, an
    // activity nobody knows and a role for the RA themselves are refused.
    let roles = "/ra/users/555000000999/role-profiles";
    let (status, body) = send(spine, Method::POST, roles, &ra, Some(nurse_role())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role_profile"]["id"], "555000000999-r8001-rx901");
    assert_eq!(
        body["role_profile"]["activities"],
        json!(["B0264", "B0370"])
    );
    let (status, body) = send(spine, Method::POST, roles, &ra, Some(nurse_role())).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "ROLE_PROFILE_EXISTS")
    );
    let nobody = "/ra/users/555000000998/role-profiles";
    let (status, body) = send(spine, Method::POST, nobody, &ra, Some(nurse_role())).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "USER_NOT_FOUND")
    );
    let mut unknown_activity = nurse_role();
    unknown_activity["activities"] = json!(["B9999"]);
    let (status, body) = send(spine, Method::POST, roles, &ra, Some(unknown_activity)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_REGISTRATION")
    );
    let own = format!("/ra/users/{RA_USER}/role-profiles");
    let (status, body) = send(spine, Method::POST, &own, &ra, Some(nurse_role())).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "OWN_ROLE_CHANGE")
    );
    assert_eq!(
        spine
            .store()
            .role_profiles(RA_USER)
            .await
            .expect("roles")
            .len(),
        1
    );

    let (status, body) = spine.get(roles, &ra).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["name"], "Alex Jones");
    assert_eq!(body["role_profiles"][0]["id"], "555000000999-r8001-rx901");
    let (status, body) = spine.get(nobody, &ra).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "USER_NOT_FOUND")
    );

    // Taking away the role the doctor is acting in takes it out of force at once.
    let ed = format!("/ra/users/{DOCTOR}/role-profiles/doctor-ed");
    let (status, body) = send(spine, Method::DELETE, &ed, &ra, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_in_role"], 1);
    let (status, body) = spine.get(&patient, &doctor).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "ROLE_NOT_SELECTED")
    );
    let (status, body) = send(spine, Method::DELETE, &ed, &ra, None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "ROLE_PROFILE_NOT_FOUND")
    );
    let remaining: Vec<String> = spine
        .store()
        .role_profiles(DOCTOR)
        .await
        .expect("roles")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(remaining, vec!["doctor-ooh".to_string()]);

    // The cards, with their holders; revoking the doctor's ends the doctor's live session.
    let serial = serial_of(spine, DOCTOR).await;
    let (status, body) = spine.get("/ra/cards", &ra).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let card = body["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["serial"] == serial.as_str())
        .cloned()
        .expect("the doctor's card is listed");
    assert_eq!(
        (
            card["user_id"].as_str(),
            card["name"].as_str(),
            card["revoked"].as_bool(),
            card["live_sessions"].as_i64()
        ),
        (Some(DOCTOR), Some("Dr Amara Okafor"), Some(false), Some(1))
    );
    let revoke = format!("/ra/cards/{serial}/revoke");
    let (status, body) = send(
        spine,
        Method::POST,
        &revoke,
        &ra,
        Some(json!({"reason": "reported stolen"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["sessions_ended"].as_u64(),
            body["user"]["user_id"].as_str()
        ),
        (Some(1), Some(DOCTOR))
    );
    let (status, body) = spine.get(&patient, &doctor).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_ENDED")
    );
    let (status, body) = send(
        spine,
        Method::POST,
        "/ra/cards/00ff/revoke",
        &ra,
        Some(json!({"reason": "lost"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "CARD_NOT_FOUND")
    );
    let (status, body) = send(
        spine,
        Method::POST,
        &revoke,
        &ra,
        Some(json!({"reason": " "})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_REGISTRATION")
    );
    let (status, body) = send(
        spine,
        Method::POST,
        &revoke,
        &ra,
        Some(json!({"why": "no reason field"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_REQUEST")
    );

    // Every change, and every refusal, is in the trail: the RA as the user, in their role,
    // with the subject and who asked.
    let by_ra = |r: &AuditRecord| {
        r.entry.user_id.as_deref() == Some(RA_USER)
            && r.entry.role_code.as_deref() == Some("RA-AGENT")
    };
    for (action, subject, refusal) in [
        (
            AuditAction::UserRegister,
            "subject=555000000999",
            "USER_EXISTS",
        ),
        (
            AuditAction::RoleAdd,
            "subject=555000000999 role_profile=555000000999-r8001-rx901",
            "ROLE_PROFILE_EXISTS",
        ),
        (
            AuditAction::RoleRemove,
            "subject=555000000101 role_profile=doctor-ed",
            "ROLE_PROFILE_NOT_FOUND",
        ),
        (
            AuditAction::CardRevoke,
            "subject=555000000101 certificate=",
            "CARD_NOT_FOUND",
        ),
    ] {
        let trail = entries(spine, action).await;
        let done: Vec<_> = trail
            .iter()
            .filter(|r| r.entry.outcome == AuditOutcome::Success && by_ra(r))
            .collect();
        assert_eq!(done.len(), 1, "{action:?}: {trail:?}");
        let d = detail(done[0]);
        assert!(
            d.starts_with(subject) && d.ends_with(&format!("by={RA_USER}")),
            "{action:?}: {d}"
        );
        assert!(
            trail
                .iter()
                .any(|r| r.entry.outcome != AuditOutcome::Success
                    && by_ra(r)
                    && detail(r).starts_with(refusal)),
            "{action:?}'s refusal {refusal}: {trail:?}"
        );
    }
    let revoked = entries(spine, AuditAction::CardRevoke).await;
    let revocation = revoked
        .iter()
        .find(|r| r.entry.outcome == AuditOutcome::Success)
        .expect("revocation");
    assert!(
        revocation.entry.alert,
        "a revocation alerts the privacy officer"
    );
    assert!(
        detail(revocation).contains("reason=reported stolen"),
        "{}",
        detail(revocation)
    );
    assert!(
        entries(spine, AuditAction::RoleAdd)
            .await
            .iter()
            .any(|r| detail(r).starts_with("OWN_ROLE_CHANGE subject=555000000606")),
        "the RA's attempt on their own roles is recorded"
    );
    let reads = entries(spine, AuditAction::RegistrationRead).await;
    for what in [
        "list=users",
        "list=cards",
        "list=role-profiles subject=555000000999",
    ] {
        assert!(
            reads
                .iter()
                .any(|r| by_ra(r) && r.entry.outcome == AuditOutcome::Success && detail(r) == what),
            "{what}: {reads:?}"
        );
    }
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 0, "{out}");
}

async fn registration_is_refused_to_every_other_role(spine: &TestSpine) {
    let serial = serial_of(spine, DOCTOR).await;
    let routes: Vec<(Method, String, Option<Value>, AuditAction)> = vec![
        (
            Method::GET,
            "/ra/users".into(),
            None,
            AuditAction::RegistrationRead,
        ),
        (
            Method::POST,
            "/ra/users".into(),
            Some(json!({"user_id": "555000000999", "name": "Alex Jones"})),
            AuditAction::UserRegister,
        ),
        (
            Method::GET,
            format!("/ra/users/{DOCTOR}/role-profiles"),
            None,
            AuditAction::RegistrationRead,
        ),
        (
            Method::POST,
            "/ra/users/555000000202/role-profiles".into(),
            Some(nurse_role()),
            AuditAction::RoleAdd,
        ),
        (
            Method::DELETE,
            "/ra/users/555000000202/role-profiles/receptionist".into(),
            None,
            AuditAction::RoleRemove,
        ),
        (
            Method::GET,
            "/ra/cards".into(),
            None,
            AuditAction::RegistrationRead,
        ),
        (
            Method::POST,
            format!("/ra/cards/{serial}/revoke"),
            Some(json!({"reason": "a clinician trying their luck"})),
            AuditAction::CardRevoke,
        ),
    ];
    // A clinician, a receptionist, a privacy officer and a GP system: none may register.
    let others = [
        ("doctor", Some("doctor-ed"), DOCTOR),
        ("receptionist", None, "555000000202"),
        ("privacy-officer", None, "555000000303"),
        ("gp-system", None, "555000000404"),
    ];
    for (identity, role, user_id) in others {
        let token = spine.sign_in(&spine.identity(identity), role).await;
        for (method, path, body, action) in &routes {
            let before = entries(spine, *action).await.len();
            let (status, outcome) = send(spine, method.clone(), path, &token, body.clone()).await;
            assert_eq!(
                (status, error_code(&outcome).as_str()),
                (StatusCode::FORBIDDEN, "NOT_PERMITTED_FOR_ROLE"),
                "{identity} → {method} {path}"
            );
            let after = entries(spine, *action).await;
            assert_eq!(after.len(), before + 1, "{identity} → {path}: one entry");
            let refusal = &after[0];
            assert_eq!(
                (
                    refusal.entry.user_id.as_deref(),
                    refusal.entry.outcome,
                    detail(refusal).as_str()
                ),
                (
                    Some(user_id),
                    AuditOutcome::Refused,
                    "NOT_PERMITTED_FOR_ROLE"
                ),
                "{identity} → {path}"
            );
        }
    }
    // Without a session: 401 everywhere.
    for (method, path, body, _) in &routes {
        let (status, _) = spine
            .call(
                method.clone(),
                path,
                None,
                &[],
                body.as_ref().map(|b| b.to_string().into_bytes()),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "no token → {path}");
    }
    // Nothing changed.
    assert!(spine
        .store()
        .user_name("555000000999")
        .await
        .expect("user")
        .is_none());
    assert_eq!(
        spine
            .store()
            .role_profiles("555000000202")
            .await
            .expect("roles")
            .len(),
        1
    );
    assert!(spine
        .store()
        .certificates()
        .await
        .expect("cards")
        .iter()
        .all(|c| !c.revoked));
    // And the RA's own role opens no patient data.
    let ra = spine.sign_in(&spine.identity("ra"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let (status, body) = spine
        .get(&format!("/FHIR/R4/Patient/{}", nhs.as_digits()), &ra)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "NOT_PERMITTED_FOR_ROLE")
    );
}

#[cfg(unix)]
fn owner_only(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 == 0)
        .unwrap_or(false)
}

async fn the_console_registers_a_user_and_issues_a_card_that_signs_in(spine: &TestSpine) {
    const JO: &str = "555000000777";
    let run = |args: &[&str]| cli(spine, args);

    let (code, out) = run(&["user", "add", "--user", JO, "--name", "Jo Bloggs"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["user", "add", "--user", JO, "--name", "Jo Bloggs"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .filter(|l| l.starts_with("scr-spine: refused (USER_EXISTS)"))
            .count()
            == 1,
        "{out}"
    );
    let (code, out) = run(&["user", "add", "--user", "not-an-id", "--name", "X"]);
    assert_eq!(code, 1, "{out}");

    let role = [
        "--code",
        "R8001",
        "--name",
        "Nurse Access Role",
        "--org-ods",
        "RX901",
        "--org-name",
        "Synthetic General Hospital",
        "--activities",
        "B0264,B0370",
    ];
    let (code, out) = run(&[&["role", "add", "--user", JO][..], &role].concat());
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&[&["role", "add", "--user", "555000000778"][..], &role].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("USER_NOT_FOUND"), "{out}");
    let (code, out) = run(&["role", "list", "--user", JO]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("555000000777-r8001-rx901") && out.contains("B0264,B0370"),
        "{out}"
    );
    let (code, out) = run(&["user", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(JO) && l.contains("Jo Bloggs")),
        "{out}"
    );

    // A card for Jo: the files the virtual card reads, the secret ones owner-only.
    let cards = tempfile::tempdir().expect("temp dir");
    let out_dir = cards.path().join("jo");
    let out_arg = out_dir.to_string_lossy().to_string();
    let (code, out) = run(&[
        "card",
        "issue",
        "--user",
        JO,
        "--out",
        &out_arg,
        "--passcode",
        "482915",
    ]);
    assert_eq!(code, 0, "{out}");
    for file in [
        "cert.pem",
        "key.pem",
        "km-cert.pem",
        "km-key.pem",
        "profile.json",
    ] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
    #[cfg(unix)]
    for secret in ["key.pem", "km-key.pem", "profile.json"] {
        assert!(
            owner_only(&out_dir.join(secret)),
            "{secret} must be owner-only"
        );
    }
    // Not over an existing card, and not for someone not registered.
    let (code, out) = run(&["card", "issue", "--user", JO, "--out", &out_arg]);
    assert_eq!(code, 1, "{out}");
    let nobody_dir = cards.path().join("nobody");
    let (code, out) = run(&[
        "card",
        "issue",
        "--user",
        "555000000778",
        "--out",
        &nobody_dir.to_string_lossy(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("USER_NOT_FOUND"), "{out}");
    assert!(!nobody_dir.exists(), "a refused card leaves nothing behind");
    let (code, out) = run(&[
        "card",
        "issue",
        "--user",
        JO,
        "--out",
        &out_arg,
        "--passcode",
        "12",
    ]);
    assert_eq!(code, 1, "{out}");

    // Jo signs in with the new card and acts in the role the RA gave.
    let jo = Identity::load(&out_dir);
    assert_eq!(
        (jo.profile.user_id.as_str(), jo.profile.passcode.as_str()),
        (JO, "482915")
    );
    let session = spine.sign_in_session(&jo).await;
    assert_eq!(session["user"]["name"], "Jo Bloggs");
    assert_eq!(
        session["role_profiles"][0]["id"],
        "555000000777-r8001-rx901"
    );
    let token = spine.sign_in(&jo, Some("555000000777-r8001-rx901")).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let patient = format!("/FHIR/R4/Patient/{}", nhs.as_digits());
    assert_eq!(spine.get(&patient, &token).await.0, StatusCode::OK);

    // `card list` shows the card with its holder; `card revoke` ends the live session.
    let serial = serial_of(spine, JO).await;
    let (code, out) = run(&["card", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().any(|l| l.contains(&serial)
            && l.contains(JO)
            && l.contains("Jo Bloggs")
            && l.contains("active")),
        "{out}"
    );
    let (code, out) = run(&[
        "card",
        "revoke",
        "--serial",
        &serial,
        "--reason",
        "left the organisation",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("live session(s) ended"), "{out}");
    let (status, body) = spine.get(&patient, &token).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_ENDED")
    );

    let (code, out) = run(&[
        "role",
        "remove",
        "--user",
        JO,
        "--id",
        "555000000777-r8001-rx901",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&[
        "role",
        "remove",
        "--user",
        JO,
        "--id",
        "555000000777-r8001-rx901",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ROLE_PROFILE_NOT_FOUND"), "{out}");
    assert!(spine
        .store()
        .role_profiles(JO)
        .await
        .expect("roles")
        .is_empty());

    // Each change is in the trail under Jo, with the console's operator; so are the refusals.
    let operator = scr_spine::registration::console::console_operator();
    for action in [
        AuditAction::UserRegister,
        AuditAction::RoleAdd,
        AuditAction::CardIssue,
        AuditAction::CardRevoke,
        AuditAction::RoleRemove,
    ] {
        let trail = entries(spine, action).await;
        let done: Vec<_> = trail
            .iter()
            .filter(|r| {
                r.entry.outcome == AuditOutcome::Success && r.entry.user_id.as_deref() == Some(JO)
            })
            .collect();
        assert_eq!(done.len(), 1, "{action:?}: {trail:?}");
        let d = detail(done[0]);
        assert!(
            d.starts_with(&format!("subject={JO}")) && d.ends_with(&format!("by={operator}")),
            "{action:?}: {d}"
        );
    }
    let issued = entries(spine, AuditAction::CardIssue).await;
    assert!(
        issued
            .iter()
            .any(|r| r.entry.outcome == AuditOutcome::Success && detail(r).contains(&serial)),
        "{issued:?}"
    );
    for (action, code) in [
        (AuditAction::UserRegister, "USER_EXISTS"),
        (AuditAction::RoleAdd, "USER_NOT_FOUND"),
        (AuditAction::CardIssue, "USER_NOT_FOUND"),
        (AuditAction::RoleRemove, "ROLE_PROFILE_NOT_FOUND"),
    ] {
        assert!(
            entries(spine, action)
                .await
                .iter()
                .any(|r| r.entry.outcome != AuditOutcome::Success && detail(r).starts_with(code)),
            "{action:?} refused {code}"
        );
    }
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 0, "{out}");
}

/// A session acts in a role only while its own user holds it: a profile moved to another
/// user (by hand in the database, or removed and its id reused) does not carry the old
/// session with it.
async fn a_role_profile_given_to_someone_else_is_not_in_force_in_old_sessions(spine: &TestSpine) {
    let doctor = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let patient = format!("/FHIR/R4/Patient/{}", nhs.as_digits());
    assert_eq!(spine.get(&patient, &doctor).await.0, StatusCode::OK);
    sqlx::query("UPDATE role_profiles SET user_id = $1 WHERE id = $2")
        .bind("555000000202")
        .bind("doctor-ed")
        .execute(spine.store().write_pool())
        .await
        .expect("move the profile");
    let (status, body) = spine.get(&patient, &doctor).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "ROLE_NOT_SELECTED")
    );
}

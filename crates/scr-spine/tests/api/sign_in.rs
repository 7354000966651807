//! Sign-in with a card's key: the happy path and every refusal.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use scr_spine::pki::CertificateAuthority;

use crate::backend_tests;
use crate::harness::{error_code, nonce, sign_in_message_for, Backend, Identity, TestSpine};

backend_tests!(
    doctor_signs_in_and_picks_a_role,
    unknown_ca_is_refused,
    expired_certificate_is_refused,
    bad_signature_is_refused,
    a_signature_for_another_purpose_or_origin_is_refused,
    nonce_is_single_use,
    ended_session_is_refused,
);

async fn doctor_signs_in_and_picks_a_role(spine: &TestSpine) {
    let doctor = spine.identity("doctor");
    let session = spine.sign_in_session(&doctor).await;
    assert_eq!(session["user"]["name"], "Dr Amara Okafor");
    let roles = session["role_profiles"].as_array().expect("roles");
    assert_eq!(roles.len(), 2, "the doctor holds two role profiles");
    assert_eq!(roles[0]["role_code"], "R8000");
    assert!(session["expires_at"].is_string());
    let token = session["session_token"].as_str().expect("token");
    // Before a role is chosen, nothing clinical answers.
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0]
        .as_digits();
    let (status, body) = spine.get(&format!("/FHIR/R4/Patient/{nhs}"), token).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "ROLE_NOT_SELECTED")
    );
    // A role that is not the user's is refused.
    let (status, _) = spine
        .call(
            Method::PUT,
            "/auth/session/role",
            Some(token),
            &[],
            Some(br#"{"role_profile_id":"privacy-officer"}"#.to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = spine.sign_in(&doctor, Some("doctor-ooh")).await;
    let (status, _) = spine.get(&format!("/FHIR/R4/Patient/{nhs}"), &token).await;
    assert_eq!(status, StatusCode::OK);
}

async fn unknown_ca_is_refused(spine: &TestSpine) {
    let other_ca = CertificateAuthority::create("Somebody Else's CA").expect("CA");
    let issued = other_ca
        .issue_identity(
            "Dr Amara Okafor",
            Utc::now() - Duration::days(1),
            Utc::now() + Duration::days(30),
        )
        .expect("issue");
    let (status, body) = spine.try_challenge(&issued.cert_der).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "CERTIFICATE_NOT_ACCEPTED")
    );
    // Garbage is refused the same way, not with a crash.
    let (status, _) = spine.try_challenge(b"not a certificate").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn expired_certificate_is_refused(spine: &TestSpine) {
    let ca = CertificateAuthority::load(&spine.data().join("ca")).expect("CA");
    let issued = ca
        .issue_identity(
            "Dr Expired",
            Utc::now() - Duration::days(400),
            Utc::now() - Duration::days(2),
        )
        .expect("issue");
    let (status, body) = spine.try_challenge(&issued.cert_der).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "CERTIFICATE_NOT_ACCEPTED")
    );
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .contains("expired"),
        "{body}"
    );
}

async fn bad_signature_is_refused(spine: &TestSpine) {
    let doctor = spine.identity("doctor");
    let receptionist = spine.identity("receptionist");
    let challenge = spine.challenge(&doctor.cert_der).await;
    // Signed by the wrong key.
    let (status, body) = spine
        .answer(
            &challenge,
            &receptionist.sign(&spine.sign_in_message(&challenge)),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SIGNATURE_INVALID")
    );
    // Signed over the wrong message.
    let challenge = spine.challenge(&doctor.cert_der).await;
    let (status, body) = spine
        .answer(&challenge, &doctor.sign(b"something else"))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SIGNATURE_INVALID")
    );
    // Not a signature at all.
    let challenge = spine.challenge(&doctor.cert_der).await;
    let (status, _) = spine.answer(&challenge, b"\x30\x02\x01").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The card signs a labelled message naming the spine's origin and the challenge id
/// (`scr_model::signing`): the bare nonce (a signature some other protocol might have got
/// from the card), a sign-in relayed from another origin, or one for another challenge is no
/// sign-in here.
async fn a_signature_for_another_purpose_or_origin_is_refused(spine: &TestSpine) {
    let doctor = spine.identity("doctor");
    let refused = |(status, body): (StatusCode, serde_json::Value)| {
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, "SIGNATURE_INVALID"),
            "{body}"
        );
    };
    let challenge = spine.challenge(&doctor.cert_der).await;
    refused(
        spine
            .answer(&challenge, &doctor.sign(&nonce(&challenge)))
            .await,
    );

    let challenge = spine.challenge(&doctor.cert_der).await;
    let relayed = sign_in_message_for("https://relay.example:8443", &challenge);
    refused(spine.answer(&challenge, &doctor.sign(&relayed)).await);

    let challenge = spine.challenge(&doctor.cert_der).await;
    let other = spine.challenge(&doctor.cert_der).await;
    refused(
        spine
            .answer(&challenge, &doctor.sign(&spine.sign_in_message(&other)))
            .await,
    );

    // Every name in the spine's certificate is one of its origins: 127.0.0.1 as well.
    let challenge = spine.challenge(&doctor.cert_der).await;
    let port = spine.base.rsplit(':').next().expect("port");
    let by_address = sign_in_message_for(&format!("https://127.0.0.1:{port}"), &challenge);
    let (status, body) = spine.answer(&challenge, &doctor.sign(&by_address)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Behind a proxy the spine is told its origins; then those, and only those, sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_origins_replace_the_certificates_names() {
    let Some(spine) = TestSpine::start_configured(Backend::Sqlite, |c| {
        c.origins = vec!["https://scr.example.nhs.uk".into()]
    })
    .await
    else {
        return;
    };
    let doctor = spine.identity("doctor");
    let challenge = spine.challenge(&doctor.cert_der).await;
    let (status, _) = spine
        .answer(&challenge, &doctor.sign(&spine.sign_in_message(&challenge)))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "localhost is not an origin now"
    );
    let challenge = spine.challenge(&doctor.cert_der).await;
    let proxied = sign_in_message_for("https://scr.example.nhs.uk", &challenge);
    let (status, body) = spine.answer(&challenge, &doctor.sign(&proxied)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    spine.stop().await;
}

async fn nonce_is_single_use(spine: &TestSpine) {
    let doctor = spine.identity("doctor");
    let challenge = spine.challenge(&doctor.cert_der).await;
    let signature = doctor.sign(&spine.sign_in_message(&challenge));
    let (first, _) = spine.answer(&challenge, &signature).await;
    assert_eq!(first, StatusCode::CREATED);
    let (second, body) = spine.answer(&challenge, &signature).await;
    assert_eq!(
        (second, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "CHALLENGE_INVALID")
    );
}

async fn ended_session_is_refused(spine: &TestSpine) {
    let token = spine.sign_in(&spine.identity("receptionist"), None).await;
    let (status, _) = spine
        .call(Method::DELETE, "/auth/session", Some(&token), &[], None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let nhs = spine
        .store()
        .sample_patients(false, 1)
        .await
        .expect("sample")[0]
        .as_digits();
    let (status, body) = spine
        .get(&format!("/FHIR/R4/Consent?patient={nhs}"), &token)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_ENDED")
    );
}

async fn idle_session_expires(backend: Backend) {
    let Some(spine) = TestSpine::start_configured(backend, |c| c.session_idle_secs = 1).await
    else {
        return;
    };
    let token = spine.sign_in(&spine.identity("receptionist"), None).await;
    let nhs = spine
        .store()
        .sample_patients(false, 1)
        .await
        .expect("sample")[0]
        .as_digits();
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let (status, body) = spine
        .get(&format!("/FHIR/R4/Consent?patient={nhs}"), &token)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_EXPIRED")
    );
    spine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_expires_sqlite() {
    idle_session_expires(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_expires_postgres() {
    idle_session_expires(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused() {
    let spine = TestSpine::start(Backend::Sqlite).await;
    let doctor: Identity = spine.identity("doctor");
    let serial = scr_spine::pki::TrustAnchor::from_pem(
        &std::fs::read_to_string(spine.data().join("ca/ca.pem")).expect("ca"),
    )
    .expect("anchor")
    .verify(&doctor.cert_der, Utc::now())
    .expect("valid")
    .id;
    assert!(spine
        .store()
        .revoke_certificate(&serial)
        .await
        .expect("revoke")
        .is_some());
    let challenge = spine.challenge(&doctor.cert_der).await;
    let (status, body) = spine
        .answer(&challenge, &doctor.sign(&spine.sign_in_message(&challenge)))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "CERTIFICATE_REVOKED")
    );
    spine.stop().await;
}

//! A session in use: kept alive past its idle deadline by `POST /auth/session/keep-alive`
//! ("Stay signed in"), kept alive by ordinary requests under a short idle timeout, and a
//! second role chosen in the same session, in force and in the trail.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use scr_model::{AuditAction, AuditOutcome};
use scr_spine::store::AuditFilter;
use serde_json::json;

use crate::backend_tests;
use crate::harness::{error_code, Backend, TestSpine};

backend_tests!(
    a_keep_alive_for_an_ended_or_unknown_session_is_refused,
    a_second_role_choice_is_in_force_and_in_the_trail,
);

/// The idle timeout of the timed stories: long enough that a request made half-way is
/// comfortably inside it on a loaded machine.
const IDLE_SECS: i64 = 6;

async fn keep_alive(spine: &TestSpine, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    spine
        .call(Method::POST, "/auth/session/keep-alive", token, &[], None)
        .await
}

async fn consent_status(spine: &TestSpine, token: &str, nhs: &str) -> (StatusCode, String) {
    let (status, body) = spine
        .get(&format!("/FHIR/R4/Consent?patient={nhs}"), token)
        .await;
    (status, error_code(&body))
}

async fn a_patient(spine: &TestSpine) -> String {
    spine
        .store()
        .sample_patients(false, 1)
        .await
        .expect("sample")[0]
        .as_digits()
}

/// Two sessions opened together; past half the idle timeout one is kept alive. Past the
/// first idle deadline the kept one still works and the other has expired.
async fn a_kept_alive_session_outlives_its_first_idle_deadline(backend: Backend) {
    let Some(spine) =
        TestSpine::start_configured(backend, |c| c.session_idle_secs = IDLE_SECS).await
    else {
        return;
    };
    let receptionist = spine.identity("receptionist");
    let kept = spine.sign_in(&receptionist, None).await;
    let left = spine.sign_in(&receptionist, None).await;
    let nhs = a_patient(&spine).await;
    let half = Duration::from_millis(IDLE_SECS as u64 * 1000 / 2 + 500);

    tokio::time::sleep(half).await;
    let (status, body) = keep_alive(&spine, Some(&kept)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Now past the idle deadline both sessions had when they were opened.
    tokio::time::sleep(half).await;
    assert_eq!(
        consent_status(&spine, &kept, &nhs).await.0,
        StatusCode::OK,
        "the session kept alive has expired"
    );
    assert_eq!(
        consent_status(&spine, &left, &nhs).await,
        (StatusCode::UNAUTHORIZED, "SESSION_EXPIRED".to_string()),
        "the session left alone is still valid: the test proves nothing"
    );
    // An expired session cannot be brought back.
    let (status, body) = keep_alive(&spine, Some(&left)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_ENDED")
    );
    spine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_session_outlives_its_first_idle_deadline_sqlite() {
    a_kept_alive_session_outlives_its_first_idle_deadline(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_session_outlives_its_first_idle_deadline_postgres() {
    a_kept_alive_session_outlives_its_first_idle_deadline(Backend::Postgres).await;
}

/// Requests every third of a short idle timeout keep the session for longer than the
/// timeout: each refreshes it (before, a refresh waited for 30 s of staleness, so a spine
/// set to a timeout under 30 s ended sessions in use).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_keep_a_session_under_a_short_idle_timeout_alive() {
    let Some(spine) =
        TestSpine::start_configured(Backend::Sqlite, |c| c.session_idle_secs = IDLE_SECS).await
    else {
        return;
    };
    let token = spine.sign_in(&spine.identity("receptionist"), None).await;
    let nhs = a_patient(&spine).await;
    let step = Duration::from_millis(IDLE_SECS as u64 * 1000 / 3);
    for round in 0..5 {
        tokio::time::sleep(step).await;
        assert_eq!(
            consent_status(&spine, &token, &nhs).await.0,
            StatusCode::OK,
            "round {round}: a session in use expired"
        );
    }
    spine.stop().await;
}

async fn a_keep_alive_for_an_ended_or_unknown_session_is_refused(spine: &TestSpine) {
    // No token, a token the spine never issued, a session signed out.
    let (status, body) = keep_alive(spine, None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    let (status, body) = keep_alive(spine, Some("not-a-token-the-spine-issued")).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    let token = spine.sign_in(&spine.identity("receptionist"), None).await;
    let (status, _) = keep_alive(spine, Some(&token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = spine
        .call(Method::DELETE, "/auth/session", Some(&token), &[], None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = keep_alive(spine, Some(&token)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_ENDED")
    );
    // Needs no role: a session still on the role screen is kept alive too.
    let session = spine.sign_in_session(&spine.identity("doctor")).await;
    let fresh = session["session_token"].as_str().expect("token");
    let (status, _) = keep_alive(spine, Some(fresh)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The refusals are counted in the tally, under their own action.
    spine.running.audit.flush().await.expect("flush");
    let tallied = spine
        .store()
        .audit_records(&AuditFilter {
            action: Some(AuditAction::KeepAlive),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    let details: Vec<String> = tallied
        .iter()
        .filter_map(|r| r.entry.detail.clone())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("SESSION_ENDED count=1")),
        "{details:?}"
    );
    // The tally is flushed on a timer, so on a busy machine the two refusals can fall into
    // two tally entries: what is asserted is that both are counted, not how they were batched.
    let unauthenticated: u64 = details
        .iter()
        .filter_map(|d| d.strip_prefix("UNAUTHENTICATED count="))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(unauthenticated, 2, "{details:?}");
}

/// The doctor changes role without signing out: the second choice is accepted, in force
/// for the next request, and both choices are chained with their role and organisation. A
/// role not held is refused and leaves the role in force as it was.
async fn a_second_role_choice_is_in_force_and_in_the_trail(spine: &TestSpine) {
    let token = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ed"))
        .await;
    let nhs = a_patient(spine).await;
    let choose = |role: &'static str| {
        let token = token.clone();
        async move {
            spine
                .call(
                    Method::PUT,
                    "/auth/session/role",
                    Some(&token),
                    &[],
                    Some(json!({ "role_profile_id": role }).to_string().into_bytes()),
                )
                .await
        }
    };
    let (status, body) = choose("doctor-ooh").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role_profile"]["org_ods"], "NX901");
    let (status, _) = choose("receptionist").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a role the doctor does not hold"
    );
    assert_eq!(consent_status(spine, &token, &nhs).await.0, StatusCode::OK);

    let trail = spine
        .store()
        .audit_records(&AuditFilter {
            user_id: Some("555000000101".into()),
            limit: 100,
            ascending: true,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    let roles: Vec<(AuditOutcome, Option<&str>, Option<&str>)> = trail
        .iter()
        .filter(|r| r.entry.action == AuditAction::SelectRole)
        .map(|r| {
            (
                r.entry.outcome,
                r.entry.role_code.as_deref(),
                r.entry.org_ods.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            (AuditOutcome::Success, Some("R8000"), Some("RX901")),
            (AuditOutcome::Success, Some("R8003"), Some("NX901")),
            (AuditOutcome::Refused, Some("R8003"), Some("NX901")),
        ]
    );
    let read = trail
        .iter()
        .rfind(|r| r.entry.action == AuditAction::ConsentRead)
        .expect("the consent read is in the trail");
    assert_eq!(
        (
            read.entry.role_code.as_deref(),
            read.entry.org_ods.as_deref()
        ),
        (Some("R8003"), Some("NX901")),
        "the read is recorded under the role chosen second"
    );
}

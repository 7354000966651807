//! A store that stops answering gives a clear 503, never data without its audit entry; and
//! shutting down lets in-flight requests finish. SQLite only: the test holds SQLite's write
//! lock from a second connection to make the audit write wait.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::{Connection, Executor};

use crate::harness::{error_code, Backend, TestSpine};

async fn hold_write_lock(spine: &TestSpine) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", spine.data().join("spine.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("second connection");
    conn.execute("BEGIN IMMEDIATE")
        .await
        .expect("take the write lock");
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_store_times_out_and_shutdown_finishes_in_flight_requests() {
    let spine = TestSpine::start_configured(Backend::Sqlite, |c| c.request_timeout_secs = 4)
        .await
        .expect("sqlite spine");
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0]
        .as_digits();

    // The audit entry cannot be written, so the summary must not be released.
    let mut lock = hold_write_lock(&spine).await;
    let (status, body) = spine
        .summary(&nhs, &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT"),
        "{body}"
    );
    assert!(body.get("entry").is_none(), "no clinical data in a refusal");
    lock.execute("ROLLBACK").await.expect("release");

    // A request in flight when shutdown starts still gets its answer.
    let mut lock = hold_write_lock(&spine).await;
    let in_flight = {
        let http = spine.http.clone();
        let url = format!("{}/FHIR/R4/Patient/{nhs}/$summary", spine.base);
        let token = doctor.clone();
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(token)
                .header("X-Access-Reason", "permission-to-view")
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    spine.running.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.execute("ROLLBACK").await.expect("release");
    let response = in_flight
        .await
        .expect("task")
        .expect("answered despite shutdown");
    assert_eq!(response.status(), StatusCode::OK);
    let doc: serde_json::Value = response.json().await.expect("document");
    assert_eq!(doc["type"], "document");

    // The summary released during shutdown has its audit entry; the timed-out one was
    // never released (its entry, if any, committed only after the lock was gone).
    let reads = spine
        .store()
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(scr_model::AuditAction::SummaryRead),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(
        reads
            .iter()
            .any(|r| r.entry.outcome == scr_model::AuditOutcome::Success),
        "{reads:?}"
    );

    // After shutdown nothing new is accepted.
    let base = spine.base.clone();
    let http = spine.http.clone();
    spine.stop().await;
    assert!(
        http.get(format!("{base}/healthz")).send().await.is_err(),
        "server still answering"
    );
}

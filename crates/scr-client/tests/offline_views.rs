//! `SpineClient::report_offline_views` against a real spine (HTTPS on loopback, SQLite):
//! counts, safe re-sending, long queues in several Bundles, and the errors the app branches
//! on. Sessions are made in the spine's store directly (the card sign-in has its own tests).

use chrono::{Duration, Utc};
use scr_client::{ClientError, OfflineReport, SessionToken};
use scr_model::{AuditAction, NhsNumber, OfflineView};
use scr_spine::store::AuditFilter;

mod common;
use common::Rig;

async fn recorded_views(rig: &Rig) -> usize {
    rig.spine
        .store
        .audit_records(&AuditFilter {
            action: Some(AuditAction::OfflineView),
            limit: 100_000,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
        .iter()
        .filter(|r| r.entry.offline.is_some())
        .count()
}

fn views(n: usize) -> Vec<OfflineView> {
    let now = Utc::now();
    (0..n)
        .map(|i| OfflineView {
            id: OfflineView::new_id(),
            nhs_number: NhsNumber::nth_test_number(i as u32 % 60).expect("number"),
            reason: if i % 7 == 0 {
                "emergency"
            } else {
                "permission-to-view"
            }
            .into(),
            viewed_at: now - Duration::minutes(i as i64),
            // Fetched before every view (the spine refuses a view dated before its copy).
            fetched_at: now - Duration::hours(40),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_views_are_reported_once_and_errors_are_typed() {
    let rig = Rig::start(40).await;
    let doctor = rig.session("555000000101", Some("doctor-ed")).await;

    let two = views(2);
    let sent = rig.client.report_offline_views(&doctor, &two).await;
    assert_eq!(
        sent.expect("reported"),
        OfflineReport {
            recorded: 2,
            already_recorded: 0
        }
    );
    let again = rig.client.report_offline_views(&doctor, &two).await;
    assert_eq!(
        again.expect("re-sent"),
        OfflineReport {
            recorded: 0,
            already_recorded: 2
        }
    );
    let none = rig.client.report_offline_views(&doctor, &[]).await;
    assert_eq!(none.expect("nothing to send"), OfflineReport::default());

    // A queue longer than one Bundle goes in several; re-sending it all is still safe.
    // (Under the spine's daily quota of offline views per user, 2 000, re-sends included.)
    let long = views(1_545);
    let sent = rig.client.report_offline_views(&doctor, &long).await;
    assert_eq!(
        sent.expect("long queue"),
        OfflineReport {
            recorded: 1_545,
            already_recorded: 0
        }
    );
    let mut all = long.clone();
    all.extend(two.iter().cloned());
    let again = rig.client.report_offline_views(&doctor, &all).await;
    assert_eq!(
        again.expect("long queue again"),
        OfflineReport {
            recorded: 0,
            already_recorded: 1_547
        }
    );
    assert_eq!(recorded_views(&rig).await, 1_547);

    // Refusals arrive as the errors the app branches on; nothing more is recorded.
    let reception = rig.session("555000000202", Some("receptionist")).await;
    match rig.client.report_offline_views(&reception, &views(1)).await {
        Err(ClientError::Spine { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (403, "NOT_PERMITTED_FOR_ROLE"))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut bad = views(1);
    bad[0].id = "not-an-id".into();
    match rig.client.report_offline_views(&doctor, &bad).await {
        Err(ClientError::Spine { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (400, "INVALID_OFFLINE_VIEW"))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let unknown = SessionToken::new("never-issued".into());
    assert!(matches!(
        rig.client.report_offline_views(&unknown, &views(1)).await,
        Err(ClientError::SessionEnded)
    ));
    let ended = rig.session("555000000101", Some("doctor-ed")).await;
    rig.client.end_session(&ended).await.expect("sign out");
    assert!(matches!(
        rig.client.report_offline_views(&ended, &views(1)).await,
        Err(ClientError::SessionEnded)
    ));
    assert_eq!(recorded_views(&rig).await, 1_547);
    rig.stop().await;
}

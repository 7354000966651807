//! `SpineClient::keep_alive` against a real spine (HTTPS on loopback, SQLite) set to a short
//! idle timeout: a session kept alive past half its idle time still works after the idle
//! deadline it had, while one left alone has expired; an ended session cannot be kept.
//! Sessions are made in the spine's store directly (the card sign-in has its own tests).

use std::time::Duration;

use scr_client::ClientError;
use scr_model::NhsNumber;

mod common;
use common::Rig;

const IDLE_SECS: i64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_kept_alive_outlives_the_idle_deadline_it_had() {
    let rig = Rig::start_with(20, |c| c.session_idle_secs = IDLE_SECS).await;
    let kept = rig.session("555000000202", Some("receptionist")).await;
    let left = rig.session("555000000202", Some("receptionist")).await;
    let nhs = NhsNumber::nth_test_number(0).expect("number");
    let half = Duration::from_millis(IDLE_SECS as u64 * 1000 / 2 + 500);

    tokio::time::sleep(half).await;
    rig.client.keep_alive(&kept).await.expect("kept alive");

    // Past the idle deadline both sessions had when they were opened.
    tokio::time::sleep(half).await;
    let read = rig.client.patient(&kept, nhs).await;
    assert!(read.is_ok(), "the session kept alive has expired: {read:?}");
    let read = rig.client.patient(&left, nhs).await;
    assert!(
        matches!(read, Err(ClientError::SessionEnded)),
        "the session left alone is still valid, so the test proves nothing: {read:?}"
    );
    // Once over, a session stays over: keeping it alive is refused.
    let again = rig.client.keep_alive(&left).await;
    assert!(matches!(again, Err(ClientError::SessionEnded)), "{again:?}");
    rig.client.end_session(&kept).await.expect("sign out");
    let after = rig.client.keep_alive(&kept).await;
    assert!(matches!(after, Err(ClientError::SessionEnded)), "{after:?}");
    rig.stop().await;
}

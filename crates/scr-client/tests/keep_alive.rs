//! `SpineClient::keep_alive` against a real spine (HTTPS on loopback, SQLite) set to a short
//! idle timeout: a session kept alive past half its idle time still works after the idle
//! deadline it had, while one left alone has expired; an ended session cannot be kept.
//! Sessions are made in the spine's store directly (the card sign-in has its own tests).

use std::time::Duration;

use chrono::Utc;
use scr_client::{ClientError, SessionToken, SpineClient, Timeouts};
use scr_model::{NhsNumber, OfflineView};
use scr_spine::server::RunningSpine;

const IDLE_SECS: i64 = 6;

struct Rig {
    data: tempfile::TempDir,
    spine: RunningSpine,
    client: SpineClient,
}

impl Rig {
    async fn start() -> Rig {
        let data = tempfile::tempdir().expect("temp dir");
        let dir = data.path();
        scr_spine::setup::init(dir, &["localhost".into()], None)
            .await
            .expect("init");
        scr_demo::setup::seed(dir, 20, 7, None).await.expect("seed");
        let mut config = scr_spine::setup::config_for(dir, None).expect("config");
        config.listen = "127.0.0.1:0".into();
        config.session_idle_secs = IDLE_SECS;
        let spine = scr_spine::server::start(dir, config)
            .await
            .expect("start spine");
        let client = SpineClient::with_ca_file(
            &format!("https://localhost:{}", spine.addr.port()),
            &dir.join("ca/ca.pem"),
            Timeouts::default(),
        )
        .expect("client");
        Rig {
            data,
            spine,
            client,
        }
    }

    /// A session of the receptionist, opened now, in their role.
    async fn session(&self) -> SessionToken {
        let token = format!("test-token-{}", OfflineView::new_id());
        let hash = scr_spine::auth::token_hash(&token);
        let now = Utc::now().timestamp_millis();
        let store = &self.spine.store;
        store
            .insert_session(&hash, "555000000202", now, now + 3_600_000)
            .await
            .expect("session");
        store
            .set_session_role(&hash, "receptionist")
            .await
            .expect("role");
        SessionToken::new(token)
    }

    async fn stop(self) {
        self.spine.shutdown().await.expect("shutdown");
        drop(self.data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_kept_alive_outlives_the_idle_deadline_it_had() {
    let rig = Rig::start().await;
    let kept = rig.session().await;
    let left = rig.session().await;
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

//! What the scr-client tests against a real spine share: a seeded spine on loopback (HTTPS,
//! SQLite, the demo's identities) with a client trusting its CA, and sessions made in its
//! store directly (the card sign-in has its own tests, under `tests/card`).

// Each test file compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use chrono::Utc;
use scr_client::{ClientError, SessionToken, SpineClient, SpineCode, Timeouts};
use scr_model::{ErrorCode, OfflineView};
use scr_spine::config::SpineConfig;
use scr_spine::pki::CertificateId;
use scr_spine::server::RunningSpine;

pub struct Rig {
    pub data: tempfile::TempDir,
    pub spine: RunningSpine,
    pub client: SpineClient,
}

impl Rig {
    /// A spine seeded with `patients` patients (seed 7), as `scr-demo seed` makes one.
    pub async fn start(patients: u32) -> Rig {
        Self::start_with(patients, |_| {}).await
    }

    /// [`Rig::start`] with settings changed before the spine starts.
    pub async fn start_with(patients: u32, change: impl FnOnce(&mut SpineConfig)) -> Rig {
        let data = tempfile::tempdir().expect("temp dir");
        let dir = data.path();
        scr_spine::setup::init(dir, &["localhost".into()], None)
            .await
            .expect("init");
        scr_demo::setup::seed(dir, patients, 7, None)
            .await
            .expect("seed");
        let mut config = scr_spine::setup::config_for(dir, None).expect("config");
        config.listen = "127.0.0.1:0".into();
        change(&mut config);
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

    /// A live session of `user_id`, opened now, in `role` (None: no role chosen yet).
    pub async fn session(&self, user_id: &str, role: Option<&str>) -> SessionToken {
        self.session_on_card(user_id, role, None).await
    }

    /// [`Rig::session`] recording `certificate` as a card sign-in does, so revoking that
    /// card ends it.
    pub async fn session_on_card(
        &self,
        user_id: &str,
        role: Option<&str>,
        certificate: Option<&CertificateId>,
    ) -> SessionToken {
        let token = format!("test-token-{}", OfflineView::new_id());
        let hash = scr_spine::auth::token_hash(&token);
        let now = Utc::now().timestamp_millis();
        let store = &self.spine.store;
        store
            .insert_session_for(&hash, user_id, certificate, now, now + 3_600_000)
            .await
            .expect("session");
        if let Some(role) = role {
            store.set_session_role(&hash, role).await.expect("role");
        }
        SessionToken::new(token)
    }

    pub async fn stop(self) {
        self.spine.shutdown().await.expect("shutdown");
        drop(self.data);
    }
}

/// The spine's code in a refusal, if it is one of ours.
pub fn spine_code(e: &ClientError) -> Option<ErrorCode> {
    match e {
        ClientError::Spine {
            code: SpineCode::Known(code),
            ..
        } => Some(*code),
        _ => None,
    }
}

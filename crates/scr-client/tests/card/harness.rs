//! What every end-to-end card test needs: pcscd with vpcd's two readers (started by
//! `scripts/test`), a seeded spine on a random port, virtual cards from its identities.

use std::path::PathBuf;
use std::time::Duration;

use scr_client::{CardSession, SessionEvent, SpineClient, Timeouts};
use scr_spine::server::RunningSpine;
use scr_vcard::{CardConfig, Fault, InsertedCard};
use tokio::sync::mpsc::UnboundedReceiver;

/// The readers are shared by every test in this binary: one test at a time.
static READERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const DOCTOR_PASSCODE: &str = "246810";
pub const RECEPTIONIST_PASSCODE: &str = "135790";

pub fn reader_name(n: u16) -> String {
    format!("Virtual PCD 00 {n:02}")
}

pub struct Rig {
    pub data: tempfile::TempDir,
    pub spine: Option<RunningSpine>,
    pub base: String,
    pub ca: Vec<u8>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Rig {
    /// A spine with a few seeded patients, or `None` when PC/SC is not available.
    pub async fn start() -> Option<Rig> {
        let turn = READERS.lock().await;
        // Without pcscd and vpcd's readers the test is skipped, unless `SCR_REQUIRE_PCSC`
        // says the run must have them (scripts/test sets it).
        if !scr_testkit::pcsc_ready(&reader_name(0)) {
            return None;
        }
        let data = tempfile::tempdir().expect("temp dir");
        let dir = data.path();
        let spine = scr_demo::setup::start_seeded(dir, 40, 7)
            .await
            .expect("start spine");
        let base = format!("https://localhost:{}", spine.addr.port());
        let ca = std::fs::read(dir.join("ca/ca.pem")).expect("CA");
        let rig = Rig {
            data,
            spine: Some(spine),
            base,
            ca,
            _turn: turn,
        };
        // A card left in a reader by an earlier, failed run would confuse this one.
        for n in 0..2 {
            rig.wait_reader_empty(n).await;
        }
        Some(rig)
    }

    pub fn identity(&self, name: &str) -> PathBuf {
        self.data.path().join("identities").join(name)
    }

    pub fn insert(&self, name: &str, reader: u16) -> InsertedCard {
        self.insert_with(name, reader, Fault::None)
    }

    pub fn insert_with(&self, name: &str, reader: u16, fault: Fault) -> InsertedCard {
        self.insert_identity(self.identity(name), reader, fault)
    }

    pub fn insert_identity(&self, identity: PathBuf, reader: u16, fault: Fault) -> InsertedCard {
        let mut config = CardConfig::new(identity, reader);
        config.fault = fault;
        scr_vcard::insert(&config).expect("insert the virtual card")
    }

    pub fn client(&self) -> SpineClient {
        SpineClient::new(&self.base, &self.ca, Timeouts::default()).expect("client")
    }

    /// A session fed by a real PC/SC watcher.
    pub fn session(&self) -> Watched {
        let (session, events) = CardSession::new(self.client());
        let watcher = session.watch_cards().expect("watcher");
        Watched {
            session,
            events,
            _watcher: watcher,
        }
    }

    pub async fn stop_spine(&mut self) {
        if let Some(spine) = self.spine.take() {
            spine.shutdown().await.expect("spine shutdown");
        }
    }

    async fn wait_reader_empty(&self, n: u16) {
        let name = reader_name(n);
        assert!(
            scr_testkit::wait_reader_empty(&name).await,
            "{name} still holds a card"
        );
    }
}

pub struct Watched {
    pub session: CardSession,
    pub events: UnboundedReceiver<SessionEvent>,
    _watcher: scr_card::ReaderWatcher,
}

impl Watched {
    /// Waits (at most 5 s) for the card in `reader` to be seen.
    pub async fn card_in(&self, reader: u16) -> String {
        self.session
            .wait_for_card(Some(&reader_name(reader)), Duration::from_secs(5))
            .await
            .expect("card seen by pcscd")
    }

    /// The next event that `want` accepts, within `limit`.
    pub async fn next_matching(
        &mut self,
        limit: Duration,
        want: impl Fn(&SessionEvent) -> bool,
    ) -> SessionEvent {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if want(&e) => return e,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("session events closed"),
                Err(_) => panic!("no matching session event within {limit:?}"),
            }
        }
    }
}

pub fn passcode(p: &str) -> scr_card::Passcode {
    scr_card::Passcode::new(p.to_string()).expect("well-formed passcode")
}

pub fn first_patient() -> String {
    scr_model::NhsNumber::nth_test_number(0)
        .expect("test number")
        .as_digits()
}

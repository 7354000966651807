//! The harness for driving the real SCR Viewer window: a seeded spine on a random port,
//! virtual smartcards through pcscd, the app launched by `tauri-driver` (WebKitWebDriver)
//! under the X display the test script provides (Xvfb), and screenshots of each screen.
//!
//! Prerequisites are checked first; without them the tests are skipped, unless
//! `SCR_REQUIRE_E2E` is set (scripts/test sets it), when their absence fails the run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use scr_spine::server::RunningSpine;
use scr_vcard::{CardConfig, Fault, InsertedCard};

/// One test at a time: the readers and the display are shared.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const DOCTOR_PASSCODE: &str = "246810";
pub const RECEPTIONIST_PASSCODE: &str = "135790";
pub const PRIVACY_OFFICER_PASSCODE: &str = "975310";

fn target_dir() -> PathBuf {
    // …/target/debug/deps/<test binary> → …/target/debug
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/debug"))
}

fn viewer_binary() -> PathBuf {
    std::env::var_os("SCR_VIEWER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("scr-viewer"))
}

fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("SCR_TAURI_DRIVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cargo"))
        .join("bin/tauri-driver");
    if cargo_bin.exists() {
        cargo_bin
    } else {
        PathBuf::from("tauri-driver")
    }
}

fn missing_prerequisite() -> Option<String> {
    if std::env::var_os("DISPLAY").is_none() {
        return Some("no DISPLAY (scripts/test runs the suite under xvfb-run)".into());
    }
    if !viewer_binary().exists() {
        return Some(format!(
            "{} not built (cargo build -p scr-viewer)",
            viewer_binary().display()
        ));
    }
    if Command::new(tauri_driver())
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Some("tauri-driver not installed (scripts/setup installs it)".into());
    }
    if !Path::new("/usr/bin/WebKitWebDriver").exists() {
        return Some("WebKitWebDriver missing (Debian webkit2gtk-driver)".into());
    }
    if !scr_testkit::reader_present("Virtual PCD 00 00") {
        return Some("pcscd with the vpcd readers is not running".into());
    }
    None
}

/// Patients of the seeded population with the states the journeys need.
pub struct Patients {
    pub known_allergies: String,
    pub first_allergy: String,
    pub no_known_allergies: String,
    pub not_recorded: String,
    pub dissented: String,
    pub dissent_code: String,
    /// Additional Information shared: significant history or procedures recorded, and at
    /// least one heading carried with nothing recorded.
    pub additional: String,
    /// Additional Information carried but not shared (core-only consent).
    pub core_only: String,
}

pub struct Rig {
    pub data: tempfile::TempDir,
    pub spine: Option<RunningSpine>,
    pub config: PathBuf,
    pub patients: Patients,
    pub shots: PathBuf,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Rig {
    pub async fn start(test: &str) -> Option<Rig> {
        Self::start_with(test, |_| {}).await
    }

    /// As [`Rig::start`], with the spine's settings changed first.
    pub async fn start_with(
        test: &str,
        change: impl FnOnce(&mut scr_spine::config::SpineConfig),
    ) -> Option<Rig> {
        Self::start_seeded(test, 400, change).await
    }

    /// As [`Rig::start_with`], seeding `patients` synthetic patients (the app benchmark
    /// uses the 999 range's capacity).
    pub async fn start_seeded(
        test: &str,
        patients: u32,
        change: impl FnOnce(&mut scr_spine::config::SpineConfig),
    ) -> Option<Rig> {
        let turn = TURN.lock().await;
        if let Some(why) = missing_prerequisite() {
            assert!(
                std::env::var_os("SCR_REQUIRE_E2E").is_none(),
                "SCR_REQUIRE_E2E is set but {why}"
            );
            eprintln!("end-to-end test skipped: {why}");
            return None;
        }
        let data = tempfile::tempdir().expect("temp dir");
        let dir = data.path();
        scr_spine::setup::init(dir, &["localhost".into(), "127.0.0.1".into()], None)
            .await
            .expect("init");
        scr_demo::setup::seed(dir, patients, 11, None)
            .await
            .expect("seed");
        let mut config = scr_spine::setup::config_for(dir, None).expect("config");
        config.listen = "127.0.0.1:0".into();
        change(&mut config);
        let spine = scr_spine::server::start(dir, config).await.expect("spine");
        let patients = find_patients(&spine).await;
        let viewer_config = dir.join("viewer.toml");
        std::fs::write(
            &viewer_config,
            format!(
                "spine_url = \"https://localhost:{}\"\nca_file = \"{}\"\ndata_dir = \"{}\"\n",
                spine.addr.port(),
                dir.join("ca/ca.pem").display(),
                dir.join("viewer-data").display()
            ),
        )
        .expect("viewer config");
        let shots = std::env::var_os("SCR_E2E_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("e2e-screenshots"))
            .join(test);
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        scr_testkit::wait_readers_empty().await;
        Some(Rig {
            data,
            spine: Some(spine),
            config: viewer_config,
            patients,
            shots,
            _turn: turn,
        })
    }

    pub fn identity(&self, name: &str) -> PathBuf {
        self.data.path().join("identities").join(name)
    }

    pub fn insert(&self, name: &str, reader: u16) -> InsertedCard {
        self.insert_with(name, reader, Fault::None)
    }

    pub fn insert_with(&self, name: &str, reader: u16, fault: Fault) -> InsertedCard {
        let mut c = CardConfig::new(self.identity(name), reader);
        c.fault = fault;
        scr_vcard::insert(&c).expect("insert card")
    }

    /// Starts the spine again on the port the app's settings name (same store).
    pub async fn restart_spine(&mut self, port: u16) {
        let dir = self.data.path();
        let mut config = scr_spine::setup::config_for(dir, None).expect("config");
        config.listen = format!("127.0.0.1:{port}");
        self.spine = Some(scr_spine::server::start(dir, config).await.expect("spine"));
    }

    /// The spine's port (while it runs).
    pub fn spine_port(&self) -> u16 {
        self.spine.as_ref().expect("spine running").addr.port()
    }

    /// Where the app keeps its offline cache.
    pub fn cache_file(&self) -> PathBuf {
        self.data.path().join("viewer-data/offline-cache.sqlite")
    }

    pub async fn stop_spine(&mut self) {
        if let Some(s) = self.spine.take() {
            s.shutdown().await.expect("spine shutdown");
        }
    }

    /// Starts tauri-driver and opens the app through it.
    pub async fn launch(&self) -> App {
        self.launch_with_config(&self.config).await
    }

    /// Opens the app with another settings file (to test first-run messages).
    pub async fn launch_with_config(&self, config: &Path) -> App {
        self.launch_with(config, &[]).await
    }

    /// Opens the app with no OS keyring: its session bus address leads nowhere.
    pub async fn launch_without_keyring(&self) -> App {
        let nowhere = format!("unix:path={}/no-bus", self.data.path().display());
        self.launch_with(
            &self.config,
            &[("DBUS_SESSION_BUS_ADDRESS", nowhere.as_str())],
        )
        .await
    }

    /// Opens the app with `config`, tauri-driver (and so the app) getting `env` on top of ours.
    pub async fn launch_with(&self, config: &Path, env: &[(&str, &str)]) -> App {
        let port = free_port();
        let native = free_port();
        let log = std::fs::File::create(self.shots.join("tauri-driver.log")).expect("log");
        let driver = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.iter().copied())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start tauri-driver");
        let status = format!("http://127.0.0.1:{port}/status");
        let http = reqwest::Client::new();
        // The port opens before WebKitWebDriver is ready: wait for "ready": true.
        for _ in 0..100 {
            if let Ok(r) = http.get(&status).send().await {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    if v["value"]["ready"] == true {
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({
                "application": viewer_binary(),
                "args": ["--config", config],
            }),
        );
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        // An app that cannot start makes the session request hang: bound it.
        let client = tokio::time::timeout(Duration::from_secs(60), builder.connect(&url))
            .await
            .expect("WebDriver session within 60 s (see tauri-driver.log)")
            .expect("WebDriver session");
        App {
            client: Some(client),
            driver,
            native_port: native,
            shots: self.shots.clone(),
        }
    }
}

async fn find_patients(spine: &RunningSpine) -> Patients {
    use scr_model::AllergyState;
    let store = &spine.store;
    let mut known = None;
    let mut nka = None;
    let mut not_recorded = None;
    let mut additional = None;
    let mut core_only = None;
    for nhs in store.sample_patients(true, 400).await.expect("sample") {
        let Some((patient, Some(summary), _)) = store.summary_view(nhs).await.expect("summary")
        else {
            continue;
        };
        // The journeys open these as plain records: no flag banners, no child protection
        // question before the summary (the flags journey makes its own).
        if patient.deceased.is_some() || !summary.flags.is_empty() {
            continue;
        }
        let ai = &summary.additional;
        let nothing_recorded = |s: &scr_model::Section<scr_model::CareNote>| matches!(s, scr_model::Section::Recorded { entries, text: None } if entries.is_empty());
        if additional.is_none()
            && !ai.history.entries().is_empty()
            && !ai.procedures.entries().is_empty()
            && nothing_recorded(&ai.end_of_life)
        {
            additional = Some(nhs.as_digits());
        }
        if core_only.is_none() && ai.history == scr_model::Section::Withheld {
            core_only = Some(nhs.as_digits());
        }
        match &summary.allergies {
            AllergyState::Known { allergies }
                if known.is_none()
                    && allergies
                        .iter()
                        .any(|a| a.verification == scr_model::Verification::Confirmed) =>
            {
                let first = allergies
                    .iter()
                    .find(|a| a.verification == scr_model::Verification::Confirmed)
                    .map(|a| a.substance.display.clone())
                    .unwrap_or_default();
                known = Some((nhs.as_digits(), first));
            }
            AllergyState::NoKnownAllergies { .. } if nka.is_none() => nka = Some(nhs.as_digits()),
            AllergyState::NotRecorded if not_recorded.is_none() => {
                not_recorded = Some(nhs.as_digits())
            }
            _ => {}
        }
    }
    let dissented = store.dissented_patients(1).await.expect("dissent")[0];
    let (_, _, consent) = store
        .summary_view(dissented)
        .await
        .expect("view")
        .expect("patient");
    let (known_allergies, first_allergy) = known.expect("a patient with a confirmed allergy");
    Patients {
        known_allergies,
        first_allergy,
        no_known_allergies: nka.expect("a patient with no known allergies"),
        not_recorded: not_recorded.expect("a patient with allergies not recorded"),
        dissented: dissented.as_digits(),
        dissent_code: consent.map(|c| c.code).unwrap_or_default(),
        // Found only by the journeys that need them (they assert it): a seed without such a
        // patient must not fail every other journey.
        additional: additional.unwrap_or_default(),
        core_only: core_only.unwrap_or_default(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Someone signed in with their own virtual card in reader 1, outside the app: the privacy
/// officer reading the audit trail, the GP practice's system uploading. Holds the card and
/// session for as long as it lives.
pub struct CardUser {
    pub client: scr_client::SpineClient,
    pub token: scr_client::SessionToken,
    base: String,
    ca: Vec<u8>,
    _session: scr_client::CardSession,
    _watcher: scr_card::ReaderWatcher,
    _card: InsertedCard,
}

/// The privacy officer (her card in reader 1).
pub type PrivacyOfficer = CardUser;

impl CardUser {
    /// A FHIR read as this user (`AuditEvent?…`).
    pub async fn get(&self, path: &str) -> serde_json::Value {
        self.client
            .fhir_get(&self.token, path, &[])
            .await
            .expect("signed-in read")
    }

    /// A FHIR POST as this user (a GP transaction Bundle to `/FHIR/R4`): status and body.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca).expect("CA PEM"))
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        let answer = http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .header("content-type", "application/fhir+json")
            .body(serde_json::to_vec(body).expect("json"))
            .send()
            .await
            .expect("POST");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or_default())
    }
}

impl Rig {
    pub async fn privacy_officer(&self) -> PrivacyOfficer {
        self.card_user(
            "privacy-officer",
            PRIVACY_OFFICER_PASSCODE,
            "privacy-officer",
        )
        .await
    }

    /// The GP practice's clinical system, signed in with its card, to upload summaries.
    pub async fn gp_system(&self) -> CardUser {
        self.card_user("gp-system", "864200", "gp-system").await
    }

    /// Signs `identity` in with its virtual card in reader 1 and chooses `role`.
    pub async fn card_user(&self, identity: &str, passcode: &str, role: &str) -> CardUser {
        let ca = std::fs::read(self.data.path().join("ca/ca.pem")).expect("ca");
        let base = format!("https://localhost:{}", self.spine_port());
        let client = scr_client::SpineClient::new(&base, &ca, scr_client::Timeouts::default())
            .expect("client");
        let (session, _events) = scr_client::CardSession::new(client.clone());
        let watcher = session.watch_cards().expect("watch");
        let card = self.insert(identity, 1);
        let reader = session
            .wait_for_card(Some("Virtual PCD 00 01"), Duration::from_secs(5))
            .await
            .expect("card");
        session
            .sign_in(
                &reader,
                scr_card::Passcode::new(passcode.into()).expect("passcode"),
            )
            .await
            .unwrap_or_else(|e| panic!("{identity} signs in: {e}"));
        session.select_role(role).await.expect("role");
        let token = session.token().expect("token");
        CardUser {
            client,
            token,
            base,
            ca,
            _session: session,
            _watcher: watcher,
            _card: card,
        }
    }
}

/// The app in its window, driven over WebDriver.
pub struct App {
    client: Option<Client>,
    driver: Child,
    /// WebKitWebDriver's port: tauri-driver starts it, and killing tauri-driver leaves it.
    native_port: u16,
    shots: PathBuf,
}

impl App {
    fn c(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    /// The WebDriver client, for measurements the helpers do not cover.
    pub fn client(&self) -> &Client {
        self.c()
    }

    /// The element once it is in the page (at most `secs` seconds).
    pub async fn wait(&self, css: &str, secs: u64) -> Element {
        self.c()
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear within {secs} s: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css, 10).await.text().await.expect("text")
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.wait(css, 10)
            .await
            .attr(name)
            .await
            .expect("attribute")
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.wait(css, 10).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.wait(css, 10).await.click().await.expect("click");
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.c().execute(script, vec![]).await.expect("script")
    }

    /// Waits until `css` holds text containing `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str, secs: u64) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(el) = self.c().find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t.contains(needle) {
                        return t;
                    }
                }
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{css} did not show {needle:?} within {secs} s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a function body returning a boolean) returns true.
    pub async fn wait_until(&self, script: &str, what: &str, secs: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(v) = self.c().execute(script, vec![]).await {
                if v == serde_json::Value::Bool(true) {
                    return;
                }
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{what} within {secs} s: no");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the window, after two animation frames so the last change is painted.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let _ = self
            .c()
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        let png = self.c().screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
        self.stop_driver();
    }

    /// Stops tauri-driver and the WebKitWebDriver it started (found by its port).
    fn stop_driver(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args([
                "-f",
                &format!("WebKitWebDriver --port={} ", self.native_port),
            ])
            .status();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop_driver();
    }
}

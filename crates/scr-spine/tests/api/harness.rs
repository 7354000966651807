//! A spine per test, and a client that signs in like a card.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use reqwest::{Method, StatusCode};
use scr_demo::identities::IdentityProfile;
use scr_spine::config::SpineConfig;
use scr_spine::server::RunningSpine;
use scr_spine::store::Store;
use serde_json::{json, Value};

pub const SEEDED_PATIENTS: u32 = 1_500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestSpine {
    pub dir: tempfile::TempDir,
    pub running: RunningSpine,
    pub client: SpineClient,
    pub backend: Backend,
    pub database: Option<String>,
}

/// Calls to a spine over HTTPS, trusting the CA of its data folder: what a card holder's
/// client does. Shared by in-process spines and spines run as their own process.
#[derive(Clone)]
pub struct SpineClient {
    pub base: String,
    pub http: reqwest::Client,
}

impl std::ops::Deref for TestSpine {
    type Target = SpineClient;
    fn deref(&self) -> &SpineClient {
        &self.client
    }
}

/// A fresh PostgreSQL database in the cluster at `base` (a URL naming any database).
pub async fn fresh_database_in(base: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to the test cluster");
    let name = format!("scr_test_{}", hex::encode(rand::random::<[u8; 6]>()));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

/// A data folder made by `init` and `seed`, as an operator would make one; inside `parent`
/// if given (e.g. a small filesystem).
pub async fn prepared_data(database: Option<&str>, parent: Option<&Path>) -> tempfile::TempDir {
    let dir = match parent {
        Some(p) => tempfile::tempdir_in(p).expect("temp dir"),
        None => tempfile::tempdir().expect("temp dir"),
    };
    let database = database.map(str::to_string);
    scr_spine::setup::init(
        dir.path(),
        &["localhost".into(), "127.0.0.1".into()],
        database.clone(),
    )
    .await
    .expect("init");
    scr_demo::setup::seed(dir.path(), SEEDED_PATIENTS, 7, database)
        .await
        .expect("seed");
    dir
}

/// A fresh PostgreSQL database in the cluster named by `SCR_TEST_POSTGRES_URL`.
pub async fn fresh_postgres_database() -> Option<String> {
    let Ok(base) = std::env::var("SCR_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("SCR_REQUIRE_POSTGRES").is_err(),
            "SCR_REQUIRE_POSTGRES is set but SCR_TEST_POSTGRES_URL is not: start the cluster (scripts/test does)"
        );
        eprintln!(
            "SCR_TEST_POSTGRES_URL not set: PostgreSQL variant skipped (scripts/test runs it)"
        );
        return None;
    };
    Some(fresh_database_in(&base).await)
}

impl TestSpine {
    pub async fn start(backend: Backend) -> TestSpine {
        Self::start_with(backend, None, |_| {}).await
    }

    pub async fn start_postgres() -> Option<TestSpine> {
        let url = fresh_postgres_database().await?;
        Some(Self::start_with(Backend::Postgres, Some(url), |_| {}).await)
    }

    /// Starts a spine for `backend` with config changes applied.
    pub async fn start_configured(
        backend: Backend,
        change: impl FnOnce(&mut SpineConfig),
    ) -> Option<TestSpine> {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await?),
        };
        Some(Self::start_with(backend, database, change).await)
    }

    async fn start_with(
        backend: Backend,
        database: Option<String>,
        change: impl FnOnce(&mut SpineConfig),
    ) -> TestSpine {
        Self::start_in(backend, database, None, change).await
    }

    /// As `start_with`, with the data folder made inside `parent` (e.g. a small filesystem).
    pub async fn start_in(
        backend: Backend,
        database: Option<String>,
        parent: Option<&Path>,
        change: impl FnOnce(&mut SpineConfig),
    ) -> TestSpine {
        let dir = prepared_data(database.as_deref(), parent).await;
        let data = dir.path();
        let mut config = scr_spine::setup::config_for(data, database.clone()).expect("config");
        config.listen = "127.0.0.1:0".into();
        change(&mut config);
        let running = scr_spine::server::start(data, config)
            .await
            .expect("start spine");
        let client = SpineClient::new(data, running.addr);
        TestSpine {
            dir,
            running,
            client,
            backend,
            database,
        }
    }

    pub async fn stop(self) {
        self.running.shutdown().await.expect("graceful shutdown");
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> &Store {
        &self.running.store
    }

    pub fn identity(&self, name: &str) -> Identity {
        Identity::load(&self.data().join("identities").join(name))
    }

    /// Writes a served resource where the FHIR validator (tests/fhir/validate.py) will check it.
    pub fn keep_sample(&self, name: &str, value: &Value) {
        if let Ok(dir) = std::env::var("SCR_FHIR_SAMPLES_DIR") {
            let dir = PathBuf::from(dir);
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("spine-{name}-{:?}.json", self.backend).to_lowercase());
            std::fs::write(file, serde_json::to_vec_pretty(value).expect("json"))
                .expect("write sample");
        }
    }
}

impl SpineClient {
    pub fn new(data: &Path, addr: std::net::SocketAddr) -> SpineClient {
        let ca = std::fs::read(data.join("ca/ca.pem")).expect("CA");
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA PEM"))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        SpineClient {
            base: format!("https://localhost:{}", addr.port()),
            http,
        }
    }

    /// A request with optional bearer token; returns status and JSON body (Null if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let (status, _, value) = self
            .call_keeping_headers(method, path, token, headers, body)
            .await;
        (status, value)
    }

    /// [`Self::call`], with the answer's headers.
    pub async fn call_keeping_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/fhir+json").body(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let answer_headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, answer_headers, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), &[], None).await
    }

    pub async fn summary(
        &self,
        nhs: &str,
        token: &str,
        reason: Option<&str>,
    ) -> (StatusCode, Value) {
        // Emergency access needs a reason in words; the tests of that rule send headers of
        // their own through `summary_saying`.
        let mut headers: Vec<(&str, &str)> = reason
            .map(|r| vec![("X-Access-Reason", r)])
            .unwrap_or_default();
        if reason == Some("emergency") {
            headers.push(("X-Access-Justification", "unconscious%20on%20arrival"));
        }
        self.summary_saying(nhs, token, &headers).await
    }

    /// `$summary` with exactly these headers.
    pub async fn summary_saying(
        &self,
        nhs: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.call(
            Method::GET,
            &format!("/FHIR/R4/Patient/{nhs}/$summary"),
            Some(token),
            headers,
            None,
        )
        .await
    }

    /// Signs in as `identity` and selects `role` (the first profile if `None`).
    pub async fn sign_in(&self, identity: &Identity, role: Option<&str>) -> String {
        let session = self.sign_in_session(identity).await;
        let token = session["session_token"]
            .as_str()
            .expect("token")
            .to_string();
        let role = role.map(str::to_string).unwrap_or_else(|| {
            session["role_profiles"][0]["id"]
                .as_str()
                .expect("a role profile")
                .to_string()
        });
        let (status, _) = self
            .call(
                Method::PUT,
                "/auth/session/role",
                Some(&token),
                &[],
                Some(json!({"role_profile_id": role}).to_string().into_bytes()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "select role {role}");
        token
    }

    /// What a card signs to answer `challenge` from this spine (origin `https://localhost:PORT`).
    pub fn sign_in_message(&self, challenge: &Value) -> Vec<u8> {
        sign_in_message_for(&self.base, challenge)
    }

    /// Challenge → sign → session; returns the session response.
    pub async fn sign_in_session(&self, identity: &Identity) -> Value {
        let challenge = self.challenge(&identity.cert_der).await;
        let (status, body) = self
            .answer(
                &challenge,
                &identity.sign(&self.sign_in_message(&challenge)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "sign-in: {body}");
        body
    }

    pub async fn challenge(&self, cert_der: &[u8]) -> Value {
        let (status, body) = self.try_challenge(cert_der).await;
        assert_eq!(status, StatusCode::OK, "challenge: {body}");
        body
    }

    pub async fn try_challenge(&self, cert_der: &[u8]) -> (StatusCode, Value) {
        let req = json!({"certificate": STANDARD.encode(cert_der)});
        self.call(
            Method::POST,
            "/auth/challenge",
            None,
            &[],
            Some(req.to_string().into_bytes()),
        )
        .await
    }

    pub async fn answer(&self, challenge: &Value, signature_der: &[u8]) -> (StatusCode, Value) {
        let req = json!({
            "challenge_id": challenge["challenge_id"],
            "signature": STANDARD.encode(signature_der),
        });
        self.call(
            Method::POST,
            "/auth/session",
            None,
            &[],
            Some(req.to_string().into_bytes()),
        )
        .await
    }
}

pub fn nonce(challenge: &Value) -> [u8; scr_model::signing::SIGN_IN_NONCE_LEN] {
    STANDARD
        .decode(challenge["nonce"].as_str().expect("nonce"))
        .expect("base64 nonce")
        .try_into()
        .expect("a 32-byte nonce")
}

/// What a card signs to answer `challenge` from the spine at `origin`.
pub fn sign_in_message_for(origin: &str, challenge: &Value) -> Vec<u8> {
    scr_model::signing::sign_in_message(
        origin,
        challenge["challenge_id"].as_str().expect("challenge_id"),
        &nonce(challenge),
    )
}

/// An identity folder, as a virtual card would hold it.
pub struct Identity {
    pub cert_der: Vec<u8>,
    pub key: SigningKey,
    #[allow(dead_code)]
    pub profile: IdentityProfile,
}

impl Identity {
    pub fn load(dir: &Path) -> Identity {
        let cert_pem = std::fs::read_to_string(dir.join("cert.pem")).expect("cert.pem");
        let key_pem = std::fs::read_to_string(dir.join("key.pem")).expect("key.pem");
        let profile: IdentityProfile =
            serde_json::from_slice(&std::fs::read(dir.join("profile.json")).expect("profile.json"))
                .expect("profile");
        Identity {
            cert_der: scr_spine::pki::pem_to_der(&cert_pem).expect("PEM"),
            key: SigningKey::from_pkcs8_pem(&key_pem).expect("PKCS#8 key"),
            profile,
        }
    }

    /// ECDSA P-256 over SHA-256(nonce), DER — what the card's 9A key returns.
    pub fn sign(&self, nonce: &[u8]) -> Vec<u8> {
        let sig: Signature = self.key.sign(nonce);
        sig.to_der().as_bytes().to_vec()
    }
}

/// The error code of an OperationOutcome.
pub fn error_code(body: &Value) -> String {
    body["issue"][0]["details"]["coding"][0]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

//! `spine-load`: the load generator behind `scripts/bench spine`. Signs in like a card, then
//! drives one scenario at several client counts over HTTPS keep-alive and prints throughput
//! and latency percentiles. Patients are regenerated from the seed (no database access), so
//! the same tool drives a spine on SQLite or PostgreSQL.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use hdrhistogram::Histogram;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use rand::{Rng, SeedableRng};
use scr_demo::identities::IdentityProfile;
use scr_model::fhir::{upload_bundle, Upload};
use scr_spine::store::PatientRow;
use serde_json::{json, Value};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// e.g. https://127.0.0.1:8443; several, comma-separated, to spread the clients over
    /// spines sharing one database (client i uses the (i mod n)th; one sign-in serves all,
    /// as sessions live in the database). The soak scenario uses the first.
    #[arg(long, value_delimiter = ',', required = true)]
    base: Vec<String>,
    /// The spine's data directory (CA and identities).
    #[arg(long)]
    data: PathBuf,
    /// summary | floor | trace | upload | soak (a mix of all four for --seconds)
    #[arg(long)]
    scenario: String,
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    clients: Vec<usize>,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The seeded population (to regenerate patients without reading the store).
    #[arg(long)]
    patients: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// soak: percent of $summary, Patient read, trace, upload.
    #[arg(long, value_delimiter = ',', default_value = "70,10,15,5")]
    mix: Vec<u32>,
    /// soak: seconds per report line (per-interval p50/p99 per kind, the spine's memory).
    #[arg(long, default_value_t = 60)]
    report_secs: u64,
    /// soak: the spine's process id, to sample its memory and stop if it dies.
    #[arg(long)]
    watch_pid: Option<u32>,
    /// soak: total requests per second to pace to (0: each client sends its next request as
    /// soon as the last is answered).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// soak: stop after this many requests in all (0: 20 000 per second of --seconds).
    #[arg(long, default_value_t = 0)]
    max_requests: u64,
}

struct Population {
    rows: Vec<PatientRow>,
}

impl Population {
    /// Regenerates a sample of the seeded population.
    fn sample(
        patients: u32,
        seed: u64,
        want: usize,
        filter: impl Fn(&PatientRow) -> bool,
    ) -> Population {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let practices = scr_demo::seed::practices(patients, &mut rng);
        let mut pick = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let mut rows = Vec::with_capacity(want);
        let mut tries = 0;
        while rows.len() < want && tries < want * 2_000 {
            tries += 1;
            let i = if want >= patients as usize {
                tries as u32 - 1
            } else {
                pick.gen_range(0..patients)
            };
            if i >= patients {
                break;
            }
            // The load signs in as the demo hospital's doctor: only patients the hospital
            // has a relationship with are opened without a self-claim.
            if !scr_demo::seed::has_care_relationship(i) {
                continue;
            }
            if let Some(row) = scr_demo::seed::patient(i, seed, &practices) {
                if filter(&row) {
                    rows.push(row);
                }
            }
        }
        Population { rows }
    }
}

/// What a card holds for sign-in: the certificate, its key and the role to select.
struct Card {
    cert_der: Vec<u8>,
    key: SigningKey,
    role: String,
}

impl Card {
    fn load(identity: &std::path::Path) -> anyhow::Result<Card> {
        let cert_pem = std::fs::read_to_string(identity.join("cert.pem"))?;
        let key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(identity.join("key.pem"))?)?;
        let profile: IdentityProfile =
            serde_json::from_slice(&std::fs::read(identity.join("profile.json"))?)?;
        let cert_der = scr_spine::pki::pem_to_der(&cert_pem).context("certificate PEM")?;
        let role = profile.role_profiles.first().context("role")?.id.clone();
        Ok(Card {
            cert_der,
            key,
            role,
        })
    }
}

/// A signed-in session and the lifetimes the spine announced for it.
struct Session {
    token: String,
    /// The absolute end (`expires_at`), if the answer carried a readable one.
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    idle_timeout: Option<Duration>,
}

/// The card's answer to a challenge from the spine at `base`, as the viewer makes it: a
/// signature over the labelled sign-in message naming the spine's origin; base64 DER.
fn answer_challenge(base: &str, card: &Card, challenge: &Value) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(base).context("the spine URL")?;
    let origin = scr_model::signing::https_origin(
        url.host_str().context("the spine URL has no host")?,
        url.port_or_known_default()
            .context("the spine URL has no port")?,
    );
    let id = challenge["challenge_id"].as_str().context("challenge_id")?;
    let nonce: [u8; scr_model::signing::SIGN_IN_NONCE_LEN] = STANDARD
        .decode(challenge["nonce"].as_str().context("nonce")?)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the nonce is not 32 bytes"))?;
    let sig: Signature = card
        .key
        .sign(&scr_model::signing::sign_in_message(&origin, id, &nonce));
    Ok(STANDARD.encode(sig.to_der().as_bytes()))
}

/// Challenge, signature over the sign-in message, session, role: the card's sign-in.
async fn sign_in(http: &reqwest::Client, base: &str, card: &Card) -> anyhow::Result<Session> {
    let challenge: Value = http
        .post(format!("{base}/auth/challenge"))
        .json(&json!({"certificate": STANDARD.encode(&card.cert_der)}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let signature = answer_challenge(base, card, &challenge)?;
    let session: Value = http
        .post(format!("{base}/auth/session"))
        .json(&json!({"challenge_id": challenge["challenge_id"], "signature": signature}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["session_token"]
        .as_str()
        .context("token")?
        .to_string();
    http.put(format!("{base}/auth/session/role"))
        .bearer_auth(&token)
        .json(&json!({"role_profile_id": card.role}))
        .send()
        .await?
        .error_for_status()?;
    let expires_at = session["expires_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let idle_timeout = session["idle_timeout_secs"]
        .as_u64()
        .map(Duration::from_secs);
    Ok(Session {
        token,
        expires_at,
        idle_timeout,
    })
}

#[derive(Clone)]
enum Work {
    Get {
        paths: Arc<Vec<String>>,
        reason: bool,
    },
    Upload {
        bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    },
}

async fn run(
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
    token: Arc<String>,
    work: Work,
    clients: usize,
    seconds: u64,
    report: bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for client in 0..clients {
        let base = bases[client % bases.len()].clone();
        let (http, token, work, errors, counter) = (
            http.clone(),
            token.clone(),
            work.clone(),
            errors.clone(),
            counter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed) as usize;
                let t = Instant::now();
                let ok = match &work {
                    Work::Get { paths, reason } => {
                        let mut req = http
                            .get(format!("{base}{}", paths[n % paths.len()]))
                            .bearer_auth(token.as_str());
                        if *reason {
                            req = req.header("X-Access-Reason", "permission-to-view");
                        }
                        match req.send().await {
                            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                            Err(_) => false,
                        }
                    }
                    Work::Upload { bodies } => {
                        let Some(body) = bodies.lock().await.pop() else {
                            break;
                        };
                        match http
                            .post(format!("{base}/FHIR/R4"))
                            .bearer_auth(token.as_str())
                            .header("content-type", "application/fhir+json")
                            .body(body)
                            .send()
                            .await
                        {
                            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                            Err(_) => false,
                        }
                    }
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                let _ = hist.record(t.elapsed().as_micros() as u64);
            }
            hist
        }));
    }
    let mut total = Histogram::<u64>::new(3)?;
    for t in tasks {
        total.add(t.await?)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if !report {
        return Ok(());
    }
    println!(
        "clients={clients:<3} requests={:<7} rps={:<8.0} p50_ms={:<7.2} p99_ms={:<7.2} max_ms={:<8.2} errors={}",
        total.len(),
        total.len() as f64 / elapsed,
        total.value_at_quantile(0.50) as f64 / 1000.0,
        total.value_at_quantile(0.99) as f64 / 1000.0,
        total.max() as f64 / 1000.0,
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    scr_spine::server::install_crypto_provider();
    let args = Args::parse();
    let ca = std::fs::read(args.data.join("ca/ca.pem")).context("CA certificate")?;
    if matches!(args.scenario.as_str(), "soak" | "mixed") {
        return soak(&args, &ca).await;
    }
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .pool_max_idle_per_host(max_clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let bases: Arc<Vec<String>> = Arc::new(
        args.base
            .iter()
            .map(|b| b.trim_end_matches('/').to_string())
            .collect(),
    );
    let base = bases.first().cloned().context("--base names no spine")?;
    let identities = args.data.join("identities");
    let (identity, work) = match args.scenario.as_str() {
        "floor" => (
            "doctor",
            Work::Get {
                paths: Arc::new(vec!["/FHIR/R4/metadata".into()]),
                reason: false,
            },
        ),
        "summary" => {
            let pop = Population::sample(args.patients, args.seed, 5_000, |r| {
                r.summary.is_some() && !r.demographics.restricted
            });
            let paths = pop
                .rows
                .iter()
                .map(|r| {
                    format!(
                        "/FHIR/R4/Patient/{}/$summary",
                        r.demographics.nhs_number.as_digits()
                    )
                })
                .collect();
            (
                "doctor",
                Work::Get {
                    paths: Arc::new(paths),
                    reason: true,
                },
            )
        }
        "trace" => {
            let pop = Population::sample(args.patients, args.seed, 5_000, |_| true);
            let paths = pop
                .rows
                .iter()
                .map(|r| {
                    let d = &r.demographics;
                    let q: String = form_urlencoded::Serializer::new(String::new())
                        .append_pair("family", &d.family)
                        .append_pair("given", d.given.first().map(String::as_str).unwrap_or(""))
                        .append_pair("birthdate", &d.birth_date.to_string())
                        .append_pair("_fuzzy-match", "true")
                        .append_pair("_max-results", "50")
                        .finish();
                    format!("/FHIR/R4/Patient?{q}")
                })
                .collect();
            (
                "doctor",
                Work::Get {
                    paths: Arc::new(paths),
                    reason: false,
                },
            )
        }
        "upload" => {
            let pop = Population::sample(
                args.patients,
                args.seed,
                args.patients.min(2_000_000) as usize,
                |r| r.demographics.gp_ods.as_deref() == Some("A81001") && r.summary.is_some(),
            );
            let stamp = chrono::Utc::now().timestamp_millis();
            let bodies: Vec<Vec<u8>> = pop
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let upload = Upload {
                        bundle_id: format!("bench-{stamp}-{i}"),
                        patient: r.demographics.clone(),
                        summary: r.summary.clone(),
                        consent: None,
                        care: Vec::new(),
                    };
                    serde_json::to_vec(&upload_bundle(&upload)).unwrap_or_default()
                })
                .collect();
            println!(
                "upload: {} summaries of practice A81001 available",
                bodies.len()
            );
            (
                "gp-system",
                Work::Upload {
                    bodies: Arc::new(Mutex::new(bodies)),
                },
            )
        }
        other => bail!("unknown scenario {other}"),
    };
    let card = Card::load(&identities.join(identity))?;
    let token = Arc::new(sign_in(&http, &base, &card).await?.token);
    // Warm the connection pool and the store's caches (not for uploads: each is used once).
    if matches!(work, Work::Get { .. }) {
        let warm = run(
            http.clone(),
            bases.clone(),
            token.clone(),
            work.clone(),
            max_clients,
            1,
            false,
        );
        warm.await.ok();
    }
    println!("scenario={}", args.scenario);
    for c in &args.clients {
        run(
            http.clone(),
            bases.clone(),
            token.clone(),
            work.clone(),
            *c,
            args.seconds,
            true,
        )
        .await?;
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// `--scenario soak`: N clients, each signed in like a card (its own sessions and its own
// HTTPS connection), running a weighted mix of $summary, Patient read, trace and GP upload
// for --seconds. Prints p50/p99 per kind per report interval, the spine's memory, and
// totals with errors by kind. Exits 1 if any request failed or the spine died.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Summary,
    Patient,
    Trace,
    Upload,
}

const KINDS: [Kind; 4] = [Kind::Summary, Kind::Patient, Kind::Trace, Kind::Upload];
/// Histogram slot for all kinds together.
const ALL: usize = 4;

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Summary => "summary",
            Kind::Patient => "patient",
            Kind::Trace => "trace",
            Kind::Upload => "upload",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What the clients draw their requests from: patients for whom the expected answer is a
/// 2xx. Dissented patients (403) and patients without a summary (404) are left out of the
/// $summary pool; only practice A81001's patients (the GP system's own) are uploaded.
struct Pools {
    summary: Vec<String>,
    patient: Vec<String>,
    trace: Vec<String>,
    upload: Vec<PatientRow>,
}

impl Pools {
    fn build(patients: u32, seed: u64) -> anyhow::Result<Pools> {
        let readable = Population::sample(patients, seed, 5_000, |r| {
            r.summary.is_some()
                && !r.demographics.restricted
                && !r
                    .consent
                    .as_ref()
                    .is_some_and(|c| c.preference.is_dissent())
        });
        let summary = readable
            .rows
            .iter()
            .map(|r| {
                format!(
                    "/FHIR/R4/Patient/{}/$summary",
                    r.demographics.nhs_number.as_digits()
                )
            })
            .collect();
        // The same seed as the spine's: the population is regenerated, not read.
        let anyone = Population::sample(patients, seed, 5_000, |_| true);
        let patient = anyone
            .rows
            .iter()
            .map(|r| format!("/FHIR/R4/Patient/{}", r.demographics.nhs_number.as_digits()))
            .collect();
        let trace = anyone
            .rows
            .iter()
            .map(|r| {
                let d = &r.demographics;
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("family", &d.family)
                    .append_pair("given", d.given.first().map(String::as_str).unwrap_or(""))
                    .append_pair("birthdate", &d.birth_date.to_string())
                    .append_pair("_fuzzy-match", "true")
                    .append_pair("_max-results", "50")
                    .finish();
                format!("/FHIR/R4/Patient?{q}")
            })
            .collect();
        let upload = Population::sample(patients, seed, patients.min(2_000_000) as usize, |r| {
            r.demographics.gp_ods.as_deref() == Some("A81001")
                && r.summary.is_some()
                && !r
                    .consent
                    .as_ref()
                    .is_some_and(|c| c.preference.is_dissent())
        })
        .rows;
        let pools = Pools {
            summary,
            patient,
            trace,
            upload,
        };
        for (name, n) in [
            ("summary", pools.summary.len()),
            ("patient", pools.patient.len()),
            ("trace", pools.trace.len()),
            ("upload", pools.upload.len()),
        ] {
            if n == 0 {
                bail!("no patients to draw {name} requests from (population too small?)");
            }
        }
        Ok(pools)
    }
}

/// One set of latency histograms: per kind, then all together.
struct Window {
    hist: Vec<Histogram<u64>>,
    errors: [u64; 5],
}

impl Window {
    fn new() -> anyhow::Result<Window> {
        let hist = (0..5)
            .map(|_| Histogram::<u64>::new(3))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Window {
            hist,
            errors: [0; 5],
        })
    }

    fn record(&mut self, kind: Kind, micros: u64, failed: bool) {
        for i in [kind.index(), ALL] {
            let _ = self.hist[i].record(micros.max(1));
            if failed {
                self.errors[i] += 1;
            }
        }
    }

    fn line(&self, i: usize, label: &str, seconds: f64) -> String {
        let h = &self.hist[i];
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "{label} kind={:<7} requests={:<8} rps={:<7.0} p50_ms={:<7.2} p99_ms={:<7.2} p999_ms={:<8.2} max_ms={:<8.2} errors={}",
            if i == ALL { "all" } else { KINDS[i].name() },
            h.len(),
            h.len() as f64 / seconds.max(0.001),
            ms(0.50),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0,
            self.errors[i]
        )
    }
}

struct Shared {
    window: Window,
    total: Window,
    /// "kind status CODE" or "kind transport what" → count.
    errors: BTreeMap<String, u64>,
    /// The first message seen for each error key (evidence for the report).
    examples: BTreeMap<String, String>,
    http_version: Option<String>,
}

struct Stats {
    shared: std::sync::Mutex<Shared>,
    /// Requests started, for the hard cap on the run's size.
    started: AtomicU64,
    /// Set when the spine is gone: every client stops.
    stop: AtomicBool,
    resign_ins: AtomicU64,
    signin_waits: AtomicU64,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, kind: Kind, micros: u64, error: Option<(String, String)>) {
        let mut s = self.lock();
        let failed = error.is_some();
        s.window.record(kind, micros, failed);
        s.total.record(kind, micros, failed);
        if let Some((key, example)) = error {
            let key = format!("{} {key}", kind.name());
            *s.errors.entry(key.clone()).or_default() += 1;
            s.examples.entry(key).or_insert(example);
        }
    }

    /// An error that is not one request's answer (sign-in, sign-out, the spine's process).
    fn other_error(&self, key: &str, example: String) {
        let mut s = self.lock();
        *s.errors.entry(key.to_string()).or_default() += 1;
        s.examples.entry(key.to_string()).or_insert(example);
    }

    fn error_total(&self) -> u64 {
        self.lock().errors.values().sum()
    }
}

/// A refused sign-in step, with the spine's `Retry-After` if it sent one.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}")]
struct Refused {
    status: u16,
    retry_after: Option<u64>,
}

async fn success_or_refused(resp: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Err(Refused {
        status: status.as_u16(),
        retry_after,
    }
    .into())
}

/// Sign-in for the soak: throttling (429) and overload (503) wait `Retry-After` (at most
/// 30 s) and try again; transport errors are tried again after a second; at most 6 tries.
async fn soak_sign_in(
    http: &reqwest::Client,
    base: &str,
    card: &Card,
    stats: &Stats,
) -> anyhow::Result<Session> {
    let mut last = None;
    for attempt in 0..6u32 {
        match soak_sign_in_once(http, base, card).await {
            Ok(s) => return Ok(s),
            Err(e) => {
                let wait = match e.downcast_ref::<Refused>() {
                    Some(r) if r.status == 429 || r.status == 503 => {
                        stats.signin_waits.fetch_add(1, Ordering::Relaxed);
                        r.retry_after.unwrap_or(1 << attempt).min(30)
                    }
                    Some(_) => return Err(e),
                    None => 1,
                };
                last = Some(e);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("sign-in failed")))
}

/// [`sign_in`], keeping the status and `Retry-After` of a refusal.
async fn soak_sign_in_once(
    http: &reqwest::Client,
    base: &str,
    card: &Card,
) -> anyhow::Result<Session> {
    let resp = http
        .post(format!("{base}/auth/challenge"))
        .json(&json!({"certificate": STANDARD.encode(&card.cert_der)}))
        .send()
        .await?;
    let challenge: Value = success_or_refused(resp).await?.json().await?;
    let signature = answer_challenge(base, card, &challenge)?;
    let resp = http
        .post(format!("{base}/auth/session"))
        .json(&json!({"challenge_id": challenge["challenge_id"], "signature": signature}))
        .send()
        .await?;
    let session: Value = success_or_refused(resp).await?.json().await?;
    let token = session["session_token"]
        .as_str()
        .context("token")?
        .to_string();
    let resp = http
        .put(format!("{base}/auth/session/role"))
        .bearer_auth(&token)
        .json(&json!({"role_profile_id": card.role}))
        .send()
        .await?;
    success_or_refused(resp).await?;
    let expires_at = session["expires_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let idle_timeout = session["idle_timeout_secs"]
        .as_u64()
        .map(Duration::from_secs);
    Ok(Session {
        token,
        expires_at,
        idle_timeout,
    })
}

/// A session in use by one client.
struct Held {
    session: Session,
    last_ok: Instant,
}

impl Held {
    fn new(session: Session) -> Held {
        Held {
            session,
            last_ok: Instant::now(),
        }
    }

    /// Whether a 401 now is what the announced lifetimes predict (within a minute: the
    /// spine refreshes `last_seen` only every 30 s).
    fn may_have_expired(&self) -> bool {
        let margin = Duration::from_secs(60);
        let idle = self
            .session
            .idle_timeout
            .is_some_and(|t| self.last_ok.elapsed() + margin >= t);
        let absolute = self
            .session
            .expires_at
            .is_some_and(|t| chrono::Utc::now() + chrono::Duration::seconds(60) >= t);
        idle || absolute
    }
}

enum Outcome {
    /// A 2xx, with the searchset's `total` when the answer has one.
    Ok(Option<u64>),
    /// Status and the OperationOutcome's error code, if any.
    Status(u16, String),
    /// What kind of transport error, and its message.
    Transport(&'static str, String),
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else if e.is_request() {
        "request"
    } else {
        "other"
    }
}

/// The whole error chain in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn outcome(
    result: Result<reqwest::Response, reqwest::Error>,
    want_total: bool,
    stats: &Stats,
) -> Outcome {
    let resp = match result {
        Ok(r) => r,
        Err(e) => return Outcome::Transport(transport_kind(&e), chain(&e)),
    };
    let status = resp.status();
    let version = resp.version();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return Outcome::Transport("body", chain(&e)),
    };
    if status.is_success() {
        {
            let mut s = stats.lock();
            if s.http_version.is_none() {
                s.http_version = Some(format!("{version:?}"));
            }
        }
        let total = if want_total {
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["total"].as_u64())
        } else {
            None
        };
        return Outcome::Ok(total);
    }
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["issue"][0]["details"]["coding"][0]["code"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    Outcome::Status(status.as_u16(), code)
}

struct Client {
    index: usize,
    http: reqwest::Client,
    doctor: Held,
    gp: Held,
}

struct SoakPlan {
    base: String,
    pools: Pools,
    /// Cumulative weights of KINDS.
    cumulative: [u32; 4],
    deadline: Instant,
    max_requests: u64,
    /// Pause between one client's requests when pacing to --rate.
    period: Option<Duration>,
    seed: u64,
    /// The doctor's card and the GP system's, for signing in again.
    cards: Arc<(Card, Card)>,
    stamp: i64,
}

async fn soak_client(mut c: Client, plan: Arc<SoakPlan>, stats: Arc<Stats>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(plan.seed ^ ((c.index as u64 + 1) << 20));
    let mut tick = plan.period.map(|p| {
        let mut t = tokio::time::interval(p);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let total = plan.cumulative[3];
    let mut n: u64 = 0;
    while !stats.stop.load(Ordering::Relaxed) && Instant::now() < plan.deadline {
        if stats.started.fetch_add(1, Ordering::Relaxed) >= plan.max_requests {
            break;
        }
        if let Some(t) = tick.as_mut() {
            t.tick().await;
            if Instant::now() >= plan.deadline {
                break;
            }
        }
        n += 1;
        let roll = rng.gen_range(0..total);
        let kind = KINDS[plan.cumulative.iter().position(|&w| roll < w).unwrap_or(0)];
        let base = &plan.base;
        let request = match kind {
            Kind::Summary => {
                let p = &plan.pools.summary[rng.gen_range(0..plan.pools.summary.len())];
                c.http
                    .get(format!("{base}{p}"))
                    .header("X-Access-Reason", "permission-to-view")
            }
            Kind::Patient => {
                let p = &plan.pools.patient[rng.gen_range(0..plan.pools.patient.len())];
                c.http.get(format!("{base}{p}"))
            }
            Kind::Trace => {
                let p = &plan.pools.trace[rng.gen_range(0..plan.pools.trace.len())];
                c.http.get(format!("{base}{p}"))
            }
            Kind::Upload => {
                let r = &plan.pools.upload[rng.gen_range(0..plan.pools.upload.len())];
                let upload = Upload {
                    bundle_id: format!("soak-{}-{}-{n}", plan.stamp, c.index),
                    patient: r.demographics.clone(),
                    summary: r.summary.clone(),
                    consent: None,
                    care: Vec::new(),
                };
                let body = match serde_json::to_vec(&upload_bundle(&upload)) {
                    Ok(b) => b,
                    Err(e) => {
                        stats.record(kind, 1, Some(("encode".into(), e.to_string())));
                        continue;
                    }
                };
                c.http
                    .post(format!("{base}/FHIR/R4"))
                    .header("content-type", "application/fhir+json")
                    .body(body)
            }
        };
        let held = if kind == Kind::Upload {
            &mut c.gp
        } else {
            &mut c.doctor
        };
        let t = Instant::now();
        let result = request.bearer_auth(&held.session.token).send().await;
        let answer = outcome(result, kind == Kind::Trace, &stats).await;
        let micros = t.elapsed().as_micros() as u64;
        match answer {
            Outcome::Ok(total) => {
                held.last_ok = Instant::now();
                // A trace by a seeded patient's own name and birth date must find them.
                let error = (kind == Kind::Trace && total.unwrap_or(0) == 0).then(|| {
                    let what = "200 without the seeded patient";
                    (what.to_string(), format!("total={total:?}"))
                });
                stats.record(kind, micros, error);
            }
            Outcome::Status(401, code) => {
                // Re-sign in and count it; an error only if the session should still have
                // been valid.
                let error = (!held.may_have_expired()).then(|| {
                    (
                        format!("401 {code} (session ended early)"),
                        format!("session {} s old", held.last_ok.elapsed().as_secs()),
                    )
                });
                stats.record(kind, micros, error);
                stats.resign_ins.fetch_add(1, Ordering::Relaxed);
                let card = if kind == Kind::Upload {
                    &plan.cards.1
                } else {
                    &plan.cards.0
                };
                match soak_sign_in(&c.http, base, card, &stats).await {
                    Ok(s) => *held = Held::new(s),
                    Err(e) => {
                        stats.other_error("sign-in again failed", chain(e.as_ref()));
                        return;
                    }
                }
            }
            Outcome::Status(status, code) => {
                let key = format!("status {status} {code}");
                stats.record(kind, micros, Some((key.clone(), key)));
            }
            Outcome::Transport(what, message) => {
                stats.record(kind, micros, Some((format!("transport {what}"), message)));
                // A spine that is gone must not be hammered: back off a little.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // Sign out like the app does when the card is pulled (bounded by the client timeout);
    // not when the spine is gone.
    if stats.stop.load(Ordering::Relaxed) {
        return;
    }
    for held in [&c.doctor, &c.gp] {
        match c
            .http
            .delete(format!("{}/auth/session", plan.base))
            .bearer_auth(&held.session.token)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => stats.other_error(
                &format!("sign-out status {}", r.status().as_u16()),
                String::new(),
            ),
            Err(e) => stats.other_error(
                &format!("sign-out transport {}", transport_kind(&e)),
                chain(&e),
            ),
        }
    }
}

/// The watched process's memory, threads and open files; `None` once it has exited.
#[derive(Clone, Copy)]
struct ProcSample {
    rss_kib: u64,
    threads: u64,
    fds: u64,
}

fn proc_sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_end_matches(" kB").trim().to_string())
    };
    if field("State:").is_some_and(|s| s.starts_with('Z') || s.starts_with('X')) {
        return None;
    }
    let rss_kib = field("VmRSS:")?.parse().ok()?;
    let threads = field("Threads:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Some(ProcSample {
        rss_kib,
        threads,
        fds,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Every second: is the spine still there? Every `every`: print the interval's figures
/// and sample the spine's memory.
async fn soak_reporter(
    stats: Arc<Stats>,
    started: Instant,
    every: Duration,
    watch: Option<u32>,
    samples: Arc<std::sync::Mutex<Vec<(f64, ProcSample)>>>,
) {
    let mut last_report = started;
    let mut check = tokio::time::interval_at(
        tokio::time::Instant::from_std(started) + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    loop {
        check.tick().await;
        let now = Instant::now();
        let sample = watch.map(proc_sample);
        if let Some(None) = sample {
            stats.other_error(
                "spine process gone",
                format!("after {:.0} s", started.elapsed().as_secs_f64()),
            );
            stats.stop.store(true, Ordering::Relaxed);
            println!(
                "t={:.0}s the spine (pid {}) has exited: stopping",
                started.elapsed().as_secs_f64(),
                watch.unwrap_or(0)
            );
            return;
        }
        if now.duration_since(last_report) + Duration::from_millis(500) < every {
            continue;
        }
        let seconds = now.duration_since(last_report).as_secs_f64();
        last_report = now;
        let t = started.elapsed().as_secs_f64();
        let window = match Window::new() {
            Ok(fresh) => std::mem::replace(&mut stats.lock().window, fresh),
            Err(_) => continue,
        };
        let label = format!("t={t:<4.0}");
        println!("{}", window.line(ALL, &label, seconds));
        for k in KINDS {
            println!("{}", window.line(k.index(), &label, seconds));
        }
        if let Some(Some(p)) = sample {
            samples
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((t, p));
            println!(
                "{label} spine rss_mib={:.1} threads={} fds={}",
                mib(p.rss_kib),
                p.threads,
                p.fds
            );
        }
    }
}

fn soak_http(ca: &[u8]) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca)?)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()?)
}

async fn soak(args: &Args, ca: &[u8]) -> anyhow::Result<ExitCode> {
    let clients = args.clients.iter().copied().max().unwrap_or(64).max(1);
    if args.mix.len() != 4 || args.mix.iter().sum::<u32>() == 0 {
        bail!("--mix takes four weights: summary,patient,trace,upload (e.g. 70,10,15,5)");
    }
    let mut cumulative = [0u32; 4];
    let mut sum = 0;
    for (i, w) in args.mix.iter().enumerate() {
        sum += w;
        cumulative[i] = sum;
    }
    let every = Duration::from_secs(args.report_secs.max(1));
    let max_requests = if args.max_requests == 0 {
        args.seconds.saturating_mul(20_000).max(1)
    } else {
        args.max_requests
    };
    let period = (args.rate > 0.0).then(|| Duration::from_secs_f64(clients as f64 / args.rate));
    let base = args
        .base
        .first()
        .context("--base names no spine")?
        .trim_end_matches('/')
        .to_string();
    let identities = args.data.join("identities");
    let doctor_card = Card::load(&identities.join("doctor"))?;
    let gp_card = Card::load(&identities.join("gp-system"))?;
    let built = Instant::now();
    let pools = Pools::build(args.patients, args.seed)?;
    println!(
        "scenario=soak clients={clients} seconds={} mix=summary:{} patient:{} trace:{} upload:{} rate={} report_secs={}",
        args.seconds,
        args.mix[0],
        args.mix[1],
        args.mix[2],
        args.mix[3],
        if args.rate > 0.0 { format!("{}", args.rate) } else { "unpaced".into() },
        every.as_secs()
    );
    println!(
        "pools: {} summaries, {} patients, {} traces, {} A81001 patients to upload (built in {:.1} s)",
        pools.summary.len(),
        pools.patient.len(),
        pools.trace.len(),
        pools.upload.len(),
        built.elapsed().as_secs_f64()
    );
    let stats = Arc::new(Stats {
        shared: std::sync::Mutex::new(Shared {
            window: Window::new()?,
            total: Window::new()?,
            errors: BTreeMap::new(),
            examples: BTreeMap::new(),
            http_version: None,
        }),
        started: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        resign_ins: AtomicU64::new(0),
        signin_waits: AtomicU64::new(0),
    });

    // Sign every client in (a doctor's card and the GP system's) before the clock starts.
    let signing = Instant::now();
    let mut pending = Vec::with_capacity(clients);
    let cards = Arc::new((doctor_card, gp_card));
    for index in 0..clients {
        let (cards, stats, base) = (cards.clone(), stats.clone(), base.clone());
        let http = soak_http(ca)?;
        pending.push(tokio::spawn(async move {
            let doctor = soak_sign_in(&http, &base, &cards.0, &stats).await?;
            let gp = soak_sign_in(&http, &base, &cards.1, &stats).await?;
            anyhow::Ok(Client {
                index,
                http,
                doctor: Held::new(doctor),
                gp: Held::new(gp),
            })
        }));
    }
    let mut ready = Vec::with_capacity(clients);
    for p in pending {
        match p.await {
            Ok(Ok(c)) => ready.push(c),
            Ok(Err(e)) => stats.other_error("sign-in failed", chain(e.as_ref())),
            Err(e) => stats.other_error("sign-in task failed", e.to_string()),
        }
    }
    println!(
        "signed in: {} of {clients} clients ({} sessions) in {:.2} s; {} waits on 429/503",
        ready.len(),
        ready.len() * 2,
        signing.elapsed().as_secs_f64(),
        stats.signin_waits.load(Ordering::Relaxed)
    );
    if ready.is_empty() {
        bail!("no client could sign in");
    }

    let started = Instant::now();
    let plan = Arc::new(SoakPlan {
        base,
        pools,
        cumulative,
        deadline: started + Duration::from_secs(args.seconds),
        max_requests,
        period,
        seed: args.seed,
        cards,
        stamp: chrono::Utc::now().timestamp_millis(),
    });
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let first = args.watch_pid.and_then(proc_sample);
    if let Some(p) = first {
        samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((0.0, p));
        println!(
            "t=0    spine rss_mib={:.1} threads={} fds={}",
            mib(p.rss_kib),
            p.threads,
            p.fds
        );
    }
    let reporter = tokio::spawn(soak_reporter(
        stats.clone(),
        started,
        every,
        args.watch_pid,
        samples.clone(),
    ));
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|c| tokio::spawn(soak_client(c, plan.clone(), stats.clone())))
        .collect();
    for t in tasks {
        if let Err(e) = t.await {
            stats.other_error("client task failed", e.to_string());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    reporter.abort();
    let _ = reporter.await;

    // The last, partial interval (unless it is only the requests in flight at the
    // deadline), then the end sample.
    let end = args.watch_pid.and_then(proc_sample);
    {
        let s = stats.lock();
        let since = samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .map(|(t, _)| *t)
            .unwrap_or(0.0);
        if !s.window.hist[ALL].is_empty() && elapsed - since >= 1.0 {
            let label = format!("t={elapsed:<4.0}");
            println!("{}", s.window.line(ALL, &label, elapsed - since));
            for k in KINDS {
                println!("{}", s.window.line(k.index(), &label, elapsed - since));
            }
        }
    }
    if let Some(p) = end {
        let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
        // The last interval's sample, seconds ago, is replaced by the end's.
        if samples.len() > 1 && samples.last().is_some_and(|(t, _)| elapsed - t < 2.0) {
            samples.pop();
        }
        samples.push((elapsed, p));
    } else if args.watch_pid.is_some() && !stats.stop.load(Ordering::Relaxed) {
        stats.other_error("spine process gone", "at the end".into());
    }

    let errors = stats.error_total();
    let s = stats.lock();
    println!("--- soak totals over {elapsed:.1} s");
    println!("{}", s.total.line(ALL, "total", elapsed));
    for k in KINDS {
        println!("{}", s.total.line(k.index(), "total", elapsed));
    }
    println!(
        "errors={errors} re-sign-ins={} sign-in waits on 429/503={} http={}",
        stats.resign_ins.load(Ordering::Relaxed),
        stats.signin_waits.load(Ordering::Relaxed),
        s.http_version.as_deref().unwrap_or("?")
    );
    for (key, n) in &s.errors {
        let example = s.examples.get(key).map(String::as_str).unwrap_or("");
        println!("error {key}: {n}  (first: {example})");
    }
    let samples = samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        let middle = samples
            .iter()
            .min_by(|a, b| {
                (a.0 - elapsed / 2.0)
                    .abs()
                    .total_cmp(&(b.0 - elapsed / 2.0).abs())
            })
            .unwrap_or(first);
        println!(
            "spine rss_mib start={:.1} middle={:.1} (t={:.0}s) end={:.1} end/start={:.2} end/middle={:.2}; threads {}→{}; fds {}→{}",
            mib(first.1.rss_kib),
            mib(middle.1.rss_kib),
            middle.0,
            mib(last.1.rss_kib),
            last.1.rss_kib as f64 / first.1.rss_kib.max(1) as f64,
            last.1.rss_kib as f64 / middle.1.rss_kib.max(1) as f64,
            first.1.threads,
            last.1.threads,
            first.1.fds,
            last.1.fds
        );
        let all: Vec<String> = samples
            .iter()
            .map(|(t, p)| format!("{t:.0}s={:.1}", mib(p.rss_kib)))
            .collect();
        println!("spine rss_mib samples: {}", all.join(" "));
    }
    if errors == 0 {
        println!("soak result: 0 errors");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("soak result: FAILED, {errors} errors");
        Ok(ExitCode::from(1))
    }
}

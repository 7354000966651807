//! `spine-load`: the load generator behind `scripts/bench spine`. Signs in like a card, then
//! drives one scenario at several client counts over HTTPS keep-alive and prints throughput
//! and latency percentiles. Patients are regenerated from the seed (no database access), so
//! the same tool drives a spine on SQLite or PostgreSQL.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
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
use scr_model::fhir::{upload_bundle, Upload};
use scr_spine::identities::IdentityProfile;
use scr_spine::store::PatientRow;
use serde_json::{json, Value};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// e.g. https://127.0.0.1:8443
    #[arg(long)]
    base: String,
    /// The spine's data directory (CA and identities).
    #[arg(long)]
    data: PathBuf,
    /// summary | floor | trace | upload
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
        let practices = scr_spine::seed::practices(patients, &mut rng);
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
            if let Some(row) = scr_spine::seed::patient(i, seed, &practices) {
                if filter(&row) {
                    rows.push(row);
                }
            }
        }
        Population { rows }
    }
}

async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    identity: &std::path::Path,
) -> anyhow::Result<String> {
    let cert_pem = std::fs::read_to_string(identity.join("cert.pem"))?;
    let key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(identity.join("key.pem"))?)?;
    let profile: IdentityProfile =
        serde_json::from_slice(&std::fs::read(identity.join("profile.json"))?)?;
    let der = scr_spine::pki::pem_to_der(&cert_pem).context("certificate PEM")?;
    let challenge: Value = http
        .post(format!("{base}/auth/challenge"))
        .json(&json!({"certificate": STANDARD.encode(der)}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let nonce = STANDARD.decode(challenge["nonce"].as_str().context("nonce")?)?;
    let sig: Signature = key.sign(&nonce);
    let session: Value = http
        .post(format!("{base}/auth/session"))
        .json(&json!({"challenge_id": challenge["challenge_id"], "signature": STANDARD.encode(sig.to_der().as_bytes())}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["session_token"]
        .as_str()
        .context("token")?
        .to_string();
    let role = &profile.role_profiles.first().context("role")?.id;
    http.put(format!("{base}/auth/session/role"))
        .bearer_auth(&token)
        .json(&json!({"role_profile_id": role}))
        .send()
        .await?
        .error_for_status()?;
    Ok(token)
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
    base: Arc<String>,
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
    for _ in 0..clients {
        let (http, base, token, work, errors, counter) = (
            http.clone(),
            base.clone(),
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
async fn main() -> anyhow::Result<()> {
    scr_spine::server::install_crypto_provider();
    let args = Args::parse();
    let ca = std::fs::read(args.data.join("ca/ca.pem")).context("CA certificate")?;
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .pool_max_idle_per_host(max_clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = Arc::new(args.base.trim_end_matches('/').to_string());
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
    let token = Arc::new(sign_in(&http, &base, &identities.join(identity)).await?);
    // Warm the connection pool and the store's caches (not for uploads: each is used once).
    if matches!(work, Work::Get { .. }) {
        let warm = run(
            http.clone(),
            base.clone(),
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
            base.clone(),
            token.clone(),
            work.clone(),
            *c,
            args.seconds,
            true,
        )
        .await?;
    }
    Ok(())
}

//! Faults the spine must come through: its own process killed mid-upload, PostgreSQL
//! restarted under load, PostgreSQL's disk filling, and a flood from another address while a
//! clinician reads. Each ends with `scr-spine audit verify` on the trail.

use std::io::BufRead;

use futures_util::StreamExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use reqwest::{Method, StatusCode};
use scr_model::fhir::{upload_bundle, Upload};
use scr_model::{AllergyState, NhsNumber};
use scr_spine::store::Store;
use sqlx::Row;

use crate::audit_chain::verify_data;
use crate::disk_full::{fill, mount_small, Unmount};
use crate::harness::{
    error_code, fresh_database_in, fresh_postgres_database, prepared_data, Backend, Identity,
    SpineClient, TestSpine,
};
use crate::pg_cluster::PrivateCluster;
use crate::upload::{patient_at_a81001_in, summary_with_allergy};

/// The spine binary serving a data folder, as an operator runs it.
struct SpineProcess {
    child: Child,
    client: SpineClient,
}

impl SpineProcess {
    fn start(data: &Path, database: Option<&str>) -> SpineProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("spine-process.log"))
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scr-spine"));
        cmd.args(["serve", "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some(db) = database {
            cmd.args(["--database", db]);
        }
        let mut child = cmd.spawn().expect("start scr-spine serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the listening line, then drains stdout so the spine never blocks on it.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = line.strip_prefix("scr-spine listening on https://") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let log =
                    std::fs::read_to_string(data.join("spine-process.log")).unwrap_or_default();
                panic!("the spine did not start listening: {log}")
            });
        SpineProcess {
            child,
            client: SpineClient::new(data, addr.parse().expect("address")),
        }
    }

    /// SIGKILL: no shutdown, no flush, as a crash or an OOM kill.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }
}

async fn post_upload(client: &SpineClient, token: &str, body: Vec<u8>) -> (StatusCode, String) {
    let (status, outcome) = client
        .call(Method::POST, "/FHIR/R4", Some(token), &[], Some(body))
        .await;
    (status, error_code(&outcome))
}

/// The first allergy's substance in the stored summary (what a clinician would be shown).
async fn held_substance(store: &Store, nhs: NhsNumber) -> Option<String> {
    let (_, summary, _) = store
        .summary_view(nhs)
        .await
        .expect("read")
        .expect("patient");
    match summary?.allergies {
        AllergyState::Known { allergies } => allergies.first().map(|a| a.substance.display.clone()),
        _ => None,
    }
}

async fn upload_rows(store: &Store, bundle_id: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM uploads WHERE bundle_id = $1")
        .bind(bundle_id)
        .fetch_one(store.read_pool())
        .await
        .expect("count uploads")
        .try_get("n")
        .expect("n")
}

/// Kills the spine at points spread over an upload's life — with half the body sent, and
/// 0 to 20 ms after the whole body (racing the transaction) — then restarts it and checks
/// that the upload is wholly applied or wholly absent, that the trail verifies, and that a
/// retry of the same Bundle applies once.
async fn killed_mid_upload(backend: Backend) {
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => match fresh_postgres_database().await {
            Some(db) => Some(db),
            None => return,
        },
    };
    let db = database.as_deref();
    let dir = prepared_data(db, None).await;
    let data = dir.path();
    let config = scr_spine::setup::config_for(data, database.clone()).expect("config");
    let store = scr_spine::setup::open_store(data, &config)
        .await
        .expect("store");
    let patient = patient_at_a81001_in(&store, false).await;
    let nhs = patient.nhs_number;
    let gp_card = Identity::load(&data.join("identities/gp-system"));

    let mut spine = SpineProcess::start(data, db);
    // Sessions live in the store, so the GP system's survives the restarts.
    let gp = spine.client.sign_in(&gp_card, None).await;
    let mut held = held_substance(&store, nhs).await;
    let mut applied_before_retry = 0;
    for round in 0..10u32 {
        let substance = format!("Kill test substance {round}");
        let mut summary = summary_with_allergy(&substance);
        // Each round's summary is newer than the last, so none is refused as older.
        summary.provenance.last_updated = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 9, round, 0)
            .single();
        let upload = Upload {
            bundle_id: format!("kill-{round}"),
            patient: patient.clone(),
            summary: Some(summary),
            consent: None,
            care: Vec::new(),
        };
        let body = serde_json::to_vec(&upload_bundle(&upload)).expect("json");

        let request = {
            let mut req = spine
                .client
                .http
                .post(format!("{}/FHIR/R4", spine.client.base))
                .bearer_auth(&gp)
                .header("content-type", "application/fhir+json");
            req = if round % 3 == 0 {
                // Half the body, then silence: the spine is killed while it waits for the rest.
                let half = body[..body.len() / 2].to_vec();
                let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(half)])
                    .chain(futures_util::stream::pending());
                req.body(reqwest::Body::wrap_stream(chunks))
            } else {
                req.body(body.clone())
            };
            tokio::spawn(req.send())
        };
        let delay = if round % 3 == 0 {
            300
        } else {
            u64::from(round) * 2
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        spine.kill();
        let acknowledged = matches!(
            tokio::time::timeout(Duration::from_secs(10), request).await,
            Ok(Ok(Ok(ref r))) if r.status() == StatusCode::OK
        );

        spine = SpineProcess::start(data, db);
        let rows = upload_rows(&store, &upload.bundle_id).await;
        let now_held = held_substance(&store, nhs).await;
        assert!(
            rows <= 1,
            "round {round}: the upload is recorded {rows} times"
        );
        if rows == 1 {
            assert_eq!(
                now_held.as_deref(),
                Some(substance.as_str()),
                "round {round}: recorded as applied but the summary was not replaced"
            );
            applied_before_retry += 1;
        } else {
            assert!(
                !acknowledged,
                "round {round}: acknowledged, then lost in the crash"
            );
            assert_eq!(
                now_held, held,
                "round {round}: not recorded, yet the summary changed (half applied)"
            );
        }
        let (code, report) = verify_data(data, db);
        assert_eq!(code, 0, "round {round}: {report}");

        // The GP system retries, as it does after any failed send: applied exactly once.
        let (status, outcome) = post_upload(&spine.client, &gp, body.clone()).await;
        let expected = if rows == 1 {
            "ALREADY_APPLIED"
        } else {
            "STORED"
        };
        assert_eq!(
            (status, outcome.as_str()),
            (StatusCode::OK, expected),
            "round {round}"
        );
        let (status, outcome) = post_upload(&spine.client, &gp, body).await;
        assert_eq!(
            (status, outcome.as_str()),
            (StatusCode::OK, "ALREADY_APPLIED"),
            "round {round}"
        );
        assert_eq!(upload_rows(&store, &upload.bundle_id).await, 1);
        held = held_substance(&store, nhs).await;
        assert_eq!(held.as_deref(), Some(substance.as_str()));
    }
    eprintln!("killed mid-upload ({backend:?}): 10 kills, {applied_before_retry} had committed before the kill");
    spine.kill();
    let (code, report) = verify_data(data, db);
    assert_eq!(code, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_sqlite() {
    killed_mid_upload(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_postgres() {
    killed_mid_upload(Backend::Postgres).await;
}

/// What clinicians' reads got while a fault was on.
#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    unavailable: AtomicUsize,
    other: Mutex<Vec<String>>,
}

/// `readers` clinicians reading summaries in a loop until `stop`.
fn read_load(
    spine: &Arc<TestSpine>,
    token: &str,
    patients: &[NhsNumber],
    readers: usize,
    stop: &Arc<AtomicBool>,
    tally: &Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..readers)
        .map(|r| {
            let (spine, stop, tally) = (spine.clone(), stop.clone(), tally.clone());
            let token = token.to_string();
            let patients = patients.to_vec();
            tokio::spawn(async move {
                let mut i = r;
                while !stop.load(Ordering::Relaxed) {
                    i += readers;
                    let nhs = patients[i % patients.len()].as_digits();
                    // The sample includes patients the doctor's hospital has no record of:
                    // the claim covers them (and is ignored for the rest).
                    let (status, body) = spine
                        .summary_saying(
                            &nhs,
                            &token,
                            &[
                                ("X-Access-Reason", "permission-to-view"),
                                ("X-Legitimate-Relationship", "self-claimed"),
                            ],
                        )
                        .await;
                    match status {
                        StatusCode::OK => tally.ok.fetch_add(1, Ordering::Relaxed),
                        StatusCode::SERVICE_UNAVAILABLE => {
                            tally.unavailable.fetch_add(1, Ordering::Relaxed)
                        }
                        other => {
                            tally
                                .other
                                .lock()
                                .expect("tally")
                                .push(format!("{other}: {body}"));
                            0
                        }
                    };
                }
            })
        })
        .collect()
}

async fn successful_reads_recorded(store: &Store) -> i64 {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM audit WHERE action = 'summary-read' AND outcome = 'success'",
    )
    .fetch_one(store.read_pool())
    .await
    .expect("count")
    .try_get("n")
    .expect("n")
}

/// Polls reads until one succeeds; the time it took.
async fn until_a_read_succeeds(spine: &TestSpine, token: &str, nhs: NhsNumber) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = spine
            .summary(&nhs.as_digits(), token, Some("permission-to-view"))
            .await;
        match status {
            StatusCode::OK => return started.elapsed(),
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("while recovering: {other} {body}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the spine did not recover: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_gives_503s_then_recovers_with_the_chain_intact() {
    let parent = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(
        parent.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let Some(cluster) = PrivateCluster::start_in(parent.path(), &[]) else {
        return;
    };
    let database = fresh_database_in(&cluster.url).await;
    let spine =
        Arc::new(TestSpine::start_in(Backend::Postgres, Some(database), None, |_| {}).await);
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patients = spine
        .store()
        .sample_patients(true, 40)
        .await
        .expect("sample");

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let readers = read_load(&spine, &doctor, &patients, 8, &stop, &tally);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = tally.ok.load(Ordering::Relaxed);
    // The database restarts (a fast shutdown ends every connection) and stays down 7 s:
    // longer than the store's 5 s wait for a connection, so reads are answered 503 then.
    cluster.stop();
    tokio::time::sleep(Duration::from_secs(7)).await;
    cluster.start();
    let recovery = until_a_read_succeeds(&spine, &doctor, patients[0]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader");
    }
    let other = tally.other.lock().expect("tally").clone();
    let (ok, unavailable) = (
        tally.ok.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
    );
    eprintln!(
        "PostgreSQL restart under load: {before} reads before, {ok} in all, {unavailable} answered 503, recovered {recovery:?} after the restart"
    );
    assert!(
        other.is_empty(),
        "answers other than 200 and 503: {other:?}"
    );
    assert!(unavailable > 0, "no read saw the database down");
    assert!(ok > before, "reads did not resume after the restart");

    // Every summary released has its entry (the recovery probe's read too). An entry may
    // exist for a read answered 503, if the commit landed as the connection died.
    let recorded = successful_reads_recorded(spine.store()).await as usize;
    let released = ok + 1;
    assert!(
        recorded >= released && recorded <= released + unavailable,
        "{recorded} entries for {released} reads released"
    );
    spine.running.audit.flush().await.expect("flush");
    let (code, report) = verify_data(spine.data(), spine.database.as_deref());
    assert_eq!(code, 0, "{report}");
    match Arc::try_unwrap(spine) {
        Ok(spine) => spine.stop().await,
        Err(_) => panic!("a reader still holds the spine"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_disk_filling_gives_503s_loses_no_entry_and_recovers_without_a_spine_restart() {
    let mount = tempfile::tempdir().expect("mount point");
    if !mount_small(mount.path(), 160) {
        assert!(
            std::env::var("SCR_REQUIRE_POSTGRES").is_err(),
            "scripts/test runs as root and must be able to mount a tmpfs"
        );
        eprintln!("cannot mount a tmpfs here (not root): PostgreSQL disk-full test skipped");
        return;
    }
    let _unmount = Unmount(mount.path());
    std::fs::set_permissions(
        mount.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    // 1 MiB WAL segments so the cluster fits a small disk.
    let Some(cluster) = PrivateCluster::start_in(mount.path(), &["--wal-segsize=1"]) else {
        return;
    };
    let database = fresh_database_in(&cluster.url).await;
    let spine = TestSpine::start_in(Backend::Postgres, Some(database), None, |c| {
        // This test signs in thousands of times from one card on purpose.
        c.sign_in_per_certificate_per_minute = 100_000;
        c.sign_in_per_address_per_minute = 100_000;
    })
    .await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patients = spine
        .store()
        .sample_patients(true, 50)
        .await
        .expect("sample");

    let filler = fill(mount.path());
    let mut released = 0usize;
    let mut refused = 0usize;
    for i in 0..50_000 {
        let nhs = patients[i % patients.len()];
        let (status, body) = spine
            .summary(&nhs.as_digits(), &doctor, Some("permission-to-view"))
            .await;
        match status {
            StatusCode::OK => released += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                if refused >= 5 {
                    break;
                }
            }
            other => panic!(
                "PostgreSQL's disk full must give 503, not {other}: {body}\n{}",
                cluster.log_tail()
            ),
        }
    }
    assert!(
        refused >= 5,
        "the disk never filled ({released} reads released)"
    );
    // Writes outside the audit path meet the full disk too: sign-in challenges (one row
    // each) until the table cannot grow, each a clear 503 the card's client retries.
    let doctor_card = spine.identity("doctor").cert_der;
    let mut challenge_refused = None;
    for _ in 0..5_000 {
        let (status, body) = spine.try_challenge(&doctor_card).await;
        match status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                challenge_refused = Some(error_code(&body));
                break;
            }
            other => panic!("a sign-in on a full database disk gave {other}: {body}"),
        }
    }
    assert_eq!(
        challenge_refused.as_deref(),
        Some("SERVICE_UNAVAILABLE"),
        "the challenge table never met the full disk"
    );

    // Space returns. PostgreSQL may have stopped itself on a failed WAL write; an operator
    // (here the test) starts it again. The spine itself is not restarted.
    std::fs::remove_file(&filler).expect("free space");
    let database_stopped = !cluster.is_running();
    if database_stopped {
        cluster.start();
    }
    let recovery = until_a_read_succeeds(&spine, &doctor, patients[0]).await;
    released += 1;
    eprintln!(
        "PostgreSQL disk full: {released} reads released, {refused} refused with 503; PostgreSQL {} ; reads resumed {recovery:?} after space returned",
        if database_stopped { "had stopped and was started again" } else { "stayed up" }
    );

    // No acknowledged entry was lost: every summary released has its entry.
    let recorded = successful_reads_recorded(spine.store()).await as usize;
    assert!(
        recorded >= released && recorded <= released + refused,
        "{recorded} entries for {released} reads released"
    );
    spine.running.audit.flush().await.expect("flush");
    let (code, report) = verify_data(spine.data(), spine.database.as_deref());
    assert_eq!(code, 0, "{report}");
    spine.stop().await;
}

/// A client bound to another loopback address (an attacker's host).
fn client_from(spine: &TestSpine, address: &str) -> reqwest::Client {
    let ca = std::fs::read(spine.data().join("ca/ca.pem")).expect("CA");
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA PEM"))
        .local_address(address.parse::<std::net::IpAddr>().expect("address"))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn audit_rows(store: &Store) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM audit")
        .fetch_one(store.read_pool())
        .await
        .expect("count")
        .try_get("n")
        .expect("n")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_flood_from_one_address_leaves_clinicians_reading() {
    let spine = Arc::new(
        TestSpine::start_configured(Backend::Sqlite, |c| c.max_connections_per_address = 32)
            .await
            .expect("spine"),
    );
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0]
        .as_digits();
    let mut baseline = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let (status, _) = spine
            .summary(&nhs, &doctor, Some("permission-to-view"))
            .await;
        assert_eq!(status, StatusCode::OK);
        baseline.push(t.elapsed());
    }
    let rows_before = audit_rows(spine.store()).await;

    // 96 attackers on 127.0.0.2 for 6 s (bounded; loopback only): half send junk bearer
    // tokens, half ask for sign-in challenges with a garbage certificate.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..96)
        .map(|a| {
            let http = client_from(&spine, "127.0.0.2");
            let base = spine.base.clone();
            let path = format!("/FHIR/R4/Patient/{nhs}/$summary");
            let (stop, answered, dropped) = (stop.clone(), answered.clone(), dropped.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let req = if a % 2 == 0 {
                        http.get(format!("{base}{path}")).bearer_auth("not-a-token")
                    } else {
                        http.post(format!("{base}/auth/challenge"))
                            .header("content-type", "application/json")
                            .body(r#"{"certificate":"bm90IGEgY2VydGlmaWNhdGU="}"#)
                    };
                    match req.send().await {
                        Ok(r) if r.status().is_client_error() || r.status().is_server_error() => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("an anonymous request was answered {}", r.status()),
                        Err(_) => {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            })
        })
        .collect();

    // The clinician reads on; every read succeeds; the cap holds for the attacker's address.
    let started = Instant::now();
    let mut during = Vec::new();
    let mut most_open = 0;
    while started.elapsed() < Duration::from_secs(6) {
        let t = Instant::now();
        let (status, body) = spine
            .summary(&nhs, &doctor, Some("permission-to-view"))
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a clinician's read failed in the flood: {body}"
        );
        during.push(t.elapsed());
        most_open = most_open.max(spine.running.connections.open());
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.await.expect("attacker");
    }
    spine.running.audit.flush().await.expect("flush");
    let rows_added = audit_rows(spine.store()).await - rows_before;
    let answered = answered.load(Ordering::Relaxed);
    baseline.sort();
    during.sort();
    eprintln!(
        "flood from 127.0.0.2: {answered} anonymous requests refused, {} connections dropped at the cap; \
         clinician: {} reads, p50 {:?} p99 {:?} (before the flood p50 {:?} p99 {:?}); \
         {rows_added} audit rows added; at most {most_open} connections open",
        dropped.load(Ordering::Relaxed),
        during.len(),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        percentile(&baseline, 0.5),
        percentile(&baseline, 0.99),
    );
    assert!(
        answered > 500,
        "the flood was too small to show anything: {answered}"
    );
    assert!(
        most_open <= 32 + 2,
        "the per-address cap held the attacker to 32 connections: {most_open} open"
    );
    // The clinician's reads are chained one each; the flood only as counted entries.
    let clinician_reads = during.len() as i64;
    assert!(
        rows_added <= clinician_reads + 10,
        "{rows_added} rows for {clinician_reads} reads and a counted flood"
    );
    match Arc::try_unwrap(spine) {
        Ok(spine) => spine.stop().await,
        Err(_) => panic!("an attacker still holds the spine"),
    }
}

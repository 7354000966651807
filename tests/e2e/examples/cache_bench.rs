//! `scripts/bench cache`: the offline cache (crates/scr-cache) with real `$summary`
//! documents, and the card step of an offline unlock through pcscd with a virtual card.
//! Prints figures; asserts nothing.
//!
//! - open one cached summary: `CacheStore::get` (SQLite read + XChaCha20-Poly1305 open),
//!   `parse_document`, `SummaryView::from_document` — what the app does for an offline view,
//!   and the same with the audit record the app queues first (a second fsync'd write);
//! - list 100 entries (`CacheStore::list`: every entry opened for its label);
//! - write one entry (`CacheStore::put`: seal, one transaction, WAL with synchronous=FULL on
//!   a real file, so each write includes fsync);
//! - the card step of an offline unlock (`prove_and_agree`: VERIFY, sign a nonce, ECDH 9D),
//!   the whole unlock as the app runs it, and a bare ECDH on a verified card.
//!
//! The 100 bundles are fetched from a seeded spine in this process (HTTPS on loopback) by a
//! signed-in doctor, exactly as the app receives them; the largest real-world IPS document
//! in ../shared/interop/ips is timed as well.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use scr_cache::{CacheStore, CacheUser, NewEntry, Retention, Secret, UserHeader, UserKey};
use scr_client::{OfflineTarget, SpineClient, Timeouts, CARD_STEP_TIMEOUT};

/// The open target (p99, excluding the card operation).
const OPEN_TARGET_MS: f64 = 5.0;
const PASSCODE: &str = "246810";
static AUDIT_IDS: AtomicU64 = AtomicU64::new(0);

fn micros(d: Duration) -> u64 {
    d.as_micros().try_into().unwrap_or(u64::MAX)
}

fn hist() -> Histogram<u64> {
    Histogram::<u64>::new(3).expect("a histogram with 3 significant figures")
}

fn p99_ms(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.99) as f64 / 1000.0
}

fn report(name: &str, h: &Histogram<u64>) {
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name:<58} p50 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms   (n={})",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.len()
    );
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn kib(n: usize) -> f64 {
    n as f64 / 1024.0
}

/// One summary as the app would cache it.
struct Cached {
    nhs: String,
    label: String,
    bundle: Vec<u8>,
}

fn label_of(bundle: &[u8]) -> String {
    let doc = scr_model::fhir::parse_document(bundle).expect("the bundle parses");
    let view = scr_app::SummaryView::from_document(
        &doc,
        scr_app::offline::instant(now_ms()),
        false,
        scr_app::offline::instant(now_ms()),
    );
    serde_json::to_string(&view.patient).expect("the patient view serialises")
}

/// The largest document in ../shared/interop/ips that the parser reads (name, bytes).
fn largest_ips() -> Option<(String, Vec<u8>)> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/interop/ips");
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.len(), p)))
        .collect();
    files.sort();
    files.into_iter().rev().find_map(|(_, p)| {
        let bytes = std::fs::read(&p).ok()?;
        scr_model::fhir::parse_document(&bytes).ok()?;
        let name = p.file_name()?.to_string_lossy().into_owned();
        Some((name, bytes))
    })
}

/// Opens `nhs` as the app's offline view does (`get`, then parse and shape), timing each
/// step into `h` = [get, parse, view, total]. With `audit`, the view is first queued for
/// the spine's audit trail, as `OfflineCache::open_for_view` does.
fn open_once(
    store: &mut CacheStore,
    key: &UserKey,
    nhs: &str,
    audit: bool,
    h: &mut [Histogram<u64>; 4],
) {
    let start = Instant::now();
    let now = now_ms();
    let found = store
        .get(key, nhs, now)
        .expect("the cache opens")
        .expect("the entry is there");
    if audit {
        let id = format!("{now}-{}", AUDIT_IDS.fetch_add(1, Ordering::Relaxed));
        let record = serde_json::to_vec(&serde_json::json!({
            "id": id, "nhs_number": found.nhs_number, "reason": found.reason,
            "viewed_at_ms": now, "fetched_at_ms": found.fetched_at_ms,
        }))
        .expect("the audit record serialises");
        store
            .queue_audit(key, &id, &record)
            .expect("the audit record is queued");
    }
    let got = Instant::now();
    let doc = scr_model::fhir::parse_document(&found.bundle).expect("the cached bundle parses");
    let parsed = Instant::now();
    let view = scr_app::SummaryView::from_document(
        &doc,
        scr_app::offline::instant(found.fetched_at_ms),
        found.reason == "emergency",
        scr_app::offline::instant(now),
    );
    let done = Instant::now();
    std::hint::black_box(&view);
    for (h, d) in h
        .iter_mut()
        .zip([got - start, parsed - got, done - parsed, done - start])
    {
        h.record(micros(d)).expect("a duration in range");
    }
}

fn put_once(store: &mut CacheStore, key: &UserKey, c: &Cached, h: &mut Histogram<u64>) {
    let now = now_ms();
    let start = Instant::now();
    store
        .put(
            key,
            &NewEntry {
                nhs_number: &c.nhs,
                label: &c.label,
                reason: "permission-to-view",
                fetched_at_ms: now,
                viewed_at_ms: now,
                bundle: &c.bundle,
            },
        )
        .expect("the entry is written");
    h.record(micros(start.elapsed()))
        .expect("a duration in range");
}

/// What one flush costs on this disk by itself, to read the write figures against.
fn fsync_probe(dir: &Path, runs: u32) -> anyhow::Result<Histogram<u64>> {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let mut h = hist();
    for _ in 0..runs {
        file.write_all(&[0u8; 4096])?;
        let start = Instant::now();
        file.sync_data()?;
        h.record(micros(start.elapsed()))?;
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(h)
}

fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU")
        .to_string();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|k| k / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!(
        "machine: {cores} cores, {model}, {mem_gib:.0} GiB, Linux {}",
        kernel.trim()
    )
}

/// Waits for pcscd to notice the card and returns its authentication certificate.
async fn wait_for_card(reader: &str) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match scr_client::read_authentication_certificate(reader, CARD_STEP_TIMEOUT).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => {
                anyhow::bail!("the virtual card did not appear in {reader}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn cache_dir() -> anyhow::Result<tempfile::TempDir> {
    // The app keeps its cache under the user's data directory; a temporary directory
    // beside it (or SCR_BENCH_CACHE_DIR) is on the same disk, so fsync costs the same.
    let base = std::env::var_os("SCR_BENCH_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new()
        .prefix("scr-cache-bench")
        .tempdir_in(base)?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let runs = env_number("SCR_BENCH_RUNS", 1000);
    let card_runs = env_number("SCR_BENCH_CARD_RUNS", 200);
    let reader_index = u16::try_from(env_number("SCR_BENCH_READER", 0)).unwrap_or(0);
    let reader = format!("Virtual PCD 00 {reader_index:02}");

    // A seeded spine on loopback and a doctor signed in with the virtual card.
    let data = tempfile::tempdir()?;
    let dir = data.path();
    let spine = scr_demo::setup::start_seeded(dir, 200, 7).await?;
    let base = format!("https://localhost:{}", spine.addr.port());
    let ca = std::fs::read(dir.join("ca/ca.pem"))?;
    let client = SpineClient::new(&base, &ca, Timeouts::default())?;
    let card = scr_vcard::insert(&scr_vcard::CardConfig::new(
        dir.join("identities/doctor"),
        reader_index,
    ))?;
    let auth_certificate = wait_for_card(&reader).await?;
    let signed = scr_client::sign_in(
        &client,
        Some(&reader),
        scr_card::Passcode::new(PASSCODE.into())?,
        CARD_STEP_TIMEOUT,
    )
    .await?;
    let role = signed
        .role_profiles
        .iter()
        .find(|r| r.allows(scr_model::Activity::B0370))
        .ok_or_else(|| anyhow::anyhow!("the doctor has no role that may read summaries"))?;
    client.select_role(&signed.token, &role.id).await?;

    let mut cached = Vec::new();
    for nhs in spine.store.sample_patients(true, 200).await? {
        if cached.len() == 100 {
            break;
        }
        let path = format!("Patient/{}/$summary", nhs.as_digits());
        let Ok(bundle) = client
            .fhir_get_raw(
                &signed.token,
                &path,
                &[("X-Access-Reason", "permission-to-view")],
            )
            .await
        else {
            continue; // dissented since, say: not something the app would cache
        };
        cached.push(Cached {
            nhs: nhs.as_digits(),
            label: label_of(&bundle),
            bundle,
        });
    }
    anyhow::ensure!(cached.len() == 100, "only {} summaries", cached.len());
    let mut sizes: Vec<usize> = cached.iter().map(|c| c.bundle.len()).collect();
    sizes.sort_unstable();

    // The user's key as an online sign-in sets it up: a header against the card's 9D key
    // and a device secret (the keyring's part; random here).
    let km_certificate = signed
        .certificates
        .key_management
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the doctor's card has no 9D certificate"))?;
    let km_public = scr_card::piv::certificate_public_key(&km_certificate)?;
    let device = Secret::random();
    let (header, card_secret) =
        UserHeader::create(&signed.user.user_id, &km_public.into(), &device);
    let key = header.user_key(&card_secret, &device)?;
    let cache_home = cache_dir()?;
    let cache_file = cache_home.path().join(scr_app::offline::CACHE_FILE);
    let mut store = CacheStore::open(&cache_file, Retention::default())?;
    store.replace_user(
        &CacheUser {
            header: header.clone(),
            auth_certificate: auth_certificate.clone(),
            user_name: signed.user.name.clone(),
            idle_timeout_secs: 900,
        },
        &scr_card::certificate_fingerprint(&auth_certificate),
    )?;

    let fsync = fsync_probe(cache_home.path(), runs)?;
    let mut put_new = hist();
    for c in &cached {
        put_once(&mut store, &key, c, &mut put_new);
    }

    // Open: each of the 100 in turn, `runs` times in all.
    let mut open = [hist(), hist(), hist(), hist()];
    let mut open_audited = [hist(), hist(), hist(), hist()];
    for i in 0..runs as usize {
        open_once(&mut store, &key, &cached[i % 100].nhs, false, &mut open);
    }
    for i in 0..runs as usize {
        open_once(
            &mut store,
            &key,
            &cached[i % 100].nhs,
            true,
            &mut open_audited,
        );
    }

    let mut list = hist();
    for _ in 0..runs {
        let start = Instant::now();
        let (entries, altered) = store.list(&key, now_ms())?;
        list.record(micros(start.elapsed()))?;
        anyhow::ensure!(
            entries.len() == 100 && altered == 0,
            "list: {}",
            entries.len()
        );
    }

    // Writes: each of the 100 replaced in turn (seal, upsert, prune, commit with fsync).
    let mut put = hist();
    for i in 0..runs as usize {
        put_once(&mut store, &key, &cached[i % 100], &mut put);
    }

    // The card: offline unlock as the app runs it, its card step alone, and a bare ECDH.
    let peer = header.ephemeral_public_key()?;
    let (mut read_cert, mut prove, mut unlock) = (hist(), hist(), hist());
    for _ in 0..card_runs {
        let start = Instant::now();
        let certificate =
            scr_client::read_authentication_certificate(&reader, CARD_STEP_TIMEOUT).await?;
        let read = Instant::now();
        let user = store
            .user_for_certificate(&scr_card::certificate_fingerprint(&certificate))?
            .ok_or_else(|| anyhow::anyhow!("the user is not set up"))?;
        let target = OfflineTarget {
            recorded_certificate: user.auth_certificate.clone(),
            peer: user.header.ephemeral_public_key()?,
        };
        let before_card = Instant::now();
        let agreed = scr_client::prove_and_agree(
            &reader,
            scr_card::Passcode::new(PASSCODE.into())?,
            target,
            CARD_STEP_TIMEOUT,
        )
        .await?;
        let proved = Instant::now();
        let unlocked = user
            .header
            .user_key(&Secret::from_bytes(agreed.expose())?, &device)?;
        let (entries, _) = store.list(&unlocked, now_ms())?;
        let done = Instant::now();
        anyhow::ensure!(entries.len() == 100, "unlock listed {}", entries.len());
        read_cert.record(micros(read - start))?;
        prove.record(micros(proved - before_card))?;
        unlock.record(micros(done - start))?;
    }
    let bare_reader = reader.clone();
    let bare_runs = card_runs;
    let ecdh = tokio::task::spawn_blocking(move || -> anyhow::Result<Histogram<u64>> {
        let (_ctx, mut connection) = scr_card::reader::open(&bare_reader)?;
        let passcode = scr_card::Passcode::new(PASSCODE.into())?;
        let h = connection.with_piv(|piv| {
            piv.verify(&passcode)?;
            let mut h = hist();
            for _ in 0..bare_runs {
                let start = Instant::now();
                let secret = piv.ecdh(&peer)?;
                let _ = h.record(micros(start.elapsed()));
                std::hint::black_box(&secret);
            }
            Ok(h)
        })?;
        connection.close();
        Ok(h)
    })
    .await??;

    // The largest real-world IPS document, as if it had been cached (evicts one entry).
    let ips = largest_ips();
    let mut ips_put = hist();
    let mut ips_list = hist();
    let mut ips_open = [hist(), hist(), hist(), hist()];
    if let Some((_, bytes)) = &ips {
        let c = Cached {
            nhs: "ips-largest".into(),
            label: label_of(bytes),
            bundle: bytes.clone(),
        };
        let ips_runs = (runs / 5).max(10);
        for _ in 0..ips_runs {
            put_once(&mut store, &key, &c, &mut ips_put);
        }
        for _ in 0..ips_runs {
            open_once(&mut store, &key, &c.nhs, false, &mut ips_open);
        }
        for _ in 0..ips_runs {
            let start = Instant::now();
            let (entries, _) = store.list(&key, now_ms())?;
            ips_list.record(micros(start.elapsed()))?;
            std::hint::black_box(&entries);
        }
    }
    let file_size = std::fs::metadata(&cache_file).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(cache_file.with_extension("sqlite-wal"))
            .map(|m| m.len())
            .unwrap_or(0);

    println!(
        "cache bench: release build; cache file on disk at {} (WAL, synchronous=FULL)",
        cache_home.path().display()
    );
    println!(
        "  100 `$summary` Bundles from a seeded spine (200 patients, seed 7): {:.1} / {:.1} / {:.1} KiB min / median / max",
        kib(sizes[0]),
        kib(sizes[sizes.len() / 2]),
        kib(sizes[sizes.len() - 1])
    );
    if let Some((name, bytes)) = &ips {
        println!(
            "  largest IPS the parser reads: {name}, {:.0} KiB",
            kib(bytes.len())
        );
    }
    println!(
        "  cache file after the run: {:.0} KiB (with WAL)",
        kib(usize::try_from(file_size).unwrap_or(usize::MAX))
    );
    let [get, parse, view, total] = &open;
    report("open: get (SQLite read + decrypt)", get);
    report("open: parse_document", parse);
    report("open: SummaryView::from_document", view);
    report(
        &format!("open one cached summary (target p99 ≤ {OPEN_TARGET_MS} ms)"),
        total,
    );
    report(
        "open as the app does (+ queue the audit record, fsync)",
        &open_audited[3],
    );
    report("list 100 entries (each opened for its label)", &list);
    report("bare fdatasync of a 4 KiB write on this disk", &fsync);
    report(
        "write one new entry (seal + transaction, incl. fsync)",
        &put_new,
    );
    report(
        "write one entry, replacing (seal + transaction, fsync)",
        &put,
    );
    if ips.is_some() {
        report("largest IPS: open (get + parse + view)", &ips_open[3]);
        report("largest IPS: of which get (read + decrypt)", &ips_open[0]);
        report("largest IPS: of which parse_document", &ips_open[1]);
        report("largest IPS: write (incl. fsync)", &ips_put);
        report("list 100 entries, one of them the largest IPS", &ips_list);
    }
    println!("card, through pcscd + vpcd ({reader}, in-process virtual card):");
    report(
        "read the 9A certificate (offline sign-in's first step)",
        &read_cert,
    );
    report("prove_and_agree (VERIFY, sign nonce, ECDH; reset)", &prove);
    report("offline unlock: card read → key → list of 100", &unlock);
    report("bare ECDH on a verified card (one APDU)", &ecdh);
    println!(
        "open p99 {:.3} ms ÷ {OPEN_TARGET_MS} ms target = {:.3}; largest IPS open p99 ÷ target = {:.2}",
        p99_ms(total),
        p99_ms(total) / OPEN_TARGET_MS,
        if ips.is_some() {
            p99_ms(&ips_open[3]) / OPEN_TARGET_MS
        } else {
            f64::NAN
        }
    );
    println!("{}", machine());

    card.remove();
    client.end_session(&signed.token).await?;
    spine.shutdown().await?;
    Ok(())
}

//! `scripts/bench app`: the desktop app in its real window under Xvfb, driven through
//! tauri-driver. Prints figures; asserts nothing.
//!
//! - cold start: WebDriver asks for the app → "Insert your smartcard" painted (5 runs);
//! - NHS number submitted → reason screen, and reason given → allergy section painted,
//!   timed inside the page (performance.now(), after two animation frames) over 50
//!   patients of a spine seeded with SCR_BENCH_PATIENTS (default 900 000) on loopback;
//! - resident memory of the app process and of its WebKit processes after those 50.

use std::time::Instant;

use scr_e2e::*;

/// A field (kB) of `/proc/PID/<file>`: `VmRSS` from `status`, `Pss` from `smaps_rollup`
/// (PSS charges shared libraries pro rata, so WebKit's shared mappings are not counted
/// once per process).
fn mem_kib(pid: u32, file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// (pid, parent pid, command line) of every process.
fn processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let ppid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse().ok())
            })
            .unwrap_or(0);
        out.push((pid, ppid, cmd));
    }
    out
}

/// Memory of the app process and of the WebKit processes it started, in MiB.
#[derive(Clone, Copy)]
struct Memory {
    app_rss: f64,
    webkit_rss: f64,
    app_pss: f64,
    webkit_pss: f64,
}

fn memory() -> Memory {
    let procs = processes();
    let viewer = procs
        .iter()
        .find(|(_, _, cmd)| cmd.contains("scr-viewer") && cmd.contains("--config"))
        .map(|(pid, _, _)| *pid);
    let measure = |file: &str, field: &str| match viewer {
        Some(pid) => {
            let children: u64 = procs
                .iter()
                .filter(|(_, ppid, cmd)| *ppid == pid && cmd.contains("WebKit"))
                .map(|(p, _, _)| mem_kib(*p, file, field))
                .sum();
            (mem_kib(pid, file, field), children)
        }
        None => (0, 0),
    };
    let (app_rss, webkit_rss) = measure("status", "VmRSS:");
    let (app_pss, webkit_pss) = measure("smaps_rollup", "Pss:");
    let mib = |k: u64| k as f64 / 1024.0;
    Memory {
        app_rss: mib(app_rss),
        webkit_rss: mib(webkit_rss),
        app_pss: mib(app_pss),
        webkit_pss: mib(webkit_pss),
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    println!(
        "{name:<52} p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms   (n={})",
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN),
        v.len()
    );
}

const FIND: &str = r#"
const [nhs, done] = arguments;
const start = performance.now();
const input = document.getElementById('nhs-number');
input.value = nhs;
const wait = () => {
  if (document.getElementById('reason-form')) {
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));
  } else { setTimeout(wait, 1); }
};
document.getElementById('nhs-form').requestSubmit();
wait();
"#;

const SUMMARY: &str = r#"
const done = arguments[0];
document.getElementById('reason-permission').checked = true;
const start = performance.now();
const wait = () => {
  if (document.getElementById('allergies')) {
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));
  } else { setTimeout(wait, 1); }
};
document.getElementById('reason-form').requestSubmit();
wait();
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let patients: u32 = std::env::var("SCR_BENCH_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(900_000);
    let seeding = Instant::now();
    let Some(rig) = Rig::start_seeded("bench", patients, |_| {}).await else {
        anyhow::bail!("prerequisites missing (see above)");
    };
    println!(
        "seeded {patients} patients in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );
    let sample = rig
        .spine
        .as_ref()
        .map(|s| s.store.clone())
        .ok_or_else(|| anyhow::anyhow!("no spine"))?
        .sample_patients(true, 5000)
        .await?;
    // 50 patients spread over the population.
    let step = (sample.len() / 50).max(1);
    let chosen: Vec<String> = sample
        .iter()
        .step_by(step)
        .take(50)
        .map(|n| n.as_digits())
        .collect();

    let mut cold = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let app = rig.launch().await;
        app.wait_text("h1", "Insert your smartcard", 30).await;
        let _ = app
            .client()
            .execute_async("const d = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => d(1)));", vec![])
            .await;
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
        app.close().await;
    }

    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
    let before = memory();
    let (mut find, mut summary, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for nhs in &chosen {
        let f = app
            .client()
            .execute_async(FIND, vec![serde_json::json!(nhs)])
            .await?;
        let s = app.client().execute_async(SUMMARY, vec![]).await?;
        let (f, s) = (
            f.as_f64().unwrap_or(f64::NAN),
            s.as_f64().unwrap_or(f64::NAN),
        );
        find.push(f);
        summary.push(s);
        total.push(f + s);
        app.click("#find-another").await;
        app.wait("#nhs-number", 10).await;
    }
    let after = memory();
    app.close().await;

    println!("app bench: release build, Xvfb, tauri-driver; spine with {patients} patients on loopback (same 2 cores)");
    report(
        "cold start → \"Insert your smartcard\" painted (target ≤ 2000)",
        cold,
    );
    report("NHS number submitted → reason screen painted", find);
    report("reason given → allergy section painted", summary);
    report(
        "NHS number → allergies painted, excluding the reason (≤ 300)",
        total,
    );
    for (when, m) in [
        ("signed in, before any summary", before),
        ("after 50 summaries", after),
    ] {
        println!(
            "memory {when:<30} RSS app {:>4.0} MiB + WebKit {:>4.0} MiB;  PSS app {:>4.0} MiB + WebKit {:>4.0} MiB = {:>4.0} MiB",
            m.app_rss, m.webkit_rss, m.app_pss, m.webkit_pss, m.app_pss + m.webkit_pss
        );
    }
    println!("(target: the app ≤ 250 MB resident after 50 summaries)");
    Ok(())
}

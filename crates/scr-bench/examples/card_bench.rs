//! `scripts/bench card`: sign-in and card-removal timings through pcscd with a virtual
//! card and an in-process spine on loopback. Prints figures; asserts nothing.
//!
//! - sign-in: card inserted (the virtual card connects to vpcd) → role list returned,
//!   split into "pcscd notices the card" and "PIV + HTTPS sign-in".
//! - removal: card pulled → `SessionEvent::Ended` delivered.

use std::time::{Duration, Instant};

use scr_client::{CardSession, SessionEvent, SpineClient, Timeouts};

fn micros(d: Duration) -> u64 {
    d.as_micros().try_into().unwrap_or(u64::MAX)
}

fn report(name: &str, h: &hdrhistogram::Histogram<u64>) {
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name:<44} p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms   (n={})",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let runs: u32 = std::env::var("SCR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let data = tempfile::tempdir()?;
    let dir = data.path();
    let spine = scr_demo::setup::start_seeded(dir, 100, 7).await?;
    let base = format!("https://localhost:{}", spine.addr.port());
    let ca = std::fs::read(dir.join("ca/ca.pem"))?;
    let client = SpineClient::new(&base, &ca, Timeouts::default())?;
    let (session, mut events) = CardSession::new(client);
    let _watcher = session.watch_cards()?;
    let identity = dir.join("identities/doctor");
    let reader = "Virtual PCD 00 00";

    let new_hist = || hdrhistogram::Histogram::<u64>::new(3);
    let (mut seen, mut flow, mut total, mut removal) =
        (new_hist()?, new_hist()?, new_hist()?, new_hist()?);
    // pcscd polls vpcd readers every 400 ms; a random pause before each insertion and
    // removal keeps the runs from falling into step with that poll.
    let pause = || Duration::from_millis(rand::random::<u64>() % 400);
    for _ in 0..runs {
        tokio::time::sleep(pause()).await;
        let inserted = Instant::now();
        let card = scr_vcard::insert(&scr_vcard::CardConfig::new(&identity, 0))?;
        session
            .wait_for_card(Some(reader), Duration::from_secs(5))
            .await?;
        let noticed = Instant::now();
        let passcode = scr_card::Passcode::new("246810".into())?;
        let signed = session.sign_in(reader, passcode).await?;
        let done = Instant::now();
        anyhow::ensure!(!signed.role_profiles.is_empty(), "no role profiles");
        seen.record(micros(noticed - inserted))?;
        flow.record(micros(done - noticed))?;
        total.record(micros(done - inserted))?;

        tokio::time::sleep(pause()).await;
        while events.try_recv().is_ok() {}
        let pulled = Instant::now();
        card.remove();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Some(SessionEvent::Ended { .. })) => break,
                Ok(Some(_)) => continue,
                _ => anyhow::bail!("no SessionEnded within 5 s of removal"),
            }
        }
        removal.record(micros(pulled.elapsed()))?;
        // Let the revocation finish before the next run.
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Some(SessionEvent::Revoked { .. })) => break,
                Ok(Some(_)) => continue,
                _ => anyhow::bail!("no revocation within 5 s"),
            }
        }
    }
    println!("card bench: {runs} runs through pcscd + vpcd, spine on loopback (same 2 cores)");
    report("insert → pcscd reports the card", &seen);
    report("card seen → role list (PIV + HTTPS sign-in)", &flow);
    report("insert → role list (target p99 ≤ 1000 ms)", &total);
    report("removal → SessionEnded (target p99 ≤ 500 ms)", &removal);
    spine.shutdown().await?;
    Ok(())
}

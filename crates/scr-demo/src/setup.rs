//! `seed` and `start_seeded`: a data folder filled with the synthetic population and the demo
//! identities, for the `scr-demo seed` command, the demo script, the tests and the benchmarks.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use scr_spine::pki::CertificateAuthority;
use scr_spine::setup::{config_for, init, open_store};

use crate::identities::create_demo_identities;

/// Seeds the population (unless the store already has one) and issues the demo identities.
pub async fn seed(
    data: &Path,
    patients: u32,
    seed: u64,
    database: Option<String>,
) -> anyhow::Result<Vec<PathBuf>> {
    if patients > scr_model::NhsNumber::TEST_NUMBERS {
        anyhow::bail!(
            "at most {} synthetic patients fit in the 999 test range of NHS numbers (it holds about 909 000 valid numbers); asked for {patients}",
            scr_model::NhsNumber::TEST_NUMBERS
        );
    }
    let config = config_for(data, database)?;
    let ca = CertificateAuthority::load(&data.join("ca"))
        .context("loading the CA (run `scr-spine init` first)")?;
    let store = open_store(data, &config).await?;
    let existing = store.patient_count().await?;
    let started = Instant::now();
    let practices = if existing > 0 {
        println!("the store already holds {existing} patients; not seeding again");
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        crate::seed::practices(existing as u32, &mut rng)
    } else {
        let mut last_report = Instant::now();
        let practices = crate::seed::seed_population(&store, patients, seed, |done| {
            if last_report.elapsed().as_secs() >= 5 || done == patients {
                println!(
                    "  seeded {done}/{patients} patients ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
        })
        .await?;
        println!(
            "seeded {patients} patients in {:.1} s ({:.0} patients/s)",
            started.elapsed().as_secs_f64(),
            f64::from(patients) / started.elapsed().as_secs_f64().max(0.001)
        );
        practices
    };
    let first = practices.first().context("no practices")?;
    let folders = create_demo_identities(data, &ca, &store, &first.ods, &first.name).await?;
    store.close().await;
    println!("identities (key.pem, cert.pem, profile.json with passcode and role profiles):");
    for f in &folders {
        println!("  {}", f.display());
    }
    Ok(folders)
}

/// For tests and benchmarks: `init` + `seed` in `data`, then serve on a free loopback port
/// (certificate for `localhost` and `127.0.0.1`), SQLite. The app and the clients reach it
/// at `https://localhost:{addr.port()}` trusting `data/ca/ca.pem`.
pub async fn start_seeded(
    data: &Path,
    patients: u32,
    seed_value: u64,
) -> anyhow::Result<scr_spine::server::RunningSpine> {
    init(data, &["localhost".into(), "127.0.0.1".into()], None).await?;
    seed(data, patients, seed_value, None).await?;
    let mut config = config_for(data, None)?;
    config.listen = "127.0.0.1:0".into();
    scr_spine::server::start(data, config).await
}

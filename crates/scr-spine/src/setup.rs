//! `init` and `seed`: shared by the CLI, the demo and the tests.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::config::{SpineConfig, CONFIG_FILE};
use crate::identities::create_demo_identities;
use crate::pki::{write_file, write_secret, CertificateAuthority};
use crate::store::Store;

/// The data directory's config with a database override applied.
pub fn config_for(data: &Path, database: Option<String>) -> anyhow::Result<SpineConfig> {
    let mut config = SpineConfig::load(data)?;
    if database.is_some() {
        config.database = database;
    }
    Ok(config)
}

/// Opens the store, brings its schema up to date, and names the data folder's CA as the
/// issuer of certificates recorded before issuers were.
pub async fn open_store(data: &Path, config: &SpineConfig) -> anyhow::Result<Store> {
    let url = config.database_url(data);
    let store = Store::open_with(&url, config.store_options())
        .await
        .with_context(|| format!("opening the store at {}", crate::store::redact_url(&url)))?;
    let ca_path = config.resolve(data, &config.ca_cert);
    if let Ok(pem) = std::fs::read_to_string(&ca_path) {
        let issuer = crate::pki::TrustAnchor::from_pem(&pem)?.issuer_key();
        store.claim_unattributed_certificates(&issuer).await?;
    }
    Ok(store)
}

pub async fn init(data: &Path, hosts: &[String], database: Option<String>) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let ca_dir = data.join("ca");
    let ca = if ca_dir.join("ca-key.pem").exists() {
        println!("CA already present in {}", ca_dir.display());
        CertificateAuthority::load(&ca_dir)?
    } else {
        let ca = CertificateAuthority::create("SCR Viewer Development CA")?;
        ca.save(&ca_dir)?;
        ca
    };
    let mut config = config_for(data, None)?;
    if database.is_some() {
        config.database = database;
    }
    let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let server = ca.issue_server(&host_refs)?;
    write_file(&config.resolve(data, &config.tls_cert), &server.cert_pem)?;
    write_secret(&config.resolve(data, &config.tls_key), &server.key_pem)?;
    let config_path = data.join(CONFIG_FILE);
    if !config_path.exists() {
        write_file(&config_path, &config.to_toml())?;
    }
    let store = open_store(data, &config).await?;
    store.close().await;
    println!("initialised {}", data.display());
    println!("  config      {}", config_path.display());
    println!("  CA          {}", ca_dir.join("ca.pem").display());
    println!(
        "  store       {}",
        crate::store::redact_url(&config.database_url(data))
    );
    Ok(())
}

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
) -> anyhow::Result<crate::server::RunningSpine> {
    init(data, &["localhost".into(), "127.0.0.1".into()], None).await?;
    seed(data, patients, seed_value, None).await?;
    let mut config = config_for(data, None)?;
    config.listen = "127.0.0.1:0".into();
    crate::server::start(data, config).await
}

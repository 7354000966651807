//! Opening a data folder (its config, its store) and `init`: the operator's set-up, shared by
//! the CLI, the demo and the tests. Seeding synthetic patients and demo identities is not
//! here: that is `scr-demo`, which production never links.

use std::path::Path;

use anyhow::Context;

use crate::config::{SpineConfig, CONFIG_FILE};
use crate::pki::{write_file, write_secret, CertificateAuthority};
use crate::store::Store;

/// Logs of the command-line tools (`scr-spine`, `scr-demo`): stderr, so stdout stays for
/// what scripts read (the listening address, reports); the level from `SCR_LOG` (default
/// `info`); colour only on a terminal.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCR_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

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

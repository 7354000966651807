//! `scr-spine`: operators', the demo's and the tests' entry point. Seeding the synthetic
//! population is `scr-demo seed` (crates/scr-demo): the service binary carries no demo data.

use clap::{Parser, Subcommand};
use scr_spine::audit::{verify_chain_against, AuditEntry, ChainReport};
use scr_spine::checkpoint::CheckpointLog;
use scr_spine::setup::{config_for, open_store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scr-spine",
    version,
    about = "The central Summary Care Record service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the store, a development CA, the server's TLS certificate and a config file.
    Init {
        #[arg(long, env = "SCR_DATA")]
        data: PathBuf,
        /// Host names and addresses for the server certificate.
        #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1,::1")]
        hosts: Vec<String>,
        /// PostgreSQL URL to use instead of the SQLite file (written to the config).
        #[arg(long)]
        database: Option<String>,
    },
    /// Serve the HTTPS API until interrupted.
    Serve {
        #[arg(long, env = "SCR_DATA")]
        data: PathBuf,
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        database: Option<String>,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Smartcard certificates: list them, revoke a lost or stolen card.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// Every registered certificate: issuer, serial, holder, state, live sessions.
    List {
        #[arg(long, env = "SCR_DATA")]
        data: PathBuf,
        #[arg(long)]
        database: Option<String>,
    },
    /// Revoke a certificate: sign-in with it is refused and its live sessions end at once.
    /// Recorded in the audit trail.
    Revoke {
        #[arg(long, env = "SCR_DATA")]
        data: PathBuf,
        #[arg(long)]
        database: Option<String>,
        /// The certificate's serial number (hex, as `card list` shows it).
        #[arg(long)]
        serial: String,
        /// The issuer (hex, or its first digits as `card list` shows them); needed only when
        /// certificates from two issuers share the serial.
        #[arg(long)]
        issuer: Option<String>,
        /// Why (lost, stolen, left the organisation…); kept in the audit entry.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and name the first broken entry.
    Verify {
        #[arg(long, env = "SCR_DATA")]
        data: PathBuf,
        #[arg(long)]
        database: Option<String>,
    },
}

async fn audit_verify(data: &Path, database: Option<String>) -> anyhow::Result<bool> {
    let config = config_for(data, database)?;
    let checkpoints = match CheckpointLog::read(data) {
        Ok(log) => log,
        Err(e) => {
            println!("audit chain BROKEN (checkpoint log tampered): {e}");
            return Ok(false);
        }
    };
    let store = open_store(data, &config).await?;
    let report = verify_chain_against(&store, checkpoints.as_ref()).await?;
    store.close().await;
    match report {
        ChainReport::Intact { entries } => {
            match checkpoints.as_ref().and_then(CheckpointLog::latest) {
                Some(c) => println!(
                    "audit chain intact: {entries} entries; agrees with {} signed checkpoints (latest at entry {})",
                    checkpoints.as_ref().map_or(0, |l| l.checkpoints.len()),
                    c.seq
                ),
                None => println!(
                    "audit chain intact: {entries} entries (no signed checkpoint yet: removal of the newest entries could not be seen)"
                ),
            }
            Ok(true)
        }
        ChainReport::Broken {
            seq,
            breach,
            problem,
        } => {
            println!(
                "audit chain BROKEN at entry {seq} ({}): {problem}",
                breach.label()
            );
            Ok(false)
        }
    }
}

async fn card_list(data: &Path, database: Option<String>) -> anyhow::Result<bool> {
    let config = config_for(data, database)?;
    let store = open_store(data, &config).await?;
    let rows = store.certificates().await?;
    store.close().await;
    println!(
        "{:<16} {:<34} {:<14} {:<8} {:>5}  holder",
        "issuer", "serial", "user", "state", "live"
    );
    for r in rows {
        println!(
            "{:<16} {:<34} {:<14} {:<8} {:>5}  {}",
            r.id.issuer.get(..16).unwrap_or(&r.id.issuer),
            r.id.serial_hex,
            r.user_id,
            if r.revoked { "revoked" } else { "active" },
            r.live_sessions,
            r.name
        );
    }
    Ok(true)
}

async fn card_revoke(
    data: &Path,
    database: Option<String>,
    serial: &str,
    issuer: Option<&str>,
    reason: &str,
) -> anyhow::Result<bool> {
    let config = config_for(data, database)?;
    let store = open_store(data, &config).await?;
    let serial = serial.trim().to_ascii_lowercase();
    let issuer = issuer.map(|i| i.trim().to_ascii_lowercase());
    let matching: Vec<_> = store
        .certificates()
        .await?
        .into_iter()
        .filter(|c| c.id.serial_hex == serial)
        .filter(|c| {
            issuer
                .as_ref()
                .is_none_or(|i| c.id.issuer.starts_with(i.as_str()))
        })
        .collect();
    let holder = match matching.as_slice() {
        [one] => one.clone(),
        [] => {
            store.close().await;
            println!("no registered certificate has serial {serial}; nothing revoked");
            return Ok(false);
        }
        several => {
            store.close().await;
            println!(
                "{} certificates from different issuers have serial {serial}; nothing revoked. Name one with --issuer:",
                several.len()
            );
            for c in several {
                println!("  --issuer {}  ({}, {})", c.id.issuer, c.name, c.user_id);
            }
            return Ok(false);
        }
    };
    let Some(ended) = store.revoke_certificate(&holder.id).await? else {
        store.close().await;
        println!("no registered certificate has serial {serial}; nothing revoked");
        return Ok(false);
    };
    // Who revoked is the operator at this console; the entry names the card's holder, the
    // serial and the reason.
    let operator = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "operator".into());
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let entry = AuditEntry {
        user_id: Some(holder.user_id.clone()),
        user_name: Some(holder.name.clone()),
        role_code: None,
        org_ods: None,
        patient: None,
        action: scr_model::AuditAction::CardRevoke,
        reason: None,
        outcome: scr_model::AuditOutcome::Success,
        detail: Some(format!(
            "certificate={} sessions_ended={ended} by={operator} reason={reason}",
            holder.id
        )),
        alert: true,
        offline: None,
        relationship: None,
        justification: None,
        alerts: Vec::new(),
        alert_org: None,
    };
    let recorded = scr_spine::audit::append_now(&store, &[entry]).await;
    store.close().await;
    recorded?;
    println!(
        "revoked {} ({}, {}); {ended} live session(s) ended",
        holder.id, holder.name, holder.user_id
    );
    Ok(true)
}

#[tokio::main]
async fn main() -> ExitCode {
    scr_spine::setup::init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init {
            data,
            hosts,
            database,
        } => scr_spine::setup::init(&data, &hosts, database)
            .await
            .map(|_| true),
        Command::Serve {
            data,
            listen,
            database,
        } => match config_for(&data, database) {
            Ok(mut config) => {
                if let Some(l) = listen {
                    config.listen = l;
                }
                scr_spine::server::serve_until_signal(&data, config)
                    .await
                    .map(|_| true)
            }
            Err(e) => Err(e),
        },
        Command::Audit {
            command: AuditCommand::Verify { data, database },
        } => audit_verify(&data, database).await,
        Command::Card {
            command: CardCommand::List { data, database },
        } => card_list(&data, database).await,
        Command::Card {
            command:
                CardCommand::Revoke {
                    data,
                    database,
                    serial,
                    issuer,
                    reason,
                },
        } => card_revoke(&data, database, &serial, issuer.as_deref(), &reason).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("scr-spine: {e:#}");
            ExitCode::from(2)
        }
    }
}

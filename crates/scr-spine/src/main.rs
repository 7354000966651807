//! `scr-spine`: operators', the demo's and the tests' entry point.

use clap::{Parser, Subcommand};
use scr_spine::audit::{verify_chain, ChainReport};
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
    /// Seed a deterministic synthetic population and the demo identities.
    Seed {
        #[arg(long, env = "SCR_DATA")]
        data: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        patients: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
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
    let store = open_store(data, &config).await?;
    let report = verify_chain(&store).await?;
    store.close().await;
    match report {
        ChainReport::Intact { entries } => {
            println!("audit chain intact: {entries} entries");
            Ok(true)
        }
        ChainReport::Broken { seq, problem } => {
            println!("audit chain BROKEN at entry {seq}: {problem}");
            Ok(false)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCR_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init {
            data,
            hosts,
            database,
        } => scr_spine::setup::init(&data, &hosts, database)
            .await
            .map(|_| true),
        Command::Seed {
            data,
            patients,
            seed,
            database,
        } => seed_cmd(&data, patients, seed, database).await,
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

async fn seed_cmd(
    data: &Path,
    patients: u32,
    s: u64,
    database: Option<String>,
) -> anyhow::Result<bool> {
    scr_spine::setup::seed(data, patients, s, database)
        .await
        .map(|_| true)
}

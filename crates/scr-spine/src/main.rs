//! `scr-spine`: operators', the demo's and the tests' entry point. Seeding the synthetic
//! population is `scr-demo seed` (crates/scr-demo): the service binary carries no demo data.

use clap::{Parser, Subcommand};
use scr_spine::audit::{verify_chain_against, ChainReport};
use scr_spine::checkpoint::CheckpointLog;
use scr_spine::registration::{console, NewRoleProfile};
use scr_spine::setup::{config_for, open_store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Smartcards: issue one to a user, list them, revoke a lost or stolen card.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// Users (registration authority): register one, list them.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Role profiles (registration authority): add one to a user, remove one, list a user's.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
}

/// The data folder and an optional database override, as every store command takes them.
#[derive(clap::Args)]
struct DataArgs {
    #[arg(long, env = "SCR_DATA")]
    data: PathBuf,
    #[arg(long)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Register a user (recorded in the audit trail as `user-register`).
    Add {
        #[command(flatten)]
        at: DataArgs,
        /// Their SDS user id (12 digits).
        #[arg(long)]
        user: String,
        /// Their name as it appears on their card and in the audit trail.
        #[arg(long)]
        name: String,
    },
    /// Every registered user: id, role profiles held, active cards, name.
    List {
        #[command(flatten)]
        at: DataArgs,
    },
}

#[derive(Subcommand)]
enum RoleCommand {
    /// Give a user a role profile: a role at an organisation with its activities (recorded
    /// as `role-add`).
    Add {
        #[command(flatten)]
        at: DataArgs,
        #[arg(long)]
        user: String,
        /// The SDS job role code, e.g. R8000 (RA-AGENT is this service's local RA role).
        #[arg(long)]
        code: String,
        /// The role's name, e.g. "Clinical Practitioner Access Role".
        #[arg(long)]
        name: String,
        /// The organisation's ODS code.
        #[arg(long)]
        org_ods: String,
        #[arg(long)]
        org_name: String,
        /// Activity codes, comma-separated: B0264, B0370, B0168, B0015, B0016, B0020, B0098,
        /// GP-UPLOAD, RA-MANAGE.
        #[arg(long, value_delimiter = ',', required = true)]
        activities: Vec<String>,
        /// The profile's id (default: USER-CODE-ODS, lowercase).
        #[arg(long)]
        id: Option<String>,
    },
    /// Take a role profile from a user; sessions acting in it must choose another role
    /// (recorded as `role-remove`).
    Remove {
        #[command(flatten)]
        at: DataArgs,
        #[arg(long)]
        user: String,
        /// The role profile's id, as `role list` shows it.
        #[arg(long)]
        id: String,
    },
    /// A user's role profiles.
    List {
        #[command(flatten)]
        at: DataArgs,
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// Issue a card to a registered user: new 9A (sign-in) and 9D (key management) keys and
    /// certificates from the data folder's CA, registered to the user and written to OUT
    /// (key.pem, cert.pem, km-key.pem, km-cert.pem, profile.json) for the virtual card.
    /// Recorded as `card-issue`.
    Issue {
        #[command(flatten)]
        at: DataArgs,
        #[arg(long)]
        user: String,
        /// An empty (or new) folder for the card's files; the keys are written nowhere else.
        #[arg(long)]
        out: PathBuf,
        /// The card's passcode, 6 to 8 digits (default: 6 random digits, in profile.json).
        #[arg(long)]
        passcode: Option<String>,
    },
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

async fn card(command: CardCommand) -> anyhow::Result<bool> {
    match command {
        CardCommand::Issue {
            at,
            user,
            out,
            passcode,
        } => console::card_issue(&at.data, at.database, &user, &out, passcode.as_deref()).await,
        CardCommand::List { data, database } => console::card_list(&data, database).await,
        CardCommand::Revoke {
            data,
            database,
            serial,
            issuer,
            reason,
        } => console::card_revoke(&data, database, &serial, issuer.as_deref(), &reason).await,
    }
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
        Command::Card { command } => card(command).await,
        Command::User { command } => match command {
            UserCommand::Add { at, user, name } => {
                console::user_add(&at.data, at.database, &user, &name).await
            }
            UserCommand::List { at } => console::user_list(&at.data, at.database).await,
        },
        Command::Role { command } => match command {
            RoleCommand::Add {
                at,
                user,
                code,
                name,
                org_ods,
                org_name,
                activities,
                id,
            } => {
                let new = NewRoleProfile {
                    id,
                    role_code: code,
                    role_name: name,
                    org_ods,
                    org_name,
                    activities,
                };
                console::role_add(&at.data, at.database, &user, &new).await
            }
            RoleCommand::Remove { at, user, id } => {
                console::role_remove(&at.data, at.database, &user, &id).await
            }
            RoleCommand::List { at, user } => {
                console::role_list(&at.data, at.database, &user).await
            }
        },
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

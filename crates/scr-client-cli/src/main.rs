//! `scr-client`: smartcard sign-in from the command line, for the demo and for checking a
//! workstation's card set-up without the desktop app.
//!
//! ```text
//! scr-client readers
//! scr-client sign-in --spine https://localhost:8443 --ca ca.pem [--reader NAME] [--role ID] [--hold]
//! ```

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use scr_card::{Passcode, PcscContext};
use scr_client::{CardSession, SessionEvent, SpineClient, Timeouts};

#[derive(Parser)]
#[command(name = "scr-client", about = "Smartcard sign-in to the SCR spine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists smartcard readers and whether each holds a card.
    Readers,
    /// Signs in with the card and passcode and prints your role profiles.
    SignIn {
        /// The spine's base URL.
        #[arg(long, env = "SCR_SPINE_URL")]
        spine: String,
        /// The CA certificate (PEM) the spine's certificate must chain to; nothing else is trusted.
        #[arg(long, env = "SCR_CA_FILE")]
        ca: PathBuf,
        /// The reader to use (default: the first one holding a card).
        #[arg(long)]
        reader: Option<String>,
        /// Select this role profile after signing in.
        #[arg(long)]
        role: Option<String>,
        /// Read the passcode from standard input instead of prompting on the terminal.
        #[arg(long)]
        passcode_stdin: bool,
        /// How long to wait for a card to be inserted.
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
        /// Stay signed in until the card is removed, then report the session's end.
        #[arg(long)]
        hold: bool,
    },
}

fn read_passcode(from_stdin: bool) -> anyhow::Result<Passcode> {
    let typed = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let trimmed = line.trim().to_string();
        zeroize::Zeroize::zeroize(&mut line);
        trimmed
    } else {
        rpassword::prompt_password("Passcode: ")?
    };
    Ok(Passcode::new(typed)?)
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run());
    // A card that never answered leaves a thread blocked in pcscd; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Readers => {
            let ctx = PcscContext::establish()?;
            let readers = ctx.readers()?;
            if readers.is_empty() {
                println!("no smartcard readers");
            }
            for r in readers {
                let card = if r.card_present {
                    "card present"
                } else {
                    "no card"
                };
                println!("{}: {card}", r.name);
            }
            Ok(())
        }
        Command::SignIn {
            spine,
            ca,
            reader,
            role,
            passcode_stdin,
            wait_secs,
            hold,
        } => {
            let client = SpineClient::with_ca_file(&spine, &ca, Timeouts::default())?;
            let (session, mut events) = CardSession::new(client);
            let _watcher = session.watch_cards().context("starting the card watcher")?;
            eprintln!("Insert your smartcard…");
            let reader = session
                .wait_for_card(reader.as_deref(), Duration::from_secs(wait_secs))
                .await?;
            eprintln!("Card found in {reader}.");
            let passcode = read_passcode(passcode_stdin)?;
            let signed = session.sign_in(&reader, passcode).await?;
            println!(
                "Signed in as {} ({})",
                signed.user.name, signed.user.user_id
            );
            println!("Role profiles:");
            for p in &signed.role_profiles {
                println!(
                    "  {:<18} {} — {} ({})",
                    p.id, p.role_name, p.org_name, p.org_ods
                );
            }
            if let Some(role) = role {
                let chosen = session.select_role(&role).await?;
                println!(
                    "Acting as {} at {} ({})",
                    chosen.role_name, chosen.org_name, chosen.org_ods
                );
            }
            if hold {
                println!("Signed in; remove the card to end the session.");
                while let Some(event) = events.recv().await {
                    match event {
                        SessionEvent::Ended { reason } => {
                            println!("Session ended: {}", reason.message());
                        }
                        SessionEvent::Revoked { on_spine } => {
                            if on_spine {
                                println!("The spine has revoked the session.");
                            } else {
                                println!("The spine could not be told; the session is gone here and expires there.");
                            }
                            break;
                        }
                        SessionEvent::Reader(_) => {}
                    }
                }
            } else {
                session.end(scr_client::EndReason::SignedOut);
                while let Some(event) = events.recv().await {
                    if matches!(event, SessionEvent::Revoked { .. }) {
                        break;
                    }
                }
            }
            Ok(())
        }
    }
}

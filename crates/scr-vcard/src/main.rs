//! `scr-vcard`: insert a virtual PIV card into a vpcd reader, pull it out again, or reset
//! its passcode counter.
//!
//! `insert` runs until the card is removed: by `scr-vcard remove`, by Ctrl-C or by the
//! reader going away. Removal is signalled through a Unix socket per reader port in
//! `SCR_VCARD_RUN_DIR` (default `/tmp/scr-vcard`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scr_vcard::{CardConfig, Fault, RetryCounter, VPCD_BASE_PORT};

#[derive(Parser)]
#[command(
    name = "scr-vcard",
    about = "A virtual PIV smartcard for tests and the demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FaultArg {
    /// Answer every command after SELECT with well-framed nonsense.
    Garbage,
    /// Answer every command late (see --slow-ms).
    Slow,
    /// Disappear on the first GENERAL AUTHENTICATE (mid-signature).
    Drop,
    /// Be a card without the PIV application.
    NotPiv,
    /// Never answer a command (power and ATR requests still are): the card stays present
    /// and every exchange with it hangs until it is removed.
    Stall,
}

#[derive(clap::Args)]
struct ReaderArgs {
    /// Reader number: 0 is "Virtual PCD 00 00" on port 35963, 1 is "00 01" on 35964.
    #[arg(long, default_value_t = 0)]
    reader: u16,
    /// The vpcd port, if not the reader's default.
    #[arg(long)]
    port: Option<u16>,
}

impl ReaderArgs {
    fn port(&self) -> u16 {
        self.port.unwrap_or(VPCD_BASE_PORT + self.reader)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Inserts the card and serves it until it is removed.
    Insert {
        /// Identity folder (key.pem, cert.pem, km-key.pem, km-cert.pem, profile.json).
        #[arg(long)]
        identity: PathBuf,
        #[command(flatten)]
        reader: ReaderArgs,
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Passcode retry counter file (default: IDENTITY/card-state.json).
        #[arg(long)]
        state: Option<PathBuf>,
        #[arg(long, value_enum)]
        fault: Option<FaultArg>,
        #[arg(long, default_value_t = 8000)]
        slow_ms: u64,
    },
    /// Removes the card inserted in a reader by `insert`.
    Remove {
        #[command(flatten)]
        reader: ReaderArgs,
    },
    /// Resets the passcode retry counter (what a registration authority's unblock does).
    Reset {
        #[arg(long)]
        identity: PathBuf,
        #[arg(long)]
        state: Option<PathBuf>,
    },
}

fn control_socket(port: u16) -> PathBuf {
    let dir = std::env::var_os("SCR_VCARD_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/scr-vcard"));
    dir.join(format!("port-{port}.sock"))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Insert {
            identity,
            reader,
            host,
            state,
            fault,
            slow_ms,
        } => {
            let port = reader.port();
            let socket = control_socket(port);
            if UnixStream::connect(&socket).is_ok() {
                anyhow::bail!("a card is already inserted in the reader on port {port}");
            }
            if let Some(dir) = socket.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let _ = std::fs::remove_file(&socket);
            let listener = UnixListener::bind(&socket)
                .with_context(|| format!("binding {}", socket.display()))?;
            let config = CardConfig {
                identity,
                vpcd: std::net::SocketAddr::new(host, port),
                state_file: state,
                fault: match fault {
                    None => Fault::None,
                    Some(FaultArg::Garbage) => Fault::Garbage,
                    Some(FaultArg::Slow) => Fault::Slow(slow_ms),
                    Some(FaultArg::Drop) => Fault::DropOn(0x87),
                    Some(FaultArg::NotPiv) => Fault::NotPiv,
                    Some(FaultArg::Stall) => Fault::Stall,
                },
            };
            let card = scr_vcard::insert(&config)?;
            eprintln!("scr-vcard: card inserted in the reader on port {port}");
            // Wait for `remove`; the card's own thread ends if the reader goes away.
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let mut line = String::new();
                    let mut reader = BufReader::new(&stream);
                    if reader.read_line(&mut line).is_ok() && line.trim() == "remove" {
                        let _ = (&stream).write_all(b"removed\n");
                        let _ = done_tx.send(());
                        return;
                    }
                }
            });
            let _ = done_rx.recv();
            card.remove();
            let _ = std::fs::remove_file(&socket);
            eprintln!("scr-vcard: card removed from the reader on port {port}");
            Ok(())
        }
        Command::Remove { reader } => {
            let port = reader.port();
            let socket = control_socket(port);
            let mut stream = UnixStream::connect(&socket)
                .with_context(|| format!("no card inserted by scr-vcard on port {port}"))?;
            stream.write_all(b"remove\n")?;
            let mut answer = String::new();
            BufReader::new(&stream).read_line(&mut answer)?;
            println!("card removed from the reader on port {port}");
            Ok(())
        }
        Command::Reset { identity, state } => {
            let path = state.unwrap_or_else(|| identity.join("card-state.json"));
            let mut counter = match RetryCounter::load(&path) {
                Ok(counter) => counter,
                Err(_) => {
                    // A damaged file is replaced; that is what reset is for.
                    let _ = std::fs::remove_file(&path);
                    RetryCounter::load(&path)?
                }
            };
            counter.set(scr_vcard::PASSCODE_TRIES)?;
            println!("passcode tries reset to {}", scr_vcard::PASSCODE_TRIES);
            Ok(())
        }
    }
}

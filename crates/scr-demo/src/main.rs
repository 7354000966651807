//! `scr-demo`: fills a data folder that `scr-spine init` made with the synthetic population
//! and the demo identities (the demo script, the benchmarks).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "scr-demo",
    version,
    about = "Synthetic data for the SCR Viewer demo, tests and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
}

#[tokio::main]
async fn main() -> ExitCode {
    scr_spine::setup::init_logging();
    let result = match Cli::parse().command {
        Command::Seed {
            data,
            patients,
            seed,
            database,
        } => scr_demo::setup::seed(&data, patients, seed, database).await,
    };
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scr-demo: {e:#}");
            ExitCode::from(2)
        }
    }
}

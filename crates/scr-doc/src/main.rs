//! `scr-doc FILE`: reads a patient summary document (an IPS / FHIR document Bundle in JSON)
//! exactly as the viewer's "Open a document…" does, and prints it as text (or, with
//! `--json`, the window's data). A refused document prints its plain reason on stderr and
//! exits 2; a file that cannot be read exits 1. Nothing is sent anywhere or kept.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use scr_model::fhir::MAX_DOCUMENT_BYTES;

#[derive(Parser)]
#[command(
    name = "scr-doc",
    version,
    about = "Print a patient summary document (IPS / FHIR document Bundle, JSON) as the SCR Viewer reads it"
)]
struct Args {
    /// The document file (JSON).
    file: PathBuf,
    /// Print the viewer's data for the document screen as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let file = match std::fs::File::open(&args.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("scr-doc: {}: {e}", args.file.display());
            return ExitCode::from(1);
        }
    };
    // At most one byte past the limit is read: enough to refuse a larger file as too large
    // without reading it all.
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_DOCUMENT_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    if let Err(e) = file.take(limit).read_to_end(&mut bytes) {
        eprintln!("scr-doc: {}: {e}", args.file.display());
        return ExitCode::from(1);
    }
    let name = args.file.to_string_lossy();
    match scr_app::read_document(&bytes, &name, chrono::Utc::now()) {
        Ok(view) if args.json => match serde_json::to_string_pretty(&view) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("scr-doc: {e}");
                ExitCode::from(1)
            }
        },
        Ok(view) => {
            print!("{}", scr_doc::render(&view));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "scr-doc: {}: not opened: {}",
                args.file.display(),
                e.message
            );
            ExitCode::from(2)
        }
    }
}

//! The SCR Viewer desktop app: one window, thin commands over `scr_app::Viewer`, and two
//! events to the page: `card-status` (reader and card changes) and `session-ended` (card
//! pulled, reader gone, pcscd stopped, spine ended it). All logic is in `crates/`.

mod commands;
mod print;
mod state;

/// The handlers of the commands in `command_list.rs`, and their names (for the test that
/// keeps the capability file and the UI's calls to the same list).
macro_rules! app_commands {
    ($($name:ident),* $(,)?) => {
        fn command_handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$name),*]
        }

        #[cfg(test)]
        const COMMAND_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}
include!("command_list.rs");

use std::path::PathBuf;
use std::process::ExitCode;

use scr_app::{AppConfig, AppEvent, Viewer};
use tauri::{Emitter, Manager};

use crate::state::AppState;

/// `--config FILE` from the command line (else `SCR_CONFIG`, read by `AppConfig::load`).
fn config_arg() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

/// Loads settings and starts the viewer (with its card watcher and session events); on a
/// settings problem the app still opens and explains it.
fn start(app: &tauri::AppHandle) -> AppState {
    let config = match AppConfig::load(config_arg().as_deref()) {
        Ok(c) => c,
        Err(e) => return AppState::unconfigured(e.to_string()),
    };
    // Viewer::start spawns its tasks, so it runs inside the async runtime.
    let started = tauri::async_runtime::block_on(async { Viewer::start(&config) });
    let (viewer, mut events) = match started {
        Ok(v) => v,
        Err(e) => return AppState::unconfigured(e.message),
    };
    let window = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            // Emitting fails only when the window is gone, and then nobody is left to tell.
            let _ = match &event {
                AppEvent::CardStatus(status) => window.emit(event.name(), status),
                AppEvent::SessionEnded(ended) => window.emit(event.name(), ended),
            };
        }
    });
    AppState::configured(&config, viewer)
}

/// Opens the main window and runs until it closes.
pub fn run() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = tauri::Builder::default()
        .setup(|app| {
            let state = start(app.handle());
            app.manage(state);
            Ok(())
        })
        .invoke_handler(command_handler())
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scr-viewer could not start: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::COMMAND_NAMES;

    fn listed() -> BTreeSet<String> {
        COMMAND_NAMES.iter().map(|c| c.to_string()).collect()
    }

    /// The UI calls each command of the one list, and nothing that is not on it.
    #[test]
    fn the_ui_calls_exactly_the_listed_commands() {
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let text = std::fs::read_to_string(format!("{dir}/../ui/src/ipc.ts")).expect("ipc.ts");
        let called: BTreeSet<String> = text
            .split("call<")
            .skip(1)
            .filter_map(|rest| {
                let after = rest.split_once(">(\"")?.1;
                Some(after.split_once('"')?.0.to_string())
            })
            .collect();
        assert_eq!(called, listed(), "ui/src/ipc.ts and command_list.rs");
    }

    fn json(path: &str) -> Value {
        // Where cargo runs the test, not where it was compiled (clones share a target dir).
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let text = std::fs::read_to_string(format!("{dir}/{path}"))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The page may load nothing from outside the app: every CSP source is 'self', 'none',
    /// data: for images, or Tauri's own IPC.
    #[test]
    fn csp_allows_no_remote_content() {
        let conf = json("tauri.conf.json");
        let csp = conf["app"]["security"]["csp"]
            .as_str()
            .expect("a CSP is set");
        for directive in csp.split(';').map(str::trim).filter(|d| !d.is_empty()) {
            let mut parts = directive.split_whitespace();
            let name = parts.next().unwrap_or_default();
            for source in parts {
                let allowed = matches!(
                    source,
                    "'self'" | "'none'" | "ipc:" | "http://ipc.localhost"
                ) || (source == "data:" && name == "img-src");
                assert!(allowed, "{name} allows {source}");
            }
        }
        assert!(csp.contains("default-src 'self'"));
        assert!(csp.contains("object-src 'none'"));
    }

    /// The window may call the app's own commands and listen to its events; nothing else
    /// (no file system, shell, HTTP, opener), and no remote page may use IPC.
    #[test]
    fn capabilities_grant_only_the_apps_own_commands() {
        let cap = json("capabilities/main.json");
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
        assert!(cap.get("remote").is_none(), "no remote URL may use IPC");
        let granted: Vec<&str> = cap["permissions"]
            .as_array()
            .expect("permissions list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for p in &granted {
            let own = p.starts_with("allow-") && !p.contains(':');
            let events = matches!(*p, "core:event:allow-listen" | "core:event:allow-unlisten");
            assert!(own || events, "unexpected permission {p}");
        }
        // Each command of the one list (command_list.rs) is granted, and only those.
        let own: std::collections::BTreeSet<String> = granted
            .iter()
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        assert_eq!(own, listed(), "capabilities/main.json and command_list.rs");
    }
}

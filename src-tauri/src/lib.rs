//! The SCR Viewer desktop app. For now a window with the app's page; sign-in, search and the
//! summary arrive with the viewer issue, as thin commands over the `crates/` libraries.

use std::process::ExitCode;

/// Opens the main window and runs until it closes.
pub fn run() -> ExitCode {
    match tauri::Builder::default().run(tauri::generate_context!()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scr-viewer could not start: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

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

    /// Each window gets only what it uses; the placeholder page uses no IPC at all.
    #[test]
    fn capabilities_grant_nothing_unused() {
        let cap = json("capabilities/main.json");
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
        let granted = cap["permissions"].as_array().expect("permissions list");
        assert!(granted.is_empty(), "unexpected permissions {granted:?}");
        assert!(cap.get("remote").is_none(), "no remote URL may use IPC");
    }
}

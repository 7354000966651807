//! What the app holds for its lifetime: the viewer (or why it could not start).

use scr_app::{AppConfig, Viewer};

pub struct AppState {
    pub viewer: Option<Viewer>,
    pub config_error: Option<String>,
    pub spine_url: Option<String>,
    /// Where "Save as PDF" writes, if the settings name a folder.
    pub export_dir: Option<std::path::PathBuf>,
}

impl AppState {
    pub fn unconfigured(reason: String) -> AppState {
        AppState {
            viewer: None,
            config_error: Some(reason),
            spine_url: None,
            export_dir: None,
        }
    }

    pub fn configured(config: &AppConfig, viewer: Viewer) -> AppState {
        AppState {
            viewer: Some(viewer),
            config_error: None,
            spine_url: Some(config.spine_url.clone()),
            export_dir: config.export_dir.clone(),
        }
    }
}

//! What the app holds for its lifetime: the viewer (or why it could not start), and the
//! card watcher feeding it.

use scr_app::{AppConfig, Viewer};
use scr_card::ReaderWatcher;

pub struct AppState {
    pub viewer: Option<Viewer>,
    pub config_error: Option<String>,
    pub spine_url: Option<String>,
    /// Kept alive so the session keeps hearing about cards.
    pub _watcher: Option<ReaderWatcher>,
}

impl AppState {
    pub fn unconfigured(reason: String) -> AppState {
        AppState {
            viewer: None,
            config_error: Some(reason),
            spine_url: None,
            _watcher: None,
        }
    }

    pub fn configured(
        config: &AppConfig,
        viewer: Viewer,
        watcher: Option<ReaderWatcher>,
    ) -> AppState {
        AppState {
            viewer: Some(viewer),
            config_error: None,
            spine_url: Some(config.spine_url.clone()),
            _watcher: watcher,
        }
    }
}

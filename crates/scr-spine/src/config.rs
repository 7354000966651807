//! The spine's settings: built-in defaults, then `DIR/spine.toml`, then `SCR_*` environment
//! variables, then command-line flags. Paths in the file are relative to the data directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpineConfig {
    /// Address to listen on.
    pub listen: String,
    /// `sqlite://FILE` (default: the data directory's `spine.db`) or `postgres://…`.
    pub database: Option<String>,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub ca_cert: PathBuf,
    /// Sign-out after this long without a request (CIS2 leaves it to us; see DOMAIN.md).
    pub session_idle_secs: i64,
    /// Sign-out after this long whatever happens.
    pub session_absolute_secs: i64,
    /// How long a sign-in nonce stays valid.
    pub challenge_secs: i64,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub max_db_connections: u32,
}

impl Default for SpineConfig {
    fn default() -> Self {
        SpineConfig {
            listen: "127.0.0.1:8443".into(),
            database: None,
            tls_cert: "tls/server.pem".into(),
            tls_key: "tls/server-key.pem".into(),
            ca_cert: "ca/ca.pem".into(),
            session_idle_secs: 15 * 60,
            session_absolute_secs: 12 * 3600,
            challenge_secs: 60,
            max_body_bytes: scr_model::fhir::MAX_DOCUMENT_BYTES + 64 * 1024,
            request_timeout_secs: 15,
            max_db_connections: 8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("environment variable {name} is not valid: {message}")]
    Env { name: &'static str, message: String },
}

pub const CONFIG_FILE: &str = "spine.toml";

impl SpineConfig {
    /// Defaults → `DIR/spine.toml` (if present) → `SCR_*` environment.
    pub fn load(data_dir: &Path) -> Result<SpineConfig, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        let mut config = if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?
        } else {
            SpineConfig::default()
        };
        config.apply_env()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        fn number<T: std::str::FromStr>(name: &'static str) -> Result<Option<T>, ConfigError> {
            match std::env::var(name) {
                Ok(v) => v.parse().map(Some).map_err(|_| ConfigError::Env {
                    name,
                    message: "expected a number".into(),
                }),
                Err(_) => Ok(None),
            }
        }
        if let Ok(v) = std::env::var("SCR_LISTEN") {
            self.listen = v;
        }
        if let Ok(v) = std::env::var("SCR_DATABASE_URL") {
            self.database = Some(v);
        }
        if let Some(v) = number("SCR_SESSION_IDLE_SECS")? {
            self.session_idle_secs = v;
        }
        if let Some(v) = number("SCR_SESSION_ABSOLUTE_SECS")? {
            self.session_absolute_secs = v;
        }
        if let Some(v) = number("SCR_REQUEST_TIMEOUT_SECS")? {
            self.request_timeout_secs = v;
        }
        if let Some(v) = number("SCR_MAX_DB_CONNECTIONS")? {
            self.max_db_connections = v;
        }
        Ok(())
    }

    pub fn database_url(&self, data_dir: &Path) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", data_dir.join("spine.db").display()),
        }
    }

    pub fn resolve(&self, data_dir: &Path, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            data_dir.join(p)
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

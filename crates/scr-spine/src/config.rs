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
    /// A number the spine cannot work with (the file or the environment).
    #[error("the setting {0}")]
    OutOfRange(String),
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
        config.check().map_err(ConfigError::OutOfRange)?;
        Ok(config)
    }

    /// Settings text as `load` reads it from the file, checked, without the environment.
    pub fn from_toml(text: &str) -> Result<SpineConfig, ConfigError> {
        let config: SpineConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: CONFIG_FILE.into(),
            message: e.to_string(),
        })?;
        config.check().map_err(ConfigError::OutOfRange)?;
        Ok(config)
    }

    /// Every number within what the spine can use: durations are turned into milliseconds
    /// and added to the clock (`auth.rs`), so an unchecked `i64` would overflow there (a
    /// panic in a debug build, a wrapped expiry in a release one); zero or negative times
    /// would end every session or challenge at once; a pool needs at least one connection.
    pub fn check(&self) -> Result<(), String> {
        fn within(name: &str, env: &str, value: i64, min: i64, max: i64) -> Result<(), String> {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{name} (in {CONFIG_FILE} or {env}) must be from {min} to {max}; it is {value}"
                ))
            }
        }
        const DAY: i64 = 24 * 3600;
        within(
            "session_idle_secs",
            "SCR_SESSION_IDLE_SECS",
            self.session_idle_secs,
            1,
            DAY,
        )?;
        within(
            "session_absolute_secs",
            "SCR_SESSION_ABSOLUTE_SECS",
            self.session_absolute_secs,
            1,
            7 * DAY,
        )?;
        within(
            "challenge_secs",
            "no variable",
            self.challenge_secs,
            1,
            3600,
        )?;
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        within(
            "request_timeout_secs",
            "SCR_REQUEST_TIMEOUT_SECS",
            as_i64(self.request_timeout_secs),
            1,
            3600,
        )?;
        within(
            "max_db_connections",
            "SCR_MAX_DB_CONNECTIONS",
            i64::from(self.max_db_connections),
            1,
            1000,
        )?;
        within(
            "max_body_bytes",
            "no variable",
            as_i64(self.max_body_bytes as u64),
            1024,
            1 << 30,
        )?;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_the_check_and_round_trip() {
        let text = SpineConfig::default().to_toml();
        assert!(SpineConfig::from_toml(&text).is_ok(), "{text}");
    }

    /// Found while writing the settings fuzz target: `challenge_secs = 9223372036854775807`
    /// was accepted, and every `/auth/challenge` then overflowed `now + secs * 1000`.
    #[test]
    fn numbers_the_spine_cannot_use_are_refused() {
        for bad in [
            "challenge_secs = 9223372036854775807",
            "session_absolute_secs = 9223372036854775807",
            "session_idle_secs = -9223372036854775808",
            "session_idle_secs = 0",
            "request_timeout_secs = 3601",
            "max_db_connections = 0",
            "max_body_bytes = 0",
        ] {
            match SpineConfig::from_toml(bad) {
                Err(ConfigError::OutOfRange(m)) => {
                    let name = bad.split(' ').next().unwrap_or_default();
                    assert!(m.starts_with(name), "{bad}: {m}");
                }
                other => panic!("{bad}: expected a refusal, got {other:?}"),
            }
        }
        assert!(SpineConfig::from_toml("session_idle_secs = 60\nmax_db_connections = 1").is_ok());
    }

    #[test]
    fn load_checks_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "challenge_secs = 9223372036854775807\n",
        )
        .expect("write");
        assert!(matches!(
            SpineConfig::load(dir.path()),
            Err(ConfigError::OutOfRange(_))
        ));
    }
}

//! The spine's settings: built-in defaults, then `DIR/spine.toml`, then `SCR_*` environment
//! variables, then command-line flags. Paths in the file are relative to the data directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpineConfig {
    /// Address to listen on.
    pub listen: String,
    /// The origins clients reach this spine at (`https://spine.example.nhs.uk`). A card's
    /// sign-in signature names the origin the viewer talked to, and the spine accepts only
    /// these, so a sign-in relayed through another service fails. Empty (the default):
    /// every name in the TLS certificate at the listening port. Set it when a proxy or load
    /// balancer in front of the spine terminates TLS under names of its own.
    pub origins: Vec<String>,
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
    /// The largest GP upload body.
    pub max_body_bytes: usize,
    /// Each request is answered (or refused with 503) within this; below the client's own
    /// time-out (`scr_model::timing`).
    pub request_timeout_secs: u64,
    pub max_db_connections: u32,
    /// PostgreSQL `statement_timeout`; below the request deadline.
    pub statement_timeout_secs: u64,
    /// A connection that sends nothing for this long (idle between requests, or headers that
    /// do not arrive: slowloris) is closed.
    pub idle_connection_secs: u64,
    /// Open connections at once, in all; beyond it new connections are closed at once.
    pub max_connections: usize,
    /// Open connections at once from one address.
    pub max_connections_per_address: usize,
    /// Requests being worked on at once; beyond it requests get 503 with `Retry-After`.
    pub max_requests_in_flight: usize,
    /// Sign-in calls (`/auth/*`) one address may make per minute (a burst of this many).
    pub sign_in_per_address_per_minute: u32,
    /// Challenges one certificate may ask for per minute.
    pub sign_in_per_certificate_per_minute: u32,
    /// A signed checkpoint of the audit chain head after this many new entries…
    pub checkpoint_every_entries: u64,
    /// …or after this many seconds with new entries.
    pub checkpoint_every_secs: u64,
    /// Refusals of callers with no valid session are counted and written as one audit entry
    /// per kind every this many seconds, not one chained entry each.
    pub refusal_tally_secs: u64,
    /// Views of offline copies one user may report per 24 hours.
    pub offline_views_per_day: u32,
    /// A SQLite store refuses writes (503) when its disk has less than this free (MiB).
    pub min_free_disk_mib: u64,
    /// How many distinct patients a user and an organisation may open (`[volume_limits]`).
    pub volume_limits: VolumeLimits,
}

/// A soft limit (the summary is served with a warning and an alert is raised) and a hard
/// limit (refused, `VOLUME_LIMIT_REACHED`, and an alert): counts of distinct patients opened
/// in a window, this one included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeLimit {
    pub soft: u32,
    pub hard: u32,
}

/// The volume limits, per user and per organisation, per hour and per day. The defaults
/// are ours (the national service publishes none): an emergency department clinician sees
/// perhaps 20–30 patients in a 12-hour shift, so 30 different records in an hour is already
/// unusual and 60 is a walk through the population; an organisation's limits allow a large
/// trust's busy hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VolumeLimits {
    pub user_per_hour: VolumeLimit,
    pub user_per_day: VolumeLimit,
    pub organisation_per_hour: VolumeLimit,
    pub organisation_per_day: VolumeLimit,
}

impl Default for VolumeLimits {
    fn default() -> Self {
        VolumeLimits {
            user_per_hour: VolumeLimit { soft: 30, hard: 60 },
            user_per_day: VolumeLimit {
                soft: 100,
                hard: 200,
            },
            organisation_per_hour: VolumeLimit {
                soft: 2_000,
                hard: 5_000,
            },
            organisation_per_day: VolumeLimit {
                soft: 10_000,
                hard: 25_000,
            },
        }
    }
}

impl VolumeLimits {
    /// Each limit with the scope and window it counts, for checking them in one loop.
    pub fn each(&self) -> [(scr_model::VolumeScope, scr_model::VolumeWindow, VolumeLimit); 4] {
        use scr_model::{VolumeScope as S, VolumeWindow as W};
        [
            (S::User, W::Hour, self.user_per_hour),
            (S::User, W::Day, self.user_per_day),
            (S::Organisation, W::Hour, self.organisation_per_hour),
            (S::Organisation, W::Day, self.organisation_per_day),
        ]
    }
}

impl Default for SpineConfig {
    fn default() -> Self {
        SpineConfig {
            listen: "127.0.0.1:8443".into(),
            origins: Vec::new(),
            database: None,
            tls_cert: "tls/server.pem".into(),
            tls_key: "tls/server-key.pem".into(),
            ca_cert: "ca/ca.pem".into(),
            session_idle_secs: 15 * 60,
            session_absolute_secs: 12 * 3600,
            challenge_secs: 60,
            max_body_bytes: scr_model::fhir::MAX_DOCUMENT_BYTES + 64 * 1024,
            request_timeout_secs: scr_model::timing::SPINE_REQUEST_DEADLINE.as_secs(),
            max_db_connections: 8,
            statement_timeout_secs: 5,
            idle_connection_secs: scr_model::timing::SPINE_IDLE_CONNECTION.as_secs(),
            max_connections: 4096,
            max_connections_per_address: 512,
            max_requests_in_flight: 256,
            sign_in_per_address_per_minute: 600,
            sign_in_per_certificate_per_minute: 30,
            checkpoint_every_entries: 1000,
            checkpoint_every_secs: 60,
            refusal_tally_secs: 60,
            offline_views_per_day: 2000,
            min_free_disk_mib: 64,
            volume_limits: VolumeLimits::default(),
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
    #[error("setting {name} is not valid: {message}")]
    Setting { name: &'static str, message: String },
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
        config.validate()?;
        Ok(config)
    }

    /// Settings text as `load` reads it from the file, validated, without the environment.
    pub fn from_toml(text: &str) -> Result<SpineConfig, ConfigError> {
        let config: SpineConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: CONFIG_FILE.into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses settings that would make the spine unsafe or unable to serve: zero or negative
    /// durations and limits, an idle time-out longer than the absolute one, a request deadline
    /// the client would not wait for.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn bad(name: &'static str, message: impl Into<String>) -> ConfigError {
            ConfigError::Setting {
                name,
                message: message.into(),
            }
        }
        let positive: [(&'static str, i64); 3] = [
            ("session_idle_secs", self.session_idle_secs),
            ("session_absolute_secs", self.session_absolute_secs),
            ("challenge_secs", self.challenge_secs),
        ];
        // Durations become milliseconds added to the clock (auth.rs): bounded above too, so
        // no setting can overflow there.
        const DAY: i64 = 24 * 3600;
        let most = [DAY, 7 * DAY, 3600];
        for ((name, v), max) in positive.into_iter().zip(most) {
            if v <= 0 || v > max {
                return Err(bad(name, format!("must be from 1 to {max} (got {v})")));
            }
        }
        let at_least_one: [(&'static str, u64); 12] = [
            ("request_timeout_secs", self.request_timeout_secs),
            ("max_db_connections", u64::from(self.max_db_connections)),
            ("statement_timeout_secs", self.statement_timeout_secs),
            ("idle_connection_secs", self.idle_connection_secs),
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_address",
                self.max_connections_per_address as u64,
            ),
            ("max_requests_in_flight", self.max_requests_in_flight as u64),
            (
                "sign_in_per_address_per_minute",
                u64::from(self.sign_in_per_address_per_minute),
            ),
            (
                "sign_in_per_certificate_per_minute",
                u64::from(self.sign_in_per_certificate_per_minute),
            ),
            ("checkpoint_every_entries", self.checkpoint_every_entries),
            ("checkpoint_every_secs", self.checkpoint_every_secs),
            ("refusal_tally_secs", self.refusal_tally_secs),
        ];
        for (name, v) in at_least_one {
            if v == 0 {
                return Err(bad(name, "must be at least 1"));
            }
        }
        for (name, limit) in [
            (
                "volume_limits.user_per_hour",
                self.volume_limits.user_per_hour,
            ),
            (
                "volume_limits.user_per_day",
                self.volume_limits.user_per_day,
            ),
            (
                "volume_limits.organisation_per_hour",
                self.volume_limits.organisation_per_hour,
            ),
            (
                "volume_limits.organisation_per_day",
                self.volume_limits.organisation_per_day,
            ),
        ] {
            if limit.soft == 0 || limit.soft > limit.hard {
                return Err(bad(
                    name,
                    format!(
                        "soft must be at least 1 and not above hard (got soft {}, hard {})",
                        limit.soft, limit.hard
                    ),
                ));
            }
        }
        if self.session_idle_secs > self.session_absolute_secs {
            return Err(bad(
                "session_idle_secs",
                "must not be longer than session_absolute_secs",
            ));
        }
        let client = scr_model::timing::CLIENT_REQUEST_TIMEOUT.as_secs();
        if self.request_timeout_secs >= client {
            return Err(bad(
                "request_timeout_secs",
                format!("must be below the viewer's own time-out of {client} s, so the spine answers (or says busy) before the viewer gives up"),
            ));
        }
        if self.statement_timeout_secs >= self.request_timeout_secs {
            return Err(bad(
                "statement_timeout_secs",
                "must be below request_timeout_secs",
            ));
        }
        if self.max_db_connections > 1000 {
            return Err(bad("max_db_connections", "must be at most 1000"));
        }
        if self.max_connections_per_address > self.max_connections {
            return Err(bad(
                "max_connections_per_address",
                "must not be more than max_connections",
            ));
        }
        if self.max_body_bytes < 1024 || self.max_body_bytes > 64 * 1024 * 1024 {
            return Err(bad("max_body_bytes", "must be between 1 KiB and 64 MiB"));
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(bad(
                "listen",
                format!("{:?} is not an address and port", self.listen),
            ));
        }
        for origin in &self.origins {
            if normalised_origin(origin).as_deref() != Some(origin.as_str()) {
                let hint = normalised_origin(origin)
                    .map_or_else(String::new, |o| format!(" (write it as {o:?})"));
                return Err(bad(
                    "origins",
                    format!("{origin:?} is not an https origin like \"https://spine.example.nhs.uk\"{hint}"),
                ));
            }
        }
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
        if let Ok(v) = std::env::var("SCR_ORIGINS") {
            self.origins = v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect();
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
        if let Some(v) = number("SCR_SIGN_IN_PER_ADDRESS_PER_MINUTE")? {
            self.sign_in_per_address_per_minute = v;
        }
        if let Some(v) = number("SCR_SIGN_IN_PER_CERTIFICATE_PER_MINUTE")? {
            self.sign_in_per_certificate_per_minute = v;
        }
        Ok(())
    }

    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            max_connections: self.max_db_connections,
            // A request waiting for a connection gives up well inside its deadline.
            acquire_timeout: std::time::Duration::from_secs(self.statement_timeout_secs),
            statement_timeout: std::time::Duration::from_secs(self.statement_timeout_secs),
        }
    }

    /// The folder holding a SQLite store's file (`None` for PostgreSQL), whose free space
    /// the audit writer watches.
    pub fn sqlite_dir(&self, data_dir: &Path) -> Option<PathBuf> {
        match &self.database {
            None => Some(data_dir.to_path_buf()),
            Some(url) => {
                let rest = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))?;
                let file = rest.split('?').next().unwrap_or(rest);
                Some(
                    Path::new(file)
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                )
            }
        }
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

/// `text` as a sign-in origin is written (`scr_model::signing::https_origin`), or `None` if
/// it is not `https://host[:port]` with nothing after.
fn normalised_origin(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    if url.scheme() != "https"
        || !matches!(url.path(), "" | "/")
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return None;
    }
    Some(scr_model::signing::https_origin(
        url.host_str()?,
        url.port_or_known_default()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_answer_before_the_viewer_gives_up() {
        let c = SpineConfig::default();
        c.validate().expect("defaults");
        assert!(
            std::time::Duration::from_secs(c.request_timeout_secs)
                < scr_model::timing::CLIENT_REQUEST_TIMEOUT
        );
        assert!(scr_model::timing::CLIENT_POOL_IDLE < scr_model::timing::SPINE_IDLE_CONNECTION);
    }

    #[test]
    fn zero_negative_and_contradictory_settings_are_refused_by_name() {
        type Change = Box<dyn Fn(&mut SpineConfig)>;
        let cases: Vec<(&str, Change)> = vec![
            ("session_idle_secs", Box::new(|c| c.session_idle_secs = 0)),
            (
                "session_absolute_secs",
                Box::new(|c| c.session_absolute_secs = -5),
            ),
            ("challenge_secs", Box::new(|c| c.challenge_secs = 0)),
            (
                "session_absolute_secs",
                Box::new(|c| c.session_absolute_secs = i64::MAX / 10),
            ),
            (
                "request_timeout_secs",
                Box::new(|c| c.request_timeout_secs = 0),
            ),
            (
                "request_timeout_secs",
                Box::new(|c| c.request_timeout_secs = 15),
            ),
            (
                "statement_timeout_secs",
                Box::new(|c| c.statement_timeout_secs = 9),
            ),
            (
                "session_idle_secs",
                Box::new(|c| c.session_idle_secs = c.session_absolute_secs + 1),
            ),
            ("max_connections", Box::new(|c| c.max_connections = 0)),
            (
                "max_connections_per_address",
                Box::new(|c| c.max_connections_per_address = c.max_connections + 1),
            ),
            (
                "max_requests_in_flight",
                Box::new(|c| c.max_requests_in_flight = 0),
            ),
            ("listen", Box::new(|c| c.listen = "not an address".into())),
            ("max_body_bytes", Box::new(|c| c.max_body_bytes = 0)),
            (
                "origins",
                Box::new(|c| c.origins = vec!["http://spine.example".into()]),
            ),
            (
                "origins",
                Box::new(|c| c.origins = vec!["https://spine.example/FHIR/R4".into()]),
            ),
            (
                "origins",
                Box::new(|c| c.origins = vec!["https://Spine.Example:443".into()]),
            ),
        ];
        for (name, change) in cases {
            let mut c = SpineConfig::default();
            change(&mut c);
            match c.validate() {
                Err(ConfigError::Setting { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn origins_are_accepted_as_urls_write_them() {
        let c = SpineConfig {
            origins: vec![
                "https://spine.example.nhs.uk".into(),
                "https://10.0.0.5:8443".into(),
                "https://[::1]:8443".into(),
            ],
            ..SpineConfig::default()
        };
        c.validate().expect("origins");
    }

    #[test]
    fn what_the_spine_writes_reads_back() {
        let text = SpineConfig::default().to_toml();
        assert!(SpineConfig::from_toml(&text).is_ok(), "{text}");
        for bad in [
            "challenge_secs = 9223372036854775807",
            "session_idle_secs = -1",
            "max_db_connections = 0",
        ] {
            assert!(SpineConfig::from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_with_a_bad_setting_is_refused_at_load() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(CONFIG_FILE), "session_idle_secs = -1\n").expect("write");
        assert!(matches!(
            SpineConfig::load(dir.path()),
            Err(ConfigError::Setting {
                name: "session_idle_secs",
                ..
            })
        ));
    }
}

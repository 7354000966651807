//! The app's settings: a TOML file (`--config FILE` or `SCR_CONFIG`), then `SCR_*`
//! environment variables over it. A missing or wrong setting is a message for the person
//! installing the app, never a crash.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppConfig {
    /// The spine's base URL (`https://…`).
    pub spine_url: String,
    /// The only CA the app trusts for the spine's certificate.
    pub ca_file: PathBuf,
    /// Where the app keeps its local files (the offline cache among them).
    pub data_dir: PathBuf,
    /// How long offline copies are kept (hours, at most 168) and how many per user.
    pub offline_max_age_hours: u32,
    pub offline_max_entries: usize,
    /// Where "Save as PDF" writes (`export_dir`, `SCR_EXPORT_DIR`); `None`: the user's
    /// documents folder, as the desktop names it.
    pub export_dir: Option<PathBuf>,
}

/// Offline copies live 48 hours by default, and never more than 7 days.
pub const DEFAULT_OFFLINE_HOURS: u32 = 48;
pub const MAX_OFFLINE_HOURS: u32 = scr_model::timing::MAX_OFFLINE_AGE_HOURS;
pub const DEFAULT_OFFLINE_ENTRIES: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("No settings file was given. Start the app with --config FILE or set SCR_CONFIG.")]
    NoFile,
    #[error("The settings file {0} cannot be read: {1}")]
    Unreadable(PathBuf, String),
    #[error("The settings file {0} is not valid TOML: {1}")]
    NotToml(PathBuf, String),
    #[error("The setting {0} is missing (in the settings file or as {1}).")]
    Missing(&'static str, &'static str),
    #[error("The setting spine_url must start with https:// (it is {0}).")]
    NotHttps(String),
    #[error("The CA file {0} cannot be read: {1}")]
    CaUnreadable(PathBuf, String),
    #[error("The data directory {0} cannot be created: {1}")]
    DataDir(PathBuf, String),
    #[error("The setting {0} must be a whole number from 1 to {1} (it is {2}).")]
    OutOfRange(&'static str, u32, String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    spine_url: Option<String>,
    ca_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    offline_max_age_hours: Option<u32>,
    offline_max_entries: Option<u32>,
    export_dir: Option<PathBuf>,
}

/// A whole number in 1..=max from the environment, else the file, else the default.
fn ranged(
    name: &'static str,
    env_value: Option<String>,
    file_value: Option<u32>,
    default: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let (value, shown) = match env_value {
        Some(v) => (v.trim().parse::<u32>().ok(), v),
        None => (
            Some(file_value.unwrap_or(default)),
            file_value.unwrap_or(default).to_string(),
        ),
    };
    match value {
        Some(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(ConfigError::OutOfRange(name, max, shown)),
    }
}

impl AppConfig {
    /// Loads `file` (or `SCR_CONFIG`), applies `SCR_SPINE_URL`, `SCR_CA_FILE`,
    /// `SCR_DATA_DIR`, and checks that the CA can be read and the data directory made.
    pub fn load(file: Option<&Path>) -> Result<AppConfig, ConfigError> {
        Self::load_with(file, |k| std::env::var(k).ok())
    }

    /// As [`AppConfig::load`] with the environment given (for tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AppConfig, ConfigError> {
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| env("SCR_CONFIG").map(PathBuf::from))
            .ok_or(ConfigError::NoFile)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::Unreadable(path.clone(), e.to_string()))?;
        let config = Self::from_text(&path, &text, env)?;
        std::fs::read(&config.ca_file)
            .map_err(|e| ConfigError::CaUnreadable(config.ca_file.clone(), e.to_string()))?;
        create_owner_only_dir(&config.data_dir)
            .map_err(|e| ConfigError::DataDir(config.data_dir.clone(), e.to_string()))?;
        Ok(config)
    }

    /// The settings file's text (read from `path`) with the environment over it, and every
    /// check that needs no disk: required settings, `https://`, the ranges. Reads and writes
    /// nothing, so the fuzz harness can call it with any text.
    pub fn from_text(
        path: &Path,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AppConfig, ConfigError> {
        let parsed: FileConfig = toml::from_str(text)
            .map_err(|e| ConfigError::NotToml(path.to_path_buf(), e.message().to_string()))?;
        // Relative paths in the file are relative to the file.
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let spine_url = env("SCR_SPINE_URL")
            .or(parsed.spine_url)
            .ok_or(ConfigError::Missing("spine_url", "SCR_SPINE_URL"))?;
        let ca_file = env("SCR_CA_FILE")
            .map(PathBuf::from)
            .or(parsed.ca_file.map(resolve))
            .ok_or(ConfigError::Missing("ca_file", "SCR_CA_FILE"))?;
        let data_dir = env("SCR_DATA_DIR")
            .map(PathBuf::from)
            .or(parsed.data_dir.map(resolve))
            .ok_or(ConfigError::Missing("data_dir", "SCR_DATA_DIR"))?;
        if !spine_url.starts_with("https://") {
            return Err(ConfigError::NotHttps(spine_url));
        }
        let offline_max_age_hours = ranged(
            "offline_max_age_hours",
            env("SCR_OFFLINE_MAX_AGE_HOURS"),
            parsed.offline_max_age_hours,
            DEFAULT_OFFLINE_HOURS,
            MAX_OFFLINE_HOURS,
        )?;
        let offline_max_entries = ranged(
            "offline_max_entries",
            env("SCR_OFFLINE_MAX_ENTRIES"),
            parsed.offline_max_entries,
            DEFAULT_OFFLINE_ENTRIES as u32,
            10_000,
        )? as usize;
        let export_dir = env("SCR_EXPORT_DIR")
            .map(PathBuf::from)
            .or(parsed.export_dir.map(resolve));
        Ok(AppConfig {
            spine_url,
            ca_file,
            data_dir,
            offline_max_age_hours,
            offline_max_entries,
            export_dir,
        })
    }
}

/// The data folder (it holds the offline cache) made owner-only as it is created, not
/// narrowed afterwards; a folder that already exists is left as its owner set it.
fn create_owner_only_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("viewer.toml");
        std::fs::write(&p, text).expect("write");
        std::fs::write(dir.join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").expect("write");
        p
    }

    #[test]
    fn a_complete_file_loads_and_relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let p = write(
            dir.path(),
            "spine_url = \"https://localhost:8443\"\nca_file = \"ca.pem\"\ndata_dir = \"data\"\n",
        );
        let c = AppConfig::load_with(Some(&p), |_| None).expect("loads");
        assert_eq!(c.ca_file, dir.path().join("ca.pem"));
        assert!(c.data_dir.is_dir());
    }

    /// The data folder holds the offline cache: it is made owner-only as it is created
    /// (whatever the umask), never narrowed afterwards.
    #[cfg(unix)]
    #[test]
    fn the_data_folder_is_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let p = write(
            dir.path(),
            "spine_url = \"https://localhost:8443\"\nca_file = \"ca.pem\"\ndata_dir = \"new/data\"\n",
        );
        let c = AppConfig::load_with(Some(&p), |_| None).expect("loads");
        let mode = std::fs::metadata(&c.data_dir)
            .expect("data dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "data folder mode {mode:o}");
    }

    #[test]
    fn each_problem_has_its_own_message() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(
            AppConfig::load_with(None, |_| None),
            Err(ConfigError::NoFile)
        );
        let p = write(dir.path(), "spine_url = \"https://x\"\n");
        assert_eq!(
            AppConfig::load_with(Some(&p), |_| None),
            Err(ConfigError::Missing("ca_file", "SCR_CA_FILE"))
        );
        let p = write(
            dir.path(),
            "spine_url = \"http://x\"\nca_file=\"ca.pem\"\ndata_dir=\"d\"\n",
        );
        assert!(matches!(
            AppConfig::load_with(Some(&p), |_| None),
            Err(ConfigError::NotHttps(_))
        ));
        let p = write(dir.path(), "spine_url = [\n");
        assert!(matches!(
            AppConfig::load_with(Some(&p), |_| None),
            Err(ConfigError::NotToml(..))
        ));
        let p = write(
            dir.path(),
            "spine_url = \"https://x\"\nca_file=\"nope.pem\"\ndata_dir=\"d\"\n",
        );
        assert!(matches!(
            AppConfig::load_with(Some(&p), |_| None),
            Err(ConfigError::CaUnreadable(..))
        ));
        let p = write(
            dir.path(),
            "spine_url = \"https://x\"\nca_file=\"ca.pem\"\ndata_dir=\"d\"\nextra=1\n",
        );
        assert!(matches!(
            AppConfig::load_with(Some(&p), |_| None),
            Err(ConfigError::NotToml(..))
        ));
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let p = write(
            dir.path(),
            "spine_url = \"https://file\"\nca_file=\"ca.pem\"\ndata_dir=\"d\"\n",
        );
        let c = AppConfig::load_with(Some(&p), |k| {
            (k == "SCR_SPINE_URL").then(|| "https://env".to_string())
        })
        .expect("loads");
        assert_eq!(c.spine_url, "https://env");
    }

    #[test]
    fn offline_retention_defaults_to_48_hours_and_is_capped_at_7_days() {
        let dir = tempfile::tempdir().expect("dir");
        let base = "spine_url = \"https://x\"\nca_file=\"ca.pem\"\ndata_dir=\"d\"\n";
        let p = write(dir.path(), base);
        let c = AppConfig::load_with(Some(&p), |_| None).expect("loads");
        assert_eq!((c.offline_max_age_hours, c.offline_max_entries), (48, 100));
        let p = write(dir.path(), &format!("{base}offline_max_age_hours = 168\n"));
        let c = AppConfig::load_with(Some(&p), |_| None).expect("loads");
        assert_eq!(c.offline_max_age_hours, 168);
        let p = write(dir.path(), &format!("{base}offline_max_age_hours = 169\n"));
        assert_eq!(
            AppConfig::load_with(Some(&p), |_| None),
            Err(ConfigError::OutOfRange(
                "offline_max_age_hours",
                168,
                "169".into()
            ))
        );
        let c = AppConfig::load_with(Some(&p), |k| {
            (k == "SCR_OFFLINE_MAX_AGE_HOURS").then(|| "12".to_string())
        })
        .expect("environment wins");
        assert_eq!(c.offline_max_age_hours, 12);
        assert!(matches!(
            AppConfig::load_with(Some(&p), |k| {
                (k == "SCR_OFFLINE_MAX_ENTRIES").then(|| "many".to_string())
            }),
            Err(ConfigError::OutOfRange(..))
        ));
    }
}

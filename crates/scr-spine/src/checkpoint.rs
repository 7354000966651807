//! Signed checkpoints of the audit chain head, kept outside the database.
//!
//! The hash chain shows an entry edited or removed in the middle, but not the newest entries
//! cut off together with a matching rewrite of the head row: two SQL statements, no hashing.
//! So the spine signs the head (sequence number and hash) every so many entries or seconds
//! with a key of its own in the data folder (owner-only, never in the database) and appends
//! the signature to a log file. `audit verify` checks the chain against every checkpoint: an
//! entry a checkpoint names that is missing is truncation; one whose hash differs is a
//! rewrite. Someone with the database alone can do neither unseen.
//!
//! Files, in `DATA/audit/`: `checkpoint-key.pem` (PKCS#8, 0600), `checkpoint-key.pub.pem`
//! (what verification uses) and `checkpoints.log` (one JSON object a line, append-only,
//! fsynced per line).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::{Deserialize, Serialize};

/// What a checkpoint signature is for, signed with it: this key's signatures cannot be passed
/// off as any other signature of the system, nor another's as a checkpoint.
const PURPOSE: &[u8] = scr_model::signing::AUDIT_CHECKPOINT_LABEL;

pub const CHECKPOINT_DIR: &str = "audit";
const KEY_FILE: &str = "checkpoint-key.pem";
const PUBLIC_KEY_FILE: &str = "checkpoint-key.pub.pem";
const LOG_FILE: &str = "checkpoints.log";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("could not read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the checkpoint key {path} is not usable: {message}")]
    BadKey { path: PathBuf, message: String },
    #[error("line {line} of the checkpoint log is not a valid signed checkpoint: {message}")]
    BadEntry { line: usize, message: String },
}

/// One signed statement: "the chain had `seq` entries, the last with hash `hash`, at `at`".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// ECDSA P-256 over SHA-256 of the signed message, DER, base64.
    pub signature: String,
}

fn signed_message(seq: i64, hash: &str, at: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(PURPOSE.len() + 16 + hash.len());
    m.extend_from_slice(PURPOSE);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The spine's side: signs heads and appends them to the log.
pub struct CheckpointSigner {
    key: SigningKey,
    log: PathBuf,
}

impl CheckpointSigner {
    /// Loads the key from `data/audit/`, creating it (owner-only) on first use.
    pub fn open(data_dir: &Path) -> Result<CheckpointSigner, CheckpointError> {
        let dir = data_dir.join(CHECKPOINT_DIR);
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let key_path = dir.join(KEY_FILE);
        let bad_key = |message: String| CheckpointError::BadKey {
            path: key_path.clone(),
            message,
        };
        let key = if key_path.exists() {
            let pem = std::fs::read_to_string(&key_path).map_err(io_error(&key_path))?;
            SigningKey::from_pkcs8_pem(&pem).map_err(|e| bad_key(e.to_string()))?
        } else {
            let key = SigningKey::random(&mut rand::rngs::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| bad_key(e.to_string()))?;
            crate::pki::write_secret(&key_path, &pem).map_err(|e| bad_key(e.to_string()))?;
            key
        };
        let public_path = dir.join(PUBLIC_KEY_FILE);
        if !public_path.exists() {
            let public = key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| bad_key(e.to_string()))?;
            std::fs::write(&public_path, public).map_err(io_error(&public_path))?;
        }
        Ok(CheckpointSigner {
            key,
            log: dir.join(LOG_FILE),
        })
    }

    /// Signs the head and appends it to the log; on return the line is on disk.
    pub fn record(&self, seq: i64, hash: &str, at: i64) -> Result<Checkpoint, CheckpointError> {
        let signature: Signature = self.key.sign(&signed_message(seq, hash, at));
        let checkpoint = Checkpoint {
            seq,
            hash: hash.to_string(),
            at,
            signature: STANDARD.encode(signature.to_der().as_bytes()),
        };
        let mut line = serde_json::to_vec(&checkpoint).map_err(|e| CheckpointError::BadEntry {
            line: 0,
            message: e.to_string(),
        })?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io_error(&self.log))?;
        file.write_all(&line).map_err(io_error(&self.log))?;
        file.sync_data().map_err(io_error(&self.log))?;
        Ok(checkpoint)
    }
}

/// The verifier's side: every checkpoint in the log, each signature checked.
pub struct CheckpointLog {
    pub checkpoints: Vec<Checkpoint>,
}

impl CheckpointLog {
    /// `Ok(None)` when this data folder has no checkpoint key (a spine that never served).
    /// A line that does not verify is an error: the log itself has been tampered with.
    pub fn read(data_dir: &Path) -> Result<Option<CheckpointLog>, CheckpointError> {
        let dir = data_dir.join(CHECKPOINT_DIR);
        let public_path = dir.join(PUBLIC_KEY_FILE);
        if !public_path.exists() {
            return Ok(None);
        }
        let pem = std::fs::read_to_string(&public_path).map_err(io_error(&public_path))?;
        let key = VerifyingKey::from_public_key_pem(&pem).map_err(|e| CheckpointError::BadKey {
            path: public_path.clone(),
            message: e.to_string(),
        })?;
        let log_path = dir.join(LOG_FILE);
        let text = match std::fs::read_to_string(&log_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_error(&log_path)(e)),
        };
        let mut checkpoints = Vec::new();
        let lines: Vec<&str> = text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: &str| CheckpointError::BadEntry {
                line: i + 1,
                message: message.to_string(),
            };
            let parsed: Result<Checkpoint, _> = serde_json::from_str(line);
            let c = match parsed {
                Ok(c) => c,
                // A power cut can leave the last line half-written; that line was never
                // acknowledged, so it is not evidence of anything.
                Err(_) if i + 1 == lines.len() => continue,
                Err(_) => return Err(bad("not a checkpoint")),
            };
            let signature = STANDARD
                .decode(&c.signature)
                .ok()
                .and_then(|b| Signature::from_der(&b).ok())
                .ok_or_else(|| bad("the signature is not readable"))?;
            key.verify(&signed_message(c.seq, &c.hash, c.at), &signature)
                .map_err(|_| bad("the signature does not match (the line was altered)"))?;
            checkpoints.push(c);
        }
        Ok(Some(CheckpointLog { checkpoints }))
    }

    /// The checkpoint with the highest sequence number.
    pub fn latest(&self) -> Option<&Checkpoint> {
        self.checkpoints.iter().max_by_key(|c| (c.seq, c.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_checkpoint_verifies_and_an_altered_one_does_not() {
        let dir = tempfile::tempdir().expect("dir");
        let signer = CheckpointSigner::open(dir.path()).expect("signer");
        signer.record(10, "ab", 1000).expect("record");
        signer.record(20, "cd", 2000).expect("record");
        let log = CheckpointLog::read(dir.path()).expect("read").expect("log");
        assert_eq!(log.checkpoints.len(), 2);
        assert_eq!(log.latest().map(|c| c.seq), Some(20));

        let path = dir.path().join(CHECKPOINT_DIR).join(LOG_FILE);
        let text = std::fs::read_to_string(&path).expect("log");
        std::fs::write(&path, text.replacen("\"seq\":10", "\"seq\":11", 1)).expect("write");
        assert!(matches!(
            CheckpointLog::read(dir.path()),
            Err(CheckpointError::BadEntry { line: 1, .. })
        ));
    }

    #[test]
    fn the_key_file_is_owner_only_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        CheckpointSigner::open(dir.path()).expect("signer");
        let key = dir.path().join(CHECKPOINT_DIR).join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&key).expect("key");
        CheckpointSigner::open(dir.path()).expect("again");
        assert_eq!(std::fs::read(&key).expect("key"), before);
    }

    #[test]
    fn a_half_written_last_line_is_ignored() {
        let dir = tempfile::tempdir().expect("dir");
        let signer = CheckpointSigner::open(dir.path()).expect("signer");
        signer.record(5, "ab", 1).expect("record");
        let path = dir.path().join(CHECKPOINT_DIR).join(LOG_FILE);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        f.write_all(b"{\"seq\":6,\"ha").expect("write");
        let log = CheckpointLog::read(dir.path()).expect("read").expect("log");
        assert_eq!(log.checkpoints.len(), 1);
    }
}

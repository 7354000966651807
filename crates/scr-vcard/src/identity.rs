//! What a virtual card is provisioned with: an identity folder written by
//! `scr-demo seed` (`key.pem`, `cert.pem`, `km-key.pem`, `km-cert.pem`, `profile.json`).

use std::path::{Path, PathBuf};

use p256::pkcs8::DecodePrivateKey;
use p256::SecretKey;
use x509_cert::der::{DecodePem, Encode};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not {what}")]
    Invalid { path: PathBuf, what: &'static str },
}

/// The keys, certificates and passcode of one card holder.
pub struct CardIdentity {
    pub authentication_key: SecretKey,
    pub authentication_certificate: Vec<u8>,
    pub key_management_key: SecretKey,
    pub key_management_certificate: Vec<u8>,
    pub passcode: Zeroizing<String>,
    /// A stable 16-byte card UUID (the CHUID GUID), derived from the certificate.
    pub guid: [u8; 16],
}

fn read(path: &Path) -> Result<Zeroizing<String>, IdentityError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| IdentityError::Read {
            path: path.to_path_buf(),
            source,
        })
}

fn key(path: &Path) -> Result<SecretKey, IdentityError> {
    SecretKey::from_pkcs8_pem(&read(path)?).map_err(|_| IdentityError::Invalid {
        path: path.to_path_buf(),
        what: "a PKCS#8 PEM P-256 private key",
    })
}

fn certificate(path: &Path) -> Result<Vec<u8>, IdentityError> {
    let invalid = || IdentityError::Invalid {
        path: path.to_path_buf(),
        what: "a PEM X.509 certificate",
    };
    let cert = x509_cert::Certificate::from_pem(read(path)?.as_bytes()).map_err(|_| invalid())?;
    cert.to_der().map_err(|_| invalid())
}

impl CardIdentity {
    pub fn load(dir: &Path) -> Result<CardIdentity, IdentityError> {
        let profile_path = dir.join("profile.json");
        let profile: serde_json::Value =
            serde_json::from_str(&read(&profile_path)?).map_err(|_| IdentityError::Invalid {
                path: profile_path.clone(),
                what: "JSON",
            })?;
        let passcode = profile
            .get("passcode")
            .and_then(|p| p.as_str())
            .filter(|p| (6..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(IdentityError::Invalid {
                path: profile_path,
                what: "a profile with a 6-8 digit passcode",
            })?;
        let authentication_certificate = certificate(&dir.join("cert.pem"))?;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&authentication_certificate);
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&digest[..16]);
        Ok(CardIdentity {
            authentication_key: key(&dir.join("key.pem"))?,
            authentication_certificate,
            key_management_key: key(&dir.join("km-key.pem"))?,
            key_management_certificate: certificate(&dir.join("km-cert.pem"))?,
            passcode: Zeroizing::new(passcode.to_string()),
            guid,
        })
    }
}

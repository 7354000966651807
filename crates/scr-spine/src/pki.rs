//! The development certificate authority: it issues the spine's TLS certificate and the
//! certificates of staff smartcards and GP systems, and checks certificates presented at
//! sign-in. (Production would trust the NHS smartcard CAs instead; the check is the same.)

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, Utc};
use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the CA certificate is not usable: {0}")]
    BadCa(String),
    #[error("the certificate is not usable: {0}")]
    BadCertificate(String),
}

/// Why a presented certificate was not accepted. The messages are safe to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRejected {
    #[error("the certificate is not a valid DER X.509 certificate")]
    Malformed,
    #[error("the certificate was not issued by a trusted authority")]
    UnknownIssuer,
    #[error("the certificate is not valid yet or has expired")]
    OutOfDate,
    #[error("the certificate's key is not an ECDSA P-256 key")]
    UnsupportedKey,
    #[error("the certificate is not for signing in (it needs key usage digitalSignature and extended key usage clientAuth)")]
    WrongPurpose,
}

/// Which certificate: its issuer and its serial. RFC 5280 makes a serial unique only within
/// its issuer, so a serial alone stops naming one card as soon as a second CA is trusted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CertificateId {
    /// SHA-256 (hex) of the issuer Name's DER.
    pub issuer: String,
    pub serial_hex: String,
}

impl CertificateId {
    /// Reads issuer and serial from a certificate (without verifying it).
    pub fn of(der: &[u8]) -> Result<CertificateId, CertificateRejected> {
        let cert = Certificate::from_der(der).map_err(|_| CertificateRejected::Malformed)?;
        let issuer = cert
            .tbs_certificate
            .issuer
            .to_der()
            .map_err(|_| CertificateRejected::Malformed)?;
        Ok(CertificateId {
            issuer: issuer_key(&issuer),
            serial_hex: hex::encode(cert.tbs_certificate.serial_number.as_bytes()),
        })
    }
}

impl std::fmt::Display for CertificateId {
    /// `issuer/serial`, the issuer shortened to 16 hex digits (what an operator reads).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.issuer.get(..16).unwrap_or(&self.issuer);
        write!(f, "{short}/{}", self.serial_hex)
    }
}

/// How the store names an issuer: SHA-256 (hex) of its Name's DER.
pub fn issuer_key(name_der: &[u8]) -> String {
    hex::encode(Sha256::digest(name_der))
}

/// A certificate that chains to the CA and is in date, with what sign-in needs from it.
pub struct VerifiedCertificate {
    pub id: CertificateId,
    pub key: VerifyingKey,
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

/// The CA's certificate, parsed for verification.
#[derive(Clone)]
pub struct TrustAnchor {
    subject_der: Vec<u8>,
    key: VerifyingKey,
}

impl TrustAnchor {
    pub fn from_pem(pem: &str) -> Result<TrustAnchor, PkiError> {
        let der = pem_to_der(pem).ok_or_else(|| PkiError::BadCa("no PEM certificate".into()))?;
        let cert = Certificate::from_der(&der).map_err(|e| PkiError::BadCa(e.to_string()))?;
        let subject_der = cert
            .tbs_certificate
            .subject
            .to_der()
            .map_err(|e| PkiError::BadCa(e.to_string()))?;
        let key = ec_key(&cert).map_err(|e| PkiError::BadCa(e.to_string()))?;
        Ok(TrustAnchor { subject_der, key })
    }

    /// The store's name for this CA as an issuer.
    pub fn issuer_key(&self) -> String {
        issuer_key(&self.subject_der)
    }

    /// Checks issuer, signature (ECDSA P-256 SHA-256) and validity at `now`.
    pub fn verify(
        &self,
        der: &[u8],
        now: DateTime<Utc>,
    ) -> Result<VerifiedCertificate, CertificateRejected> {
        let cert = Certificate::from_der(der).map_err(|_| CertificateRejected::Malformed)?;
        let tbs = &cert.tbs_certificate;
        let issuer = tbs
            .issuer
            .to_der()
            .map_err(|_| CertificateRejected::Malformed)?;
        if issuer != self.subject_der {
            return Err(CertificateRejected::UnknownIssuer);
        }
        if cert.signature_algorithm.oid.to_string() != OID_ECDSA_SHA256 {
            return Err(CertificateRejected::UnknownIssuer);
        }
        let tbs_der = tbs.to_der().map_err(|_| CertificateRejected::Malformed)?;
        let signature = cert
            .signature
            .as_bytes()
            .and_then(|b| Signature::from_der(b).ok())
            .ok_or(CertificateRejected::Malformed)?;
        self.key
            .verify(&tbs_der, &signature)
            .map_err(|_| CertificateRejected::UnknownIssuer)?;
        let not_before = tbs.validity.not_before.to_unix_duration().as_secs() as i64;
        let not_after = tbs.validity.not_after.to_unix_duration().as_secs() as i64;
        let now_s = now.timestamp();
        if now_s < not_before || now_s > not_after {
            return Err(CertificateRejected::OutOfDate);
        }
        if !for_client_authentication(tbs) {
            return Err(CertificateRejected::WrongPurpose);
        }
        let key = ec_key(&cert)?;
        Ok(VerifiedCertificate {
            id: CertificateId {
                issuer: issuer_key(&issuer),
                serial_hex: hex::encode(tbs.serial_number.as_bytes()),
            },
            key,
        })
    }
}

const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";

/// The host names and addresses a (server) certificate is for: its subject alternative
/// names, DNS names as written and IP addresses in text. What a client can verify a TLS
/// connection to is exactly these, so they are the names the spine can be reached at.
pub fn certificate_host_names(der: &[u8]) -> Result<Vec<String>, PkiError> {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let bad = |m: String| PkiError::BadCertificate(m);
    let cert = Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
    let extensions = cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    let Some(san) = extensions
        .iter()
        .find(|e| e.extn_id.to_string() == OID_SUBJECT_ALT_NAME)
    else {
        return Ok(Vec::new());
    };
    let san =
        SubjectAltName::from_der(san.extn_value.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let mut names = Vec::new();
    for name in san.0 {
        match name {
            GeneralName::DnsName(dns) => names.push(dns.as_str().to_string()),
            GeneralName::IpAddress(octets) => {
                let b = octets.as_bytes();
                let ip = match b.len() {
                    4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
                    16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
                    _ => None,
                };
                if let Some(ip) = ip {
                    names.push(ip.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXTENDED_KEY_USAGE: &str = "2.5.29.37";
const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

/// A sign-in certificate must say it is for signing (key usage digitalSignature) and for
/// client authentication (EKU clientAuth): a TLS server certificate, a key-management (9D)
/// certificate or a CA certificate from the same authority is not a staff credential.
fn for_client_authentication(tbs: &x509_cert::TbsCertificate) -> bool {
    use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};
    let extensions = tbs.extensions.as_deref().unwrap_or_default();
    let find = |oid: &str| {
        extensions
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes())
    };
    let signs = find(OID_KEY_USAGE)
        .and_then(|b| KeyUsage::from_der(b).ok())
        .is_some_and(|ku| ku.digital_signature());
    let client = find(OID_EXTENDED_KEY_USAGE)
        .and_then(|b| ExtendedKeyUsage::from_der(b).ok())
        .is_some_and(|eku| eku.0.iter().any(|oid| oid.to_string() == OID_CLIENT_AUTH));
    signs && client
}

fn ec_key(cert: &Certificate) -> Result<VerifyingKey, CertificateRejected> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid.to_string() != OID_EC_PUBLIC_KEY {
        return Err(CertificateRejected::UnsupportedKey);
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .map(|oid| oid.to_string());
    if curve.as_deref() != Some(OID_P256) {
        return Err(CertificateRejected::UnsupportedKey);
    }
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(CertificateRejected::UnsupportedKey)?;
    VerifyingKey::from_sec1_bytes(bytes).map_err(|_| CertificateRejected::UnsupportedKey)
}

/// The first PEM block's DER bytes.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    let first = rustls_pemfile::certs(&mut reader).next();
    first.and_then(|c| c.ok()).map(|c| c.as_ref().to_vec())
}

/// The CA with its private key, able to issue certificates.
pub struct CertificateAuthority {
    cert: rcgen::Certificate,
    key: KeyPair,
    pem: String,
}

/// An issued certificate and its new private key (PKCS#8 PEM).
pub struct Issued {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_pem: String,
    pub id: CertificateId,
}

fn rcgen_time(t: DateTime<Utc>) -> time::OffsetDateTime {
    rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8)
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    // Positive and without a leading zero byte, so DER keeps all 16 bytes as given.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn write(path: &Path, contents: &str) -> Result<(), PkiError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PkiError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl CertificateAuthority {
    pub fn create(common_name: &str) -> Result<CertificateAuthority, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "SCR Viewer development");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = Utc::now();
        params.not_before = rcgen_time(now - Duration::days(1));
        params.not_after = rcgen_time(now + Duration::days(3650));
        params.serial_number = Some(random_serial());
        let cert = params.self_signed(&key)?;
        let pem = cert.pem();
        Ok(CertificateAuthority { cert, key, pem })
    }

    /// Loads `ca.pem` and `ca-key.pem` from `dir`.
    pub fn load(dir: &Path) -> Result<CertificateAuthority, PkiError> {
        let pem = read(&dir.join("ca.pem"))?;
        let key_pem = read(&dir.join("ca-key.pem"))?;
        let key = KeyPair::from_pem(&key_pem)?;
        let params = CertificateParams::from_ca_cert_pem(&pem)?;
        // Re-signing the same parameters with the same key gives an issuer whose name and key
        // match the CA certificate on disk, which is all that chaining checks.
        let cert = params.self_signed(&key)?;
        Ok(CertificateAuthority { cert, key, pem })
    }

    pub fn save(&self, dir: &Path) -> Result<(), PkiError> {
        write(&dir.join("ca.pem"), &self.pem)?;
        write_secret(&dir.join("ca-key.pem"), &self.key.serialize_pem())?;
        Ok(())
    }

    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    pub fn trust_anchor(&self) -> Result<TrustAnchor, PkiError> {
        TrustAnchor::from_pem(&self.pem)
    }

    /// The spine's TLS server certificate for the given host names and addresses.
    pub fn issue_server(&self, names: &[&str]) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "scr-spine");
        params.distinguished_name = dn;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName((*n).try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = Utc::now();
        self.issue(params, now - Duration::days(1), now + Duration::days(825))
    }

    /// A client certificate for a member of staff or a GP system (smartcard authentication
    /// key, PIV slot 9A), valid from `not_before` to `not_after`.
    pub fn issue_identity(
        &self,
        common_name: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "SCR Viewer development");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        self.issue(params, not_before, not_after)
    }

    /// A key-management certificate (PIV slot 9D), used for key agreement only.
    pub fn issue_key_management(&self, common_name: &str) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "SCR Viewer development");
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::KeyAgreement];
        let now = Utc::now();
        self.issue(params, now - Duration::days(1), now + Duration::days(1095))
    }

    fn issue(
        &self,
        mut params: CertificateParams,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Issued, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        params.serial_number = Some(random_serial());
        params.not_before = rcgen_time(not_before);
        params.not_after = rcgen_time(not_after);
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        // Read back from what was signed, so the store keys the certificate exactly as
        // sign-in will see it.
        let id = CertificateId::of(cert.der())
            .map_err(|e| PkiError::BadCa(format!("issued certificate unreadable: {e}")))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            id,
        })
    }
}

/// Writes a private key (or anything secret) so that it is never readable by others, not
/// even for a moment: the file is created owner-only before any byte is written, and an
/// existing file is narrowed to owner-only before it is overwritten.
pub fn write_secret(path: &Path, contents: &str) -> Result<(), PkiError> {
    use std::io::Write;
    let failed = |source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PkiError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
        }
    }
    let mut file = options.open(path).map_err(failed)?;
    file.set_len(0).map_err(failed)?;
    file.write_all(contents.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

pub fn write_file(path: &Path, contents: &str) -> Result<(), PkiError> {
    write(path, contents)
}

//! Interoperability with an independent PIV implementation: Debian's OpenSC (its PIV card
//! driver, `pkcs15-tool` and the PKCS#11 module through `pkcs11-tool`) uses our virtual
//! card through pcscd exactly as it would a real one. If OpenSC accepts our card, our card
//! speaks PIV, and our client, which speaks to the same card, is held to the same standard.
//!
//! Skipped without pcscd/OpenSC unless SCR_REQUIRE_PCSC is set (scripts/test sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use p256::ecdsa::signature::Verifier;
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use scr_vcard::{CardConfig, Fault};
use x509_cert::der::{DecodePem, Encode};

const PKCS11_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const PASSCODE: &str = "246810";

fn tools_ready() -> bool {
    let ready = Path::new(PKCS11_MODULE).exists()
        && Command::new("pkcs15-tool")
            .arg("--version")
            .output()
            .is_ok()
        && scr_card::PcscContext::establish()
            .and_then(|c| c.readers())
            .map(|r| r.iter().any(|r| r.name == "Virtual PCD 00 00"))
            .unwrap_or(false);
    if !ready {
        assert!(
            std::env::var("SCR_REQUIRE_PCSC").is_err(),
            "SCR_REQUIRE_PCSC is set but pcscd, vpcd or OpenSC is missing"
        );
        eprintln!("pcscd/vpcd/OpenSC not available: interop test skipped");
    }
    ready
}

fn identity(dir: &Path) -> PathBuf {
    let ca = scr_spine::pki::CertificateAuthority::create("Interop Test CA").expect("CA");
    let now = chrono::Utc::now();
    let auth = ca
        .issue_identity(
            "Dr Interop Test",
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .expect("identity");
    let km = ca.issue_key_management("Dr Interop Test").expect("km");
    let id = dir.join("identity");
    std::fs::create_dir_all(&id).expect("dir");
    std::fs::write(id.join("cert.pem"), &auth.cert_pem).expect("write");
    std::fs::write(id.join("key.pem"), &auth.key_pem).expect("write");
    std::fs::write(id.join("km-cert.pem"), &km.cert_pem).expect("write");
    std::fs::write(id.join("km-key.pem"), &km.key_pem).expect("write");
    std::fs::write(
        id.join("profile.json"),
        format!(r#"{{"passcode":"{PASSCODE}"}}"#),
    )
    .expect("write");
    id
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("run OpenSC tool");
    eprintln!(
        "$ {:?}\n{}{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pem_der(pem: &[u8]) -> Vec<u8> {
    x509_cert::Certificate::from_pem(pem)
        .expect("PEM certificate")
        .to_der()
        .expect("DER")
}

fn pkcs11(args: &[&str]) -> Command {
    let mut cmd = Command::new("pkcs11-tool");
    cmd.args(["--module", PKCS11_MODULE]).args(args);
    cmd
}

#[test]
fn opensc_reads_signs_and_derives_with_the_virtual_card() {
    if !tools_ready() {
        return;
    }
    let work = tempfile::tempdir().expect("temp");
    let id = identity(work.path());
    // Wait for any earlier card to be gone from reader 0.
    std::thread::sleep(std::time::Duration::from_millis(900));
    let card = scr_vcard::insert(&CardConfig {
        fault: Fault::None,
        ..CardConfig::new(&id, 0)
    })
    .expect("insert");
    std::thread::sleep(std::time::Duration::from_millis(900));

    // OpenSC's PIV driver recognises the card.
    let out = run(Command::new("opensc-tool").args(["--reader", "0", "--name"]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Personal Identity Verification Card"),
        "OpenSC did not take it for a PIV card"
    );

    // It reads the authentication certificate (PKCS#15 id 01 = slot 9A) byte for byte.
    let out = run(Command::new("pkcs15-tool").args(["--reader", "0", "--read-certificate", "01"]));
    assert!(out.status.success());
    let ours = std::fs::read(id.join("cert.pem")).expect("cert");
    assert_eq!(pem_der(&out.stdout), pem_der(&ours));

    // It signs through PKCS#11 after the passcode, and the signature verifies with our key.
    let message = work.path().join("message");
    let signature = work.path().join("signature");
    std::fs::write(&message, b"interop challenge").expect("write");
    let out = run(&mut pkcs11(&[
        "--login",
        "--pin",
        PASSCODE,
        "--sign",
        "--id",
        "01",
        "-m",
        "ECDSA-SHA256",
        "--input-file",
        message.to_str().expect("path"),
        "--output-file",
        signature.to_str().expect("path"),
    ]));
    assert!(out.status.success(), "pkcs11-tool --sign failed");
    let raw = std::fs::read(&signature).expect("signature");
    let sig = p256::ecdsa::Signature::from_slice(&raw).expect("r||s signature");
    let cert_der = pem_der(&ours);
    let key = scr_card::piv::certificate_public_key(&cert_der).expect("key");
    key.verify(b"interop challenge", &sig)
        .expect("OpenSC's signature from our card verifies with the certificate key");

    // ECDH with the key-management key (id 03 = slot 9D) gives the secret we compute.
    let peer = p256::SecretKey::random(&mut rand_core_rng());
    let peer_der = peer.public_key().to_public_key_der().expect("SPKI");
    let peer_file = work.path().join("peer.der");
    let secret_file = work.path().join("secret");
    std::fs::write(&peer_file, peer_der.as_bytes()).expect("write");
    let out = run(&mut pkcs11(&[
        "--login",
        "--pin",
        PASSCODE,
        "--derive",
        "-m",
        "ECDH1-DERIVE",
        "--id",
        "03",
        "--input-file",
        peer_file.to_str().expect("path"),
        "--output-file",
        secret_file.to_str().expect("path"),
    ]));
    assert!(out.status.success(), "pkcs11-tool --derive failed");
    let km_key = p256::SecretKey::from_pkcs8_pem(
        &std::fs::read_to_string(id.join("km-key.pem")).expect("km key"),
    )
    .expect("km key");
    let expected =
        p256::ecdh::diffie_hellman(peer.to_nonzero_scalar(), km_key.public_key().as_affine());
    assert_eq!(
        std::fs::read(&secret_file).expect("secret"),
        expected.raw_secret_bytes().to_vec()
    );

    // A wrong passcode through OpenSC costs a try on our card's persisted counter.
    let out = run(&mut pkcs11(&[
        "--login",
        "--pin",
        "999999",
        "--sign",
        "--id",
        "01",
        "-m",
        "ECDSA-SHA256",
        "--input-file",
        message.to_str().expect("path"),
        "--output-file",
        signature.to_str().expect("path"),
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CKR_PIN_INCORRECT"));
    let state = std::fs::read_to_string(id.join("card-state.json")).expect("state");
    assert!(state.contains("\"passcode_tries_left\":2"), "{state}");
    card.remove();
}

fn rand_core_rng() -> impl p256::elliptic_curve::rand_core::CryptoRngCore {
    p256::elliptic_curve::rand_core::OsRng
}

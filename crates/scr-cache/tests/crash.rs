//! Crash safety: a writer process killed with SIGKILL in the middle of rewriting entries
//! leaves every entry whole — the old version or the new one, each opening — never a torn
//! one. The child is this test binary itself, re-run with an environment variable.

use std::time::Duration;

use scr_cache::*;

const CHILD: &str = "SCR_CACHE_CRASH_WRITER";
const PATIENTS: [&str; 4] = ["9990000018", "9990000026", "9990000034", "9990000042"];
const NOW: i64 = 1_763_900_000_000;

/// The same user in both processes: fixed card and device secrets (test data only).
fn card_key() -> p256::SecretKey {
    p256::SecretKey::from_slice(&[7u8; 32]).expect("a valid scalar")
}

fn device() -> Secret {
    Secret::from_bytes(&[9u8; 32]).expect("32 bytes")
}

fn key_from(store: &CacheStore) -> UserKey {
    let user = store.user("555000000101").expect("read").expect("user");
    let peer = user.header.ephemeral_public_key().expect("key");
    let shared = p256::ecdh::diffie_hellman(card_key().to_nonzero_scalar(), peer.as_affine());
    let card = Secret::from_bytes(shared.raw_secret_bytes()).expect("secret");
    user.header.user_key(&card, &device()).expect("key")
}

/// A version's bundle: large enough that a write spans many pages.
fn bundle(version: u64) -> Vec<u8> {
    let mut b = format!("{{\"version\":{version},\"pad\":\"").into_bytes();
    b.extend(std::iter::repeat_n(b'x', 64 * 1024));
    b.extend_from_slice(b"\"}");
    b
}

/// In the child: rewrite every patient's entry, version after version, until killed.
#[test]
fn writer_until_killed() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let mut store =
        CacheStore::open(std::path::Path::new(&path), Retention::default()).expect("open");
    let key = key_from(&store);
    for version in 1.. {
        for nhs in PATIENTS {
            let b = bundle(version);
            store
                .put(
                    &key,
                    &NewEntry {
                        nhs_number: nhs,
                        label: "label",
                        reason: "permission-to-view",
                        fetched_at_ms: NOW + version as i64,
                        viewed_at_ms: NOW + version as i64,
                        bundle: &b,
                    },
                )
                .expect("put");
        }
    }
}

#[test]
fn a_writer_killed_mid_write_leaves_every_entry_whole() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cache.sqlite");
    {
        let mut store = CacheStore::open(&path, Retention::default()).expect("open");
        let (header, _) = UserHeader::create("555000000101", &card_key().public_key(), &device());
        store
            .replace_user(
                &CacheUser {
                    header,
                    auth_certificate: b"certificate".to_vec(),
                    user_name: "Dr Test".into(),
                    idle_timeout_secs: 900,
                },
                &[1u8; 32],
            )
            .expect("user");
    }
    let mut versions_seen = Vec::new();
    for round in 0..3u64 {
        let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args(["--exact", "writer_until_killed", "--test-threads", "1"])
            .env(CHILD, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child");
        // Let it write for a while, then kill it without warning (no destructors run).
        std::thread::sleep(Duration::from_millis(400 + 150 * round));
        child.kill().expect("SIGKILL");
        let _ = child.wait();

        let mut store = CacheStore::open(&path, Retention::default()).expect("reopen");
        let key = key_from(&store);
        let (listed, altered) = store.list(&key, NOW).expect("list");
        assert_eq!(altered, 0, "no torn entry after round {round}");
        for nhs in PATIENTS {
            let Some(entry) = store.get(&key, nhs, NOW).expect("opens") else {
                continue;
            };
            let text = String::from_utf8_lossy(&entry.bundle[..40]).to_string();
            let version: u64 = text
                .trim_start_matches("{\"version\":")
                .split(',')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a whole version");
            assert_eq!(
                &entry.bundle[..],
                &bundle(version)[..],
                "entry is one whole version"
            );
            assert_eq!(entry.fetched_at_ms, NOW + version as i64);
            versions_seen.push(version);
        }
        assert!(
            !listed.is_empty(),
            "the child wrote something in round {round}"
        );
    }
    assert!(versions_seen.iter().any(|v| *v > 1), "{versions_seen:?}");
}

//! The cache file: round trip, retention by age and count (clock injected), tampering in
//! the file itself, and "Remove my offline records".

use scr_cache::*;

const NOW: i64 = 1_763_900_000_000;
const HOUR: i64 = 3_600_000;

struct User {
    card_key: p256::SecretKey,
    device: Secret,
    id: String,
}

impl User {
    fn new(id: &str) -> User {
        User {
            card_key: p256::SecretKey::random(&mut rand::rngs::OsRng),
            device: Secret::random(),
            id: id.into(),
        }
    }

    /// Creates the user's header in `store` (as at an online sign-in) and returns the key.
    fn enrol(&self, store: &mut CacheStore) -> UserKey {
        let (header, card) =
            UserHeader::create(&self.id, &self.card_key.public_key(), &self.device);
        let user = CacheUser {
            header: header.clone(),
            auth_certificate: b"certificate".to_vec(),
            user_name: "Dr Test".into(),
            idle_timeout_secs: 900,
        };
        store
            .replace_user(&user, &fingerprint(&self.id))
            .expect("header");
        header.user_key(&card, &self.device).expect("key")
    }

    /// Opens the key again from the stored header, as an offline sign-in does with the card.
    fn reopen(&self, store: &CacheStore) -> UserKey {
        let header = store
            .user_for_certificate(&fingerprint(&self.id))
            .expect("read")
            .expect("header")
            .header;
        let peer = header.ephemeral_public_key().expect("key");
        let shared =
            p256::ecdh::diffie_hellman(self.card_key.to_nonzero_scalar(), peer.as_affine());
        let card = Secret::from_bytes(shared.raw_secret_bytes()).expect("secret");
        header.user_key(&card, &self.device).expect("key")
    }
}

/// Stands in for the SHA-256 of the user's card certificate.
fn fingerprint(id: &str) -> [u8; 32] {
    let mut f = [0u8; 32];
    f[..id.len().min(32)].copy_from_slice(&id.as_bytes()[..id.len().min(32)]);
    f
}

fn entry<'a>(
    nhs: &'a str,
    reason: &'a str,
    fetched: i64,
    viewed: i64,
    bundle: &'a [u8],
) -> NewEntry<'a> {
    NewEntry {
        nhs_number: nhs,
        label: "SMITH, Jo",
        reason,
        fetched_at_ms: fetched,
        viewed_at_ms: viewed,
        bundle,
    }
}

/// How many entry rows the file holds, of any user.
fn entry_rows(s: &CacheStore) -> i64 {
    s.connection()
        .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
        .expect("count")
}

fn store(dir: &tempfile::TempDir, retention: Retention) -> CacheStore {
    CacheStore::open(&dir.path().join("cache.db"), retention).expect("open")
}

#[test]
fn a_summary_round_trips_through_the_file_and_names_no_patient_in_clear() {
    let dir = tempfile::tempdir().expect("dir");
    let mut s = store(&dir, Retention::default());
    let doctor = User::new("555000000101");
    let key = doctor.enrol(&mut s);
    s.put(
        &key,
        &entry(
            "9990000018",
            "permission-to-view",
            NOW,
            NOW + 5,
            b"{\"bundle\":1}",
        ),
    )
    .expect("put");
    drop(s);
    let mut s = store(&dir, Retention::default());
    let key = doctor.reopen(&s);
    let got = s
        .get(&key, "9990000018", NOW + HOUR)
        .expect("get")
        .expect("present");
    assert_eq!(&got.bundle[..], b"{\"bundle\":1}");
    assert_eq!(got.reason, "permission-to-view");
    assert_eq!((got.fetched_at_ms, got.viewed_at_ms), (NOW, NOW + 5));
    let (list, altered) = s.list(&key, NOW + HOUR).expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].nhs_number, "9990000018");
    assert_eq!(altered, 0);
    drop(s);
    let mut raw = Vec::new();
    for f in ["cache.db", "cache.db-wal"] {
        raw.extend(std::fs::read(dir.path().join(f)).unwrap_or_default());
    }
    assert!(
        !raw.windows(10).any(|w| w == b"9990000018"),
        "NHS number on disk in clear"
    );
    assert!(
        !raw.windows(10).any(|w| w == b"{\"bundle\":"),
        "record on disk in clear"
    );
}

#[test]
fn entries_expire_with_the_injected_clock_and_the_cap_drops_the_oldest() {
    let dir = tempfile::tempdir().expect("dir");
    let mut s = store(&dir, Retention::new(48, 3));
    let doctor = User::new("555000000101");
    let key = doctor.enrol(&mut s);
    for (i, nhs) in ["9990000018", "9990000026", "9990000034", "9990000042"]
        .iter()
        .enumerate()
    {
        s.put(
            &key,
            &entry(nhs, "permission-to-view", NOW, NOW + i as i64, b"{}"),
        )
        .expect("put");
    }
    let (list, _) = s.list(&key, NOW).expect("list");
    let kept: Vec<&str> = list.iter().map(|l| l.nhs_number.as_str()).collect();
    assert_eq!(
        kept,
        ["9990000042", "9990000034", "9990000026"],
        "oldest viewed dropped"
    );
    assert!(s
        .get(&key, "9990000026", NOW + 47 * HOUR)
        .expect("get")
        .is_some());
    assert!(s
        .get(&key, "9990000026", NOW + 48 * HOUR)
        .expect("get")
        .is_none());
    assert_eq!(s.purge_expired(NOW + 48 * HOUR).expect("purge"), 2);
    assert!(s.list(&key, NOW).expect("list").0.is_empty());
    // The clear expiry column is not what decides: pushing it forward keeps nothing alive.
    s.put(
        &key,
        &entry("9990000018", "permission-to-view", NOW, NOW + 9, b"{}"),
    )
    .expect("put");
    s.connection()
        .execute(
            "UPDATE entries SET expires_ms = expires_ms + 1000 * ?1",
            [HOUR],
        )
        .expect("edit expiry");
    assert!(s
        .get(&key, "9990000018", NOW + 48 * HOUR)
        .expect("get")
        .is_none());
    // A shorter retention applies to entries already stored.
    s.put(
        &key,
        &entry("9990000026", "permission-to-view", NOW, NOW + 10, b"{}"),
    )
    .expect("put");
    drop(s);
    let mut s = store(&dir, Retention::new(12, 3));
    let key = doctor.reopen(&s);
    assert!(s
        .get(&key, "9990000026", NOW + 13 * HOUR)
        .expect("get")
        .is_none());
    assert_eq!(
        Retention::new(24 * 30, 10).max_age_ms,
        7 * 24 * HOUR,
        "capped at 7 days"
    );
}

#[test]
fn an_entry_edited_or_swapped_in_the_file_is_refused_and_deleted() {
    let dir = tempfile::tempdir().expect("dir");
    let mut s = store(&dir, Retention::default());
    let doctor = User::new("555000000101");
    let key = doctor.enrol(&mut s);
    s.put(
        &key,
        &entry("9990000018", "permission-to-view", NOW, NOW, b"{\"a\":1}"),
    )
    .expect("put");
    s.put(
        &key,
        &entry("9990000026", "permission-to-view", NOW, NOW, b"{\"b\":2}"),
    )
    .expect("put");
    // Swap the two sealed blobs: each now sits under the other patient's slot.
    s.connection()
        .execute_batch(
            "CREATE TEMP TABLE t AS SELECT slot, sealed FROM entries;
             UPDATE entries SET sealed = (SELECT sealed FROM t WHERE t.slot <> entries.slot);",
        )
        .expect("swap");
    // The list reads only the sealed listings, which are intact; each swapped Bundle is
    // refused (and deleted) when it is opened.
    let (list, altered) = s.list(&key, NOW).expect("list");
    assert_eq!((list.len(), altered), (2, 0));
    for nhs in ["9990000018", "9990000026"] {
        assert_eq!(
            s.get(&key, nhs, NOW).err(),
            Some(CacheError::Tampered),
            "{nhs}"
        );
    }
    assert!(s.list(&key, NOW).expect("list").0.is_empty());
    // Swapped listings are refused by the list itself, and their entries deleted.
    for nhs in ["9990000018", "9990000026"] {
        s.put(&key, &entry(nhs, "permission-to-view", NOW, NOW, b"{}"))
            .expect("put");
    }
    s.connection()
        .execute_batch(
            "CREATE TEMP TABLE l AS SELECT slot, sealed FROM listings;
             UPDATE listings SET sealed = (SELECT sealed FROM l WHERE l.slot <> listings.slot);",
        )
        .expect("swap listings");
    let (list, altered) = s.list(&key, NOW).expect("list");
    assert!(list.is_empty());
    assert_eq!(altered, 2);
    assert_eq!(entry_rows(&s), 0);
    // A changed fetch time is tampering too.
    s.put(
        &key,
        &entry("9990000034", "permission-to-view", NOW, NOW, b"{}"),
    )
    .expect("put");
    s.connection()
        .execute("UPDATE entries SET fetched_ms = fetched_ms + 1", [])
        .expect("edit");
    assert_eq!(
        s.get(&key, "9990000034", NOW).err(),
        Some(CacheError::Tampered)
    );
    let left = entry_rows(&s);
    assert_eq!(left, 0, "refused entries are deleted");
}

#[test]
fn another_users_entries_stay_closed_and_removing_mine_leaves_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let mut s = store(&dir, Retention::default());
    let doctor = User::new("555000000101");
    let nurse = User::new("555000000505");
    let dk = doctor.enrol(&mut s);
    let nk = nurse.enrol(&mut s);
    s.put(&dk, &entry("9990000018", "emergency", NOW, NOW, b"{}"))
        .expect("put");
    // The nurse's key finds nothing of the doctor's, even for the same patient.
    assert!(s.get(&nk, "9990000018", NOW).expect("get").is_none());
    assert!(s.list(&nk, NOW).expect("list").0.is_empty());
    // Copying the doctor's row under the nurse's user id does not open either.
    s.connection()
        .execute(
            "INSERT INTO entries (user_id, slot, fetched_ms, viewed_ms, expires_ms, sealed)
             SELECT ?1, ?2, fetched_ms, viewed_ms, expires_ms, sealed FROM entries WHERE user_id = ?3",
            rusqlite::params![nurse.id, nk.patient_slot("9990000018"), doctor.id],
        )
        .expect("copy");
    assert_eq!(
        s.get(&nk, "9990000018", NOW).err(),
        Some(CacheError::Tampered)
    );
    // "Remove my offline records": the doctor's entries are gone, the header stays.
    assert_eq!(s.remove_entries(&doctor.id).expect("remove"), 1);
    assert!(s.user(&doctor.id).expect("read").is_some());
    assert!(s.get(&dk, "9990000018", NOW).expect("get").is_none());
    let left: i64 = s
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM entries WHERE user_id = ?1",
            [&doctor.id],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
    // The nurse's copied row is still there for her key to refuse; forgetting her drops it.
    s.forget_user(&nurse.id).expect("forget");
    let left = entry_rows(&s);
    assert_eq!(left, 0, "entries go with their user");
}

#[test]
fn queued_audit_of_offline_views_opens_only_with_the_users_key_and_survives_removal() {
    let dir = tempfile::tempdir().expect("dir");
    let mut s = store(&dir, Retention::default());
    let doctor = User::new("555000000101");
    let nurse = User::new("555000000505");
    let dk = doctor.enrol(&mut s);
    let nk = nurse.enrol(&mut s);
    s.queue_audit(&dk, "a1", b"view of 9990000018")
        .expect("queue");
    s.queue_audit(&dk, "a2", b"view of 9990000026")
        .expect("queue");
    assert!(s.queued_audit(&nk).expect("nurse").0.is_empty());
    assert_eq!(s.remove_entries(&doctor.id).expect("remove"), 0);
    let dk = doctor.reopen(&s);
    let (queued, bad) = s.queued_audit(&dk).expect("queued");
    assert_eq!(bad, 0);
    let ids: Vec<&str> = queued.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    assert_eq!(&queued[0].1[..], b"view of 9990000018");
    // A record moved to another id fails to open, and is dropped.
    s.connection()
        .execute("UPDATE audit_queue SET id = 'a3' WHERE id = 'a2'", [])
        .expect("edit");
    let (queued, bad) = s.queued_audit(&dk).expect("queued");
    assert_eq!((queued.len(), bad), (1, 1));
    s.dequeue_audit(&doctor.id, &["a1".to_string()])
        .expect("dequeue");
    assert!(s.queued_audit(&dk).expect("queued").0.is_empty());
}

/// The cache file and SQLite's WAL beside it are readable by this OS account only.
#[cfg(unix)]
#[test]
fn the_cache_file_and_its_wal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("offline.db");
    let mut store = CacheStore::open(&path, Retention::default()).expect("open");
    let _ = User::new("owner-only").enrol(&mut store);
    for file in [path.clone(), dir.path().join("offline.db-wal")] {
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", file.display());
    }
}

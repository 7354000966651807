//! The viewer's side of the offline cache: which key is open (and for which session), how
//! summaries go in after an online view, how an offline sign-in opens them again, and the
//! queue of offline views waiting for the spine's audit trail.
//!
//! The cache is on only when the OS keyring answers; otherwise it is off for the app's
//! lifetime with the reason, and nothing is ever written in its place.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeZone, Utc};
use scr_cache::{
    CacheError, CacheStore, CacheUser, DeviceKeyring, Listing, NewEntry, Retention, Secret,
    UserHeader, UserKey,
};
use scr_client::CardAsk;
use serde::{Deserialize, Serialize};

use crate::view::{CacheStatus, OfflineEntryView, PatientView};
use scr_model::ErrorCode;

/// The app's clock (tests inject their own to check expiry).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// The cache file's name in the app's data directory.
pub const CACHE_FILE: &str = "offline-cache.sqlite";

/// How often expired entries are deleted while the app runs.
pub const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The key of the user signed in now, tied to their session: a key whose session has
/// ended is never used, and is wiped as soon as the end is heard.
pub struct OpenKey {
    pub session_serial: u64,
    pub user_id: String,
    pub key: UserKey,
}

/// Where the open key is kept; shared with the session-event loop so a card pull wipes it.
pub type KeyHolder = Arc<Mutex<Option<Arc<OpenKey>>>>;

/// One offline view waiting to be sent to the spine's audit trail (sealed in the queue).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueuedView {
    pub id: String,
    pub nhs_number: String,
    pub reason: String,
    pub viewed_at_ms: i64,
    pub fetched_at_ms: i64,
}

/// What [`OfflineCache::prepare`] decided before the card step.
pub enum Prepared {
    /// Set up here already, header vouched for by this card: the card's ECDH reopens it.
    Existing(CacheUser),
    /// Not set up (or the old header is not vouched for): a new header for the card to sign.
    New {
        header: UserHeader,
        card_secret: Secret,
    },
    /// The card has no key-management certificate: no cache for this card.
    NoKeyManagementKey,
}

/// What an online sign-in brings to the cache (owned, so it can go to a blocking thread).
pub struct Enrolment {
    pub user_id: String,
    pub user_name: String,
    pub idle_timeout_secs: u32,
    pub certificates: scr_client::CardCertificates,
    pub card_fingerprint: [u8; 32],
    pub prepared: Prepared,
    /// The card's ECDH answer for an existing header.
    pub card_secret: Option<Secret>,
    /// The card's signature over a new header.
    pub header_signature: Option<Vec<u8>>,
}

impl Enrolment {
    pub fn of(
        signed: &scr_client::SignedIn,
        prepared: Prepared,
        idle_timeout_secs: u32,
    ) -> Enrolment {
        Enrolment {
            user_id: signed.user.user_id.clone(),
            user_name: signed.user.name.clone(),
            idle_timeout_secs,
            certificates: signed.certificates.clone(),
            card_fingerprint: signed.card_fingerprint,
            prepared,
            card_secret: signed
                .key_agreement
                .as_ref()
                .and_then(|a| Secret::from_bytes(a.expose()).ok()),
            header_signature: signed.extra_signature.clone(),
        }
    }
}

/// The open cache: its file, the keyring, the retention rules and the clock.
pub struct OfflineCache {
    store: Mutex<CacheStore>,
    keyring: DeviceKeyring,
    retention: Retention,
    clock: Clock,
}

pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn instant(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Runs cache work (SQLite, fsync, decryption) on Tokio's blocking pool, so neither the
/// window's thread nor an async worker waits on the disk or on the store's lock.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CacheError> + Send + 'static,
) -> Result<T, CacheError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CacheError::Storage(format!("the offline cache task stopped: {e}")))?
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl OfflineCache {
    /// Opens the cache in `data_dir` if the keyring answers; otherwise says why it is off.
    /// Expired entries are deleted first either way.
    pub fn open(
        data_dir: &Path,
        retention: Retention,
        keyring: DeviceKeyring,
        clock: Clock,
    ) -> Result<OfflineCache, String> {
        let mut store = CacheStore::open(&data_dir.join(CACHE_FILE), retention)
            .map_err(|e| format!("The offline cache file cannot be opened ({e})."))?;
        let _ = store.purge_expired(millis(clock()));
        keyring.probe().map_err(|e| match e {
            CacheError::KeyringUnavailable(why) => crate::error::capitalised(&why),
            other => crate::error::capitalised(&other.to_string()),
        })?;
        Ok(OfflineCache {
            store: Mutex::new(store),
            keyring,
            retention,
            clock,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub fn max_age_hours(&self) -> u32 {
        u32::try_from(self.retention.max_age_ms / scr_cache::HOUR_MS).unwrap_or(u32::MAX)
    }

    fn store(&self) -> MutexGuard<'_, CacheStore> {
        // Every store call is one SQLite transaction: a panic elsewhere cannot leave it
        // half-done, so a poisoned lock is safe to take over.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deletes every expired entry of every user.
    pub fn purge_expired(&self) -> Result<usize, CacheError> {
        let now = millis(self.now());
        self.store().purge_expired(now)
    }

    /// The user whose card shows this authentication certificate, if that card set up
    /// offline records here and vouched for their header (its signature over the header
    /// verifies against this very certificate). A header anyone else made is ignored.
    pub fn user_for_certificate(&self, certificate: &[u8]) -> Option<CacheUser> {
        let fingerprint = scr_card::certificate_fingerprint(certificate);
        let user = self
            .store()
            .user_for_certificate(&fingerprint)
            .ok()
            .flatten()?;
        let vouched = user.auth_certificate == certificate
            && scr_card::signature_matches(
                certificate,
                &user.header.card_binding_message(),
                &user.header.card_binding,
            );
        vouched.then_some(user)
    }

    /// During online sign-in, given the card's certificates: what to ask of the card. For a
    /// user already set up, the ECDH that reopens their key; otherwise a new header for the
    /// card to vouch for with its signature.
    pub fn prepare(&self, certificates: &scr_client::CardCertificates) -> (CardAsk, Prepared) {
        if let Some(user) = self.user_for_certificate(&certificates.authentication) {
            if let Ok(peer) = user.header.ephemeral_public_key() {
                let ask = CardAsk {
                    agree_with: Some(peer),
                    also_sign: None,
                };
                return (ask, Prepared::Existing(user));
            }
        }
        let km_public = certificates
            .key_management
            .as_deref()
            .and_then(|c| scr_card::piv::certificate_public_key(c).ok())
            .map(p256::PublicKey::from);
        let Some(km_public) = km_public else {
            return (CardAsk::default(), Prepared::NoKeyManagementKey);
        };
        let (header, card_secret) = UserHeader::begin(&km_public);
        let ask = CardAsk {
            agree_with: None,
            also_sign: Some(header.card_binding_message()),
        };
        (
            ask,
            Prepared::New {
                header,
                card_secret,
            },
        )
    }

    /// After an online sign-in: opens the user's key with the card's answer, or completes
    /// the new header the card has just vouched for.
    pub fn enrol(&self, signed: Enrolment) -> Result<UserKey, CacheError> {
        let user_id = signed.user_id.clone();
        let device = self.keyring.get_or_create(&user_id)?;
        match signed.prepared {
            Prepared::Existing(user) if user.header.user_id == user_id => {
                let card = signed.card_secret.ok_or(CacheError::WrongCard)?;
                match user.header.user_key(&card, &device) {
                    Ok(key) => {
                        self.store().update_user_details(
                            &user_id,
                            &signed.user_name,
                            signed.idle_timeout_secs,
                        )?;
                        Ok(key)
                    }
                    Err(e) => {
                        // The card is right (it signed in) but the records do not open: the
                        // device secret was lost or replaced. Start afresh at the next
                        // sign-in, when the card can vouch for a new header.
                        self.store().forget_user(&user_id)?;
                        Err(e)
                    }
                }
            }
            Prepared::Existing(_) => Err(CacheError::WrongUser),
            Prepared::NoKeyManagementKey => Err(CacheError::KeyringUnavailable(
                "your smartcard has no key-management certificate".into(),
            )),
            Prepared::New {
                mut header,
                card_secret,
            } => {
                let binding = signed.header_signature.ok_or(CacheError::WrongCard)?;
                if !scr_card::signature_matches(
                    &signed.certificates.authentication,
                    &header.card_binding_message(),
                    &binding,
                ) {
                    return Err(CacheError::WrongCard);
                }
                header.user_id = user_id.clone();
                header.bind_device(&device);
                header.card_binding = binding;
                let key = header.user_key(&card_secret, &device)?;
                self.store().replace_user(
                    &CacheUser {
                        header,
                        auth_certificate: signed.certificates.authentication.clone(),
                        user_name: signed.user_name.clone(),
                        idle_timeout_secs: signed.idle_timeout_secs,
                    },
                    &signed.card_fingerprint,
                )?;
                Ok(key)
            }
        }
    }

    /// Offline sign-in's last step: the user's key from the card's answer and this
    /// machine's device secret.
    pub fn unlock(&self, user: &CacheUser, agreed: &[u8]) -> Result<UserKey, CacheError> {
        let device = self.keyring.get(&user.header.user_id)?.ok_or_else(|| {
            CacheError::KeyringUnavailable(
                "this computer's keyring no longer holds the key to your offline records".into(),
            )
        })?;
        let card = Secret::from_bytes(agreed)?;
        user.header.user_key(&card, &device)
    }

    /// Seals a summary just viewed online.
    pub fn put(
        &self,
        key: &UserKey,
        patient: &PatientView,
        reason: &str,
        fetched_at: DateTime<Utc>,
        bundle: &[u8],
    ) -> Result<(), CacheError> {
        let nhs = patient.nhs_number.clone().unwrap_or_default();
        let label = serde_json::to_string(patient).unwrap_or_default();
        self.store().put(
            key,
            &NewEntry {
                nhs_number: &nhs,
                label: &label,
                reason,
                fetched_at_ms: millis(fetched_at),
                viewed_at_ms: millis(self.now()),
                bundle,
            },
        )
    }

    /// The user's copy of a patient as it stands, to compare a fresh one with before it is
    /// replaced. Not a view of an offline copy (nothing is shown from it but the changes),
    /// so nothing is queued for the audit trail. Expired: `None` (and deleted); altered:
    /// `Err(Tampered)` (and deleted), as for any opening.
    pub fn previous(
        &self,
        key: &UserKey,
        nhs_number: &str,
    ) -> Result<Option<scr_cache::CachedSummary>, CacheError> {
        let now = millis(self.now());
        self.store().get(key, nhs_number, now)
    }

    /// As [`OfflineCache::previous`], off the calling thread (it decrypts a whole Bundle).
    pub async fn previous_off_thread(
        self: &Arc<Self>,
        key: Arc<OpenKey>,
        nhs_number: String,
    ) -> Result<Option<scr_cache::CachedSummary>, CacheError> {
        let cache = self.clone();
        blocking(move || cache.previous(&key.key, &nhs_number)).await
    }

    /// Drops the user's copy of a patient the spine now refuses (opted out, no longer held).
    pub fn remove(&self, key: &UserKey, nhs_number: &str) -> Result<bool, CacheError> {
        self.store().remove(key, nhs_number)
    }

    /// The user's unexpired records, newest viewed first, and how many were found altered.
    pub fn list(&self, key: &UserKey) -> Result<(Vec<OfflineEntryView>, usize), CacheError> {
        let now = millis(self.now());
        let (listing, altered) = self.store().list(key, now)?;
        Ok((listing.iter().map(entry_view).collect(), altered))
    }

    /// As [`OfflineCache::list`], off the calling thread.
    pub async fn list_off_thread(
        self: &Arc<Self>,
        key: Arc<OpenKey>,
    ) -> Result<(Vec<OfflineEntryView>, usize), CacheError> {
        let cache = self.clone();
        blocking(move || cache.list(&key.key)).await
    }

    /// Opens one record for an offline view, and queues that view for the audit trail.
    pub fn open_for_view(
        &self,
        key: &UserKey,
        nhs_number: &str,
    ) -> Result<Option<scr_cache::CachedSummary>, CacheError> {
        let now = self.now();
        let mut store = self.store();
        let Some(found) = store.get(key, nhs_number, millis(now))? else {
            return Ok(None);
        };
        let view = QueuedView {
            id: random_id(),
            nhs_number: found.nhs_number.clone(),
            reason: found.reason.clone(),
            viewed_at_ms: millis(now),
            fetched_at_ms: found.fetched_at_ms,
        };
        let record = serde_json::to_vec(&view)
            .map_err(|e| CacheError::Malformed(format!("audit record: {e}")))?;
        // No audit record, no view: an offline view must reach the trail later.
        store.queue_audit(key, &view.id, &record)?;
        Ok(Some(found))
    }

    /// The offline views waiting for the spine.
    pub fn queued_views(&self, key: &UserKey) -> Result<Vec<QueuedView>, CacheError> {
        let (queued, _) = self.store().queued_audit(key)?;
        Ok(queued
            .iter()
            .filter_map(|(_, bytes)| serde_json::from_slice(bytes).ok())
            .collect())
    }

    pub fn dequeue(&self, user_id: &str, ids: &[String]) -> Result<(), CacheError> {
        self.store().dequeue_audit(user_id, ids)
    }

    /// "Remove my offline records".
    pub fn remove_all(&self, user_id: &str) -> Result<usize, CacheError> {
        self.store().remove_entries(user_id)
    }

    /// As [`OfflineCache::remove_all`], off the calling thread.
    pub async fn remove_all_off_thread(
        self: &Arc<Self>,
        user_id: String,
    ) -> Result<usize, CacheError> {
        let cache = self.clone();
        blocking(move || cache.remove_all(&user_id)).await
    }

    pub fn status(&self) -> CacheStatus {
        CacheStatus::On {
            max_age_hours: self.max_age_hours(),
        }
    }
}

/// Sends the user's queued offline views to the spine's audit trail and drops those it
/// acknowledged. Safe to repeat: the spine records each view id once.
pub async fn send_queued_views(
    cache: Arc<OfflineCache>,
    spine: scr_client::SpineClient,
    token: scr_client::SessionToken,
    key: Arc<OpenKey>,
) {
    let Ok(queued) = cache.queued_views(&key.key) else {
        return;
    };
    let views: Vec<scr_model::OfflineView> = queued
        .iter()
        .filter_map(|q| {
            Some(scr_model::OfflineView {
                id: q.id.clone(),
                nhs_number: scr_model::NhsNumber::parse(&q.nhs_number).ok()?,
                reason: q.reason.clone(),
                viewed_at: instant(q.viewed_at_ms),
                fetched_at: instant(q.fetched_at_ms),
            })
        })
        .collect();
    for batch in views.chunks(500) {
        match spine.report_offline_views(&token, batch).await {
            Ok(_) => {
                let ids: Vec<String> = batch.iter().map(|v| v.id.clone()).collect();
                if let Err(e) = cache.dequeue(&key.user_id, &ids) {
                    tracing::warn!(error = %e, "sent offline views stay queued");
                }
            }
            Err(e) => {
                // Kept for the next online sign-in; the spine ignores a repeated id.
                tracing::warn!(code = %e.code(), "offline views not sent yet");
                return;
            }
        }
    }
}

fn entry_view(l: &Listing) -> OfflineEntryView {
    OfflineEntryView {
        nhs_number: l.nhs_number.clone(),
        patient: serde_json::from_str(&l.label).ok(),
        fetched_at: instant(l.fetched_at_ms).to_rfc3339(),
        viewed_at: instant(l.viewed_at_ms).to_rfc3339(),
        emergency: l.reason == "emergency",
    }
}

/// Whether a refusal from the spine means the patient's copy must leave the cache: they
/// opted out, the spine no longer holds a summary or the patient, or it refuses this user.
pub fn refusal_removes_copy(e: &scr_client::ClientError) -> bool {
    match e {
        scr_client::ClientError::Spine { status, code, .. } => {
            *status == 403
                || matches!(
                    code.known(),
                    Some(
                        ErrorCode::PatientDissented
                            | ErrorCode::NoSummaryHeld
                            | ErrorCode::PatientNotFound
                    )
                )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_900_000_000;

    /// A cache in `dir` with one user set up, without the OS keyring (the key is built as an
    /// online sign-in builds it, from a stand-in card key and a random device secret).
    fn cache_with_a_user(dir: &Path, max_entries: usize) -> (Arc<OfflineCache>, Arc<OpenKey>) {
        let retention = Retention::new(48, max_entries);
        let store = CacheStore::open(&dir.join(CACHE_FILE), retention).expect("open");
        let card_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let device = Secret::random();
        let (header, card) = UserHeader::create("555000000101", &card_key.public_key(), &device);
        let key = header.user_key(&card, &device).expect("key");
        let cache = OfflineCache {
            store: Mutex::new(store),
            keyring: DeviceKeyring::new("scr-viewer-unit-test-unused"),
            retention,
            clock: Arc::new(|| instant(NOW_MS)),
        };
        cache
            .store()
            .replace_user(
                &CacheUser {
                    header,
                    auth_certificate: vec![0x30],
                    user_name: "Dr A".into(),
                    idle_timeout_secs: 900,
                },
                &[7; 32],
            )
            .expect("user");
        let open = OpenKey {
            session_serial: 1,
            user_id: "555000000101".into(),
            key,
        };
        (Arc::new(cache), Arc::new(open))
    }

    fn patient(n: usize) -> PatientView {
        PatientView {
            nhs_number: Some(format!("{:010}", 9_000_000_000usize + n)),
            family: Some(format!("Patient {n}")),
            given: Vec::new(),
            title: None,
            name_text: None,
            gender: None,
            birth_date: None,
            address_lines: Vec::new(),
            postcode: None,
            gp_ods: None,
            restricted: false,
            score: None,
            deceased: None,
        }
    }

    /// The offline list shows name, NHS number and dates; it must not decrypt every full
    /// summary to get them (with many entries that froze the window).
    #[test]
    fn listing_2000_records_decrypts_no_full_summary() {
        let dir = tempfile::tempdir().expect("dir");
        let (cache, open) = cache_with_a_user(dir.path(), 10_000);
        // One fsync per write would make this test slow; durability is not what it checks.
        cache
            .store()
            .connection()
            .execute_batch("PRAGMA synchronous = OFF")
            .expect("pragma");
        let bundle = vec![b' '; 4096];
        for n in 0..2000 {
            cache
                .put(
                    &open.key,
                    &patient(n),
                    "permission-to-view",
                    instant(NOW_MS),
                    &bundle,
                )
                .expect("put");
        }
        let before = cache.store().summaries_opened();
        let (listed, altered) = cache.list(&open.key).expect("list");
        assert_eq!((listed.len(), altered), (2000, 0));
        assert_eq!(
            cache.store().summaries_opened() - before,
            0,
            "listing decrypted full summaries"
        );
        let names: std::collections::BTreeSet<_> = listed
            .iter()
            .filter_map(|e| e.patient.as_ref().and_then(|p| p.family.clone()))
            .collect();
        assert_eq!(names.len(), 2000, "every entry listed with its label");
        // Opening one still decrypts that one, and only it.
        let one = patient(7).nhs_number.expect("nhs");
        assert!(cache
            .open_for_view(&open.key, &one)
            .expect("open")
            .is_some());
        assert_eq!(cache.store().summaries_opened() - before, 1);
    }

    /// The offline list and "Remove my offline records" are async commands whose cache
    /// work runs on the blocking pool: while the cache is busy (its lock held elsewhere),
    /// the caller's thread — the one that would be the window's — gets control back at once.
    #[test]
    fn the_cache_work_of_the_commands_runs_off_the_calling_thread() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};

        let dir = tempfile::tempdir().expect("dir");
        let (cache, open) = cache_with_a_user(dir.path(), 100);
        cache
            .put(&open.key, &patient(1), "emergency", instant(NOW_MS), b"{}")
            .expect("put");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let _entered = runtime.enter();

        let busy = |cache: &Arc<OfflineCache>| {
            let (held, is_held) = std::sync::mpsc::channel();
            let (release, released) = std::sync::mpsc::channel::<()>();
            let holder = {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    let _store = cache.store();
                    let _ = held.send(());
                    // Released by the test; the timeout only stops a failing test hanging.
                    released
                        .recv_timeout(std::time::Duration::from_secs(10))
                        .is_ok()
                })
            };
            is_held.recv().expect("lock held");
            (release, holder)
        };
        let mut cx = Context::from_waker(Waker::noop());

        let (release, holder) = busy(&cache);
        let mut listing = Box::pin(cache.list_off_thread(open.clone()));
        assert!(
            listing.as_mut().poll(&mut cx).is_pending(),
            "the list ran on the calling thread"
        );
        release.send(()).expect("release");
        assert!(holder.join().expect("holder"), "released by the test");
        let (listed, _) = runtime.block_on(listing).expect("list");
        assert_eq!(listed.len(), 1);

        let (release, holder) = busy(&cache);
        let mut removing = Box::pin(cache.remove_all_off_thread(open.user_id.clone()));
        assert!(
            matches!(removing.as_mut().poll(&mut cx), Poll::Pending),
            "the removal ran on the calling thread"
        );
        release.send(()).expect("release");
        assert!(holder.join().expect("holder"), "released by the test");
        assert_eq!(runtime.block_on(removing).expect("remove"), 1);
        let listings: i64 = cache
            .store()
            .connection()
            .query_row("SELECT COUNT(*) FROM listings", [], |r| r.get(0))
            .expect("count");
        assert_eq!(listings, 0, "the listings go with their entries");
    }

    #[test]
    fn only_refusals_about_the_patient_remove_a_copy() {
        let spine = |status: u16, code: &str| scr_client::ClientError::Spine {
            status,
            code: scr_client::SpineCode::parse(code),
            message: String::new(),
        };
        assert!(refusal_removes_copy(&spine(403, "PATIENT_DISSENTED")));
        assert!(refusal_removes_copy(&spine(404, "NO_SUMMARY_HELD")));
        assert!(refusal_removes_copy(&spine(404, "PATIENT_NOT_FOUND")));
        assert!(refusal_removes_copy(&spine(403, "ROLE_NOT_PERMITTED")));
        assert!(!refusal_removes_copy(&spine(503, "TIMEOUT")));
        assert!(!refusal_removes_copy(&spine(400, "ACCESS_REASON_REQUIRED")));
        assert!(!refusal_removes_copy(&scr_client::ClientError::Timeout));
        assert!(!refusal_removes_copy(
            &scr_client::ClientError::SpineUnreachable("x".into())
        ));
    }
}

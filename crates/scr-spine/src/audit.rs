//! The audit trail: every access appends an entry before any data leaves (fail closed), and
//! entries form a SHA-256 hash chain so a removed or edited entry is detectable.
//!
//! All chain writes go through one writer task per spine process. It gathers the entries of
//! concurrent requests and commits them in one transaction (group commit), so the audit write
//! on the hot path costs one commit per batch rather than per request. Each request waits for
//! its batch to commit before answering. Across processes (PostgreSQL, several spines), the
//! chain head row is locked inside each transaction, which keeps the chain linear.

use chrono::{TimeZone, Utc};
pub use scr_model::AuditEntry;
use scr_model::{AuditAction, AuditOutcome, AuditRecord};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{Checkpoint, CheckpointLog, CheckpointSigner};

use crate::chain::{entry_hash, GENESIS_HASH};
use crate::registration::{self, Applied, RegistrationJob};
use crate::store::{self, now_ms, AuditFilter, Store, StoreError};
use crate::upload::{self, UploadJob, UploadOutcome};

/// The most entries one transaction carries; more wait for the next batch.
const MAX_BATCH: usize = 512;

/// A stored record's hash as if it had been written at position `seq`.
fn record_hash_at(r: &AuditRecord, seq: i64) -> String {
    entry_hash(seq, r.at.timestamp_millis(), &r.entry, &r.prev_hash)
}

/// How far from its position a moved entry is looked for.
const MOVED_WINDOW: i64 = 64;

/// The sequence number under which this (otherwise unchanged) entry was written, if it is
/// near its current position but not at it.
fn written_as(r: &AuditRecord) -> Option<i64> {
    (r.seq - MOVED_WINDOW..=r.seq + MOVED_WINDOW)
        .filter(|s| *s != r.seq && *s > 0)
        .find(|s| record_hash_at(r, *s) == r.hash)
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit trail could not be written: {0}")]
    Store(#[from] StoreError),
    #[error("the audit writer has stopped")]
    WriterStopped,
    #[error("the store's disk has {free} bytes free, under the reserve of {reserve}")]
    DiskReserve { free: u64, reserve: u64 },
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        AuditError::Store(StoreError::Database(e))
    }
}

enum Job {
    Append(Vec<AuditEntry>, oneshot::Sender<Result<(), AuditError>>),
    Upload(
        Box<UploadJob>,
        AuditEntry,
        oneshot::Sender<Result<UploadOutcome, AuditError>>,
    ),
    OfflineViews(
        Vec<AuditEntry>,
        oneshot::Sender<Result<OfflineRecorded, AuditError>>,
    ),
    /// A session's role change and its audit entry, in one transaction.
    SelectRole {
        token_hash: String,
        role_profile_id: String,
        entry: AuditEntry,
        done: oneshot::Sender<Result<(), AuditError>>,
    },
    /// A privacy officer's review of an entry's alerts and its audit entry, in one
    /// transaction; `false` when they were already reviewed.
    ReviewAlert {
        seq: i64,
        note: String,
        entry: AuditEntry,
        done: oneshot::Sender<Result<bool, AuditError>>,
    },
    /// A registration authority's change and its audit entry, in one transaction.
    Registration(
        Box<RegistrationJob>,
        AuditEntry,
        oneshot::Sender<Result<Applied, AuditError>>,
    ),
    /// The readiness probe: one committed write through this writer.
    Ping(oneshot::Sender<Result<(), AuditError>>),
    /// Write out the refusal tally and a checkpoint now (shutdown, tests).
    Flush(oneshot::Sender<Result<(), AuditError>>),
}

/// What recording a report of offline views did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineRecorded {
    /// Entries appended now.
    pub recorded: usize,
    /// Views whose id this user had already reported (or that repeat an id in the report).
    pub already_recorded: usize,
}

/// How often the writer checkpoints and writes out its refusal tally.
#[derive(Clone, Debug)]
pub struct WriterSettings {
    pub checkpoint_every_entries: u64,
    pub checkpoint_every: Duration,
    pub refusal_tally_every: Duration,
    /// For a store on a local disk (SQLite): refuse to write when less than this is free.
    pub disk_reserve: Option<DiskReserve>,
}

/// A local store's free-space floor. SQLite meeting a full disk mid-write was seen to lose
/// transactions it had already reported committed (docs/RELIABILITY.md), so the writer
/// never lets the disk get that far: below the floor every write is refused (503) and
/// nothing is released unaudited, until space returns.
#[derive(Clone, Debug)]
pub struct DiskReserve {
    pub dir: std::path::PathBuf,
    pub min_free_bytes: u64,
}

impl DiskReserve {
    fn check(&self) -> Result<(), AuditError> {
        match rustix::fs::statvfs(&self.dir) {
            Ok(s) => {
                let free = s.f_bavail.saturating_mul(s.f_frsize);
                if free < self.min_free_bytes {
                    Err(AuditError::DiskReserve {
                        free,
                        reserve: self.min_free_bytes,
                    })
                } else {
                    Ok(())
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "free disk space could not be measured");
                Ok(())
            }
        }
    }
}

/// Refusals of callers without a valid session (no token, a junk token, an expired one; a
/// certificate that is not ours), counted by kind. Anyone can cause them at line rate, so
/// each one is not a chained entry of its own: that would let an anonymous flood grow the
/// trail without bound and bury real entries. The writer appends one entry per kind, with the
/// count and the first and last time, every `refusal_tally_every`.
#[derive(Default)]
struct RefusalTally {
    counts: std::sync::Mutex<BTreeMap<(AuditAction, &'static str), TallyCount>>,
}

#[derive(Clone, Copy)]
struct TallyCount {
    count: u64,
    first_ms: i64,
    last_ms: i64,
}

impl RefusalTally {
    fn count(&self, action: AuditAction, code: &'static str) {
        let now = now_ms();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry((action, code)).or_insert(TallyCount {
            count: 0,
            first_ms: now,
            last_ms: now,
        });
        c.count += 1;
        c.last_ms = now;
    }

    fn take(&self) -> Vec<TallyKind> {
        let taken = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()));
        taken.into_iter().collect()
    }

    /// Puts counts back after a failed write, so none is lost.
    fn restore(&self, taken: Vec<TallyKind>) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (key, t) in taken {
            counts
                .entry(key)
                .and_modify(|c| {
                    c.count += t.count;
                    c.first_ms = c.first_ms.min(t.first_ms);
                })
                .or_insert(t);
        }
    }
}

type TallyKind = ((AuditAction, &'static str), TallyCount);

/// One entry per kind of refusal: the count, the first and the last time.
fn tally_entries(taken: &[TallyKind]) -> Vec<AuditEntry> {
    taken
        .iter()
        .map(|((action, code), c)| AuditEntry {
            user_id: None,
            user_name: None,
            role_code: None,
            org_ods: None,
            patient: None,
            action: *action,
            reason: None,
            outcome: AuditOutcome::Refused,
            detail: Some(format!(
                "{code} count={} first={} last={}",
                c.count,
                format_ms(c.first_ms),
                format_ms(c.last_ms)
            )),
            alert: false,
            offline: None,
            relationship: None,
            justification: None,
            alerts: Vec::new(),
            alert_org: None,
        })
        .collect()
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<Job>,
    tally: Arc<RefusalTally>,
    /// When this writer last committed (ms since the epoch; 0 = not yet).
    last_commit_ms: Arc<AtomicI64>,
}

impl AuditWriter {
    pub fn start(
        store: Store,
        signer: Option<CheckpointSigner>,
        settings: WriterSettings,
    ) -> AuditWriter {
        let (tx, rx) = mpsc::channel(4096);
        let writer = AuditWriter {
            jobs: tx,
            tally: Arc::new(RefusalTally::default()),
            last_commit_ms: Arc::new(AtomicI64::new(0)),
        };
        let state = WriterState {
            store,
            signer,
            settings,
            tally: writer.tally.clone(),
            last_commit_ms: writer.last_commit_ms.clone(),
            since_checkpoint: 0,
            checkpointed: None,
        };
        tokio::spawn(writer_loop(state, rx));
        writer
    }

    async fn run<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, AuditError>>) -> Job,
    ) -> Result<T, AuditError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(job(done))
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        wait.await.map_err(|_| AuditError::WriterStopped)?
    }

    /// Appends entries and returns once they are committed.
    pub async fn append(&self, entries: Vec<AuditEntry>) -> Result<(), AuditError> {
        self.run(|done| Job::Append(entries, done)).await
    }

    /// Counts a refusal of a caller without a valid session (see [`RefusalTally`]); it
    /// reaches the trail with the next tally. Never waits.
    pub fn count_refusal(&self, action: AuditAction, code: &'static str) {
        self.tally.count(action, code);
    }

    /// Applies a GP upload and its audit entry in one transaction.
    pub async fn upload(
        &self,
        job: UploadJob,
        entry: AuditEntry,
    ) -> Result<UploadOutcome, AuditError> {
        self.run(|done| Job::Upload(Box::new(job), entry, done))
            .await
    }

    /// Appends the entries of views of offline copies in one transaction, skipping each view
    /// whose id its user has already reported (so a re-sent report records nothing new).
    pub async fn record_offline_views(
        &self,
        entries: Vec<AuditEntry>,
    ) -> Result<OfflineRecorded, AuditError> {
        self.run(|done| Job::OfflineViews(entries, done)).await
    }

    /// Sets the session's role and records it in one transaction: the role is never in
    /// force without its entry.
    pub async fn select_role(
        &self,
        token_hash: &str,
        role_profile_id: &str,
        entry: AuditEntry,
    ) -> Result<(), AuditError> {
        self.run(|done| Job::SelectRole {
            token_hash: token_hash.to_string(),
            role_profile_id: role_profile_id.to_string(),
            entry,
            done,
        })
        .await
    }

    /// Marks entry `seq`'s alerts reviewed with `note` and appends the review's `entry`, in
    /// one transaction. `Ok(false)`: already reviewed (nothing written).
    pub async fn review_alert(
        &self,
        seq: i64,
        note: &str,
        entry: AuditEntry,
    ) -> Result<bool, AuditError> {
        self.run(|done| Job::ReviewAlert {
            seq,
            note: note.to_string(),
            entry,
            done,
        })
        .await
    }

    /// Applies a registration authority's change and records it in one transaction: no
    /// change without its entry, and a change refused there is recorded as refused.
    pub async fn register(
        &self,
        job: RegistrationJob,
        entry: AuditEntry,
    ) -> Result<Applied, AuditError> {
        self.run(|done| Job::Registration(Box::new(job), entry, done))
            .await
    }

    /// One committed write through the writer, as the readiness probe asks.
    pub async fn ping(&self) -> Result<(), AuditError> {
        self.run(Job::Ping).await
    }

    /// Writes the refusal tally and a checkpoint of the head now.
    pub async fn flush(&self) -> Result<(), AuditError> {
        self.run(Job::Flush).await
    }

    /// When this writer last committed, in ms since the epoch (`None` before its first).
    pub fn last_commit_ms(&self) -> Option<i64> {
        match self.last_commit_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(ms),
        }
    }
}

struct WriterState {
    store: Store,
    signer: Option<CheckpointSigner>,
    settings: WriterSettings,
    tally: Arc<RefusalTally>,
    last_commit_ms: Arc<AtomicI64>,
    /// Entries this writer appended since its last checkpoint.
    since_checkpoint: u64,
    /// The head last checkpointed.
    checkpointed: Option<(i64, String)>,
}

impl WriterState {
    /// Whether the disk has room for a write (always, for a store not on a local disk).
    fn room(&self) -> Result<(), AuditError> {
        match &self.settings.disk_reserve {
            Some(r) => r.check(),
            None => Ok(()),
        }
    }

    fn committed(&mut self, entries: usize) {
        self.last_commit_ms.store(now_ms(), Ordering::Relaxed);
        self.since_checkpoint += entries as u64;
    }

    /// Signs the current head if it moved since the last checkpoint. A failure (a full disk)
    /// is logged and retried at the next turn; it never refuses service, as the chain itself
    /// is in the database.
    async fn checkpoint(&mut self) {
        let Some(signer) = &self.signer else { return };
        let head = match store::read_head(self.store.write_pool()).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "audit checkpoint: could not read the chain head");
                return;
            }
        };
        if head.0 == 0 || self.checkpointed.as_ref() == Some(&head) {
            self.since_checkpoint = 0;
            return;
        }
        match signer.record(head.0, &head.1, now_ms()) {
            Ok(_) => {
                self.checkpointed = Some(head);
                self.since_checkpoint = 0;
            }
            Err(e) => tracing::error!(error = %e, "audit checkpoint could not be written"),
        }
    }

    async fn write_tally(&mut self) -> Result<(), AuditError> {
        self.room()?;
        let taken = self.tally.take();
        if taken.is_empty() {
            return Ok(());
        }
        let entries = tally_entries(&taken);
        let n = entries.len();
        match append_batch(&self.store, &entries).await {
            Ok(()) => {
                self.committed(n);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "refusal tally could not be written; kept for the next turn");
                self.tally.restore(taken);
                Err(e)
            }
        }
    }

    async fn ping(&mut self) -> Result<(), AuditError> {
        self.room()?;
        let mut tx = self.store.write_pool().begin().await?;
        store::beat_heartbeat(&mut tx).await?;
        tx.commit().await?;
        self.committed(0);
        Ok(())
    }
}

async fn writer_loop(mut w: WriterState, mut rx: mpsc::Receiver<Job>) {
    let mut pending: Option<Job> = None;
    let mut checkpoint_timer = tokio::time::interval(w.settings.checkpoint_every);
    let mut tally_timer = tokio::time::interval(w.settings.refusal_tally_every);
    checkpoint_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tally_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = match pending.take() {
            Some(job) => job,
            None => tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => job,
                    None => {
                        // Every handle is gone: the spine is stopping. Nothing counted or
                        // appended is left behind (shutdown has flushed already when it
                        // closed the store).
                        if w.store.write_pool().is_closed() {
                            return;
                        }
                        let _ = w.write_tally().await;
                        w.checkpoint().await;
                        return;
                    }
                },
                _ = tally_timer.tick() => {
                    let _ = w.write_tally().await;
                    continue;
                }
                _ = checkpoint_timer.tick() => {
                    w.checkpoint().await;
                    continue;
                }
            },
        };
        match first {
            Job::Upload(job, entry, done) => {
                let result = match w.room() {
                    Ok(()) => run_upload(&w.store, &job, entry).await,
                    Err(e) => Err(e),
                };
                if result.is_ok() {
                    w.committed(1);
                }
                let _ = done.send(result);
            }
            Job::OfflineViews(entries, done) => {
                let result = match w.room() {
                    Ok(()) => run_offline_views(&w.store, entries).await,
                    Err(e) => Err(e),
                };
                match &result {
                    Ok(r) => w.committed(r.recorded),
                    Err(e) => {
                        tracing::error!(error = %e, "recording offline views failed; request refused")
                    }
                }
                let _ = done.send(result);
            }
            Job::SelectRole {
                token_hash,
                role_profile_id,
                entry,
                done,
            } => {
                let result = match w.room() {
                    Ok(()) => run_select_role(&w.store, &token_hash, &role_profile_id, entry).await,
                    Err(e) => Err(e),
                };
                if result.is_ok() {
                    w.committed(1);
                }
                let _ = done.send(result);
            }
            Job::ReviewAlert {
                seq,
                note,
                entry,
                done,
            } => {
                let result = match w.room() {
                    Ok(()) => run_review_alert(&w.store, seq, &note, entry).await,
                    Err(e) => Err(e),
                };
                if matches!(result, Ok(true)) {
                    w.committed(1);
                }
                let _ = done.send(result);
            }
            Job::Registration(job, entry, done) => {
                let result = match w.room() {
                    Ok(()) => run_registration(&w.store, &job, entry).await,
                    Err(e) => Err(e),
                };
                if result.is_ok() {
                    w.committed(1);
                }
                let _ = done.send(result);
            }
            Job::Ping(done) => {
                let result = w.ping().await;
                let _ = done.send(result);
            }
            Job::Flush(done) => {
                let result = w.write_tally().await;
                w.checkpoint().await;
                let _ = done.send(result);
            }
            Job::Append(entries, done) => {
                let mut entries_all = entries;
                let mut waiters = vec![done];
                while entries_all.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(Job::Append(more, done)) => {
                            waiters.push(done);
                            entries_all.extend(more);
                        }
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let result = match w.room() {
                    Ok(()) => append_batch(&w.store, &entries_all).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        w.committed(entries_all.len());
                        for done in waiters {
                            let _ = done.send(Ok(()));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, entries = entries_all.len(), "audit batch failed; requests refused");
                        for done in waiters {
                            let _ = done.send(Err(AuditError::WriterStopped));
                        }
                    }
                }
            }
        }
        if w.since_checkpoint >= w.settings.checkpoint_every_entries {
            w.checkpoint().await;
        }
    }
}

/// Appends `entries` in a transaction of their own, outside any spine's writer. The chain head's lock keeps it linear with a running
/// spine's writer.
pub async fn append_now(store: &Store, entries: &[AuditEntry]) -> Result<(), AuditError> {
    append_batch(store, entries).await
}

/// Applies a registration change and appends its entry in a transaction of their own,
/// outside any spine's writer: for the operator's console (`scr-spine user|role|card`).
/// The chain head's lock keeps it linear with a running spine's writer.
pub async fn register_now(
    store: &Store,
    job: &RegistrationJob,
    entry: AuditEntry,
) -> Result<Applied, AuditError> {
    run_registration(store, job, entry).await
}

async fn run_registration(
    store: &Store,
    job: &RegistrationJob,
    entry: AuditEntry,
) -> Result<Applied, AuditError> {
    let mut tx = store.write_pool().begin().await?;
    // The chain lock first (see `run_upload`); it also serialises the checks below against
    // any other registration, on this spine, another one or the console.
    store::lock_head(&mut tx).await?;
    let applied = registration::apply(&mut tx, &job.change).await?;
    let mut entry = entry;
    registration::complete_entry(&mut entry, job, &applied);
    store::append(&mut tx, std::slice::from_ref(&entry)).await?;
    tx.commit().await?;
    Ok(applied)
}

async fn append_batch(store: &Store, entries: &[AuditEntry]) -> Result<(), AuditError> {
    let mut tx = store.write_pool().begin().await?;
    store::append(&mut tx, entries).await?;
    tx.commit().await?;
    Ok(())
}

async fn run_review_alert(
    store: &Store,
    seq: i64,
    note: &str,
    entry: AuditEntry,
) -> Result<bool, AuditError> {
    let mut tx = store.write_pool().begin().await?;
    store::lock_head(&mut tx).await?;
    let reviewer = entry.user_id.clone().unwrap_or_default();
    if !store::review_alert(&mut tx, seq, &reviewer, note).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    store::append(&mut tx, std::slice::from_ref(&entry)).await?;
    tx.commit().await?;
    Ok(true)
}

async fn run_select_role(
    store: &Store,
    token_hash: &str,
    role_profile_id: &str,
    entry: AuditEntry,
) -> Result<(), AuditError> {
    let mut tx = store.write_pool().begin().await?;
    store::lock_head(&mut tx).await?;
    store::set_role(&mut tx, token_hash, role_profile_id).await?;
    store::append(&mut tx, std::slice::from_ref(&entry)).await?;
    tx.commit().await?;
    Ok(())
}

async fn run_upload(
    store: &Store,
    job: &UploadJob,
    entry: AuditEntry,
) -> Result<UploadOutcome, AuditError> {
    let mut tx = store.write_pool().begin().await?;
    // Take the chain lock first: on SQLite the first statement must write, so the
    // transaction never has to upgrade a read lock (which could fail with SQLITE_BUSY).
    // Appending below locks the (already held) head again, which is harmless.
    store::lock_head(&mut tx).await?;
    let outcome = upload::apply(&mut tx, job).await?;
    let mut entry = entry;
    entry.outcome = outcome.audit_outcome();
    entry.detail = Some(outcome.code().to_string());
    store::append(&mut tx, std::slice::from_ref(&entry)).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn run_offline_views(
    store: &Store,
    entries: Vec<AuditEntry>,
) -> Result<OfflineRecorded, AuditError> {
    let total = entries.len();
    let mut tx = store.write_pool().begin().await?;
    // The chain lock first (see `run_upload`); it also serialises this check against any
    // other spine recording the same views.
    store::lock_head(&mut tx).await?;
    let mut seen: std::collections::HashSet<(Option<String>, String)> =
        std::collections::HashSet::new();
    // Ids already in the trail, per user.
    let mut by_user: std::collections::BTreeMap<Option<String>, Vec<String>> =
        std::collections::BTreeMap::new();
    for e in &entries {
        if let Some(o) = &e.offline {
            by_user
                .entry(e.user_id.clone())
                .or_default()
                .push(o.view_id.clone());
        }
    }
    for (user, ids) in &by_user {
        // Entries without a user are never recorded as offline views; nothing to look up.
        let Some(user) = user else { continue };
        for id in store::recorded_view_ids(&mut tx, user, ids).await? {
            seen.insert((Some(user.clone()), id));
        }
    }
    let fresh: Vec<AuditEntry> = entries
        .into_iter()
        .filter(|e| match &e.offline {
            Some(o) => seen.insert((e.user_id.clone(), o.view_id.clone())),
            None => true,
        })
        .collect();
    store::append(&mut tx, &fresh).await?;
    tx.commit().await?;
    Ok(OfflineRecorded {
        recorded: fresh.len(),
        already_recorded: total - fresh.len(),
    })
}

/// What `audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainReport {
    Intact {
        entries: i64,
    },
    Broken {
        seq: i64,
        breach: Breach,
        problem: String,
    },
}

/// The kinds of damage `audit verify` tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breach {
    /// An entry's content no longer matches its own hash: it was edited.
    Altered,
    /// A sequence number is missing in the middle: an entry was deleted.
    Removed,
    /// Entries are present and whole but not in the order they were written.
    Reordered,
    /// The chain is internally consistent but ends before a signed checkpoint: the newest
    /// entries were cut off (with or without a rewrite of the head row).
    Truncated,
    /// The chain is internally consistent but differs from a signed checkpoint at the
    /// entry it names: entries were rewritten and re-hashed.
    Rewritten,
    /// The head row does not match the last entry.
    HeadMismatch,
    /// The checkpoint log itself has been altered.
    CheckpointsTampered,
}

impl Breach {
    pub fn label(self) -> &'static str {
        match self {
            Breach::Altered => "entry altered",
            Breach::Removed => "entry removed",
            Breach::Reordered => "entries reordered",
            Breach::Truncated => "trail truncated",
            Breach::Rewritten => "trail rewritten",
            Breach::HeadMismatch => "chain head mismatch",
            Breach::CheckpointsTampered => "checkpoint log tampered",
        }
    }
}

fn broken(seq: i64, breach: Breach, problem: impl Into<String>) -> ChainReport {
    ChainReport::Broken {
        seq,
        breach,
        problem: problem.into(),
    }
}

/// How far back a misplaced entry's predecessor is looked for, to tell reordering from
/// editing (bounded so verifying a long trail stays in constant memory).
const REORDER_WINDOW: usize = 4096;

/// Walks the whole chain in order and names the first entry that does not fit (no
/// checkpoints: for callers without a data folder).
pub async fn verify_chain(store: &Store) -> Result<ChainReport, StoreError> {
    verify_chain_against(store, None).await
}

/// Walks the chain, then holds it against every signed checkpoint.
pub async fn verify_chain_against(
    store: &Store,
    checkpoints: Option<&CheckpointLog>,
) -> Result<ChainReport, StoreError> {
    // The hashes checkpoints name, by sequence number, to compare while walking.
    let mut wanted: BTreeMap<i64, &Checkpoint> = BTreeMap::new();
    for c in checkpoints
        .map(|l| l.checkpoints.as_slice())
        .unwrap_or_default()
    {
        wanted.entry(c.seq).or_insert(c);
    }
    let mut expected_seq = 1i64;
    let mut prev = GENESIS_HASH.to_string();
    let mut recent: std::collections::VecDeque<(String, i64)> =
        std::collections::VecDeque::with_capacity(REORDER_WINDOW);
    loop {
        let page = store
            .audit_records(&AuditFilter {
                after_seq: Some(expected_seq - 1),
                ascending: true,
                limit: 10_000,
                ..AuditFilter::default()
            })
            .await;
        let page = match page {
            Ok(p) => p,
            // A row that no longer parses has been edited outside the spine.
            Err(StoreError::Corrupt(what)) => {
                return Ok(broken(
                    expected_seq,
                    Breach::Altered,
                    format!("entry unreadable near here: {what}"),
                ))
            }
            Err(e) => return Err(e),
        };
        if page.is_empty() {
            break;
        }
        for r in &page {
            if r.seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    Breach::Removed,
                    format!(
                        "entry {expected_seq} is missing (next present is {})",
                        r.seq
                    ),
                ));
            }
            if record_hash_at(r, r.seq) != r.hash {
                // An entry whose content hashes under another sequence number was moved
                // there; otherwise it was edited.
                if let Some(original) = written_as(r) {
                    return Ok(broken(
                        r.seq,
                        Breach::Reordered,
                        format!(
                            "the entry at position {} was written as entry {original}",
                            r.seq
                        ),
                    ));
                }
                return Ok(broken(
                    r.seq,
                    Breach::Altered,
                    "its content does not match its hash (the entry was altered)",
                ));
            }
            if r.prev_hash != prev {
                let earlier = recent
                    .iter()
                    .find(|(h, _)| *h == r.prev_hash)
                    .map(|(_, s)| *s);
                if let Some(original) = earlier {
                    return Ok(broken(
                        r.seq,
                        Breach::Reordered,
                        format!(
                            "entry {} was written after entry {original}, not after entry {}",
                            r.seq,
                            r.seq - 1
                        ),
                    ));
                }
                return Ok(broken(
                    r.seq,
                    Breach::Altered,
                    "its link to the previous entry does not match (an earlier entry was changed or removed)",
                ));
            }
            if let Some(c) = wanted.get(&r.seq) {
                if c.hash != r.hash {
                    return Ok(broken(
                        r.seq,
                        Breach::Rewritten,
                        format!(
                            "entry {} differs from the signed checkpoint of {} (entries up to here were rewritten and re-hashed)",
                            r.seq,
                            format_ms(c.at)
                        ),
                    ));
                }
            }
            if recent.len() == REORDER_WINDOW {
                recent.pop_front();
            }
            recent.push_back((r.hash.clone(), r.seq));
            prev = r.hash.clone();
            expected_seq += 1;
        }
    }
    let last = expected_seq - 1;
    if let Some(c) = checkpoints.and_then(CheckpointLog::latest) {
        if c.seq > last {
            return Ok(broken(
                last + 1,
                Breach::Truncated,
                format!(
                    "the trail ends at entry {last} but a signed checkpoint of {} records {} entries: entries {} to {} were removed",
                    format_ms(c.at),
                    c.seq,
                    last + 1,
                    c.seq
                ),
            ));
        }
    }
    let (head_seq, head_hash) = store::read_head(store.read_pool()).await?;
    if head_seq != last || head_hash != prev {
        let breach = if head_seq > last {
            Breach::Truncated
        } else {
            Breach::HeadMismatch
        };
        return Ok(broken(
            last + 1,
            breach,
            format!(
                "the chain head records {head_seq} entries but {last} are present (entries after {last} were removed)"
            ),
        ));
    }
    Ok(ChainReport::Intact { entries: last })
}

/// Formats a millisecond timestamp for messages.
pub fn format_ms(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

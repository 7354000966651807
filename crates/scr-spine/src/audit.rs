//! The audit trail: every access appends an entry before any data leaves (fail closed), and
//! entries form a SHA-256 hash chain so a removed or edited entry is detectable.
//!
//! All chain writes go through one writer task per spine process. It gathers the entries of
//! concurrent requests and commits them in one transaction (group commit), so the audit write
//! on the hot path costs one commit per batch rather than per request. Each request waits for
//! its batch to commit before answering. Across processes (PostgreSQL, several spines), the
//! chain head row is locked inside each transaction, which keeps the chain linear.

use chrono::{TimeZone, Utc};
use scr_model::{AccessReason, AuditAction, AuditOutcome, NhsNumber, OfflineAccess};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::store::{now_ms, values_clause, AuditFilter, Store, StoreError};
use crate::upload::{self, UploadJob, UploadOutcome};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The most entries one transaction carries; more wait for the next batch.
const MAX_BATCH: usize = 512;

/// An entry to append; the writer gives it its place (`seq`), time and hashes.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub role_code: Option<String>,
    pub org_ods: Option<String>,
    pub patient: Option<NhsNumber>,
    pub action: AuditAction,
    pub reason: Option<AccessReason>,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
    pub alert: bool,
    /// Set on the entry of a view of an offline copy (`AuditAction::OfflineView`).
    pub offline: Option<OfflineAccess>,
}

/// The offline-view part of the canonical form.
#[derive(Serialize)]
struct CanonicalOffline<'a> {
    view_id: &'a str,
    viewed_at: i64,
    fetched_at: i64,
}

/// The canonical form that is hashed: field order fixed, JSON-escaped strings.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: i64,
    user_id: Option<&'a str>,
    user_name: Option<&'a str>,
    role_code: Option<&'a str>,
    org_ods: Option<&'a str>,
    patient: Option<String>,
    action: &'a str,
    reason: Option<&'a str>,
    outcome: &'a str,
    detail: Option<&'a str>,
    alert: bool,
    /// Absent (not `null`) on entries without it, so entries written before offline views
    /// existed keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    offline: Option<CanonicalOffline<'a>>,
    prev_hash: &'a str,
}

#[allow(clippy::too_many_arguments)]
fn hash_fields(
    seq: i64,
    at: i64,
    user_id: Option<&str>,
    user_name: Option<&str>,
    role_code: Option<&str>,
    org_ods: Option<&str>,
    patient: Option<NhsNumber>,
    action: AuditAction,
    reason: Option<AccessReason>,
    outcome: AuditOutcome,
    detail: Option<&str>,
    alert: bool,
    offline: Option<&OfflineAccess>,
    prev_hash: &str,
) -> String {
    let canonical = Canonical {
        seq,
        at,
        user_id,
        user_name,
        role_code,
        org_ods,
        patient: patient.map(|p| p.as_digits()),
        action: action.code(),
        reason: reason.map(|r| r.header_value()),
        outcome: outcome.code(),
        detail,
        alert,
        offline: offline.map(|o| CanonicalOffline {
            view_id: &o.view_id,
            viewed_at: o.viewed_at.timestamp_millis(),
            fetched_at: o.fetched_at.timestamp_millis(),
        }),
        prev_hash,
    };
    // Serialising plain strings, integers and booleans cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

pub fn entry_hash(seq: i64, at: i64, e: &AuditEntry, prev_hash: &str) -> String {
    hash_fields(
        seq,
        at,
        e.user_id.as_deref(),
        e.user_name.as_deref(),
        e.role_code.as_deref(),
        e.org_ods.as_deref(),
        e.patient,
        e.action,
        e.reason,
        e.outcome,
        e.detail.as_deref(),
        e.alert,
        e.offline.as_ref(),
        prev_hash,
    )
}

fn record_hash(r: &scr_model::AuditRecord) -> String {
    hash_fields(
        r.seq,
        r.at.timestamp_millis(),
        r.user_id.as_deref(),
        r.user_name.as_deref(),
        r.role_code.as_deref(),
        r.org_ods.as_deref(),
        r.patient,
        r.action,
        r.reason,
        r.outcome,
        r.detail.as_deref(),
        r.alert,
        r.offline.as_ref(),
        &r.prev_hash,
    )
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit trail could not be written: {0}")]
    Store(#[from] StoreError),
    #[error("the audit writer has stopped")]
    WriterStopped,
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
}

/// What recording a report of offline views did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineRecorded {
    /// Entries appended now.
    pub recorded: usize,
    /// Views whose id this user had already reported (or that repeat an id in the report).
    pub already_recorded: usize,
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<Job>,
}

impl AuditWriter {
    pub fn start(store: Store) -> AuditWriter {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(writer_loop(store, rx));
        AuditWriter { jobs: tx }
    }

    /// Appends entries and returns once they are committed.
    pub async fn append(&self, entries: Vec<AuditEntry>) -> Result<(), AuditError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Append(entries, done))
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        wait.await.map_err(|_| AuditError::WriterStopped)?
    }

    /// Applies a GP upload and its audit entry in one transaction.
    pub async fn upload(
        &self,
        job: UploadJob,
        entry: AuditEntry,
    ) -> Result<UploadOutcome, AuditError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Upload(Box::new(job), entry, done))
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        wait.await.map_err(|_| AuditError::WriterStopped)?
    }

    /// Appends the entries of views of offline copies in one transaction, skipping each view
    /// whose id its user has already reported (so a re-sent report records nothing new).
    pub async fn record_offline_views(
        &self,
        entries: Vec<AuditEntry>,
    ) -> Result<OfflineRecorded, AuditError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::OfflineViews(entries, done))
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        wait.await.map_err(|_| AuditError::WriterStopped)?
    }
}

async fn writer_loop(store: Store, mut rx: mpsc::Receiver<Job>) {
    let mut pending: Option<Job> = None;
    loop {
        let first = match pending.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        match first {
            Job::Upload(job, entry, done) => {
                let result = run_upload(&store, &job, entry).await;
                let _ = done.send(result);
            }
            Job::OfflineViews(entries, done) => {
                let result = run_offline_views(&store, entries).await;
                if let Err(e) = &result {
                    tracing::error!(error = %e, "recording offline views failed; request refused");
                }
                let _ = done.send(result);
            }
            Job::Append(entries, done) => {
                let mut entries_all = entries;
                let mut waiters = vec![(done, entries_all.len())];
                while entries_all.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(Job::Append(more, done)) => {
                            waiters.push((done, more.len()));
                            entries_all.extend(more);
                        }
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let result = append_batch(&store, &entries_all).await;
                match result {
                    Ok(()) => {
                        for (done, _) in waiters {
                            let _ = done.send(Ok(()));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, entries = entries_all.len(), "audit batch failed; requests refused");
                        for (done, _) in waiters {
                            let _ = done.send(Err(AuditError::WriterStopped));
                        }
                    }
                }
            }
        }
    }
}

async fn append_batch(store: &Store, entries: &[AuditEntry]) -> Result<(), AuditError> {
    let mut tx = store.write_pool().begin().await?;
    append_in_tx(&mut tx, entries).await?;
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
    lock_head(&mut tx).await?;
    let outcome = upload::apply(&mut tx, job).await?;
    let mut entry = entry;
    entry.outcome = outcome.audit_outcome();
    entry.detail = Some(outcome.code().to_string());
    append_in_tx(&mut tx, std::slice::from_ref(&entry)).await?;
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
    lock_head(&mut tx).await?;
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
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT view_id FROM audit WHERE user_id = $1 AND view_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(user.clone());
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&mut *tx).await? {
                seen.insert((Some(user.clone()), row.try_get("view_id")?));
            }
        }
    }
    let fresh: Vec<AuditEntry> = entries
        .into_iter()
        .filter(|e| match &e.offline {
            Some(o) => seen.insert((e.user_id.clone(), o.view_id.clone())),
            None => true,
        })
        .collect();
    append_in_tx(&mut tx, &fresh).await?;
    tx.commit().await?;
    Ok(OfflineRecorded {
        recorded: fresh.len(),
        already_recorded: total - fresh.len(),
    })
}

/// Locks the chain head and returns it. One statement on both backends: an UPDATE takes the
/// row lock (PostgreSQL) or the write lock (SQLite) before anything is read, so concurrent
/// appenders queue here and the chain stays linear.
async fn lock_head(conn: &mut AnyConnection) -> Result<(i64, String), AuditError> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

async fn append_in_tx(conn: &mut AnyConnection, entries: &[AuditEntry]) -> Result<(), AuditError> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev) = lock_head(conn).await?;
    let at = now_ms();
    const COLS: usize = 17;
    for chunk in entries.chunks(256) {
        let mut sql = String::from(
            "INSERT INTO audit (seq, at, user_id, user_name, role_code, org_ods, patient, action, \
             reason, outcome, detail, alert, prev_hash, hash, view_id, viewed_at, fetched_at) VALUES ",
        );
        values_clause(&mut sql, chunk.len(), COLS);
        let mut q = sqlx::query(&sql);
        for e in chunk {
            seq += 1;
            let hash = entry_hash(seq, at, e, &prev);
            q = q
                .bind(seq)
                .bind(at)
                .bind(e.user_id.clone())
                .bind(e.user_name.clone())
                .bind(e.role_code.clone())
                .bind(e.org_ods.clone())
                .bind(e.patient.map(|p| p.as_digits()))
                .bind(e.action.code())
                .bind(e.reason.map(|r| r.header_value()))
                .bind(e.outcome.code())
                .bind(e.detail.clone())
                .bind(i64::from(e.alert))
                .bind(prev.clone())
                .bind(hash.clone())
                .bind(e.offline.as_ref().map(|o| o.view_id.clone()))
                .bind(e.offline.as_ref().map(|o| o.viewed_at.timestamp_millis()))
                .bind(e.offline.as_ref().map(|o| o.fetched_at.timestamp_millis()));
            prev = hash;
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(prev)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What `audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainReport {
    Intact { entries: i64 },
    Broken { seq: i64, problem: String },
}

/// Walks the whole chain in order and names the first entry that does not fit.
pub async fn verify_chain(store: &Store) -> Result<ChainReport, StoreError> {
    let mut expected_seq = 1i64;
    let mut prev = GENESIS_HASH.to_string();
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
                return Ok(ChainReport::Broken {
                    seq: expected_seq,
                    problem: format!("entry unreadable near here: {what}"),
                })
            }
            Err(e) => return Err(e),
        };
        if page.is_empty() {
            break;
        }
        for r in &page {
            if r.seq != expected_seq {
                return Ok(ChainReport::Broken {
                    seq: expected_seq,
                    problem: format!(
                        "entry {expected_seq} is missing (next present is {})",
                        r.seq
                    ),
                });
            }
            if r.prev_hash != prev {
                return Ok(ChainReport::Broken {
                    seq: r.seq,
                    problem: "its link to the previous entry does not match (an earlier entry was changed or removed)".into(),
                });
            }
            if record_hash(r) != r.hash {
                return Ok(ChainReport::Broken {
                    seq: r.seq,
                    problem: "its content does not match its hash (the entry was altered)".into(),
                });
            }
            prev = r.hash.clone();
            expected_seq += 1;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(store.read_pool())
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    let last = expected_seq - 1;
    if head_seq != last || head_hash != prev {
        return Ok(ChainReport::Broken {
            seq: last + 1,
            problem: format!(
                "the chain head records {head_seq} entries but {last} are present (entries after {last} were removed)"
            ),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offline: Option<OfflineAccess>) -> AuditEntry {
        AuditEntry {
            user_id: Some("555000000101".into()),
            user_name: Some("Dr Amara Okafor".into()),
            role_code: Some("R8000".into()),
            org_ods: Some("RX901".into()),
            patient: NhsNumber::nth_test_number(1),
            action: AuditAction::SummaryRead,
            reason: Some(AccessReason::Emergency),
            outcome: AuditOutcome::Success,
            detail: None,
            alert: true,
            offline,
        }
    }

    #[test]
    fn entries_without_an_offline_view_hash_as_before_offline_views_existed() {
        // The canonical form of 0.1 (no offline fields), hashed by hand.
        let e = entry(None);
        let old = format!(
            r#"{{"seq":7,"at":1000,"user_id":"555000000101","user_name":"Dr Amara Okafor","role_code":"R8000","org_ods":"RX901","patient":"{}","action":"summary-read","reason":"emergency","outcome":"success","detail":null,"alert":true,"prev_hash":"{GENESIS_HASH}"}}"#,
            e.patient.map(|p| p.as_digits()).unwrap_or_default()
        );
        assert_eq!(
            entry_hash(7, 1000, &e, GENESIS_HASH),
            hex::encode(Sha256::digest(old.as_bytes()))
        );
    }

    #[test]
    fn the_offline_view_times_and_id_are_covered_by_the_hash() {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        let offline = |id: &str, viewed: i64, fetched: i64| {
            Some(OfflineAccess {
                view_id: id.into(),
                viewed_at: at(viewed),
                fetched_at: at(fetched),
            })
        };
        let id = "0123456789abcdef0123456789abcdef";
        let base = entry_hash(1, 5, &entry(offline(id, 200, 100)), GENESIS_HASH);
        for changed in [
            offline("0123456789abcdef0123456789abcdee", 200, 100),
            offline(id, 201, 100),
            offline(id, 200, 101),
            None,
        ] {
            assert_ne!(entry_hash(1, 5, &entry(changed), GENESIS_HASH), base);
        }
    }
}

//! The audit trail's tables: `audit` (the chain), `audit_head` (its last entry, locked by
//! every appender) and `heartbeat` (the readiness probe's write). Appends take the caller's
//! transaction: the audit writer composes them with the writes they record.

use scr_model::{AuditEntry, AuditRecord};
use sqlx::{AnyConnection, AnyPool, Row};

use super::rows::{self, AuditFilter};
use super::{now_ms, rows_per_statement, values_clause, Backend, Store, StoreResult};
use crate::chain::entry_hash;

impl Store {
    /// How many offline views `user_id` has had recorded since `since_ms`.
    pub async fn offline_views_since(&self, user_id: &str, since_ms: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit WHERE user_id = $1 AND action = $2 AND at >= $3",
        )
        .bind(user_id)
        .bind(scr_model::AuditAction::OfflineView.code())
        .bind(since_ms)
        .fetch_one(self.read_pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// The summaries `user_id` was served between two times: (NHS number, when).
    pub async fn summary_reads(
        &self,
        user_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT patient, at FROM audit WHERE user_id = $1 AND action = $2 AND outcome = $3 \
             AND at >= $4 AND at <= $5",
        )
        .bind(user_id)
        .bind(scr_model::AuditAction::SummaryRead.code())
        .bind(scr_model::AuditOutcome::Success.code())
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<Option<String>, _>("patient")?
                        .unwrap_or_default(),
                    r.try_get::<i64, _>("at")?,
                ))
            })
            .collect()
    }

    pub async fn audit_records(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRecord>> {
        let mut sql = String::from(
            "SELECT seq, at, user_id, user_name, role_code, org_ods, patient, action, reason, \
             outcome, detail, alert, prev_hash, hash, view_id, viewed_at, fetched_at, \
             relationship, justification, alerts, alert_org FROM audit WHERE 1 = 1",
        );
        let mut text_binds: Vec<String> = Vec::new();
        // Placeholders are numbered in order; every text filter comes before every number.
        let mut int_binds: Vec<i64> = Vec::new();
        let mut n = 0usize;
        let mut placeholder = || {
            n += 1;
            format!("${n}")
        };
        if let Some(p) = &filter.patient {
            sql.push_str(&format!(" AND patient = {}", placeholder()));
            text_binds.push(p.as_digits());
        }
        if let Some(u) = &filter.user_id {
            sql.push_str(&format!(" AND user_id = {}", placeholder()));
            text_binds.push(u.clone());
        }
        if let Some(a) = &filter.action {
            sql.push_str(&format!(" AND action = {}", placeholder()));
            text_binds.push(a.code().to_string());
        }
        if !filter.orgs.is_empty() {
            let marks: Vec<String> = filter.orgs.iter().map(|_| placeholder()).collect();
            sql.push_str(&format!(" AND org_ods IN ({})", marks.join(", ")));
            text_binds.extend(filter.orgs.iter().cloned());
        }
        if filter.alerts_only {
            sql.push_str(" AND alert = 1");
        }
        if !filter.seqs.is_empty() {
            let marks: Vec<String> = filter.seqs.iter().map(|_| placeholder()).collect();
            sql.push_str(&format!(" AND seq IN ({})", marks.join(", ")));
            int_binds.extend(filter.seqs.iter().copied());
        }
        if let Some(until) = filter.until_ms {
            let p = placeholder();
            int_binds.push(until);
            sql.push_str(&format!(" AND at < {p}"));
        }
        if let Some(since) = filter.since_ms {
            let p = placeholder();
            int_binds.push(since);
            sql.push_str(&format!(" AND at >= {p}"));
        }
        if let Some(after) = filter.after_seq {
            let p = placeholder();
            int_binds.push(after);
            sql.push_str(&format!(" AND seq > {p}"));
        }
        sql.push_str(if filter.ascending {
            " ORDER BY seq ASC"
        } else {
            " ORDER BY seq DESC"
        });
        sql.push_str(&format!(" LIMIT {}", filter.limit.max(1)));
        let mut query = sqlx::query(&sql);
        for t in text_binds {
            query = query.bind(t);
        }
        for i in int_binds {
            query = query.bind(i);
        }
        let rows = query.fetch_all(self.read_pool()).await?;
        rows.iter().map(rows::audit_record).collect()
    }
}

/// Locks the chain head and returns it. One statement on both backends: an UPDATE takes the
/// row lock (PostgreSQL) or the write lock (SQLite) before anything is read, so concurrent
/// appenders queue here and the chain stays linear.
pub(crate) async fn lock_head(conn: &mut AnyConnection) -> StoreResult<(i64, String)> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

/// Appends `entries` after the chain head, in the caller's transaction, and moves the head.
pub(crate) async fn append(conn: &mut AnyConnection, entries: &[AuditEntry]) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let backend = Backend::of(conn);
    let (mut seq, mut prev) = lock_head(conn).await?;
    let first_seq = seq + 1;
    let at = now_ms();
    const COLS: usize = 21;
    for chunk in entries.chunks(rows_per_statement(COLS)) {
        let mut sql = String::from(
            "INSERT INTO audit (seq, at, user_id, user_name, role_code, org_ods, patient, action, \
             reason, outcome, detail, alert, prev_hash, hash, view_id, viewed_at, fetched_at, \
             relationship, justification, alerts, alert_org) VALUES ",
        );
        values_clause(&mut sql, backend, chunk.len(), COLS);
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
                .bind(e.offline.as_ref().map(|o| o.fetched_at.timestamp_millis()))
                .bind(e.relationship.map(|r| r.code()))
                .bind(e.justification.clone())
                .bind(rows::alert_codes(&e.alerts))
                .bind(e.alert_org.clone());
            prev = hash;
        }
        q.execute(&mut *conn).await?;
    }
    super::access::record_consequences(conn, first_seq, at, entries).await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(prev)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The chain head (sequence number and hash of the last entry), read without a lock.
pub(crate) async fn read_head(pool: &AnyPool) -> StoreResult<(i64, String)> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok((head.try_get("seq")?, head.try_get("hash")?))
}

/// Which of `view_ids` are already in the trail as `user_id`'s offline views.
pub(crate) async fn recorded_view_ids(
    conn: &mut AnyConnection,
    user_id: &str,
    view_ids: &[String],
) -> StoreResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in view_ids.chunks(rows_per_statement(1)) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT view_id FROM audit WHERE user_id = $1 AND view_id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(user_id.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            found.push(row.try_get("view_id")?);
        }
    }
    Ok(found)
}

/// The readiness probe's write: proves a transaction can commit.
pub(crate) async fn beat_heartbeat(conn: &mut AnyConnection) -> StoreResult<()> {
    sqlx::query("UPDATE heartbeat SET at = $1 WHERE id = 1")
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

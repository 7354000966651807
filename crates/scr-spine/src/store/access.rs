//! The access model's tables: `care_relationships` (encounters, referrals and self-claimed
//! relationships that let an organisation see a patient), `recent_opens` (the distinct
//! patients each user and organisation opened lately, for the volume limits) and `alerts`
//! (the privacy officer's work list, one row per alert an audit entry raised).
//!
//! The writes happen where the audit entry that causes them is appended (`append`), in its
//! transaction, so a summary read's open, a self-claim and an alert are never recorded
//! without their entry, nor the entry without them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use scr_model::{
    AlertKind, AuditAction, AuditEntry, AuditOutcome, NhsNumber, RelationshipBasis, VolumeScope,
    VolumeWindow,
};
use sqlx::{AnyConnection, Row};

use super::rows::Columns;
use super::{
    now_ms, rows_per_statement, values_clause, Arg, Backend, Store, StoreError, StoreResult,
};

/// How long a self-claimed relationship lasts: the rest of a working day and a night shift,
/// so one patient's care in A&E needs one claim (and raises one alert), not one per look.
pub const SELF_CLAIM_HOURS: i64 = 24;

/// An encounter or referral that opens a relationship between a patient and an
/// organisation (from an upload or the demo seed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareRelationship {
    pub nhs_number: NhsNumber,
    pub org_ods: String,
    /// `Encounter` or `Referral` (self-claims are recorded by the audit writer).
    pub basis: RelationshipBasis,
    pub opened_at_ms: i64,
    /// `None` while open.
    pub ends_at_ms: Option<i64>,
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// The tally buckets that make up the volume windows ending now: the last hour is the 60
/// minutes up to and including this one; the last day is the minutes of its first, partial,
/// hour and then the whole hours up to this one.
struct TallyWindow {
    hour_first_minute: i64,
    day_first_minute: i64,
    first_full_hour: i64,
}

impl TallyWindow {
    fn new(now: i64) -> TallyWindow {
        let minute = now / MINUTE_MS;
        let day_first_minute = minute - (VolumeWindow::Day.seconds() * 1000 / MINUTE_MS) + 1;
        TallyWindow {
            hour_first_minute: minute - (VolumeWindow::Hour.seconds() * 1000 / MINUTE_MS) + 1,
            day_first_minute,
            // The first hour that starts at or after the day's first minute.
            first_full_hour: (day_first_minute + (HOUR_MS / MINUTE_MS) - 1) / (HOUR_MS / MINUTE_MS),
        }
    }
}

/// A summed tally as a count (the query casts SUM to BIGINT: on PostgreSQL the SUM of a
/// BIGINT is NUMERIC, which the `Any` driver does not read).
fn tally(row: &(impl Columns + ?Sized), column: &str) -> StoreResult<u32> {
    let n = row.required_int(column)?;
    Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

/// Distinct patients opened in the last hour and day, by the user and by their organisation,
/// and whether the patient now asked for is among them (opening them again adds nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenCounts {
    pub user_hour: u32,
    pub user_day: u32,
    pub org_hour: u32,
    pub org_day: u32,
    pub this_patient_in_hour: bool,
    pub this_patient_in_day: bool,
}

impl OpenCounts {
    /// Whether opening this patient adds one to the counts of `window` (it was not opened
    /// in it already).
    pub fn adds_a_patient(&self, window: VolumeWindow) -> bool {
        match window {
            VolumeWindow::Hour => !self.this_patient_in_hour,
            VolumeWindow::Day => !self.this_patient_in_day,
        }
    }

    /// The count in `scope` and `window` once this patient is opened.
    pub fn after_open(&self, scope: VolumeScope, window: VolumeWindow) -> u32 {
        let (count, already) = match (scope, window) {
            (VolumeScope::User, VolumeWindow::Hour) => (self.user_hour, self.this_patient_in_hour),
            (VolumeScope::User, VolumeWindow::Day) => (self.user_day, self.this_patient_in_day),
            (VolumeScope::Organisation, VolumeWindow::Hour) => {
                (self.org_hour, self.this_patient_in_hour)
            }
            (VolumeScope::Organisation, VolumeWindow::Day) => {
                (self.org_day, self.this_patient_in_day)
            }
        };
        if already {
            count
        } else {
            count.saturating_add(1)
        }
    }
}

/// One alert as the privacy officer's list shows it: the alert's state beside the entry
/// that raised it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRow {
    pub seq: i64,
    pub kind: AlertKind,
    pub at_ms: i64,
    pub for_org: String,
    pub patient: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at_ms: Option<i64>,
    pub note: Option<String>,
}

/// What the privacy officer's alert list is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    /// The organisations the officer may see (never empty when used).
    pub orgs: Vec<String>,
    /// `Some(false)`: open only; `Some(true)`: reviewed only; `None`: both.
    pub reviewed: Option<bool>,
    pub user_id: Option<String>,
    pub patient: Option<NhsNumber>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: i64,
}

fn user_scope(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn org_scope(org_ods: &str) -> String {
    format!("org:{org_ods}")
}

/// A scalar subquery: the strongest relationship recorded between the organisation and the
/// patient at `now` (an open encounter or referral, or `user`'s own self-claim), the
/// arguments naming its placeholders. Declaration order of `RelationshipBasis` is strength
/// order (registered, encounter, referral, self-claimed).
fn strongest_relationship(nhs: &str, org: &str, user: &str, now: &str) -> String {
    let strength: String = RelationshipBasis::ALL
        .iter()
        .enumerate()
        .map(|(i, b)| format!("WHEN '{}' THEN {i} ", b.code()))
        .collect();
    format!(
        "(SELECT kind FROM care_relationships \
          WHERE nhs_number = {nhs} AND org_ods = {org} AND (user_id = '' OR user_id = {user}) \
          AND opened_at <= {now} AND (ends_at IS NULL OR ends_at > {now}) \
          ORDER BY CASE kind {strength}ELSE {} END LIMIT 1)",
        RelationshipBasis::ALL.len()
    )
}

/// The `relationship` column that [`strongest_relationship`] gave.
fn relationship(row: &(impl Columns + ?Sized)) -> StoreResult<Option<RelationshipBasis>> {
    let kind = row.text("relationship")?;
    Ok(kind.as_deref().and_then(RelationshipBasis::from_code))
}

impl Store {
    /// The recorded relationship between `org_ods` and the patient other than registration
    /// (which the caller reads from the demographics): an open encounter, an open referral,
    /// or `user_id`'s own self-claim still in force. The strongest first.
    pub async fn care_relationship(
        &self,
        nhs: NhsNumber,
        org_ods: &str,
        user_id: &str,
    ) -> StoreResult<Option<RelationshipBasis>> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {} AS relationship",
                strongest_relationship("$1", "$2", "$3", "$4")
            )
        });
        let row = sqlx::query(SQL.as_str())
            .bind(nhs.as_digits())
            .bind(org_ods.to_string())
            .bind(user_id.to_string())
            .bind(now_ms())
            .fetch_one(self.read_pool())
            .await?;
        relationship(&row)
    }

    /// The distinct patients `user_id` and `org_ods` opened in the last hour and day, to the
    /// minute, from `open_tallies` (at most 60 + 24 + 60 rows a scope, however many patients
    /// it opened), and whether the user already opened this one in each window.
    pub async fn open_counts(
        &self,
        user_id: &str,
        org_ods: &str,
        nhs: NhsNumber,
    ) -> StoreResult<OpenCounts> {
        self.open_counts_at(user_id, org_ods, nhs, now_ms()).await
    }

    /// `open_counts` as at `now` (ms since the epoch).
    pub async fn open_counts_at(
        &self,
        user_id: &str,
        org_ods: &str,
        nhs: NhsNumber,
        now: i64,
    ) -> StoreResult<OpenCounts> {
        Ok(self.access_facts_at(user_id, org_ods, nhs, now).await?.1)
    }

    /// What `$summary` needs to know of the care relationship and the volume limits, in one
    /// statement (each statement is a round trip to the driver's thread, the read path's
    /// largest cost): `care_relationship` and `open_counts` together.
    pub async fn access_facts(
        &self,
        user_id: &str,
        org_ods: &str,
        nhs: NhsNumber,
    ) -> StoreResult<(Option<RelationshipBasis>, OpenCounts)> {
        self.access_facts_at(user_id, org_ods, nhs, now_ms()).await
    }

    async fn access_facts_at(
        &self,
        user_id: &str,
        org_ods: &str,
        nhs: NhsNumber,
        now: i64,
    ) -> StoreResult<(Option<RelationshipBasis>, OpenCounts)> {
        let hour_ago = now - VolumeWindow::Hour.seconds() * 1000;
        let day_ago = now - VolumeWindow::Day.seconds() * 1000;
        let window = TallyWindow::new(now);
        // Built once: this runs on every `$summary`.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            let hour = "span_ms = $3 AND bucket >= $4";
            let day = "((span_ms = $3 AND bucket >= $5 AND bucket < $6) \
                       OR (span_ms = $7 AND bucket >= $8))";
            let sum = |scope: &str, window: &str| {
                format!(
                    "(SELECT CAST(COALESCE(SUM(opens), 0) AS BIGINT) FROM open_tallies \
                     WHERE scope = {scope} AND {window})"
                )
            };
            format!(
                "SELECT {} AS user_hour, {} AS user_day, {} AS org_hour, {} AS org_day, \
                 (SELECT opened_at FROM recent_opens WHERE scope = $1 AND nhs_number = $9) AS last, \
                 {} AS relationship",
                sum("$1", hour),
                sum("$1", day),
                sum("$2", hour),
                sum("$2", day),
                strongest_relationship("$9", "$10", "$11", "$12"),
            )
        });
        let (user, org, nhs) = (user_scope(user_id), org_scope(org_ods), nhs.as_digits());
        let args = [
            Arg::Text(&user),
            Arg::Text(&org),
            Arg::Int(MINUTE_MS),
            Arg::Int(window.hour_first_minute),
            Arg::Int(window.day_first_minute),
            Arg::Int(window.first_full_hour * (HOUR_MS / MINUTE_MS)),
            Arg::Int(HOUR_MS),
            Arg::Int(window.first_full_hour),
            Arg::Text(&nhs),
            Arg::Text(org_ods),
            Arg::Text(user_id),
            Arg::Int(now),
        ];
        let facts = self.read_row(SQL.as_str(), &args, |row| {
            let last = row.int("last")?;
            let counts = OpenCounts {
                user_hour: tally(row, "user_hour")?,
                user_day: tally(row, "user_day")?,
                org_hour: tally(row, "org_hour")?,
                org_day: tally(row, "org_day")?,
                // The user's own last open of this patient decides "already open" (the
                // organisation's is a superset in time, not in meaning).
                this_patient_in_hour: last.is_some_and(|t| t >= hour_ago),
                this_patient_in_day: last.is_some_and(|t| t >= day_ago),
            };
            Ok((relationship(row)?, counts))
        });
        facts
            .await?
            .ok_or_else(|| StoreError::Corrupt("the access facts gave no row".into()))
    }

    /// The alerts for the officer's organisations, newest first.
    pub async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<AlertRow>> {
        if filter.orgs.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "SELECT seq, kind, at, for_org, patient, reviewed_by, reviewed_at, note FROM alerts WHERE for_org IN (",
        );
        let mut n = 0usize;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let org_marks: Vec<String> = filter.orgs.iter().map(|_| next()).collect();
        sql.push_str(&org_marks.join(", "));
        sql.push(')');
        let mut texts: Vec<String> = filter.orgs.clone();
        if let Some(u) = &filter.user_id {
            sql.push_str(&format!(" AND user_id = {}", next()));
            texts.push(u.clone());
        }
        if let Some(p) = &filter.patient {
            sql.push_str(&format!(" AND patient = {}", next()));
            texts.push(p.as_digits());
        }
        let mut ints: Vec<i64> = Vec::new();
        if let Some(since) = filter.since_ms {
            sql.push_str(&format!(" AND at >= {}", next()));
            ints.push(since);
        }
        if let Some(until) = filter.until_ms {
            sql.push_str(&format!(" AND at < {}", next()));
            ints.push(until);
        }
        match filter.reviewed {
            Some(false) => sql.push_str(" AND reviewed_at IS NULL"),
            Some(true) => sql.push_str(" AND reviewed_at IS NOT NULL"),
            None => {}
        }
        sql.push_str(&format!(
            " ORDER BY at DESC, seq DESC LIMIT {}",
            filter.limit.max(1)
        ));
        let mut q = sqlx::query(&sql);
        for t in texts {
            q = q.bind(t);
        }
        for i in ints {
            q = q.bind(i);
        }
        let rows = q.fetch_all(self.read_pool()).await?;
        rows.iter().map(alert_row).collect()
    }

    /// The alerts entry `seq` raised, if they are for one of `orgs`.
    pub async fn alerts_of_entry(&self, seq: i64, orgs: &[String]) -> StoreResult<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT seq, kind, at, for_org, patient, reviewed_by, reviewed_at, note FROM alerts \
             WHERE seq = $1",
        )
        .bind(seq)
        .fetch_all(self.read_pool())
        .await?;
        let alerts: Vec<AlertRow> = rows.iter().map(alert_row).collect::<StoreResult<_>>()?;
        Ok(alerts
            .into_iter()
            .filter(|a| orgs.contains(&a.for_org))
            .collect())
    }

    /// Whether `user_id` has an unreviewed alert of `kind` raised since `since_ms`.
    pub async fn has_open_alert(
        &self,
        kind: AlertKind,
        user_id: &str,
        since_ms: i64,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM alerts WHERE kind = $1 AND user_id = $2 AND at >= $3 \
             AND reviewed_at IS NULL",
        )
        .bind(kind.code())
        .bind(user_id.to_string())
        .bind(since_ms)
        .fetch_one(self.read_pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Forgets opens older than the longest volume window and self-claims that have ended.
    pub async fn purge_access_records(&self, now: i64) -> StoreResult<u64> {
        let day_ago = now - VolumeWindow::Day.seconds() * 1000;
        let opens = sqlx::query("DELETE FROM recent_opens WHERE opened_at < $1")
            .bind(day_ago)
            .execute(self.write_pool())
            .await?
            .rows_affected();
        // Tallies an hour past the day window are never summed again (a re-open of a patient
        // last opened before then may have left a negative one there: harmless, and gone).
        sqlx::query("DELETE FROM open_tallies WHERE bucket * span_ms < $1")
            .bind(day_ago - HOUR_MS)
            .execute(self.write_pool())
            .await?;
        let claims = sqlx::query(
            "DELETE FROM care_relationships WHERE kind = $1 AND ends_at IS NOT NULL AND ends_at < $2",
        )
        .bind(RelationshipBasis::SelfClaimed.code())
        .bind(now)
        .execute(self.write_pool())
        .await?
        .rows_affected();
        Ok(opens + claims)
    }

    /// Records encounters and referrals (the demo seed; uploads use
    /// [`hold_relationships`] in their own transaction).
    pub async fn insert_relationships(
        &self,
        relationships: &[CareRelationship],
    ) -> StoreResult<()> {
        let mut tx = self.write_pool().begin().await?;
        hold_relationships(&mut tx, relationships).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn alert_row(row: &sqlx::any::AnyRow) -> StoreResult<AlertRow> {
    let kind: String = row.try_get("kind")?;
    Ok(AlertRow {
        seq: row.try_get("seq")?,
        kind: AlertKind::from_code(&kind)
            .ok_or_else(|| super::StoreError::Corrupt(format!("alert kind {kind:?}")))?,
        at_ms: row.try_get("at")?,
        for_org: row.try_get("for_org")?,
        patient: row.try_get("patient")?,
        reviewed_by: row.try_get("reviewed_by")?,
        reviewed_at_ms: row.try_get("reviewed_at")?,
        note: row.try_get("note")?,
    })
}

/// Opens (or re-dates) encounters and referrals, in the caller's transaction.
pub(crate) async fn hold_relationships(
    conn: &mut AnyConnection,
    relationships: &[CareRelationship],
) -> StoreResult<()> {
    const COLS: usize = 6;
    let backend = Backend::of(conn);
    for chunk in relationships.chunks(rows_per_statement(COLS)) {
        let mut sql = String::from(
            "INSERT INTO care_relationships (nhs_number, org_ods, kind, user_id, opened_at, ends_at) VALUES ",
        );
        values_clause(&mut sql, backend, chunk.len(), COLS);
        sql.push_str(
            " ON CONFLICT (nhs_number, org_ods, kind, user_id) \
             DO UPDATE SET opened_at = excluded.opened_at, ends_at = excluded.ends_at",
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.nhs_number.as_digits())
                .bind(r.org_ods.clone())
                .bind(r.basis.code())
                .bind(String::new())
                .bind(r.opened_at_ms)
                .bind(r.ends_at_ms);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What appending these entries (at `seq`s from `first_seq`, time `at`) records beyond the
/// chain: each successful summary read's open for its user and organisation, each
/// self-claimed relationship, each alert. In the appending transaction.
pub(crate) async fn record_consequences(
    conn: &mut AnyConnection,
    first_seq: i64,
    at: i64,
    entries: &[AuditEntry],
) -> StoreResult<()> {
    let backend = Backend::of(conn);
    // Scopes and claims are keyed so one statement never touches a row twice (PostgreSQL
    // refuses that in `ON CONFLICT DO UPDATE`).
    let mut opens: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut claims: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut alerts: Vec<(i64, AlertKind, &AuditEntry)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let seq = first_seq + i as i64;
        let opened = e.action == AuditAction::SummaryRead && e.outcome == AuditOutcome::Success;
        if let (true, Some(nhs), Some(user), Some(org)) =
            (opened, e.patient, &e.user_id, &e.org_ods)
        {
            opens.insert((user_scope(user), nhs.as_digits()), at);
            opens.insert((org_scope(org), nhs.as_digits()), at);
            if e.relationship == Some(RelationshipBasis::SelfClaimed) {
                claims.insert((nhs.as_digits(), org.clone(), user.clone()), at);
            }
        }
        for kind in &e.alerts {
            alerts.push((seq, *kind, e));
        }
    }
    let opens: Vec<_> = opens.into_iter().collect();
    // Each (scope, patient) is counted once, in the buckets of its last open: take it out of
    // the old ones before the upsert moves it.
    let mut tallies: BTreeMap<(String, i64, i64), i64> = BTreeMap::new();
    const OPEN_KEY_COLS: usize = 2;
    for chunk in opens.chunks(rows_per_statement(OPEN_KEY_COLS)) {
        let mut sql = String::from(
            "SELECT scope, nhs_number, opened_at FROM recent_opens WHERE (scope, nhs_number) IN (VALUES ",
        );
        let mut values = String::new();
        values_clause(&mut values, backend, chunk.len(), OPEN_KEY_COLS);
        sql.push_str(&values);
        sql.push(')');
        let mut q = sqlx::query(&sql);
        for ((scope, nhs), _) in chunk {
            q = q.bind(scope.clone()).bind(nhs.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let scope: String = row.try_get("scope")?;
            let before: i64 = row.try_get("opened_at")?;
            for span in [MINUTE_MS, HOUR_MS] {
                *tallies
                    .entry((scope.clone(), span, before / span))
                    .or_default() -= 1;
            }
        }
    }
    for ((scope, _), at) in &opens {
        for span in [MINUTE_MS, HOUR_MS] {
            *tallies.entry((scope.clone(), span, at / span)).or_default() += 1;
        }
    }
    let tallies: Vec<_> = tallies.into_iter().filter(|(_, n)| *n != 0).collect();
    const TALLY_COLS: usize = 4;
    for chunk in tallies.chunks(rows_per_statement(TALLY_COLS)) {
        let mut sql =
            String::from("INSERT INTO open_tallies (scope, span_ms, bucket, opens) VALUES ");
        values_clause(&mut sql, backend, chunk.len(), TALLY_COLS);
        sql.push_str(
            " ON CONFLICT (scope, span_ms, bucket) DO UPDATE SET opens = open_tallies.opens + excluded.opens",
        );
        let mut q = sqlx::query(&sql);
        for ((scope, span, bucket), n) in chunk {
            q = q.bind(scope.clone()).bind(*span).bind(*bucket).bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    const OPEN_COLS: usize = 3;
    for chunk in opens.chunks(rows_per_statement(OPEN_COLS)) {
        let mut sql =
            String::from("INSERT INTO recent_opens (scope, nhs_number, opened_at) VALUES ");
        values_clause(&mut sql, backend, chunk.len(), OPEN_COLS);
        sql.push_str(
            " ON CONFLICT (scope, nhs_number) DO UPDATE SET opened_at = excluded.opened_at",
        );
        let mut q = sqlx::query(&sql);
        for ((scope, nhs), at) in chunk {
            q = q.bind(scope.clone()).bind(nhs.clone()).bind(*at);
        }
        q.execute(&mut *conn).await?;
    }
    let claims: Vec<_> = claims.into_iter().collect();
    const CLAIM_COLS: usize = 6;
    for chunk in claims.chunks(rows_per_statement(CLAIM_COLS)) {
        let mut sql = String::from(
            "INSERT INTO care_relationships (nhs_number, org_ods, kind, user_id, opened_at, ends_at) VALUES ",
        );
        values_clause(&mut sql, backend, chunk.len(), CLAIM_COLS);
        sql.push_str(
            " ON CONFLICT (nhs_number, org_ods, kind, user_id) \
             DO UPDATE SET opened_at = excluded.opened_at, ends_at = excluded.ends_at",
        );
        let mut q = sqlx::query(&sql);
        for ((nhs, org, user), at) in chunk {
            q = q
                .bind(nhs.clone())
                .bind(org.clone())
                .bind(RelationshipBasis::SelfClaimed.code())
                .bind(user.clone())
                .bind(*at)
                .bind(Some(*at + SELF_CLAIM_HOURS * 3_600_000));
        }
        q.execute(&mut *conn).await?;
    }
    const ALERT_COLS: usize = 6;
    for chunk in alerts.chunks(rows_per_statement(ALERT_COLS)) {
        let mut sql =
            String::from("INSERT INTO alerts (seq, kind, at, for_org, user_id, patient) VALUES ");
        values_clause(&mut sql, backend, chunk.len(), ALERT_COLS);
        let mut q = sqlx::query(&sql);
        for (seq, kind, e) in chunk {
            q = q
                .bind(*seq)
                .bind(kind.code())
                .bind(at)
                .bind(alert_for_org(e, *kind))
                .bind(e.user_id.clone())
                .bind(e.patient.map(|p| p.as_digits()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Whose privacy officer an alert goes to: the organisation the user acted for, except a
/// child protection attendance, which goes to the organisation responsible for the child
/// (carried on the entry as `alert_org`).
fn alert_for_org(entry: &AuditEntry, kind: AlertKind) -> String {
    match (kind, &entry.alert_org) {
        (AlertKind::ChildProtectionAttendance, Some(responsible)) => responsible.clone(),
        _ => entry.org_ods.clone().unwrap_or_default(),
    }
}

/// Marks an alert reviewed, in the caller's transaction (with the review's audit entry).
/// `false` when it was already reviewed (a concurrent review won).
pub(crate) async fn review_alert(
    conn: &mut AnyConnection,
    seq: i64,
    reviewer: &str,
    note: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE alerts SET reviewed_by = $1, reviewed_at = $2, note = $3 \
         WHERE seq = $4 AND reviewed_at IS NULL",
    )
    .bind(reviewer.to_string())
    .bind(now_ms())
    .bind(note.to_string())
    .bind(seq)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(done >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(user: &str, org: &str, nhs: NhsNumber) -> AuditEntry {
        AuditEntry {
            user_id: Some(user.into()),
            user_name: None,
            role_code: None,
            org_ods: Some(org.into()),
            patient: Some(nhs),
            action: AuditAction::SummaryRead,
            reason: None,
            outcome: AuditOutcome::Success,
            detail: None,
            alert: false,
            offline: None,
            relationship: None,
            justification: None,
            alerts: Vec::new(),
            alert_org: None,
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::open(&url, 2).await.expect("store");
        (dir, store)
    }

    async fn open_at(store: &Store, at: i64, entries: &[AuditEntry]) {
        let mut conn = store.write_pool().acquire().await.expect("conn");
        record_consequences(&mut conn, 1, at, entries)
            .await
            .expect("recorded");
    }

    const T0: i64 = 1_780_000_000_000;

    #[tokio::test]
    async fn counts_distinct_patients_per_window_to_the_minute_and_a_reopen_once() {
        let (_dir, store) = store().await;
        let p = |i: u32| NhsNumber::nth_test_number(i).expect("test number");
        let now = T0 + 30 * HOUR_MS;
        // Opened 25 h ago (outside both windows), 23 h 30 min ago (the day only), 61 min
        // ago (the day only), 59 min ago and just now (both).
        open_at(&store, now - 25 * HOUR_MS, &[read("u1", "RX901", p(1))]).await;
        open_at(
            &store,
            now - 23 * HOUR_MS - 30 * MINUTE_MS,
            &[read("u1", "RX901", p(2))],
        )
        .await;
        open_at(&store, now - 61 * MINUTE_MS, &[read("u1", "RX901", p(3))]).await;
        open_at(&store, now - 59 * MINUTE_MS, &[read("u1", "RX901", p(4))]).await;
        open_at(&store, now, &[read("u2", "RX901", p(5))]).await;
        let c = store
            .open_counts_at("u1", "RX901", p(4), now)
            .await
            .expect("counts");
        assert_eq!((c.user_hour, c.user_day), (1, 3));
        assert_eq!((c.org_hour, c.org_day), (2, 4));
        assert!(c.this_patient_in_hour && c.this_patient_in_day);

        // Opening p(3) and p(1) again moves each to now: counted once, in the hour.
        open_at(
            &store,
            now,
            &[read("u1", "RX901", p(3)), read("u1", "RX901", p(1))],
        )
        .await;
        let c = store
            .open_counts_at("u1", "RX901", p(2), now)
            .await
            .expect("counts");
        assert_eq!((c.user_hour, c.user_day), (3, 4));
        assert_eq!((c.org_hour, c.org_day), (4, 5));
        assert!(!c.this_patient_in_hour && c.this_patient_in_day);

        // A day later nothing is in either window, and the purge leaves the sums as they are.
        let later = now + 25 * HOUR_MS;
        store.purge_access_records(later).await.expect("purge");
        let c = store
            .open_counts_at("u1", "RX901", p(3), later)
            .await
            .expect("counts");
        assert_eq!(
            (c.user_hour, c.user_day, c.org_hour, c.org_day),
            (0, 0, 0, 0)
        );
        assert!(!c.this_patient_in_day);
        let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM open_tallies")
            .fetch_one(store.read_pool())
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
        assert_eq!(left, 0, "tallies older than the day window are purged");
    }

    #[test]
    fn the_day_window_is_its_first_partial_hour_in_minutes_then_whole_hours() {
        let w = TallyWindow::new(T0 + 30 * MINUTE_MS + 5_000);
        let minute = (T0 + 30 * MINUTE_MS) / MINUTE_MS;
        assert_eq!(w.hour_first_minute, minute - 59);
        assert_eq!(w.day_first_minute, minute - 1439);
        assert!(w.first_full_hour * 60 >= w.day_first_minute);
        assert!(w.first_full_hour * 60 - w.day_first_minute < 60);
    }
}

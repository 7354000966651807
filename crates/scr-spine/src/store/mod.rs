//! Storage: one SQL dialect subset over SQLite (default, one file) and PostgreSQL (scale),
//! through sqlx's `Any` driver so every query is written once.
//!
//! Writes go through `write`: on SQLite a single connection (SQLite has one writer; one
//! connection in-process means writers queue here instead of failing with `SQLITE_BUSY`),
//! on PostgreSQL the same pool as reads (row locks serialise what must be serial).

pub mod rows;

use std::time::Duration;

use scr_model::{ConsentRecord, Demographics, NhsNumber, RoleProfile, SharingPreference, Summary};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use crate::pki::CertificateId;

pub use rows::{
    preference_code as rows_preference_code, AuditFilter, CertificateRow, Challenge, FamilyFilter,
    PatientRow, SessionRow, StaffIdentity,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data could not be read ({0}); the store may be damaged")]
    Corrupt(String),
    #[error("unsupported database URL (use sqlite://FILE or postgres://…): {0}")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A failure of reaching or using the database that may pass (connection lost, pool
    /// exhausted, statement timed out, disk full, database busy or restarting), as opposed to
    /// a bug or damaged data. The request is answered 503 with `Retry-After`, not 500.
    pub fn is_transient(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // The two drivers' codes overlap as text (PostgreSQL's disk-full SQLSTATE
                // 53100 parses as a number too), so classify by the driver that raised it.
                let backend = if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some()
                {
                    Backend::Postgres
                } else {
                    Backend::Sqlite
                };
                transient_database_code(backend, &code)
            }
            _ => false,
        }
    }
}

/// Result codes (SQLite) and SQLSTATEs (PostgreSQL) that mean "try again later".
fn transient_database_code(backend: Backend, code: &str) -> bool {
    match backend {
        // Extended codes carry the primary code in the low byte: BUSY, LOCKED, IOERR, FULL,
        // CANTOPEN.
        Backend::Sqlite => code
            .parse::<i64>()
            .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13 | 14)),
        // Connection exceptions (08), insufficient resources (53: disk full, out of memory,
        // too many connections), operator intervention (57: statement timeout, shutdown,
        // cannot connect now), transaction rollback (40: serialization, deadlock),
        // idle-in-transaction timeout (25P03).
        Backend::Postgres => {
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code.starts_with("40")
                || code == "25P03"
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("../../migrations/0001_initial.sqlite.sql"),
        include_str!("../../migrations/0001_initial.postgres.sql"),
    ),
    (
        2,
        include_str!("../../migrations/0002_offline_views.sqlite.sql"),
        include_str!("../../migrations/0002_offline_views.postgres.sql"),
    ),
    (
        3,
        include_str!("../../migrations/0003_hardening.sqlite.sql"),
        include_str!("../../migrations/0003_hardening.postgres.sql"),
    ),
    (
        4,
        include_str!("../../migrations/0004_certificate_issuer.sqlite.sql"),
        include_str!("../../migrations/0004_certificate_issuer.postgres.sql"),
    ),
];

/// How the store's connections behave. Every wait is bounded and shorter than the request
/// deadline, so a slow or absent database becomes a 503 the client can retry, not a hang.
#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// The longest a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout` (and `idle_in_transaction_session_timeout`).
    pub statement_timeout: Duration,
}

impl StoreOptions {
    pub fn with_connections(max_connections: u32) -> StoreOptions {
        StoreOptions {
            max_connections,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Opens (creating a SQLite file if needed) and brings the schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Store> {
        Store::open_with(url, StoreOptions::with_connections(max_connections)).await
    }

    pub async fn open_with(url: &str, opts: StoreOptions) -> StoreResult<Store> {
        let max_connections = opts.max_connections;
        let statement_ms = opts.statement_timeout.as_millis().max(1);
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = |n: u32| {
            AnyPoolOptions::new()
                .max_connections(n)
                .min_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        match backend {
                            Backend::Sqlite => {
                                // WAL: readers never block the writer. FULL sync: a commit
                                // is on disk before the spine answers, so a power cut cannot
                                // take back an audit entry for data already released (NORMAL
                                // would lose the last commits, and the chain head with them,
                                // invisibly). busy_timeout covers other processes (the CLI)
                                // touching the file.
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                                )
                                .await?;
                            }
                            Backend::Postgres => {
                                // A statement or an idle transaction that overruns is ended by
                                // the server, so no request holds a connection (or the chain
                                // head's row lock) past its deadline.
                                conn.execute(
                                    format!(
                                        "SET statement_timeout = {statement_ms}; \
                                         SET idle_in_transaction_session_timeout = {};",
                                        statement_ms * 2
                                    )
                                    .as_str(),
                                )
                                .await?;
                            }
                        }
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let (read, write) = match backend {
            Backend::Sqlite => {
                let write = pool(1).await?;
                let store = Store {
                    read: write.clone(),
                    write: write.clone(),
                    backend,
                };
                store.migrate().await?;
                (pool(max_connections).await?, write)
            }
            Backend::Postgres => {
                let p = pool(max_connections).await?;
                (p.clone(), p)
            }
        };
        let store = Store {
            read,
            write,
            backend,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    pub fn read_pool(&self) -> &AnyPool {
        &self.read
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.write)
        .await?;
        for (version, sqlite, postgres) in MIGRATIONS {
            let applied = sqlx::query("SELECT version FROM schema_version WHERE version = $1")
                .bind(*version)
                .fetch_optional(&self.write)
                .await?;
            if applied.is_some() {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            let mut tx = self.write.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    // ---------------------------------------------------------------- patients

    pub async fn patient(&self, nhs: NhsNumber) -> StoreResult<Option<Demographics>> {
        let row = sqlx::query("SELECT record FROM patients WHERE nhs_number = $1")
            .bind(nhs.as_digits())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| rows::demographics(&r.try_get::<String, _>("record")?))
            .transpose()
    }

    /// The patient, their current summary (absent when none was uploaded or they dissented)
    /// and their sharing preference, in one round trip.
    pub async fn summary_view(
        &self,
        nhs: NhsNumber,
    ) -> StoreResult<Option<(Demographics, Option<Summary>, Option<ConsentRecord>)>> {
        let row = sqlx::query(
            "SELECT p.record, s.summary, c.preference, c.code, c.recorded, c.recorded_by_ods \
             FROM patients p \
             LEFT JOIN summaries s ON s.nhs_number = p.nhs_number \
             LEFT JOIN consents c ON c.nhs_number = p.nhs_number \
             WHERE p.nhs_number = $1",
        )
        .bind(nhs.as_digits())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let demographics = rows::demographics(&row.try_get::<String, _>("record")?)?;
        let summary = row
            .try_get::<Option<String>, _>("summary")?
            .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?;
        let consent = rows::consent(&row)?;
        Ok(Some((demographics, summary, consent)))
    }

    /// Candidates for a trace: everyone born on one of `birth_dates` (or in a range), further
    /// narrowed by family name or its Soundex code when given. Scoring happens in memory.
    pub async fn trace_candidates(
        &self,
        birth_dates: &[String],
        range: Option<(String, String)>,
        family_filter: Option<rows::FamilyFilter>,
        limit: i64,
    ) -> StoreResult<Vec<Demographics>> {
        let mut sql = String::from("SELECT record FROM patients WHERE ");
        let mut binds: Vec<String> = Vec::new();
        let next = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some((from, to)) = range {
            let a = next(from, &mut binds);
            let b = next(to, &mut binds);
            sql.push_str(&format!("birth_date >= {a} AND birth_date <= {b}"));
        } else {
            let placeholders: Vec<String> = birth_dates
                .iter()
                .map(|d| next(d.clone(), &mut binds))
                .collect();
            sql.push_str(&format!("birth_date IN ({})", placeholders.join(", ")));
        }
        match family_filter {
            Some(rows::FamilyFilter::Exact(f)) => {
                let p = next(f, &mut binds);
                sql.push_str(&format!(" AND family_upper = {p}"));
            }
            Some(rows::FamilyFilter::Prefix(f)) => {
                let p = next(format!("{}%", escape_like(&f)), &mut binds);
                sql.push_str(&format!(" AND family_upper LIKE {p} ESCAPE '\\'"));
            }
            Some(rows::FamilyFilter::SoundexOrPrefix { soundex, prefix }) => {
                let s = next(soundex, &mut binds);
                let p = next(format!("{}%", escape_like(&prefix)), &mut binds);
                sql.push_str(&format!(
                    " AND (family_soundex = {s} OR family_upper LIKE {p} ESCAPE '\\')"
                ));
            }
            None => {}
        }
        sql.push_str(&format!(" LIMIT {limit}"));
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| rows::demographics(&r.try_get::<String, _>("record")?))
            .collect()
    }

    /// `Some(None)`: known patient, no preference recorded; `None`: unknown NHS number.
    pub async fn consent(&self, nhs: NhsNumber) -> StoreResult<Option<Option<ConsentRecord>>> {
        let row = sqlx::query(
            "SELECT p.nhs_number, c.preference, c.code, c.recorded, c.recorded_by_ods \
             FROM patients p LEFT JOIN consents c ON c.nhs_number = p.nhs_number \
             WHERE p.nhs_number = $1",
        )
        .bind(nhs.as_digits())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| rows::consent(&r)).transpose()
    }

    // ---------------------------------------------------------------- identities

    pub async fn identity_for_certificate(
        &self,
        certificate: &CertificateId,
    ) -> StoreResult<Option<StaffIdentity>> {
        let row = sqlx::query(
            "SELECT u.user_id, u.name, c.revoked FROM certificates c \
             JOIN users u ON u.user_id = c.user_id \
             WHERE c.issuer_key = $1 AND c.serial_hex = $2",
        )
        .bind(&certificate.issuer)
        .bind(&certificate.serial_hex)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| -> StoreResult<StaffIdentity> {
            Ok(StaffIdentity {
                user_id: r.try_get("user_id")?,
                name: r.try_get("name")?,
                revoked: r.try_get::<i64, _>("revoked")? != 0,
            })
        })
        .transpose()
    }

    pub async fn role_profiles(&self, user_id: &str) -> StoreResult<Vec<RoleProfile>> {
        let rows = sqlx::query(
            "SELECT id, role_code, role_name, org_ods, org_name, activities \
             FROM role_profiles WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(rows::role_profile).collect()
    }

    pub async fn insert_identity(
        &self,
        identity: &StaffIdentity,
        certificate: &CertificateId,
        profiles: &[RoleProfile],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO users (user_id, name) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET name = excluded.name",
        )
        .bind(&identity.user_id)
        .bind(&identity.name)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO certificates (issuer_key, serial_hex, user_id, revoked) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (issuer_key, serial_hex) DO NOTHING",
        )
        .bind(&certificate.issuer)
        .bind(&certificate.serial_hex)
        .bind(&identity.user_id)
        .bind(i64::from(identity.revoked))
        .execute(&mut *tx)
        .await?;
        for p in profiles {
            let activities = serde_json::to_string(&p.activities)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO role_profiles (id, user_id, role_code, role_name, org_ods, org_name, activities) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET role_code = excluded.role_code, role_name = excluded.role_name, \
                 org_ods = excluded.org_ods, org_name = excluded.org_name, activities = excluded.activities",
            )
            .bind(&p.id)
            .bind(&identity.user_id)
            .bind(&p.role_code)
            .bind(&p.role_name)
            .bind(&p.org_ods)
            .bind(&p.org_name)
            .bind(activities)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Revokes the certificate and ends every session opened with it, in one transaction.
    /// Returns `None` for an unknown certificate, else how many live sessions were ended.
    pub async fn revoke_certificate(
        &self,
        certificate: &CertificateId,
    ) -> StoreResult<Option<u64>> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE certificates SET revoked = 1 WHERE issuer_key = $1 AND serial_hex = $2",
        )
        .bind(&certificate.issuer)
        .bind(&certificate.serial_hex)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        let ended = sqlx::query(
            "UPDATE sessions SET revoked = 1 \
             WHERE cert_issuer = $1 AND cert_serial = $2 AND revoked = 0 AND expires_at > $3",
        )
        .bind(&certificate.issuer)
        .bind(&certificate.serial_hex)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Some(ended))
    }

    /// Every registered certificate with its holder and state, and how many live sessions
    /// it has (for `scr-spine card list`).
    pub async fn certificates(&self) -> StoreResult<Vec<CertificateRow>> {
        let rows = sqlx::query(
            "SELECT c.issuer_key, c.serial_hex, c.user_id, u.name, c.revoked, \
                    (SELECT COUNT(*) FROM sessions s \
                       WHERE s.cert_issuer = c.issuer_key AND s.cert_serial = c.serial_hex \
                       AND s.revoked = 0 AND s.expires_at > $1) AS live \
             FROM certificates c JOIN users u ON u.user_id = c.user_id \
             ORDER BY u.name, c.serial_hex, c.issuer_key",
        )
        .bind(now_ms())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CertificateRow {
                    id: CertificateId {
                        issuer: r.try_get("issuer_key")?,
                        serial_hex: r.try_get("serial_hex")?,
                    },
                    user_id: r.try_get("user_id")?,
                    name: r.try_get("name")?,
                    revoked: r.try_get::<i64, _>("revoked")? != 0,
                    live_sessions: r.try_get::<i64, _>("live")?,
                })
            })
            .collect()
    }

    /// Names `issuer` as the issuer of certificates and sessions recorded before issuers
    /// were (migration 0004): the spine trusted one CA then, so every one came from it.
    pub async fn claim_unattributed_certificates(&self, issuer: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE certificates SET issuer_key = $1 WHERE issuer_key = ''")
            .bind(issuer)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE sessions SET cert_issuer = $1 WHERE cert_issuer IS NULL AND cert_serial IS NOT NULL",
        )
        .bind(issuer)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---------------------------------------------------------------- challenges

    pub async fn insert_challenge(&self, c: &Challenge) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO challenges (id, certificate, nonce, expires_at, used) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(&c.id)
        .bind(c.certificate.clone())
        .bind(c.nonce.clone())
        .bind(c.expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Deletes challenges past their expiry and sessions a day past theirs (the audit trail
    /// has the story). Returns how many of each. Runs on a timer, by index.
    pub async fn purge_expired(&self, now: i64) -> StoreResult<(u64, u64)> {
        let challenges = sqlx::query("DELETE FROM challenges WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now - 86_400_000)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok((challenges, sessions))
    }

    /// Marks the challenge used and returns it, or `None` if unknown or already used: a
    /// nonce answers one sign-in only, even under concurrent attempts.
    pub async fn take_challenge(&self, id: &str) -> StoreResult<Option<Challenge>> {
        let updated = sqlx::query("UPDATE challenges SET used = 1 WHERE id = $1 AND used = 0")
            .bind(id)
            .execute(&self.write)
            .await?;
        if updated.rows_affected() != 1 {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT id, certificate, nonce, expires_at FROM challenges WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.write)
                .await?;
        row.map(|r| -> StoreResult<Challenge> {
            Ok(Challenge {
                id: r.try_get("id")?,
                certificate: r.try_get("certificate")?,
                nonce: r.try_get("nonce")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    // ---------------------------------------------------------------- sessions

    /// A new session, tied to the certificate it was opened with (`None` only for sessions
    /// made outside sign-in, by tests).
    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.insert_session_for(token_hash, user_id, None, now, expires_at)
            .await
    }

    pub async fn insert_session_for(
        &self,
        token_hash: &str,
        user_id: &str,
        certificate: Option<&CertificateId>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, role_profile_id, created_at, last_seen, expires_at, revoked, cert_issuer, cert_serial) \
             VALUES ($1, $2, NULL, $3, $3, $4, 0, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(certificate.map(|c| c.issuer.clone()))
        .bind(certificate.map(|c| c.serial_hex.clone()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        let row = sqlx::query(
            // A revoked certificate ends its sessions on their next request, whoever revoked
            // it and however (the CLI, or SQL by an operator).
            "SELECT s.user_id, u.name, s.role_profile_id, s.last_seen, s.expires_at, \
                    CASE WHEN s.revoked <> 0 OR COALESCE(c.revoked, 0) <> 0 THEN 1 ELSE 0 END AS revoked, \
                    r.role_code, r.role_name, r.org_ods, r.org_name, r.activities \
             FROM sessions s JOIN users u ON u.user_id = s.user_id \
             LEFT JOIN certificates c \
                    ON c.issuer_key = s.cert_issuer AND c.serial_hex = s.cert_serial \
             LEFT JOIN role_profiles r ON r.id = s.role_profile_id \
             WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| rows::session(&r)).transpose()
    }

    pub async fn set_session_role(
        &self,
        token_hash: &str,
        role_profile_id: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET role_profile_id = $1 WHERE token_hash = $2")
            .bind(role_profile_id)
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn revoke_session(&self, token_hash: &str) -> StoreResult<bool> {
        let r =
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = $1 AND revoked = 0")
                .bind(token_hash)
                .execute(&self.write)
                .await?;
        Ok(r.rows_affected() == 1)
    }

    // ---------------------------------------------------------------- audit (reads)

    /// How many offline views `user_id` has had recorded since `since_ms`.
    pub async fn offline_views_since(&self, user_id: &str, since_ms: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit WHERE user_id = $1 AND action = $2 AND at >= $3",
        )
        .bind(user_id)
        .bind(scr_model::AuditAction::OfflineView.code())
        .bind(since_ms)
        .fetch_one(&self.read)
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
        .fetch_all(&self.read)
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

    pub async fn audit_records(
        &self,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<scr_model::AuditRecord>> {
        let mut sql = String::from(
            "SELECT seq, at, user_id, user_name, role_code, org_ods, patient, action, reason, \
             outcome, detail, alert, prev_hash, hash, view_id, viewed_at, fetched_at \
             FROM audit WHERE 1 = 1",
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
        if filter.alerts_only {
            sql.push_str(" AND alert = 1");
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
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(rows::audit_record).collect()
    }

    // ---------------------------------------------------------------- bulk load (seed)

    /// Inserts patients (with summary and consent) in one transaction, many rows per
    /// statement: seeding a million patients is dominated by round trips otherwise.
    pub async fn insert_patients_bulk(&self, batch: &[PatientRow]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        const PATIENT_COLS: usize = 12;
        for chunk in batch.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO patients (nhs_number, family, given, family_upper, given_upper, family_soundex, \
                 birth_date, gender, postcode, gp_ods, restricted, record) VALUES ",
            );
            values_clause(&mut sql, chunk.len(), PATIENT_COLS);
            let mut q = sqlx::query(&sql);
            for p in chunk {
                let d = &p.demographics;
                let record =
                    serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let given = d.given.join(" ");
                q = q
                    .bind(d.nhs_number.as_digits())
                    .bind(d.family.clone())
                    .bind(given.clone())
                    .bind(d.family.to_uppercase())
                    .bind(given.to_uppercase())
                    .bind(crate::trace::soundex(&d.family))
                    .bind(d.birth_date.format("%Y-%m-%d").to_string())
                    .bind(d.gender.code())
                    .bind(d.address.postcode.clone())
                    .bind(d.gp_ods.clone())
                    .bind(i64::from(d.restricted))
                    .bind(record);
            }
            q.execute(&mut *tx).await?;
        }
        let with_summary: Vec<&PatientRow> = batch.iter().filter(|p| p.summary.is_some()).collect();
        for chunk in with_summary.chunks(1000) {
            let mut sql = String::from(
                "INSERT INTO summaries (nhs_number, practice_ods, updated_at, summary) VALUES ",
            );
            values_clause(&mut sql, chunk.len(), 4);
            let mut q = sqlx::query(&sql);
            for p in chunk {
                let Some(summary) = &p.summary else { continue };
                let json = serde_json::to_string(summary)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let updated = summary
                    .provenance
                    .last_updated
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(now_ms);
                q = q
                    .bind(p.demographics.nhs_number.as_digits())
                    .bind(summary.provenance.practice_ods.clone())
                    .bind(updated)
                    .bind(json);
            }
            q.execute(&mut *tx).await?;
        }
        let with_consent: Vec<(&PatientRow, &ConsentRecord)> = batch
            .iter()
            .filter_map(|p| p.consent.as_ref().map(|c| (p, c)))
            .collect();
        for chunk in with_consent.chunks(1000) {
            let mut sql = String::from(
                "INSERT INTO consents (nhs_number, preference, code, recorded, recorded_by_ods) VALUES ",
            );
            values_clause(&mut sql, chunk.len(), 5);
            let mut q = sqlx::query(&sql);
            for (p, c) in chunk {
                q = q
                    .bind(p.demographics.nhs_number.as_digits())
                    .bind(rows::preference_code(c.preference))
                    .bind(c.code.clone())
                    .bind(c.recorded.format("%Y-%m-%d").to_string())
                    .bind(c.recorded_by_ods.clone());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn patient_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM patients")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// A sample of NHS numbers with a summary (for benchmarks and the demo's hints).
    pub async fn sample_patients(
        &self,
        with_summary: bool,
        limit: i64,
    ) -> StoreResult<Vec<NhsNumber>> {
        let sql = if with_summary {
            format!("SELECT nhs_number FROM summaries ORDER BY nhs_number LIMIT {limit}")
        } else {
            format!("SELECT nhs_number FROM patients ORDER BY nhs_number LIMIT {limit}")
        };
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("nhs_number")?;
                NhsNumber::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Patients who have dissented (for tests, the demo's hints and benchmarks).
    pub async fn dissented_patients(&self, limit: i64) -> StoreResult<Vec<NhsNumber>> {
        let rows = sqlx::query(&format!(
            "SELECT nhs_number FROM consents WHERE preference = $1 ORDER BY nhs_number LIMIT {limit}"
        ))
        .bind(rows::preference_code(SharingPreference::Dissent))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("nhs_number")?;
                NhsNumber::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}

/// `($1, $2, …), ($n+1, …)` for a multi-row insert.
pub(crate) fn values_clause(sql: &mut String, rows: usize, cols: usize) {
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
}

/// A name as a literal inside a LIKE pattern: `%` and `_` in what a user typed match only
/// themselves (a family name of `%%` must not scan everyone born that day).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Never print a password that a database URL may carry.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_sqlstates_that_look_like_numbers_are_still_classified_as_postgres() {
        // disk full, too many connections, statement timeout, connection failure,
        // serialization failure, admin shutdown, deadlock
        for code in [
            "53100", "53300", "57014", "08006", "40001", "57P01", "40P01",
        ] {
            assert!(transient_database_code(Backend::Postgres, code), "{code}");
        }
        // unique violation, syntax error, check violation: bugs or bad data, not "later"
        for code in ["23505", "42601", "23514"] {
            assert!(!transient_database_code(Backend::Postgres, code), "{code}");
        }
    }

    #[test]
    fn sqlite_codes_are_read_by_their_primary_code() {
        // BUSY, LOCKED, IOERR_FSYNC (1034), FULL, CANTOPEN
        for code in ["5", "6", "1034", "13", "14"] {
            assert!(transient_database_code(Backend::Sqlite, code), "{code}");
        }
        // CONSTRAINT_UNIQUE (2067), CORRUPT (11)
        for code in ["2067", "11"] {
            assert!(!transient_database_code(Backend::Sqlite, code), "{code}");
        }
    }
}

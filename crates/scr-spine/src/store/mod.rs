//! Storage: one SQL dialect subset over SQLite (default, one file) and PostgreSQL (scale),
//! through sqlx's `Any` driver so every query is written once. All SQL of the spine is under
//! this module, one file per family of tables:
//!
//! - `patients`: the demographic index, the current summaries and the sharing preferences;
//! - `staff`: users, their certificates and role profiles;
//! - `sessions`: sign-in challenges and sessions;
//! - `uploads`: the GP uploads applied (their idempotency keys);
//! - `audit`: the hash-chained trail, its head and the readiness heartbeat;
//! - `access`: care relationships, recent opens (volume limits) and the privacy officer's
//!   alerts, written with the audit entries that cause them.
//!
//! Reads are `Store` methods. Writes that must commit together with an audit entry are
//! functions over a connection (`&mut AnyConnection`), composed into one transaction by the
//! audit writer (`crate::audit`), the single writer of the chain.
//!
//! Writes go through `write`: on SQLite a single connection (SQLite has one writer; one
//! connection in-process means writers queue here instead of failing with `SQLITE_BUSY`),
//! on PostgreSQL the same pool as reads (row locks serialise what must be serial).

mod access;
mod audit;
mod local;
mod patients;
pub mod rows;
mod sessions;
mod staff;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

pub(crate) use access::{hold_relationships, review_alert};
pub use access::{AlertFilter, AlertRow, CareRelationship, OpenCounts, SELF_CLAIM_HOURS};
pub(crate) use audit::{append, beat_heartbeat, lock_head, read_head, recorded_view_ids};
pub(crate) use patients::{
    held_preference, held_summary, hold_consents, hold_summaries, record_death,
    registered_practice, withdraw_summary,
};
pub use patients::{ConsentToHold, SummaryToHold};
pub use rows::{AuditFilter, CertificateRow, Challenge, PatientRow, SessionRow, StaffIdentity};
pub(crate) use sessions::set_role;
pub(crate) use staff::{
    certificates_with_serial, delete_role_profile, insert_role_profile, insert_user,
    register_certificate, revoke_certificate, user_name,
};
pub(crate) use uploads::{prior_upload, record_upload};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite hot path's reads (`local`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
        let e = match self {
            StoreError::Database(e) => e,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                return transient_sqlite_code(i64::from(e.extended_code))
            }
            _ => return false,
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
        Backend::Sqlite => code.parse::<i64>().is_ok_and(transient_sqlite_code),
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

/// Whether a SQLite result code (from either driver) is a passing condition. Extended codes
/// carry the primary code in the low byte: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
fn transient_sqlite_code(code: i64) -> bool {
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend behind a connection (for statement text that differs between them).
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
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
    (
        5,
        include_str!("../../migrations/0005_access.sqlite.sql"),
        include_str!("../../migrations/0005_access.postgres.sql"),
    ),
    (
        7,
        include_str!("../../migrations/0007_flags.sqlite.sql"),
        include_str!("../../migrations/0007_flags.postgres.sql"),
    ),
    (
        8,
        include_str!("../../migrations/0008_open_tallies.sqlite.sql"),
        include_str!("../../migrations/0008_open_tallies.postgres.sql"),
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
    /// SQLite only: the hot path's reads on the calling thread (see `local`).
    local: Option<Arc<local::LocalReads>>,
}

/// A value bound to a numbered placeholder of a statement run by [`Store::read_rows`].
pub(crate) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
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
                // A SQLite connection is a file handle in this process: it cannot have gone
                // away while idle, and the pool's default ping before each use was a round
                // trip to the driver's thread on every statement (a fifth of the read path's
                // hand-offs in a profile). A PostgreSQL connection can die idle (a server
                // restart, a proxy), so it is still tested.
                .test_before_acquire(backend == Backend::Postgres)
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
                                // touching the file. temp_store MEMORY: a multi-row upsert's
                                // statement journal (its undo, should the statement fail
                                // part-way) stays in memory instead of spilling to a temporary
                                // file that every audit batch wrote and threw away.
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                                     PRAGMA temp_store = MEMORY;",
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
                    local: None,
                };
                store.migrate().await?;
                (pool(max_connections).await?, write)
            }
            Backend::Postgres => {
                let p = pool(max_connections).await?;
                (p.clone(), p)
            }
        };
        let local = match backend {
            Backend::Sqlite => local_file(url)?
                .map(|path| local::LocalReads::new(&path).map(Arc::new))
                .transpose()?,
            Backend::Postgres => None,
        };
        let store = Store {
            read,
            write,
            backend,
            local,
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

    /// Runs a read of at most `limit` rows, converting each with `convert`: on SQLite on the
    /// calling thread (`local`), otherwise through the read pool. For the reads on every
    /// request's path; the SQL is written once, with `$1`-numbered placeholders.
    pub(crate) async fn read_rows<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        limit: usize,
        mut convert: impl FnMut(&dyn rows::Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if let Some(local) = &self.local {
            return local.read(sql, args, limit, convert);
        }
        let mut query = sqlx::query(sql);
        for arg in args {
            query = match arg {
                Arg::Text(text) => query.bind(text.to_string()),
                Arg::Int(n) => query.bind(*n),
            };
        }
        let rows = if limit == 1 {
            query
                .fetch_optional(self.read_pool())
                .await?
                .into_iter()
                .collect()
        } else {
            query.fetch_all(self.read_pool()).await?
        };
        rows.iter().take(limit).map(|r| convert(r)).collect()
    }

    /// `read_rows` of one row.
    pub(crate) async fn read_row<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        convert: impl FnMut(&dyn rows::Columns) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.read_rows(sql, args, 1, convert).await?.pop())
    }

    /// Whether the database answers a read (the liveness probe).
    pub async fn readable(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The file behind a SQLite URL, or `None` for an in-memory database (which a second
/// connection could not see).
fn local_file(url: &str) -> StoreResult<Option<std::path::PathBuf>> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename();
    // sqlx names an in-memory database `file:sqlx-in-memory-N` and gives no getter for it.
    let memory =
        path.as_os_str().is_empty() || url.contains(":memory:") || url.contains("mode=memory");
    Ok((!memory).then(|| path.to_path_buf()))
}

/// Bound parameters per multi-row statement. SQLite resolves each `$N` while preparing by a
/// linear search of the names seen so far, so preparing a statement costs the square of its
/// placeholders: a batch of ~60 audit entries (21 columns) prepared fresh each time was 9 %
/// of the spine's CPU at 64 clients. Chunks of a fixed size keep that small and, being the
/// same text, are prepared once and reused from the statement cache.
const PLACEHOLDERS_PER_STATEMENT: usize = 256;

/// How many rows of `cols` columns one multi-row statement carries.
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (PLACEHOLDERS_PER_STATEMENT / cols.max(1)).max(1)
}

/// `($1, $2, …), ($n+1, …)` for a multi-row statement on PostgreSQL; `(?, ?, …), (?, …)` on
/// SQLite, which must be the statement's only parameters. SQLite keeps named parameters
/// (`$N`, `?NNN`) in a list it searches linearly when preparing and again for each value
/// sqlx binds, so a statement of n parameters cost n² (sqlx's binding alone was 2.5 % of the
/// spine's CPU at 64 clients); bare `?` are numbered in order with no list at all.
pub(crate) fn values_clause(sql: &mut String, backend: Backend, rows: usize, cols: usize) {
    use std::fmt::Write;
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
            match backend {
                Backend::Sqlite => sql.push('?'),
                // Writing to a String cannot fail.
                Backend::Postgres => {
                    let _ = write!(sql, "${n}");
                }
            }
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
    fn only_a_sqlite_file_gets_hot_path_reads_on_the_calling_thread() {
        // A second connection to an in-memory database would see an empty one of its own.
        assert_eq!(local_file("sqlite::memory:").expect("url"), None);
        assert_eq!(
            local_file("sqlite://x.db?mode=memory&cache=shared").expect("url"),
            None
        );
        assert_eq!(
            local_file("sqlite:///data/spine.db?mode=rwc").expect("url"),
            Some(std::path::PathBuf::from("/data/spine.db"))
        );
    }

    #[test]
    fn multi_row_values_are_numbered_on_postgres_and_bare_on_sqlite() {
        let mut pg = String::new();
        values_clause(&mut pg, Backend::Postgres, 2, 3);
        assert_eq!(pg, "($1, $2, $3), ($4, $5, $6)");
        // Bare `?`: SQLite numbers them in order and keeps no list of names to search.
        let mut sqlite = String::new();
        values_clause(&mut sqlite, Backend::Sqlite, 2, 3);
        assert_eq!(sqlite, "(?, ?, ?), (?, ?, ?)");
    }

    #[tokio::test]
    async fn a_connection_knows_its_backend() {
        let store = Store::open("sqlite::memory:", 1).await.expect("store");
        let mut conn = store.write_pool().acquire().await.expect("connection");
        assert_eq!(Backend::of(&conn), Backend::Sqlite);
        // And a multi-row statement written for it binds every value in order.
        let mut sql = String::from("SELECT * FROM (VALUES ");
        values_clause(&mut sql, Backend::of(&conn), 2, 2);
        sql.push(')');
        let rows = sqlx::query(&sql)
            .bind(1_i64)
            .bind("one")
            .bind(2_i64)
            .bind("two")
            .fetch_all(&mut *conn)
            .await
            .expect("query");
        let second: String = sqlx::Row::try_get(&rows[1], 1).expect("column");
        assert_eq!(second, "two");
    }

    #[test]
    fn multi_row_statements_stay_small_whatever_the_width() {
        for cols in [1, 4, 12, 21, 300] {
            let rows = rows_per_statement(cols);
            assert!(rows >= 1);
            assert!(rows * cols <= PLACEHOLDERS_PER_STATEMENT || rows == 1);
        }
    }

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

//! The SQLite hot path: the reads every request makes (its session, a `$summary`'s patient
//! and access facts, a trace's candidates) run on the calling thread through rusqlite
//! instead of through sqlx's SQLite driver.
//!
//! sqlx runs each SQLite connection on a thread of its own and passes every statement, and
//! every row back, over a channel: each is a thread wake-up. Under 64 clients those
//! hand-offs were the largest cost in a profile of `$summary` (futex wait and wake, about a
//! third of the spine's CPU). These reads are indexed lookups of a few rows from pages the
//! OS already holds, microseconds of work, so running them where the request already runs
//! costs less than the hand-off around them. In WAL mode a reader never waits for the
//! writer, and a short busy timeout bounds the rare wait (recovery after a crash) that
//! could hold a runtime thread; it then fails as "try again later" (503).
//!
//! Writes, and every other read, still go through sqlx. The SQL is the same text for both
//! (`$1`-numbered placeholders, bound here by name), and rows are converted once through
//! [`Columns`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::rows::Columns;
use super::{Arg, StoreResult};

/// The longest a hot-path read waits for a lock (a reader in WAL mode waits only for a
/// crashed writer's recovery): short, because it waits on a runtime thread.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// Idle connections kept; more are opened when more threads read at once, and closed after.
const KEPT_CONNECTIONS: usize = 16;

/// Prepared statements kept per connection (the hot path has a handful; a trace's shape
/// varies with what was typed).
const STATEMENT_CACHE: usize = 32;

/// Connections to one SQLite file for the hot path's reads.
pub(crate) struct LocalReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl LocalReads {
    pub(crate) fn new(path: &Path) -> StoreResult<LocalReads> {
        let reads = LocalReads {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        };
        // Fail at start-up, not on the first request, if the file cannot be opened.
        let first = reads.open()?;
        reads.give_back(first);
        Ok(reads)
    }

    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // These connections only read: a bug that tried to write through one fails.
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn take(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => self.open(),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEPT_CONNECTIONS {
                idle.push(conn);
            }
        }
    }

    /// Runs `sql` with `args` and converts each row with `convert`, at most `limit` rows.
    pub(crate) fn read<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        limit: usize,
        mut convert: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let conn = self.take()?;
        let result = (|| {
            let mut statement = conn.prepare_cached(sql)?;
            bind(&mut statement, args)?;
            let mut rows = statement.raw_query();
            let mut out = Vec::new();
            while out.len() < limit {
                let Some(row) = rows.next()? else { break };
                out.push(convert(row)?);
            }
            Ok(out)
        })();
        // A connection that failed is not reused: whatever went wrong stays with it.
        if result.is_ok() {
            self.give_back(conn);
        }
        result
    }
}

/// Binds `$N` placeholders to `args[N - 1]`. SQLite numbers the distinct placeholders of a
/// statement in the order they first appear (a `$1` used twice is one parameter), so each
/// parameter's name is read once and its number parsed, rather than looking each name up.
fn bind(statement: &mut rusqlite::CachedStatement<'_>, args: &[Arg<'_>]) -> StoreResult<()> {
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|digits| digits.parse::<usize>().ok());
        let arg = number
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n))
            .ok_or_else(|| {
                super::StoreError::Corrupt(format!(
                    "statement parameter {index} is not one of the {} given",
                    args.len()
                ))
            })?;
        match arg {
            Arg::Text(text) => statement.raw_bind_parameter(index, text)?,
            Arg::Int(n) => statement.raw_bind_parameter(index, n)?,
        }
    }
    Ok(())
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.get(column)?)
    }

    fn int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.get(column)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_with_table() -> (tempfile::TempDir, LocalReads) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER, name TEXT); \
             INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, NULL);",
        )
        .expect("schema");
        let reads = LocalReads::new(&path).expect("local reads");
        (dir, reads)
    }

    #[test]
    fn binds_numbered_placeholders_by_number_whatever_their_order_or_repetition() {
        let (_dir, reads) = reads_with_table();
        // $2 appears first and $1 twice: SQLite numbers them 1 ($2) and 2 ($1).
        let rows = reads
            .read(
                "SELECT id, name FROM t WHERE name = $2 OR id = $1 OR id = $1 + 10 ORDER BY id",
                &[Arg::Int(3), Arg::Text("one")],
                10,
                |row| Ok((row.int("id")?, row.text("name")?)),
            )
            .expect("read");
        assert_eq!(rows, vec![(Some(1), Some("one".into())), (Some(3), None)]);
    }

    #[test]
    fn stops_at_the_limit() {
        let (_dir, reads) = reads_with_table();
        let rows = reads
            .read("SELECT id FROM t ORDER BY id", &[], 2, |row| row.int("id"))
            .expect("read");
        assert_eq!(rows, vec![Some(1), Some(2)]);
    }

    #[test]
    fn a_placeholder_without_an_argument_is_an_error_not_a_null() {
        let (_dir, reads) = reads_with_table();
        let result = reads.read(
            "SELECT id FROM t WHERE id = $2",
            &[Arg::Int(1)],
            10,
            |row| row.int("id"),
        );
        assert!(matches!(result, Err(crate::store::StoreError::Corrupt(_))));
    }

    #[test]
    fn the_connections_refuse_to_write() {
        let (_dir, reads) = reads_with_table();
        let result = reads.read("DELETE FROM t RETURNING id", &[], 10, |row| row.int("id"));
        assert!(result.is_err(), "a hot-path connection wrote");
        // The table is intact, and a later read on a fresh connection works.
        let rows = reads
            .read("SELECT count(*) AS n FROM t", &[], 1, |row| row.int("n"))
            .expect("read");
        assert_eq!(rows, vec![Some(3)]);
    }
}

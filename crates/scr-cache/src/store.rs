//! The cache file: one SQLite database under the app's data directory. Users' headers (the
//! clear half of their key material) and sealed entries, one per user per patient. Every
//! change is one transaction (WAL, full sync), so a crash leaves the old entry or the new
//! one; deleted content is overwritten (`secure_delete`), so removed entries do not linger
//! in free pages.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use zeroize::Zeroizing;

use crate::entry::{open, open_legacy, seal, EntryIdentity, FORMAT_VERSION, LEGACY_FORMAT_VERSION};
use crate::error::CacheError;
use crate::keys::{UserHeader, UserKey};

/// How long entries live and how many a user keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub max_age_ms: i64,
    pub max_entries: usize,
}

pub const HOUR_MS: i64 = 3_600_000;
/// The longest retention allowed (7 days).
pub const MAX_AGE_LIMIT_MS: i64 = 7 * 24 * HOUR_MS;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age_ms: 48 * HOUR_MS,
            max_entries: 100,
        }
    }
}

impl Retention {
    /// A retention of `hours` (capped at 7 days) and `max_entries` (at least 1).
    pub fn new(hours: u32, max_entries: usize) -> Retention {
        Retention {
            max_age_ms: (i64::from(hours) * HOUR_MS).min(MAX_AGE_LIMIT_MS),
            max_entries: max_entries.max(1),
        }
    }
}

/// A summary to seal into the cache.
#[derive(Clone, Copy)]
pub struct NewEntry<'a> {
    pub nhs_number: &'a str,
    /// What the offline list shows for the patient (the app's choice; sealed with the rest).
    pub label: &'a str,
    /// The access reason given when it was fetched.
    pub reason: &'a str,
    pub fetched_at_ms: i64,
    pub viewed_at_ms: i64,
    /// The `$summary` Bundle exactly as the spine sent it.
    pub bundle: &'a [u8],
}

/// A cached summary, opened.
pub struct CachedSummary {
    pub nhs_number: String,
    pub label: String,
    pub reason: String,
    pub fetched_at_ms: i64,
    pub viewed_at_ms: i64,
    /// The `$summary` Bundle exactly as the spine sent it.
    pub bundle: Zeroizing<Vec<u8>>,
}

/// What the offline list shows for each entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub nhs_number: String,
    pub label: String,
    pub reason: String,
    pub fetched_at_ms: i64,
    pub viewed_at_ms: i64,
}

/// A user known to this machine's cache: the clear half of their key material, the
/// authentication certificate their card showed at the last online sign-in (offline
/// sign-in checks the card's signature against it), and their display name and idle
/// timeout from then. Nothing here opens an entry or names a patient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheUser {
    pub header: UserHeader,
    pub auth_certificate: Vec<u8>,
    pub user_name: String,
    pub idle_timeout_secs: u32,
}

/// The cache file (and SQLite's WAL and shared-memory files beside it, which SQLite creates
/// with the main file's mode) readable by this OS account only: the entries are sealed, but
/// who has records here and when is not. The file is created owner-only before SQLite opens
/// it, so it is never readable by others even for a moment; an older file is narrowed.
fn restrict_to_owner(path: &Path) -> Result<(), CacheError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let storage =
            |e: std::io::Error| CacheError::Storage(format!("cannot restrict the cache file: {e}"));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(storage)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(storage)?;
    }
    Ok(())
}

/// A queued audit record, opened: its id and its bytes.
pub type QueuedRecord = (String, Zeroizing<Vec<u8>>);

pub struct CacheStore {
    conn: Connection,
    retention: Retention,
    /// How many full summaries this store has decrypted (a test hook: listing must not).
    summaries_opened: std::cell::Cell<u64>,
}

fn put_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

fn take_field<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], CacheError> {
    let (len, rest) = input.split_at_checked(4).ok_or(CacheError::Tampered)?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let (field, rest) = rest.split_at_checked(len).ok_or(CacheError::Tampered)?;
    *input = rest;
    Ok(field)
}

fn text(bytes: &[u8]) -> Result<String, CacheError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| CacheError::Tampered)
}

/// Brings a file written by an older version up to this schema (`PRAGMA user_version`).
/// Version 1 adds each user's `cache_format`: users already in the file stay at format 1
/// until their key is next used (`CacheStore::upgrade`); new headers are format 2.
fn migrate_schema(conn: &Connection) -> Result<(), CacheError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 1 {
        conn.execute_batch(&format!(
            "BEGIN;
             ALTER TABLE users ADD COLUMN cache_format INTEGER NOT NULL DEFAULT {LEGACY_FORMAT_VERSION};
             PRAGMA user_version = 1;
             COMMIT;"
        ))?;
    }
    Ok(())
}

/// An entry's plaintext: NHS number, label, reason (length-prefixed), viewed-at, Bundle.
struct Plain<'a> {
    nhs_number: String,
    label: String,
    reason: String,
    viewed_at_ms: i64,
    bundle: &'a [u8],
}

impl<'a> Plain<'a> {
    fn parse(plain: &'a [u8]) -> Result<Plain<'a>, CacheError> {
        let mut rest = plain;
        let nhs_number = text(take_field(&mut rest)?)?;
        let label = text(take_field(&mut rest)?)?;
        let reason = text(take_field(&mut rest)?)?;
        let (viewed, bundle) = rest.split_at_checked(8).ok_or(CacheError::Tampered)?;
        let viewed_at_ms = i64::from_be_bytes(viewed.try_into().map_err(|_| CacheError::Tampered)?);
        Ok(Plain {
            nhs_number,
            label,
            reason,
            viewed_at_ms,
            bundle,
        })
    }
}

/// The listing's plaintext: the entry's plaintext without the Bundle.
fn listing_plain(
    nhs_number: &str,
    label: &str,
    reason: &str,
    viewed_at_ms: i64,
) -> Zeroizing<Vec<u8>> {
    let mut plain = Zeroizing::new(Vec::with_capacity(256));
    put_field(&mut plain, nhs_number.as_bytes());
    put_field(&mut plain, label.as_bytes());
    put_field(&mut plain, reason.as_bytes());
    plain.extend_from_slice(&viewed_at_ms.to_be_bytes());
    plain
}

/// A listing is bound to its entry's user, slot and fetched-at like the entry, under its
/// own name: it never opens as an entry or an audit record, nor they as it.
fn listing_identity(user_id: &str, slot: &str, fetched_at_ms: i64) -> EntryIdentity {
    EntryIdentity {
        user_id: user_id.to_string(),
        patient: format!("listing/{slot}"),
        fetched_at_ms,
    }
}

fn audit_identity(user_id: &str, id: &str) -> EntryIdentity {
    EntryIdentity {
        user_id: user_id.to_string(),
        patient: format!("audit/{id}"),
        fetched_at_ms: 0,
    }
}

impl CacheStore {
    pub fn open(path: &Path, retention: Retention) -> Result<CacheStore, CacheError> {
        restrict_to_owner(path)?;
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS users (
               user_id TEXT PRIMARY KEY,
               ephemeral_public BLOB NOT NULL,
               card_check BLOB NOT NULL,
               device_check BLOB NOT NULL,
               auth_certificate BLOB NOT NULL,
               certificate_fingerprint BLOB NOT NULL,
               user_name TEXT NOT NULL,
               idle_timeout_secs INTEGER NOT NULL,
               card_binding BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS users_by_certificate ON users (certificate_fingerprint);
             CREATE TABLE IF NOT EXISTS entries (
               user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
               slot TEXT NOT NULL,
               fetched_ms INTEGER NOT NULL,
               viewed_ms INTEGER NOT NULL,
               expires_ms INTEGER NOT NULL,
               sealed BLOB NOT NULL,
               PRIMARY KEY (user_id, slot)
             );
             -- What the offline list shows of each entry (NHS number, label, reason,
             -- viewed-at), sealed on its own so listing never decrypts a Bundle. It goes
             -- with its entry.
             CREATE TABLE IF NOT EXISTS listings (
               user_id TEXT NOT NULL,
               slot TEXT NOT NULL,
               sealed BLOB NOT NULL,
               PRIMARY KEY (user_id, slot),
               FOREIGN KEY (user_id, slot) REFERENCES entries(user_id, slot) ON DELETE CASCADE
             );
             CREATE TABLE IF NOT EXISTS audit_queue (
               user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
               id TEXT NOT NULL,
               sealed BLOB NOT NULL,
               PRIMARY KEY (user_id, id)
             );",
        )?;
        migrate_schema(&conn)?;
        Ok(CacheStore {
            conn,
            retention,
            summaries_opened: std::cell::Cell::new(0),
        })
    }

    /// Before a user's data is used with `key`: if it is still in format 1 (one key for
    /// sealing and for slots, written by an older version), opens every entry and queued
    /// audit record under the old key and reseals it under the subkeys, in one transaction.
    /// Entries that do not open are dropped (they would be refused as altered anyway);
    /// returns how many. Queued audit records are carried over, not lost: they must still
    /// reach the spine. Once a user is in format 2 this is one row lookup.
    fn upgrade(&mut self, key: &UserKey) -> Result<usize, CacheError> {
        let format: Option<i64> = self
            .conn
            .query_row(
                "SELECT cache_format FROM users WHERE user_id = ?1",
                [key.user_id()],
                |r| r.get(0),
            )
            .optional()?;
        if format.is_none_or(|f| f >= i64::from(FORMAT_VERSION)) {
            return Ok(0);
        }
        let user = key.user_id().to_string();
        let tx = self.conn.transaction()?;
        let entries: Vec<(String, i64, i64, i64, Vec<u8>)> = {
            let mut stmt = tx.prepare(
                "SELECT slot, fetched_ms, viewed_ms, expires_ms, sealed FROM entries WHERE user_id = ?1",
            )?;
            let rows = stmt.query_map([&user], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut dropped = 0;
        tx.execute("DELETE FROM entries WHERE user_id = ?1", [&user])?;
        for (old_slot, fetched, viewed, expires, sealed) in entries {
            let old_identity = EntryIdentity {
                user_id: user.clone(),
                patient: old_slot.clone(),
                fetched_at_ms: fetched,
            };
            let resealed = open_legacy(key, &old_identity, &sealed).and_then(|plain| {
                let parts = Plain::parse(&plain)?;
                if key.legacy_patient_slot(&parts.nhs_number) != old_slot {
                    return Err(CacheError::Tampered);
                }
                let slot = key.patient_slot(&parts.nhs_number);
                let listing = listing_plain(
                    &parts.nhs_number,
                    &parts.label,
                    &parts.reason,
                    parts.viewed_at_ms,
                );
                let listing = seal(key, &listing_identity(&user, &slot, fetched), &listing)?;
                let identity = EntryIdentity {
                    patient: slot.clone(),
                    ..old_identity
                };
                Ok((slot, seal(key, &identity, &plain)?, listing))
            });
            match resealed {
                Ok((slot, sealed, listing)) => {
                    tx.execute(
                        "INSERT INTO entries (user_id, slot, fetched_ms, viewed_ms, expires_ms, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![user, slot, fetched, viewed, expires, sealed],
                    )?;
                    tx.execute(
                        "INSERT INTO listings (user_id, slot, sealed) VALUES (?1, ?2, ?3)",
                        params![user, slot, listing],
                    )?;
                }
                Err(_) => dropped += 1,
            }
        }
        let queued: Vec<(String, Vec<u8>)> = {
            let mut stmt = tx.prepare("SELECT id, sealed FROM audit_queue WHERE user_id = ?1")?;
            let rows = stmt.query_map([&user], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, sealed) in queued {
            let identity = audit_identity(&user, &id);
            match open_legacy(key, &identity, &sealed).and_then(|p| seal(key, &identity, &p)) {
                Ok(resealed) => tx.execute(
                    "UPDATE audit_queue SET sealed = ?3 WHERE user_id = ?1 AND id = ?2",
                    params![user, id, resealed],
                )?,
                // One that does not open could never be sent; queued_audit would drop it.
                Err(_) => tx.execute(
                    "DELETE FROM audit_queue WHERE user_id = ?1 AND id = ?2",
                    params![user, id],
                )?,
            };
        }
        tx.execute(
            "UPDATE users SET cache_format = ?2 WHERE user_id = ?1",
            params![user, i64::from(FORMAT_VERSION)],
        )?;
        tx.commit()?;
        // The old ciphertext is overwritten (secure_delete); leave no copy in the WAL.
        self.checkpoint()?;
        Ok(dropped)
    }

    fn user_where(
        &self,
        clause: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<CacheUser>, CacheError> {
        let sql = format!(
            "SELECT user_id, ephemeral_public, card_check, device_check, auth_certificate, user_name, idle_timeout_secs, card_binding FROM users WHERE {clause}"
        );
        let row = self
            .conn
            .query_row(&sql, [value], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Vec<u8>>(7)?,
                ))
            })
            .optional()?;
        let Some((user_id, ephemeral_public, card, device, cert, user_name, idle, binding)) = row
        else {
            return Ok(None);
        };
        let check = |v: Vec<u8>| -> Result<[u8; 32], CacheError> {
            v.try_into()
                .map_err(|_| CacheError::Malformed("a check value that is not 32 bytes".into()))
        };
        Ok(Some(CacheUser {
            header: UserHeader {
                user_id,
                ephemeral_public,
                card_check: check(card)?,
                device_check: check(device)?,
                card_binding: binding,
            },
            auth_certificate: cert,
            user_name,
            idle_timeout_secs: u32::try_from(idle).unwrap_or(u32::MAX),
        }))
    }

    /// The user's header and what the last online sign-in recorded.
    pub fn user(&self, user_id: &str) -> Result<Option<CacheUser>, CacheError> {
        self.user_where("user_id = ?1", &user_id)
    }

    /// The user whose card carries this authentication certificate (by its SHA-256), as
    /// recorded at their last online sign-in on this machine.
    pub fn user_for_certificate(
        &self,
        fingerprint: &[u8; 32],
    ) -> Result<Option<CacheUser>, CacheError> {
        self.user_where("certificate_fingerprint = ?1", &fingerprint.to_vec())
    }

    /// Stores a new header for the user, dropping any entries (and queued audit) sealed
    /// under an older one.
    pub fn replace_user(
        &mut self,
        user: &CacheUser,
        fingerprint: &[u8; 32],
    ) -> Result<(), CacheError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM users WHERE user_id = ?1 OR certificate_fingerprint = ?2",
            params![user.header.user_id, fingerprint.to_vec()],
        )?;
        tx.execute(
            "INSERT INTO users (user_id, ephemeral_public, card_check, device_check, auth_certificate, certificate_fingerprint, user_name, idle_timeout_secs, card_binding, cache_format)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                user.header.user_id,
                user.header.ephemeral_public,
                user.header.card_check.to_vec(),
                user.header.device_check.to_vec(),
                user.auth_certificate,
                fingerprint.to_vec(),
                user.user_name,
                i64::from(user.idle_timeout_secs),
                user.header.card_binding,
                i64::from(FORMAT_VERSION),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Refreshes what the last online sign-in said of the user (name, idle timeout).
    pub fn update_user_details(
        &mut self,
        user_id: &str,
        user_name: &str,
        idle_timeout_secs: u32,
    ) -> Result<(), CacheError> {
        self.conn.execute(
            "UPDATE users SET user_name = ?2, idle_timeout_secs = ?3 WHERE user_id = ?1",
            params![user_id, user_name, i64::from(idle_timeout_secs)],
        )?;
        Ok(())
    }

    /// Seals and stores (or replaces) the user's entry for a patient, then keeps only the
    /// newest `max_entries` of theirs. One transaction.
    pub fn put(&mut self, key: &UserKey, entry: &NewEntry<'_>) -> Result<(), CacheError> {
        self.upgrade(key)?;
        let NewEntry {
            nhs_number,
            label,
            reason,
            fetched_at_ms,
            viewed_at_ms,
            bundle,
        } = *entry;
        let slot = key.patient_slot(nhs_number);
        let identity = EntryIdentity {
            user_id: key.user_id().to_string(),
            patient: slot.clone(),
            fetched_at_ms,
        };
        let mut plain = Zeroizing::new(Vec::with_capacity(bundle.len() + 256));
        put_field(&mut plain, nhs_number.as_bytes());
        put_field(&mut plain, label.as_bytes());
        put_field(&mut plain, reason.as_bytes());
        plain.extend_from_slice(&viewed_at_ms.to_be_bytes());
        plain.extend_from_slice(bundle);
        let sealed = seal(key, &identity, &plain)?;
        let listing = seal(
            key,
            &listing_identity(key.user_id(), &slot, fetched_at_ms),
            &listing_plain(nhs_number, label, reason, viewed_at_ms),
        )?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO entries (user_id, slot, fetched_ms, viewed_ms, expires_ms, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (user_id, slot) DO UPDATE SET fetched_ms = excluded.fetched_ms, viewed_ms = excluded.viewed_ms,
               expires_ms = excluded.expires_ms, sealed = excluded.sealed",
            params![
                key.user_id(),
                slot,
                fetched_at_ms,
                viewed_at_ms,
                fetched_at_ms + self.retention.max_age_ms,
                sealed
            ],
        )?;
        tx.execute(
            "INSERT INTO listings (user_id, slot, sealed) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id, slot) DO UPDATE SET sealed = excluded.sealed",
            params![key.user_id(), slot, listing],
        )?;
        tx.execute(
            "DELETE FROM entries WHERE user_id = ?1 AND slot NOT IN
               (SELECT slot FROM entries WHERE user_id = ?1 ORDER BY viewed_ms DESC LIMIT ?2)",
            params![key.user_id(), self.retention.max_entries as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn unseal(
        &self,
        key: &UserKey,
        slot: &str,
        fetched_ms: i64,
        sealed: &[u8],
    ) -> Result<CachedSummary, CacheError> {
        let identity = EntryIdentity {
            user_id: key.user_id().to_string(),
            patient: slot.to_string(),
            fetched_at_ms: fetched_ms,
        };
        self.summaries_opened.set(self.summaries_opened.get() + 1);
        let plain = open(key, &identity, sealed)?;
        let parts = Plain::parse(&plain)?;
        if key.patient_slot(&parts.nhs_number) != slot {
            return Err(CacheError::Tampered);
        }
        Ok(CachedSummary {
            nhs_number: parts.nhs_number,
            label: parts.label,
            reason: parts.reason,
            fetched_at_ms: fetched_ms,
            viewed_at_ms: parts.viewed_at_ms,
            bundle: Zeroizing::new(parts.bundle.to_vec()),
        })
    }

    fn open_listing(
        &self,
        key: &UserKey,
        slot: &str,
        fetched_ms: i64,
        sealed: &[u8],
    ) -> Result<Listing, CacheError> {
        let plain = open(
            key,
            &listing_identity(key.user_id(), slot, fetched_ms),
            sealed,
        )?;
        let mut rest: &[u8] = &plain;
        let nhs_number = text(take_field(&mut rest)?)?;
        let label = text(take_field(&mut rest)?)?;
        let reason = text(take_field(&mut rest)?)?;
        let viewed: [u8; 8] = rest.try_into().map_err(|_| CacheError::Tampered)?;
        if key.patient_slot(&nhs_number) != slot {
            return Err(CacheError::Tampered);
        }
        Ok(Listing {
            nhs_number,
            label,
            reason,
            fetched_at_ms: fetched_ms,
            viewed_at_ms: i64::from_be_bytes(viewed),
        })
    }

    /// Opens the user's entry for a patient. Expired: deleted, `None`. Altered or moved:
    /// deleted, `Err(Tampered)`, never shown.
    pub fn get(
        &mut self,
        key: &UserKey,
        nhs_number: &str,
        now_ms: i64,
    ) -> Result<Option<CachedSummary>, CacheError> {
        self.upgrade(key)?;
        let slot = key.patient_slot(nhs_number);
        let row = self
            .conn
            .query_row(
                "SELECT fetched_ms, expires_ms, sealed FROM entries WHERE user_id = ?1 AND slot = ?2",
                params![key.user_id(), slot],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)),
            )
            .optional()?;
        let Some((fetched, expires, sealed)) = row else {
            return Ok(None);
        };
        // The authenticated fetch time decides, under today's retention: editing the clear
        // expiry column keeps nothing alive, and a shorter retention applies at once.
        if expires <= now_ms || self.expired(fetched, now_ms) {
            self.remove(key, nhs_number)?;
            return Ok(None);
        }
        match self.unseal(key, &slot, fetched, &sealed) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                self.conn.execute(
                    "DELETE FROM entries WHERE user_id = ?1 AND slot = ?2",
                    params![key.user_id(), slot],
                )?;
                self.checkpoint()?;
                Err(e)
            }
        }
    }

    /// The user's unexpired entries, newest viewed first, and how many were found altered
    /// (and deleted). Reads only each entry's sealed listing, never its Bundle, so the cost
    /// does not grow with the summaries' size; an altered Bundle is caught when it is
    /// opened (`get`), and is never shown.
    pub fn list(
        &mut self,
        key: &UserKey,
        now_ms: i64,
    ) -> Result<(Vec<Listing>, usize), CacheError> {
        let dropped = self.upgrade(key)?;
        let rows: Vec<(String, i64, Option<Vec<u8>>)> = {
            let mut stmt = self.conn.prepare(
                "SELECT e.slot, e.fetched_ms, l.sealed FROM entries e
                   LEFT JOIN listings l ON l.user_id = e.user_id AND l.slot = e.slot
                 WHERE e.user_id = ?1 AND e.expires_ms > ?2 ORDER BY e.viewed_ms DESC",
            )?;
            let mapped = stmt.query_map(params![key.user_id(), now_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            mapped.collect::<Result<_, _>>()?
        };
        let mut listing = Vec::new();
        let mut altered = Vec::new();
        for (slot, fetched, sealed) in rows {
            if self.expired(fetched, now_ms) {
                continue;
            }
            // An entry without its listing has been tampered with: it is dropped like one
            // whose listing does not open.
            let opened = sealed
                .ok_or(CacheError::Tampered)
                .and_then(|sealed| self.open_listing(key, &slot, fetched, &sealed));
            match opened {
                Ok(l) => listing.push(l),
                Err(_) => altered.push(slot),
            }
        }
        for slot in &altered {
            self.conn.execute(
                "DELETE FROM entries WHERE user_id = ?1 AND slot = ?2",
                params![key.user_id(), slot],
            )?;
        }
        if !altered.is_empty() {
            self.checkpoint()?;
        }
        Ok((listing, altered.len() + dropped))
    }

    /// Removes one patient's entry (opted out since, or refused by the spine now).
    pub fn remove(&mut self, key: &UserKey, nhs_number: &str) -> Result<bool, CacheError> {
        self.upgrade(key)?;
        let n = self.conn.execute(
            "DELETE FROM entries WHERE user_id = ?1 AND slot = ?2",
            params![key.user_id(), key.patient_slot(nhs_number)],
        )?;
        if n > 0 {
            self.checkpoint()?;
        }
        Ok(n > 0)
    }

    fn expired(&self, fetched_ms: i64, now_ms: i64) -> bool {
        fetched_ms.saturating_add(self.retention.max_age_ms) <= now_ms
    }

    /// Deletes every expired entry of every user (at start-up and hourly).
    pub fn purge_expired(&mut self, now_ms: i64) -> Result<usize, CacheError> {
        let n = self.conn.execute(
            "DELETE FROM entries WHERE expires_ms <= ?1 OR fetched_ms <= ?2",
            params![now_ms, now_ms.saturating_sub(self.retention.max_age_ms)],
        )?;
        if n > 0 {
            self.checkpoint()?;
        }
        Ok(n)
    }

    /// "Remove my offline records": every summary of the user's goes, and the file is
    /// checkpointed so the WAL keeps no copy. Their header and any queued audit of offline
    /// views stay (neither is a record; the queue must still reach the spine).
    pub fn remove_entries(&mut self, user_id: &str) -> Result<usize, CacheError> {
        let n = self
            .conn
            .execute("DELETE FROM entries WHERE user_id = ?1", params![user_id])?;
        self.checkpoint()?;
        Ok(n)
    }

    /// Forgets the user entirely: summaries, queued audit and header.
    pub fn forget_user(&mut self, user_id: &str) -> Result<(), CacheError> {
        self.conn
            .execute("DELETE FROM users WHERE user_id = ?1", params![user_id])?;
        self.checkpoint()
    }

    fn checkpoint(&self) -> Result<(), CacheError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Queues the record of an offline view (opaque to the store, sealed under the user's
    /// key) until it can be sent to the spine's audit trail.
    pub fn queue_audit(
        &mut self,
        key: &UserKey,
        id: &str,
        record: &[u8],
    ) -> Result<(), CacheError> {
        self.upgrade(key)?;
        let identity = audit_identity(key.user_id(), id);
        let sealed = seal(key, &identity, record)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO audit_queue (user_id, id, sealed) VALUES (?1, ?2, ?3)",
            params![key.user_id(), id, sealed],
        )?;
        Ok(())
    }

    /// The user's queued audit records, opened; any that fail to open are deleted and
    /// counted (the second value).
    pub fn queued_audit(
        &mut self,
        key: &UserKey,
    ) -> Result<(Vec<QueuedRecord>, usize), CacheError> {
        self.upgrade(key)?;
        let rows: Vec<(String, Vec<u8>)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, sealed FROM audit_queue WHERE user_id = ?1 ORDER BY rowid")?;
            let mapped = stmt.query_map(params![key.user_id()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            mapped.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (id, sealed) in rows {
            let identity = audit_identity(key.user_id(), &id);
            match open(key, &identity, &sealed) {
                Ok(plain) => out.push((id, plain)),
                Err(_) => bad.push(id),
            }
        }
        self.dequeue_audit(key.user_id(), &bad)?;
        Ok((out, bad.len()))
    }

    /// Drops queued audit records the spine has acknowledged.
    pub fn dequeue_audit(&mut self, user_id: &str, ids: &[String]) -> Result<(), CacheError> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.execute(
                "DELETE FROM audit_queue WHERE user_id = ?1 AND id = ?2",
                params![user_id, id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many full summaries (Bundles) this store has decrypted so far: tests check that
    /// listing reads only what the list shows.
    #[doc(hidden)]
    pub fn summaries_opened(&self) -> u64 {
        self.summaries_opened.get()
    }

    /// Raw access for tests that tamper with the file.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::seal_legacy;
    use crate::keys::Secret;

    const NOW: i64 = 1_763_900_000_000;
    const USER: &str = "555000000101";

    /// The schema and rows an older version (format 1, one key for everything) wrote.
    fn write_a_format_1_file(path: &Path, header: &UserHeader, key: &UserKey) {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch(
            "CREATE TABLE users (
               user_id TEXT PRIMARY KEY, ephemeral_public BLOB NOT NULL, card_check BLOB NOT NULL,
               device_check BLOB NOT NULL, auth_certificate BLOB NOT NULL,
               certificate_fingerprint BLOB NOT NULL, user_name TEXT NOT NULL,
               idle_timeout_secs INTEGER NOT NULL, card_binding BLOB NOT NULL);
             CREATE TABLE entries (
               user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
               slot TEXT NOT NULL, fetched_ms INTEGER NOT NULL, viewed_ms INTEGER NOT NULL,
               expires_ms INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (user_id, slot));
             CREATE TABLE audit_queue (
               user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
               id TEXT NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (user_id, id));",
        )
        .expect("old schema");
        conn.execute(
            "INSERT INTO users VALUES (?1, ?2, ?3, ?4, x'30', x'00', 'Dr A', 900, x'00')",
            params![
                header.user_id,
                header.ephemeral_public,
                header.card_check.to_vec(),
                header.device_check.to_vec()
            ],
        )
        .expect("user");
        for (nhs, bundle, tamper) in [
            ("9990000018", &b"{\"a\":1}"[..], false),
            ("9990000026", &b"{\"b\":2}"[..], true),
        ] {
            let mut plain = Vec::new();
            put_field(&mut plain, nhs.as_bytes());
            put_field(&mut plain, b"{\"name\":\"A\"}");
            put_field(&mut plain, b"permission-to-view");
            plain.extend_from_slice(&NOW.to_be_bytes());
            plain.extend_from_slice(bundle);
            let slot = key.legacy_patient_slot(nhs);
            let identity = EntryIdentity {
                user_id: USER.into(),
                patient: slot.clone(),
                fetched_at_ms: NOW,
            };
            let mut sealed = seal_legacy(key, &identity, &plain).expect("seal v1");
            if tamper {
                let last = sealed.len() - 1;
                sealed[last] ^= 1;
            }
            conn.execute(
                "INSERT INTO entries VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
                params![USER, slot, NOW, NOW + HOUR_MS, sealed],
            )
            .expect("entry");
        }
        let audit = seal_legacy(key, &audit_identity(USER, "view-1"), b"{\"id\":\"view-1\"}")
            .expect("seal audit v1");
        conn.execute(
            "INSERT INTO audit_queue VALUES (?1, 'view-1', ?2)",
            params![USER, audit],
        )
        .expect("audit");
    }

    /// A cache written before the keys were split still opens: each entry and queued view is
    /// resealed under the cipher key and refiled under the slot key, once; one that had been
    /// altered is dropped and counted; nothing is left in format 1.
    #[test]
    fn a_format_1_cache_is_resealed_under_the_subkeys_and_still_opens() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cache.db");
        let card_key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let device = Secret::random();
        let (header, card) = UserHeader::create(USER, &card_key.public_key(), &device);
        let key = header.user_key(&card, &device).expect("key");
        write_a_format_1_file(&path, &header, &key);

        let mut s = CacheStore::open(&path, Retention::default()).expect("open");
        let (list, altered) = s.list(&key, NOW).expect("list");
        assert_eq!(altered, 1, "the altered entry is dropped and counted");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].nhs_number, "9990000018");
        let found = s.get(&key, "9990000018", NOW).expect("get").expect("kept");
        assert_eq!(&found.bundle[..], b"{\"a\":1}");
        let (queued, bad) = s.queued_audit(&key).expect("queue");
        assert_eq!((queued.len(), bad), (1, 0), "queued views are carried over");
        assert_eq!(&queued[0].1[..], b"{\"id\":\"view-1\"}");

        let (slot, version): (String, Vec<u8>) = s
            .connection()
            .query_row("SELECT slot, substr(sealed, 1, 1) FROM entries", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("row");
        assert_eq!(slot, key.patient_slot("9990000018"));
        assert_ne!(slot, key.legacy_patient_slot("9990000018"));
        assert_eq!(version, vec![FORMAT_VERSION]);
        let (format, audit_version): (i64, Vec<u8>) = s
            .connection()
            .query_row(
                "SELECT cache_format, (SELECT substr(sealed, 1, 1) FROM audit_queue) FROM users",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("format");
        assert_eq!(format, i64::from(FORMAT_VERSION));
        assert_eq!(audit_version, vec![FORMAT_VERSION]);
        // Done once: a second look finds the same and drops nothing more.
        assert_eq!(s.list(&key, NOW).expect("list again").1, 0);
    }
}

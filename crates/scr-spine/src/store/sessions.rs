//! Sign-in state: one-use `challenges` and the `sessions` they open.

use sqlx::{AnyConnection, Row};

use super::rows::{self, Challenge, SessionRow};
use super::{Arg, Store, StoreResult};
use crate::pki::CertificateId;

impl Store {
    pub async fn insert_challenge(&self, c: &Challenge) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO challenges (id, certificate, nonce, expires_at, used) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(&c.id)
        .bind(c.certificate.clone())
        .bind(c.nonce.clone())
        .bind(c.expires_at)
        .execute(self.write_pool())
        .await?;
        Ok(())
    }

    /// Deletes challenges past their expiry and sessions a day past theirs (the audit trail
    /// has the story). Returns how many of each. Runs on a timer, by index.
    pub async fn purge_expired(&self, now: i64) -> StoreResult<(u64, u64)> {
        let challenges = sqlx::query("DELETE FROM challenges WHERE expires_at < $1")
            .bind(now)
            .execute(self.write_pool())
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now - 86_400_000)
            .execute(self.write_pool())
            .await?
            .rows_affected();
        Ok((challenges, sessions))
    }

    /// Marks the challenge used and returns it, or `None` if unknown or already used: a
    /// nonce answers one sign-in only, even under concurrent attempts.
    pub async fn take_challenge(&self, id: &str) -> StoreResult<Option<Challenge>> {
        let updated = sqlx::query("UPDATE challenges SET used = 1 WHERE id = $1 AND used = 0")
            .bind(id)
            .execute(self.write_pool())
            .await?;
        if updated.rows_affected() != 1 {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT id, certificate, nonce, expires_at FROM challenges WHERE id = $1")
                .bind(id)
                .fetch_optional(self.write_pool())
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
        .execute(self.write_pool())
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        self.read_row(
            // A revoked certificate ends its sessions on their next request, whoever revoked
            // it and however (the CLI, or SQL by an operator). A role is in force only while
            // the session's own user holds it: one removed (and its id given to someone
            // else) is not.
            "SELECT s.user_id, u.name, s.role_profile_id, s.last_seen, s.expires_at, \
                    CASE WHEN s.revoked <> 0 OR COALESCE(c.revoked, 0) <> 0 THEN 1 ELSE 0 END AS revoked, \
                    r.role_code, r.role_name, r.org_ods, r.org_name, r.activities \
             FROM sessions s JOIN users u ON u.user_id = s.user_id \
             LEFT JOIN certificates c \
                    ON c.issuer_key = s.cert_issuer AND c.serial_hex = s.cert_serial \
             LEFT JOIN role_profiles r \
                    ON r.id = s.role_profile_id AND r.user_id = s.user_id \
             WHERE s.token_hash = $1",
            &[Arg::Text(token_hash)],
            |row| rows::session(row),
        )
        .await
    }

    pub async fn set_session_role(
        &self,
        token_hash: &str,
        role_profile_id: &str,
    ) -> StoreResult<()> {
        let mut conn = self.write_pool().acquire().await?;
        set_role(&mut conn, token_hash, role_profile_id).await
    }

    pub async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(self.write_pool())
            .await?;
        Ok(())
    }

    pub async fn revoke_session(&self, token_hash: &str) -> StoreResult<bool> {
        let r =
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = $1 AND revoked = 0")
                .bind(token_hash)
                .execute(self.write_pool())
                .await?;
        Ok(r.rows_affected() == 1)
    }
}

/// Gives the session its role, in the caller's transaction (the audit writer records the
/// choice in the same one).
pub(crate) async fn set_role(
    conn: &mut AnyConnection,
    token_hash: &str,
    role_profile_id: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET role_profile_id = $1 WHERE token_hash = $2")
        .bind(role_profile_id)
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

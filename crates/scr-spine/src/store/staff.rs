//! Staff and their cards: `users`, `certificates` and `role_profiles` (what the
//! registration authority manages and sign-in reads).

use scr_model::registration::RegisteredUser;
use scr_model::RoleProfile;
use sqlx::{AnyConnection, Row};

use super::rows::{self, CertificateRow, StaffIdentity};
use super::{now_ms, Store, StoreError, StoreResult};
use crate::pki::CertificateId;

impl Store {
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
        .fetch_optional(self.read_pool())
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
        .fetch_all(self.read_pool())
        .await?;
        rows.iter().map(rows::role_profile).collect()
    }

    pub async fn insert_identity(
        &self,
        identity: &StaffIdentity,
        certificate: &CertificateId,
        profiles: &[RoleProfile],
    ) -> StoreResult<()> {
        let mut tx = self.write_pool().begin().await?;
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
        let mut tx = self.write_pool().begin().await?;
        let ended = revoke_certificate(&mut tx, certificate).await?;
        if ended.is_some() {
            tx.commit().await?;
        }
        Ok(ended)
    }

    /// Every registered user, with how many role profiles and unrevoked cards each has.
    pub async fn users(&self) -> StoreResult<Vec<RegisteredUser>> {
        let rows = sqlx::query(
            "SELECT u.user_id, u.name, \
                    (SELECT COUNT(*) FROM role_profiles r WHERE r.user_id = u.user_id) AS roles, \
                    (SELECT COUNT(*) FROM certificates c \
                       WHERE c.user_id = u.user_id AND c.revoked = 0) AS cards \
             FROM users u ORDER BY u.user_id",
        )
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RegisteredUser {
                    user_id: r.try_get("user_id")?,
                    name: r.try_get("name")?,
                    role_profiles: r.try_get::<i64, _>("roles")?,
                    active_cards: r.try_get::<i64, _>("cards")?,
                })
            })
            .collect()
    }

    /// The registered user's name, if `user_id` is registered.
    pub async fn user_name(&self, user_id: &str) -> StoreResult<Option<String>> {
        let mut conn = self.read_pool().acquire().await?;
        user_name(&mut conn, user_id).await
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
        .fetch_all(self.read_pool())
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
        let mut tx = self.write_pool().begin().await?;
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
}

// The registration authority's writes, each in the caller's transaction: the audit writer
// commits every one together with its entry (`crate::registration`).

/// The name of the user registered as `user_id`, if any.
pub(crate) async fn user_name(
    conn: &mut AnyConnection,
    user_id: &str,
) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT name FROM users WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("name").map_err(StoreError::from))
        .transpose()
}

/// Registers a new user; `false` (and nothing changed) if the id is already registered.
pub(crate) async fn insert_user(
    conn: &mut AnyConnection,
    user_id: &str,
    name: &str,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO users (user_id, name) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives `user_id` the role profile; `false` (and nothing changed) if a profile with its id
/// exists already, the user's or anyone's.
pub(crate) async fn insert_role_profile(
    conn: &mut AnyConnection,
    user_id: &str,
    p: &RoleProfile,
) -> StoreResult<bool> {
    let activities =
        serde_json::to_string(&p.activities).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let r = sqlx::query(
        "INSERT INTO role_profiles (id, user_id, role_code, role_name, org_ods, org_name, activities) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&p.id)
    .bind(user_id)
    .bind(&p.role_code)
    .bind(&p.role_name)
    .bind(&p.org_ods)
    .bind(&p.org_name)
    .bind(activities)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Takes the role profile from `user_id`, and out of force in their live sessions (their
/// next request must choose a role again). `None` if the user holds no such profile, else
/// how many live sessions were acting in it.
pub(crate) async fn delete_role_profile(
    conn: &mut AnyConnection,
    user_id: &str,
    profile_id: &str,
) -> StoreResult<Option<u64>> {
    let r = sqlx::query("DELETE FROM role_profiles WHERE id = $1 AND user_id = $2")
        .bind(profile_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if r.rows_affected() != 1 {
        return Ok(None);
    }
    let in_role = sqlx::query(
        "UPDATE sessions SET role_profile_id = NULL \
         WHERE role_profile_id = $1 AND user_id = $2 AND revoked = 0 AND expires_at > $3",
    )
    .bind(profile_id)
    .bind(user_id)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Some(in_role))
}

/// Registers a certificate to `user_id`; `false` if it is registered already.
pub(crate) async fn register_certificate(
    conn: &mut AnyConnection,
    certificate: &CertificateId,
    user_id: &str,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO certificates (issuer_key, serial_hex, user_id, revoked) \
         VALUES ($1, $2, $3, 0) ON CONFLICT (issuer_key, serial_hex) DO NOTHING",
    )
    .bind(&certificate.issuer)
    .bind(&certificate.serial_hex)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The registered certificates with this serial, from any issuer: (certificate, holder's
/// user id, holder's name, revoked).
pub(crate) async fn certificates_with_serial(
    conn: &mut AnyConnection,
    serial_hex: &str,
) -> StoreResult<Vec<(CertificateId, String, String, bool)>> {
    let rows = sqlx::query(
        "SELECT c.issuer_key, c.serial_hex, c.user_id, u.name, c.revoked \
         FROM certificates c JOIN users u ON u.user_id = c.user_id \
         WHERE c.serial_hex = $1 ORDER BY c.issuer_key",
    )
    .bind(serial_hex)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                CertificateId {
                    issuer: r.try_get("issuer_key")?,
                    serial_hex: r.try_get("serial_hex")?,
                },
                r.try_get("user_id")?,
                r.try_get("name")?,
                r.try_get::<i64, _>("revoked")? != 0,
            ))
        })
        .collect()
}

/// Revokes the certificate and ends every live session opened with it. `None` for an
/// unknown certificate, else how many live sessions were ended.
pub(crate) async fn revoke_certificate(
    conn: &mut AnyConnection,
    certificate: &CertificateId,
) -> StoreResult<Option<u64>> {
    let r = sqlx::query(
        "UPDATE certificates SET revoked = 1 WHERE issuer_key = $1 AND serial_hex = $2",
    )
    .bind(&certificate.issuer)
    .bind(&certificate.serial_hex)
    .execute(&mut *conn)
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
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Some(ended))
}

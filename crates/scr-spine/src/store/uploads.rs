//! The uploads applied: each practice's Bundle identifiers, so a retry is recognised and a
//! reused identifier refused.

use sqlx::{AnyConnection, Row};

use super::{now_ms, StoreResult};

/// An upload already applied under a Bundle identifier.
pub(crate) struct PriorUpload {
    /// SHA-256 of its body.
    pub body_sha256: String,
    /// The outcome code it was stored with.
    pub outcome: String,
}

/// The upload `uploader_ods` already sent as `bundle_id`, if any (identifiers are each
/// practice's own: another practice's cannot collide).
pub(crate) async fn prior_upload(
    conn: &mut AnyConnection,
    uploader_ods: &str,
    bundle_id: &str,
) -> StoreResult<Option<PriorUpload>> {
    let row = sqlx::query(
        "SELECT body_sha256, outcome FROM uploads WHERE uploader_ods = $1 AND bundle_id = $2",
    )
    .bind(uploader_ods)
    .bind(bundle_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(PriorUpload {
            body_sha256: r.try_get("body_sha256")?,
            outcome: r.try_get("outcome")?,
        })
    })
    .transpose()
}

/// Records an applied upload under its practice and Bundle identifier.
pub(crate) async fn record_upload(
    conn: &mut AnyConnection,
    uploader_ods: &str,
    bundle_id: &str,
    nhs_number: &str,
    body_sha256: &str,
    outcome_code: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO uploads (uploader_ods, bundle_id, nhs_number, body_sha256, outcome, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uploader_ods)
    .bind(bundle_id)
    .bind(nhs_number)
    .bind(body_sha256)
    .bind(outcome_code)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

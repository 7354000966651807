//! Applying a GP practice's upload: the consent rules of DOMAIN.md, inside the transaction
//! that also appends the audit entry (see `audit::AuditWriter::upload`).

use scr_model::fhir::Upload;
use scr_model::{AuditOutcome, ErrorCode, SharingPreference};
use sqlx::{AnyConnection, Row};

use crate::store::{now_ms, rows_preference_code, StoreError};

pub struct UploadJob {
    pub upload: Upload,
    /// SHA-256 of the request body: a retry with the same Bundle identifier must be the
    /// same upload, byte for byte.
    pub body_sha256: String,
    /// The uploading practice (from the signed-in GP system's role profile).
    pub uploader_ods: String,
    /// Its name, from the same role profile.
    pub uploader_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadOutcome {
    /// The summary was stored (created or replaced).
    Stored,
    /// The upload recorded a dissent: the consent is kept, the summary withdrawn.
    DissentRecorded,
    /// A retry of an upload already applied: nothing changed.
    AlreadyApplied,
    /// Refused: the patient has opted out; nothing stored.
    RefusedDissented,
    /// Refused: the patient is not registered at the uploading practice.
    RefusedNotRegisteredHere,
    /// Refused: no such patient in the index.
    RefusedUnknownPatient,
    /// Refused: the Bundle identifier was already used for different content.
    RefusedIdentifierReused,
    /// Refused: neither a summary nor a sharing preference to apply.
    RefusedNothingToApply,
    /// Refused: the summary was composed before the one already held (a late, older
    /// upload must not replace a newer allergy list).
    RefusedOlderThanHeld,
}

impl UploadOutcome {
    /// The code stored with the upload and sent back: an informational one for an upload
    /// taken, the refusal's error code otherwise.
    pub fn code(self) -> &'static str {
        match self {
            UploadOutcome::Stored => "STORED",
            UploadOutcome::DissentRecorded => "DISSENT_RECORDED",
            UploadOutcome::AlreadyApplied => "ALREADY_APPLIED",
            UploadOutcome::RefusedDissented => ErrorCode::PatientDissented.as_str(),
            UploadOutcome::RefusedNotRegisteredHere => ErrorCode::NotRegisteredAtPractice.as_str(),
            UploadOutcome::RefusedUnknownPatient => ErrorCode::PatientNotFound.as_str(),
            UploadOutcome::RefusedIdentifierReused => ErrorCode::BundleIdentifierReused.as_str(),
            UploadOutcome::RefusedNothingToApply => ErrorCode::NothingToApply.as_str(),
            UploadOutcome::RefusedOlderThanHeld => ErrorCode::OlderThanHeld.as_str(),
        }
    }

    /// The error the spine answers with, for an upload it refuses (its status is the
    /// code's); `None` for one it took.
    pub fn refusal(self) -> Option<ErrorCode> {
        match self {
            UploadOutcome::Stored
            | UploadOutcome::DissentRecorded
            | UploadOutcome::AlreadyApplied => None,
            UploadOutcome::RefusedDissented => Some(ErrorCode::PatientDissented),
            UploadOutcome::RefusedNotRegisteredHere => Some(ErrorCode::NotRegisteredAtPractice),
            UploadOutcome::RefusedUnknownPatient => Some(ErrorCode::PatientNotFound),
            UploadOutcome::RefusedIdentifierReused => Some(ErrorCode::BundleIdentifierReused),
            UploadOutcome::RefusedNothingToApply => Some(ErrorCode::NothingToApply),
            UploadOutcome::RefusedOlderThanHeld => Some(ErrorCode::OlderThanHeld),
        }
    }

    pub fn audit_outcome(self) -> AuditOutcome {
        match self {
            UploadOutcome::Stored
            | UploadOutcome::DissentRecorded
            | UploadOutcome::AlreadyApplied => AuditOutcome::Success,
            UploadOutcome::RefusedUnknownPatient => AuditOutcome::NotFound,
            UploadOutcome::RefusedNothingToApply => AuditOutcome::Invalid,
            _ => AuditOutcome::Refused,
        }
    }

    fn from_code(code: &str) -> Option<UploadOutcome> {
        [UploadOutcome::Stored, UploadOutcome::DissentRecorded]
            .into_iter()
            .find(|o| o.code() == code)
    }
}

/// Decides and applies. Runs inside the caller's transaction; on error the caller rolls back,
/// so a half-applied upload never exists.
pub async fn apply(conn: &mut AnyConnection, job: &UploadJob) -> Result<UploadOutcome, StoreError> {
    let upload = &job.upload;
    let nhs = upload.patient.nhs_number.as_digits();

    // Identifiers are the uploading practice's own: another practice's cannot collide.
    if let Some(row) = sqlx::query(
        "SELECT body_sha256, outcome FROM uploads WHERE uploader_ods = $1 AND bundle_id = $2",
    )
    .bind(&job.uploader_ods)
    .bind(&upload.bundle_id)
    .fetch_optional(&mut *conn)
    .await?
    {
        let hash: String = row.try_get("body_sha256")?;
        let outcome: String = row.try_get("outcome")?;
        return Ok(
            if hash == job.body_sha256 && UploadOutcome::from_code(&outcome).is_some() {
                UploadOutcome::AlreadyApplied
            } else {
                UploadOutcome::RefusedIdentifierReused
            },
        );
    }

    let Some(patient) = sqlx::query("SELECT gp_ods FROM patients WHERE nhs_number = $1")
        .bind(&nhs)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(UploadOutcome::RefusedUnknownPatient);
    };
    let registered_at: Option<String> = patient.try_get("gp_ods")?;
    if registered_at.as_deref() != Some(job.uploader_ods.as_str()) {
        return Ok(UploadOutcome::RefusedNotRegisteredHere);
    }

    let stored_preference: Option<String> =
        sqlx::query("SELECT preference FROM consents WHERE nhs_number = $1")
            .bind(&nhs)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("preference"))
            .transpose()?;

    let outcome = match (&upload.consent, &upload.summary) {
        (Some(consent), _) if consent.preference.is_dissent() => {
            upsert_consent(conn, &nhs, consent, &job.uploader_ods).await?;
            // Opt-out is honoured at the centre: the clinical summary goes, the consent stays.
            sqlx::query("DELETE FROM summaries WHERE nhs_number = $1")
                .bind(&nhs)
                .execute(&mut *conn)
                .await?;
            UploadOutcome::DissentRecorded
        }
        (consent, Some(summary)) => {
            let dissented = stored_preference.as_deref()
                == Some(rows_preference_code(SharingPreference::Dissent));
            match consent {
                // A new, non-dissent preference in the same upload replaces the dissent.
                Some(c) => upsert_consent(conn, &nhs, c, &job.uploader_ods).await?,
                None if dissented => return Ok(UploadOutcome::RefusedDissented),
                None => {}
            }
            if older_than_held(conn, &nhs, summary).await? {
                return Ok(UploadOutcome::RefusedOlderThanHeld);
            }
            // The source a viewer is shown is the practice that signed in and uploaded, not
            // whatever the document says of itself: a GP system could otherwise pass its
            // summary off as another practice's.
            let mut summary = summary.clone();
            summary.provenance.practice_ods = Some(job.uploader_ods.clone());
            summary.provenance.practice_name = Some(job.uploader_name.clone());
            let json =
                serde_json::to_string(&summary).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO summaries (nhs_number, practice_ods, updated_at, summary) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (nhs_number) DO UPDATE SET practice_ods = excluded.practice_ods, \
                 updated_at = excluded.updated_at, summary = excluded.summary",
            )
            .bind(&nhs)
            .bind(job.uploader_ods.clone())
            .bind(now_ms())
            .bind(json)
            .execute(&mut *conn)
            .await?;
            UploadOutcome::Stored
        }
        (Some(consent), None) => {
            upsert_consent(conn, &nhs, consent, &job.uploader_ods).await?;
            UploadOutcome::Stored
        }
        (None, None) => return Ok(UploadOutcome::RefusedNothingToApply),
    };

    sqlx::query(
        "INSERT INTO uploads (uploader_ods, bundle_id, nhs_number, body_sha256, outcome, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&job.uploader_ods)
    .bind(&upload.bundle_id)
    .bind(&nhs)
    .bind(&job.body_sha256)
    .bind(outcome.code())
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(outcome)
}

/// Whether `summary` was composed before the summary already held for the patient. Uploads
/// can arrive out of order (a retry queue, two sessions at the practice); the one composed
/// last must win. A summary without a composition date cannot be ordered and is accepted.
async fn older_than_held(
    conn: &mut AnyConnection,
    nhs: &str,
    summary: &scr_model::Summary,
) -> Result<bool, StoreError> {
    let Some(new) = summary.provenance.last_updated else {
        return Ok(false);
    };
    let held: Option<String> = sqlx::query("SELECT summary FROM summaries WHERE nhs_number = $1")
        .bind(nhs)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("summary"))
        .transpose()?;
    let Some(held) = held else { return Ok(false) };
    let held: scr_model::Summary =
        serde_json::from_str(&held).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(held.provenance.last_updated.is_some_and(|old| new < old))
}

async fn upsert_consent(
    conn: &mut AnyConnection,
    nhs: &str,
    consent: &scr_model::ConsentRecord,
    uploader_ods: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consents (nhs_number, preference, code, recorded, recorded_by_ods) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (nhs_number) DO UPDATE SET preference = excluded.preference, code = excluded.code, \
         recorded = excluded.recorded, recorded_by_ods = excluded.recorded_by_ods",
    )
    .bind(nhs)
    .bind(rows_preference_code(consent.preference))
    .bind(consent.code.clone())
    .bind(consent.recorded.format("%Y-%m-%d").to_string())
    .bind(
        consent
            .recorded_by_ods
            .clone()
            .unwrap_or_else(|| uploader_ods.to_string()),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_upload_is_stored_and_answered_under_its_error_code() {
        let all = [
            UploadOutcome::Stored,
            UploadOutcome::DissentRecorded,
            UploadOutcome::AlreadyApplied,
            UploadOutcome::RefusedDissented,
            UploadOutcome::RefusedNotRegisteredHere,
            UploadOutcome::RefusedUnknownPatient,
            UploadOutcome::RefusedIdentifierReused,
            UploadOutcome::RefusedNothingToApply,
            UploadOutcome::RefusedOlderThanHeld,
        ];
        for outcome in all {
            match outcome.refusal() {
                Some(code) => {
                    assert_eq!(outcome.code(), code.as_str());
                    assert_ne!(outcome.audit_outcome(), AuditOutcome::Success);
                }
                None => {
                    assert_eq!(ErrorCode::parse(outcome.code()), None);
                    assert_eq!(outcome.audit_outcome(), AuditOutcome::Success);
                }
            }
        }
    }
}

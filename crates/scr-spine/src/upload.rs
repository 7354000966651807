//! Applying a GP practice's upload: the consent rules of DOMAIN.md, inside the transaction
//! that also appends the audit entry (see `audit::AuditWriter::upload`).

use scr_model::fhir::Upload;
use scr_model::{AuditOutcome, ErrorCode, NhsNumber};
use sqlx::AnyConnection;

use crate::store::{self, now_ms, ConsentToHold, StoreError, SummaryToHold};

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
    let nhs = upload.patient.nhs_number;

    if let Some(prior) = store::prior_upload(conn, &job.uploader_ods, &upload.bundle_id).await? {
        return Ok(
            if prior.body_sha256 == job.body_sha256
                && UploadOutcome::from_code(&prior.outcome).is_some()
            {
                UploadOutcome::AlreadyApplied
            } else {
                UploadOutcome::RefusedIdentifierReused
            },
        );
    }

    let Some(registered_at) = store::registered_practice(conn, nhs).await? else {
        return Ok(UploadOutcome::RefusedUnknownPatient);
    };
    if registered_at.as_deref() != Some(job.uploader_ods.as_str()) {
        return Ok(UploadOutcome::RefusedNotRegisteredHere);
    }
    let dissented = store::has_dissented(conn, nhs).await?;

    let outcome = match (&upload.consent, &upload.summary) {
        (Some(consent), _) if consent.preference.is_dissent() => {
            hold_consent(conn, job, consent).await?;
            // Opt-out is honoured at the centre: the clinical summary goes, the consent stays.
            store::withdraw_summary(conn, nhs).await?;
            UploadOutcome::DissentRecorded
        }
        (consent, Some(summary)) => {
            match consent {
                // A new, non-dissent preference in the same upload replaces the dissent.
                Some(c) => hold_consent(conn, job, c).await?,
                None if dissented => return Ok(UploadOutcome::RefusedDissented),
                None => {}
            }
            if older_than_held(conn, nhs, summary).await? {
                return Ok(UploadOutcome::RefusedOlderThanHeld);
            }
            // The source a viewer is shown is the practice that signed in and uploaded, not
            // whatever the document says of itself: a GP system could otherwise pass its
            // summary off as another practice's.
            let mut summary = summary.clone();
            summary.provenance.practice_ods = Some(job.uploader_ods.clone());
            summary.provenance.practice_name = Some(job.uploader_name.clone());
            let held = SummaryToHold {
                nhs_number: nhs,
                practice_ods: Some(&job.uploader_ods),
                updated_at: now_ms(),
                summary: &summary,
            };
            store::hold_summaries(conn, std::slice::from_ref(&held)).await?;
            UploadOutcome::Stored
        }
        (Some(consent), None) => {
            hold_consent(conn, job, consent).await?;
            UploadOutcome::Stored
        }
        (None, None) => return Ok(UploadOutcome::RefusedNothingToApply),
    };

    store::record_upload(
        conn,
        &job.uploader_ods,
        &upload.bundle_id,
        &nhs.as_digits(),
        &job.body_sha256,
        outcome.code(),
    )
    .await?;
    Ok(outcome)
}

/// Whether `summary` was composed before the summary already held for the patient. Uploads
/// can arrive out of order (a retry queue, two sessions at the practice); the one composed
/// last must win. A summary without a composition date cannot be ordered and is accepted.
async fn older_than_held(
    conn: &mut AnyConnection,
    nhs: NhsNumber,
    summary: &scr_model::Summary,
) -> Result<bool, StoreError> {
    let Some(new) = summary.provenance.last_updated else {
        return Ok(false);
    };
    let Some(held) = store::held_summary(conn, nhs).await? else {
        return Ok(false);
    };
    Ok(held.provenance.last_updated.is_some_and(|old| new < old))
}

/// Holds the upload's preference, recorded by the practice it names or else the uploader.
async fn hold_consent(
    conn: &mut AnyConnection,
    job: &UploadJob,
    consent: &scr_model::ConsentRecord,
) -> Result<(), StoreError> {
    let held = ConsentToHold {
        nhs_number: job.upload.patient.nhs_number,
        consent,
        recorded_by_ods: Some(
            consent
                .recorded_by_ods
                .as_deref()
                .unwrap_or(&job.uploader_ods),
        ),
    };
    store::hold_consents(conn, std::slice::from_ref(&held)).await
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

//! Applying an upload: the consent rules of DOMAIN.md for a GP practice's summary and
//! sharing preference, and the encounters and referrals that open (or end) a legitimate
//! relationship, inside the transaction that also appends the audit entry (see
//! `audit::AuditWriter::upload`).
//!
//! Who may upload what:
//! - a GP practice's system (`GP-UPLOAD`) sends summaries, sharing preferences and referrals
//!   for the patients registered at the practice (a referral from the practice to any
//!   organisation), and records a death its Patient states;
//! - a hospital's (or other care setting's) system (`ENCOUNTER-UPLOAD`) sends only
//!   encounters, for any patient — an attendance needs no registration — but only its own:
//!   an encounter at another organisation is refused (`ENCOUNTER_NOT_AT_UPLOADER`), from
//!   any uploader. Anything else it sends is refused (`NOT_PERMITTED_FOR_ROLE`).
//!
//! An open encounter or referral opens the relationship of its organisation with the
//! patient; a closed one (finished, cancelled, completed, revoked, entered in error) ends
//! it. One relationship is kept per organisation and kind, so within one upload an open
//! event wins over a closed one; across uploads, the latest upload decides.

use std::collections::BTreeMap;

use scr_model::fhir::{CareEvent, CareEventKind, Upload};
use scr_model::{AuditOutcome, ErrorCode, NhsNumber};
use sqlx::AnyConnection;

use crate::store::{self, now_ms, CareRelationship, ConsentToHold, StoreError, SummaryToHold};

pub struct UploadJob {
    pub upload: Upload,
    /// SHA-256 of the request body: a retry with the same Bundle identifier must be the
    /// same upload, byte for byte.
    pub body_sha256: String,
    /// The uploading practice (from the signed-in GP system's role profile).
    pub uploader_ods: String,
    /// Its name, from the same role profile.
    pub uploader_name: String,
    /// The uploader is a GP practice's system (`GP-UPLOAD`), not only a hospital's
    /// encounter feed (`ENCOUNTER-UPLOAD`).
    pub gp_system: bool,
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
    /// Encounters or referrals only: the relationships were opened or ended.
    RelationshipsRecorded,
    /// Refused: an encounter at an organisation other than the uploader's.
    RefusedEncounterElsewhere,
    /// Refused: a summary, preference or referral from an uploader that may send only
    /// encounters.
    RefusedEncountersOnly,
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
            UploadOutcome::RelationshipsRecorded => "RELATIONSHIPS_RECORDED",
            UploadOutcome::RefusedEncounterElsewhere => ErrorCode::EncounterNotAtUploader.as_str(),
            UploadOutcome::RefusedEncountersOnly => ErrorCode::NotPermittedForRole.as_str(),
        }
    }

    /// The error the spine answers with, for an upload it refuses (its status is the
    /// code's); `None` for one it took.
    pub fn refusal(self) -> Option<ErrorCode> {
        match self {
            UploadOutcome::Stored
            | UploadOutcome::DissentRecorded
            | UploadOutcome::AlreadyApplied
            | UploadOutcome::RelationshipsRecorded => None,
            UploadOutcome::RefusedDissented => Some(ErrorCode::PatientDissented),
            UploadOutcome::RefusedNotRegisteredHere => Some(ErrorCode::NotRegisteredAtPractice),
            UploadOutcome::RefusedUnknownPatient => Some(ErrorCode::PatientNotFound),
            UploadOutcome::RefusedIdentifierReused => Some(ErrorCode::BundleIdentifierReused),
            UploadOutcome::RefusedNothingToApply => Some(ErrorCode::NothingToApply),
            UploadOutcome::RefusedOlderThanHeld => Some(ErrorCode::OlderThanHeld),
            UploadOutcome::RefusedEncounterElsewhere => Some(ErrorCode::EncounterNotAtUploader),
            UploadOutcome::RefusedEncountersOnly => Some(ErrorCode::NotPermittedForRole),
        }
    }

    pub fn audit_outcome(self) -> AuditOutcome {
        match self {
            UploadOutcome::Stored
            | UploadOutcome::DissentRecorded
            | UploadOutcome::AlreadyApplied
            | UploadOutcome::RelationshipsRecorded => AuditOutcome::Success,
            UploadOutcome::RefusedUnknownPatient => AuditOutcome::NotFound,
            UploadOutcome::RefusedNothingToApply => AuditOutcome::Invalid,
            _ => AuditOutcome::Refused,
        }
    }

    fn from_code(code: &str) -> Option<UploadOutcome> {
        [
            UploadOutcome::Stored,
            UploadOutcome::DissentRecorded,
            UploadOutcome::RelationshipsRecorded,
        ]
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

    // A system records only its own organisation's encounters, whoever uploads.
    if upload
        .care
        .iter()
        .any(|e| e.kind == CareEventKind::Encounter && e.org_ods != job.uploader_ods)
    {
        return Ok(UploadOutcome::RefusedEncounterElsewhere);
    }
    // What only the patient's practice sends: the summary, the preference, a referral.
    let from_the_practice = upload.summary.is_some()
        || upload.consent.is_some()
        || upload
            .care
            .iter()
            .any(|e| e.kind == CareEventKind::Referral);
    if from_the_practice && !job.gp_system {
        return Ok(UploadOutcome::RefusedEncountersOnly);
    }

    let Some(registered_at) = store::registered_practice(conn, nhs).await? else {
        return Ok(UploadOutcome::RefusedUnknownPatient);
    };
    let registered_here = registered_at.as_deref() == Some(job.uploader_ods.as_str());
    if from_the_practice && !registered_here {
        return Ok(UploadOutcome::RefusedNotRegisteredHere);
    }
    let held_preference = store::held_preference(conn, nhs).await?;
    let dissented = held_preference.is_some_and(|p| p.is_dissent());

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
            // Held only as far as the preference in force allows (the one this upload
            // brings, or the one held): Additional Information not at all under core-only
            // consent, the sensitive categories only at the patient's request.
            let preference = consent.as_ref().map(|c| c.preference).or(held_preference);
            let mut summary = summary.clone().held_under(preference);
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
        (None, None) if !upload.care.is_empty() => UploadOutcome::RelationshipsRecorded,
        (None, None) => return Ok(UploadOutcome::RefusedNothingToApply),
    };
    // The registered practice records a death its Patient states (it never un-records one:
    // a Patient without it says nothing about it).
    if let (true, true, Some(deceased)) = (job.gp_system, registered_here, upload.patient.deceased)
    {
        store::record_death(conn, nhs, deceased).await?;
    }
    let relationships = relationships(nhs, &upload.care, now_ms());
    store::hold_relationships(conn, &relationships).await?;

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

/// The relationships the upload's encounters and referrals open or end: one per
/// organisation and kind (an open one wins over a closed one in the same upload), opened at
/// the event's start and ended at its end, neither later than `now` (a sender's clock ahead
/// of ours must not leave a patient in A&E without a relationship for a while).
fn relationships(nhs: NhsNumber, care: &[CareEvent], now: i64) -> Vec<CareRelationship> {
    let mut by_org: BTreeMap<(String, &'static str), CareRelationship> = BTreeMap::new();
    for e in care {
        let start = e
            .start
            .map(|t| t.timestamp_millis())
            .unwrap_or(now)
            .min(now);
        let ends = (!e.open).then(|| e.end.map(|t| t.timestamp_millis()).unwrap_or(now).min(now));
        let basis = e.kind.basis();
        let this = CareRelationship {
            nhs_number: nhs,
            org_ods: e.org_ods.clone(),
            basis,
            opened_at_ms: start,
            ends_at_ms: ends,
        };
        by_org
            .entry((e.org_ods.clone(), basis.code()))
            .and_modify(|held| match (held.ends_at_ms, this.ends_at_ms) {
                // Both open: from the earlier start.
                (None, None) => held.opened_at_ms = held.opened_at_ms.min(this.opened_at_ms),
                // An open one wins.
                (Some(_), None) => *held = this.clone(),
                (None, Some(_)) => {}
                // Both closed: ended at the later end.
                (Some(a), Some(b)) => {
                    held.ends_at_ms = Some(a.max(b));
                    held.opened_at_ms = held.opened_at_ms.min(this.opened_at_ms);
                }
            })
            .or_insert(this);
    }
    by_org.into_values().collect()
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
            UploadOutcome::RelationshipsRecorded,
            UploadOutcome::RefusedEncounterElsewhere,
            UploadOutcome::RefusedEncountersOnly,
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

    fn event(
        org: &str,
        kind: CareEventKind,
        open: bool,
        start: i64,
        end: Option<i64>,
    ) -> CareEvent {
        let at = |ms| chrono::TimeZone::timestamp_millis_opt(&chrono::Utc, ms).single();
        CareEvent {
            kind,
            org_ods: org.into(),
            open,
            start: at(start),
            end: end.and_then(at),
        }
    }

    #[test]
    fn one_relationship_per_organisation_and_kind_an_open_event_winning() {
        let nhs = NhsNumber::nth_test_number(1).expect("number");
        let now = 10_000;
        let care = [
            event("RX901", CareEventKind::Encounter, false, 1_000, Some(2_000)),
            event("RX901", CareEventKind::Encounter, true, 3_000, None),
            event("RX901", CareEventKind::Referral, false, 500, None),
            event("NX901", CareEventKind::Encounter, false, 1_000, Some(2_000)),
            event("NX901", CareEventKind::Encounter, false, 1_500, Some(4_000)),
            // A sender's clock ahead of ours.
            event("RCARD", CareEventKind::Referral, true, 20_000, None),
        ];
        let got: Vec<(String, &str, i64, Option<i64>)> = relationships(nhs, &care, now)
            .into_iter()
            .map(|r| (r.org_ods, r.basis.code(), r.opened_at_ms, r.ends_at_ms))
            .collect();
        assert_eq!(
            got,
            vec![
                ("NX901".to_string(), "encounter", 1_000, Some(4_000)),
                ("RCARD".to_string(), "referral", now, None),
                ("RX901".to_string(), "encounter", 3_000, None),
                ("RX901".to_string(), "referral", 500, Some(now)),
            ]
        );
    }
}

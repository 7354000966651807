//! The FHIR R4 routes. Each handler: authorise (audited), validate, read, audit the access
//! (awaiting the commit: no entry, no data), then answer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use scr_model::access::{
    decode_justification, JustificationError, ACCESS_JUSTIFICATION_HEADER, ACCESS_REASON_HEADER,
    RELATIONSHIP_HEADER, SELF_CLAIM_HEADER_VALUE, VOLUME_WARNING_HEADER,
};
use scr_model::fhir::{self, IssueType, SummaryDocumentInput};
use scr_model::{
    AccessReason, Activity, AlertKind, AuditAction, AuditOutcome, ErrorCode, NhsNumber,
    OfflineAccess, RelationshipBasis, RoleProfile, VolumeScope, VolumeWarning, VolumeWindow,
};
use sha2::{Digest, Sha256};

use crate::audit::AuditEntry;
use crate::auth::{authorise, Caller};
use crate::error::{fhir_ok, ApiError};
use crate::state::AppState;
use crate::trace::{self, TraceResult};
use crate::upload::{UploadJob, UploadOutcome};

pub(crate) fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// A success answer that carries a message rather than a resource (uploads).
fn informational_outcome(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "information",
            "code": "informational",
            "details": {
                "coding": [{ "system": fhir::ERROR_CODE_SYSTEM, "code": code }],
                "text": message
            }
        }]
    })
}

pub(crate) fn parse_nhs(raw: &str) -> Result<NhsNumber, ApiError> {
    NhsNumber::parse(raw).map_err(|e| {
        ApiError::invalid(
            ErrorCode::InvalidNhsNumber,
            format!("Not a valid NHS number: {e}."),
        )
    })
}

/// A signed-in caller's request under one audited action, from [`Audited::authorise`] on:
/// the one way a handler refuses (audited, naming the patient and reason known so far, and
/// alerting for emergency access) and records what it released.
pub(crate) struct Audited<'a> {
    state: &'a AppState,
    pub(crate) caller: Caller,
    pub(crate) role: RoleProfile,
    action: AuditAction,
    pub(crate) patient: Option<NhsNumber>,
    reason: Option<AccessReason>,
    relationship: Option<RelationshipBasis>,
    pub(crate) justification: Option<String>,
    alerts: Vec<AlertKind>,
    /// What the request is about when that is not a patient (the registration authority's
    /// subject): the detail of its success, and after the code in a refusal's.
    note: Option<String>,
    /// Where a child protection alert goes (the child's responsible organisation).
    alert_org: Option<String>,
}

impl<'a> Audited<'a> {
    /// Checks the session and that its role allows one of `activities` (see
    /// `auth::authorise`, which audits those refusals itself).
    pub(crate) async fn authorise(
        state: &'a AppState,
        headers: &HeaderMap,
        action: AuditAction,
        activities: &[Activity],
    ) -> Result<Audited<'a>, ApiError> {
        let (caller, role) = authorise(state, headers, action, None, activities).await?;
        Ok(Audited {
            state,
            caller,
            role,
            action,
            patient: None,
            reason: None,
            relationship: None,
            justification: None,
            alerts: Vec::new(),
            note: None,
            alert_org: None,
        })
    }

    /// The request is about this (`subject=…`, not a patient): later refusals and the
    /// success say so.
    pub(crate) fn noting(&mut self, note: impl Into<String>) {
        self.note = Some(note.into());
    }

    /// The request concerns this patient: later refusals and the success name them.
    pub(crate) fn about(&mut self, patient: NhsNumber) {
        self.patient = Some(patient);
    }

    /// The caller's reason for looking: later refusals and the success carry it.
    pub(crate) fn because(&mut self, reason: AccessReason) {
        self.reason = Some(reason);
    }

    /// An audit entry for this request with `outcome`, reason and alert filled in.
    pub(crate) fn entry(&self, patient: Option<NhsNumber>, outcome: AuditOutcome) -> AuditEntry {
        let mut entry = self.caller.entry(self.action, patient, outcome);
        entry.reason = self.reason;
        entry.relationship = self.relationship;
        entry.justification = self.justification.clone();
        entry.detail = self.note.clone();
        // Emergency access is allowed and always raises an alert for the privacy officer.
        if self.reason == Some(AccessReason::Emergency) {
            entry.raise(AlertKind::EmergencyAccess);
        }
        for kind in &self.alerts {
            entry.raise(*kind);
        }
        entry.alert_org = self.alert_org.clone();
        entry
    }

    /// Audits `err` as this request's refusal and returns it (or the audit's own error).
    pub(crate) async fn refuse(&self, err: ApiError) -> ApiError {
        let outcome = match err.status() {
            StatusCode::NOT_FOUND => AuditOutcome::NotFound,
            StatusCode::BAD_REQUEST => AuditOutcome::Invalid,
            _ => AuditOutcome::Refused,
        };
        let mut entry = self.entry(self.patient, outcome);
        entry.detail = Some(match &self.note {
            Some(note) => format!("{} {note}", err.code.as_str()),
            None => err.code.as_str().to_string(),
        });
        match self.state.audit.append(vec![entry]).await {
            Ok(()) => err,
            Err(e) => e.into(),
        }
    }

    /// The NHS number in `raw` (which the request is then about), or an audited
    /// `INVALID_NHS_NUMBER` refusal.
    pub(crate) async fn nhs_number(&mut self, raw: &str) -> Result<NhsNumber, ApiError> {
        match parse_nhs(raw) {
            Ok(n) => {
                self.about(n);
                Ok(n)
            }
            Err(e) => Err(self.refuse(e).await),
        }
    }

    /// An audited `PATIENT_NOT_FOUND`.
    pub(crate) async fn unknown_patient(&self) -> ApiError {
        let e = ApiError::not_found(
            ErrorCode::PatientNotFound,
            "No patient has this NHS number.",
        );
        self.refuse(e).await
    }

    /// Records the access to the patient; data may leave only after this returns `Ok`.
    pub(crate) async fn succeeded(&self) -> Result<(), ApiError> {
        let entry = self.entry(self.patient, AuditOutcome::Success);
        Ok(self.state.audit.append(vec![entry]).await?)
    }
}

/// `GET /FHIR/R4/Patient/{nhs}`
pub async fn read_patient(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(
        &state,
        &headers,
        AuditAction::PatientRead,
        &[Activity::B0264],
    )
    .await?;
    let nhs = request.nhs_number(&id).await?;
    let Some(patient) = state.store.patient(nhs).await? else {
        return Err(request.unknown_patient().await);
    };
    request.succeeded().await?;
    let shown = patient.redacted_if_restricted();
    Ok(fhir_ok(StatusCode::OK, &fhir::patient_resource(&shown)))
}

/// `GET /FHIR/R4/Patient?family=&given=&birthdate=&…`: trace by demographics.
pub async fn search_patients(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let request = Audited::authorise(
        &state,
        &headers,
        AuditAction::PatientTrace,
        &[Activity::B0264],
    )
    .await?;
    let pairs = query_pairs(raw);
    let query = match trace::parse_query(&pairs) {
        Ok(q) => q,
        Err(e) => {
            let err = match e {
                trace::TraceRejected::InvalidParameter(m) => {
                    ApiError::invalid(ErrorCode::InvalidSearchData, m)
                }
                trace::TraceRejected::NotEnoughParameters(m) => {
                    ApiError::new(ErrorCode::MissingSearchParameters, IssueType::Required, m)
                }
            };
            return Err(request.refuse(err).await);
        }
    };
    let plan = trace::candidate_plan(&query);
    let candidates = state
        .store
        .trace_candidates(&plan.birth_dates, plan.range, plan.family, 5_000)
        .await?;
    match trace::rank(&query, candidates) {
        TraceResult::TooManyMatches(n) => {
            let err = ApiError::new(
            ErrorCode::TooManyMatches,
            IssueType::TooCostly,
                format!("{n} patients match; add details (given name, gender, postcode) to narrow the search."),
            );
            Err(request.refuse(err).await)
        }
        TraceResult::Matches(matches) => {
            // Every match is audited; an empty result is audited once.
            let mut entries: Vec<AuditEntry> = matches
                .iter()
                .map(|(d, _)| request.entry(Some(d.nhs_number), AuditOutcome::Success))
                .collect();
            if entries.is_empty() {
                entries.push(request.entry(None, AuditOutcome::NotFound));
            }
            state.audit.append(entries).await?;
            let shown: Vec<_> = matches
                .into_iter()
                .map(|(d, s)| (d.redacted_if_restricted(), s))
                .collect();
            Ok(fhir_ok(StatusCode::OK, &fhir::patient_searchset(&shown)))
        }
    }
}

/// `GET /FHIR/R4/Patient/{nhs}/$summary` with `X-Access-Reason` (and, as needed,
/// `X-Access-Justification`, `X-Legitimate-Relationship`): the national service's gates in
/// its order — the role, a legitimate relationship, the answer to the permission question,
/// the patient's own choice, then the volume of patients opened.
pub async fn summary(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(
        &state,
        &headers,
        AuditAction::SummaryRead,
        &[Activity::B0370, Activity::B0168],
    )
    .await?;
    let nhs = request.nhs_number(&id).await?;
    let reason = header_text(&headers, ACCESS_REASON_HEADER).and_then(AccessReason::from_header);
    let Some(reason) = reason else {
        let e = ApiError::forbidden(
            ErrorCode::AccessReasonRequired,
            "Say whether the patient gave permission: X-Access-Reason permission-to-view, permission-refused or emergency.",
        );
        return Err(request.refuse(e).await);
    };
    request.because(reason);
    match justification(&headers) {
        Ok(words) => request.justification = words,
        Err(e) => return Err(request.refuse(e).await),
    }
    if reason == AccessReason::Emergency && request.justification.is_none() {
        let e = ApiError::forbidden(
            ErrorCode::JustificationRequired,
            "Emergency access needs a reason in words: say why the patient cannot be asked.",
        );
        return Err(request.refuse(e).await);
    }
    let needed = match reason {
        AccessReason::PermissionToView | AccessReason::PermissionRefused => Activity::B0370,
        AccessReason::Emergency => Activity::B0168,
    };
    if !request.role.allows(needed) {
        let e = ApiError::forbidden(
            ErrorCode::NotPermittedForRole,
            "Your selected role does not allow this kind of access.",
        );
        return Err(request.refuse(e).await);
    }
    let Some((patient, summary, consent)) = state.store.summary_view(nhs).await? else {
        return Err(request.unknown_patient().await);
    };
    let self_claim = header_text(&headers, RELATIONSHIP_HEADER) == Some(SELF_CLAIM_HEADER_VALUE);
    // The relationship and the volume counts in one read; the gates below still decide in
    // NCRS order (relationship, permission, dissent, summary held, volume).
    let (recorded, counts) = state
        .store
        .access_facts(&request.caller.user_id, &request.role.org_ods, nhs)
        .await?;
    match relationship_basis(&request, &patient, recorded, self_claim) {
        Some((basis, newly_claimed)) => {
            request.relationship = Some(basis);
            if newly_claimed {
                request.alerts.push(AlertKind::SelfClaimedRelationship);
            }
        }
        None => {
            let e = ApiError::forbidden(
                ErrorCode::NoLegitimateRelationship,
                "Your organisation has no recorded relationship with this patient. If you are caring for them, say so (it is recorded and reviewed by your privacy officer).",
            );
            return Err(request.refuse(e).await);
        }
    }
    if reason == AccessReason::PermissionRefused {
        let e = ApiError::forbidden(
            ErrorCode::PermissionRefused,
            "The patient refused permission to view their record. The refusal has been recorded; nothing from the record is shown.",
        );
        return Err(request.refuse(e).await);
    }
    if consent.as_ref().is_some_and(|c| c.preference.is_dissent()) {
        let e = ApiError::forbidden(
            ErrorCode::PatientDissented,
            "The patient has opted out of sharing their Summary Care Record. This is final: do not retry.",
        );
        return Err(request.refuse(e).await);
    }
    let Some(summary) = summary else {
        let e = ApiError::not_found(
            ErrorCode::NoSummaryHeld,
            "No summary has been received from the patient's practice.",
        );
        return Err(request.refuse(e).await);
    };
    let warning = match volume_check(&state, &mut request, &counts).await? {
        Ok(warning) => warning,
        Err(e) => return Err(request.refuse(e).await),
    };
    // Emergency access is allowed, and its entry alerts the privacy officer (`entry`).
    request.succeeded().await?;
    let document_id = document_id();
    // What was held under the preference at upload time is served under the one in force
    // now: a patient who has since limited sharing to the core record is served the core.
    let summary = summary.held_under(consent.as_ref().map(|c| c.preference));
    // A restricted patient's source practice would locate them as surely as their GP.
    let summary = if patient.restricted {
        summary.with_source_withheld()
    } else {
        summary
    };
    let doc = fhir::summary_document(&SummaryDocumentInput {
        patient: &patient.redacted_if_restricted(),
        summary: &summary,
        document_id: &document_id,
        generated_at: Utc::now(),
    });
    let mut response = fhir_ok(StatusCode::OK, &doc);
    if let Some(w) = warning {
        if let Ok(value) = HeaderValue::from_str(&w.to_header()) {
            response.headers_mut().insert(VOLUME_WARNING_HEADER, value);
        }
    }
    Ok(response)
}

/// A header's value as text, if it is present and visible ASCII.
fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The reason in words, if one was sent.
fn justification(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(ACCESS_JUSTIFICATION_HEADER) else {
        return Ok(None);
    };
    let decoded = raw
        .to_str()
        .map_err(|_| JustificationError::Undecodable)
        .and_then(decode_justification);
    match decoded {
        Ok(words) => Ok(Some(words)),
        Err(JustificationError::Empty) => Ok(None),
        Err(e) => Err(ApiError::invalid(
            ErrorCode::InvalidJustification,
            format!("The reason in words cannot be kept: {e}."),
        )),
    }
}

/// The relationship between the caller's organisation and the patient, strongest first:
/// registration there, an open encounter or referral there, the caller's own self-claim in
/// force, or — when `self_claim` — a new self-claim (`true`: it raises an alert).
async fn legitimate_relationship(
    state: &AppState,
    request: &Audited<'_>,
    patient: &scr_model::Demographics,
    self_claim: bool,
) -> Result<Option<(RelationshipBasis, bool)>, ApiError> {
    if patient.gp_ods.as_deref() == Some(request.role.org_ods.as_str()) {
        return Ok(Some((RelationshipBasis::Registered, false)));
    }
    let recorded = state
        .store
        .care_relationship(
            patient.nhs_number,
            &request.role.org_ods,
            &request.caller.user_id,
        )
        .await?;
    Ok(relationship_basis(request, patient, recorded, self_claim))
}

/// The legitimate relationship this access rests on, given the relationship recorded for
/// the user's organisation (`Store::care_relationship`): registration at the organisation's
/// practice first, then the recorded one, then a self-claim made now (`true`: newly claimed).
fn relationship_basis(
    request: &Audited<'_>,
    patient: &scr_model::Demographics,
    recorded: Option<RelationshipBasis>,
    self_claim: bool,
) -> Option<(RelationshipBasis, bool)> {
    if patient.gp_ods.as_deref() == Some(request.role.org_ods.as_str()) {
        return Some((RelationshipBasis::Registered, false));
    }
    match (recorded, self_claim) {
        (Some(basis), _) => Some((basis, false)),
        (None, true) => Some((RelationshipBasis::SelfClaimed, true)),
        (None, false) => None,
    }
}

/// The volume limits for this open: `Ok(Some(warning))` past a soft limit (an alert raised
/// the first time it is passed), `Err` at a hard limit (an alert raised the first time).
async fn volume_check(
    state: &AppState,
    request: &mut Audited<'_>,
    counts: &crate::store::OpenCounts,
) -> Result<Result<Option<VolumeWarning>, ApiError>, ApiError> {
    let mut warning = None;
    for (scope, window, limit) in state.config.volume_limits.each() {
        let opened = counts.after_open(scope, window);
        if opened > limit.hard {
            if opened == limit.hard.saturating_add(1) {
                // Refused opens are not counted, so every try past the limit lands here:
                // one open alert per user and window is enough for the officer.
                let since = crate::store::now_ms() - window.seconds() * 1000;
                if !state
                    .store
                    .has_open_alert(AlertKind::VolumeHardLimit, &request.caller.user_id, since)
                    .await?
                {
                    request.alerts.push(AlertKind::VolumeHardLimit);
                }
            }
            let who = match scope {
                VolumeScope::User => "You have",
                VolumeScope::Organisation => "Your organisation has",
            };
            let per = match window {
                VolumeWindow::Hour => "hour",
                VolumeWindow::Day => "day",
            };
            return Ok(Err(ApiError::forbidden(
                ErrorCode::VolumeLimitReached,
                format!("{who} opened {} different patients' records in the last {per}, the most allowed. Your privacy officer has been told; ask them if you need more.", limit.hard),
            )));
        }
        if opened > limit.soft && warning.is_none() {
            // Alerted once, as the limit is passed; later opens carry only the warning.
            if opened == limit.soft.saturating_add(1) && counts.adds_a_patient(window) {
                request.alerts.push(AlertKind::VolumeSoftLimit);
            }
            warning = Some(VolumeWarning {
                scope,
                window,
                opened,
                limit: limit.soft,
            });
        }
    }
    Ok(Ok(warning))
}

/// The largest `$summary` the spine will serve: what the viewer parses
/// (`fhir::MAX_DOCUMENT_BYTES`), less room for a longer document id, time or patient name
/// at serving time.
pub const SERVED_SUMMARY_LIMIT: usize = fhir::MAX_DOCUMENT_BYTES - 16 * 1024;

fn document_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

/// `GET /FHIR/R4/Consent?patient={nhs}`
pub async fn consent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(
        &state,
        &headers,
        AuditAction::ConsentRead,
        &[Activity::B0020, Activity::B0370],
    )
    .await?;
    let pairs = query_pairs(raw);
    let patient = pairs
        .iter()
        .find(|(k, _)| k == "patient")
        .map(|(_, v)| v.trim_start_matches("Patient/").to_string());
    let Some(patient) = patient else {
        let e = ApiError::new(
            ErrorCode::MissingSearchParameters,
            IssueType::Required,
            "Give the patient's NHS number: Consent?patient=…",
        );
        return Err(request.refuse(e).await);
    };
    let nhs = request.nhs_number(&patient).await?;
    let Some(record) = state.store.consent(nhs).await? else {
        return Err(request.unknown_patient().await);
    };
    request.succeeded().await?;
    Ok(fhir_ok(
        StatusCode::OK,
        &fhir::consent_searchset(nhs, record.as_ref()),
    ))
}

/// Reads a request body of at most `limit` bytes (after the caller has been authenticated:
/// an anonymous caller never gets the spine to read megabytes).
/// How much of an over-limit body is read and thrown away before answering 413. Closing the
/// connection with the client still sending makes the kernel reset it, and the client then
/// sees a broken connection instead of the clear refusal; draining (bounded, and only for
/// callers already authorised, within the request deadline) lets the 413 arrive.
const OVER_LIMIT_DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// Reads a body of at most `limit` bytes; `Err` when it is longer or breaks off.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ()> {
    use futures_util::StreamExt;
    let mut chunks = body.into_data_stream();
    let mut held = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| ())?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            held.extend_from_slice(&chunk);
        } else if seen > limit.saturating_add(OVER_LIMIT_DRAIN_BYTES) {
            break;
        }
    }
    if seen > limit {
        Err(())
    } else {
        Ok(Bytes::from(held))
    }
}

/// `POST /FHIR/R4`: a GP practice system's transaction Bundle.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A GP practice's system, or a hospital's encounter feed (upload.rs: who may send what).
    let mut request = Audited::authorise(
        &state,
        &headers,
        AuditAction::Upload,
        &[Activity::GpSystemUpload, Activity::EncounterUpload],
    )
    .await?;
    let body = match read_body(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(()) => {
            let e = ApiError::new(
                ErrorCode::BundleTooLarge,
                IssueType::TooLong,
                "The upload is larger than this service accepts.",
            );
            return Err(request.refuse(e).await);
        }
    };
    let upload = match fhir::parse_upload(&body) {
        Ok(u) => u,
        Err(e) => {
            // The problem itself decides the code, wherever in the Bundle it was found.
            let (issue, code) = match e.innermost() {
                fhir::FhirError::TooLarge { .. } => (IssueType::TooLong, ErrorCode::BundleTooLarge),
                fhir::FhirError::InvalidNhsNumber(_) => {
                    (IssueType::Value, ErrorCode::InvalidNhsNumber)
                }
                fhir::FhirError::MissingNhsNumber => {
                    (IssueType::Required, ErrorCode::MissingNhsNumber)
                }
                _ => (IssueType::Invalid, ErrorCode::InvalidBundle),
            };
            let err = ApiError::new(code, issue, e.to_string());
            return Err(request.refuse(err).await);
        }
    };
    let nhs = upload.patient.nhs_number;
    request.about(nhs);
    if let Some(summary) = &upload.summary {
        // Refuse now what no viewer could open later: the served document repeats coded
        // text, so an upload well under the body limit can render past what the viewer
        // accepts, and the patient's allergies would be unavailable at the point of care.
        let served = fhir::summary_document(&SummaryDocumentInput {
            patient: &upload.patient,
            summary,
            document_id: &document_id(),
            generated_at: Utc::now(),
        });
        let size = serde_json::to_vec(&served)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > SERVED_SUMMARY_LIMIT {
            let err = ApiError::new(
            ErrorCode::SummaryTooLarge,
            IssueType::TooLong,
                format!(
                    "This summary would be served as {size} bytes; viewers accept at most {SERVED_SUMMARY_LIMIT}. Nothing was stored; send fewer or shorter entries."
                ),
            );
            return Err(request.refuse(err).await);
        }
    }
    let job = UploadJob {
        upload,
        body_sha256: hex::encode(Sha256::digest(&body)),
        uploader_ods: request.role.org_ods.clone(),
        uploader_name: request.role.org_name.clone(),
        gp_system: request.role.allows(Activity::GpSystemUpload),
    };
    let entry = request.entry(Some(nhs), AuditOutcome::Success);
    let outcome = state.audit.upload(job, entry).await?;
    let (issue, message): (IssueType, &str) = match outcome {
        UploadOutcome::Stored => (IssueType::Processing, "The summary was stored."),
        UploadOutcome::DissentRecorded => (IssueType::Processing, "The patient's dissent was recorded; no summary is held for them and any previous summary was withdrawn."),
        UploadOutcome::AlreadyApplied => (IssueType::Processing, "This upload was already applied; nothing changed."),
        UploadOutcome::RefusedDissented => (IssueType::BusinessRule, "The patient has opted out of sharing; nothing was stored."),
        UploadOutcome::RefusedNotRegisteredHere => (IssueType::Forbidden, "The patient is not registered at your practice."),
        UploadOutcome::RefusedUnknownPatient => (IssueType::NotFound, "No patient has this NHS number."),
        UploadOutcome::RefusedIdentifierReused => (IssueType::Conflict, "This Bundle identifier was already used for a different upload."),
        UploadOutcome::RefusedNothingToApply => (IssueType::Required, "The Bundle has neither a summary nor a sharing preference."),
        UploadOutcome::RefusedOlderThanHeld => (IssueType::Conflict, "This summary was composed before the one already held; the newer summary was kept. Nothing was stored."),
        UploadOutcome::RelationshipsRecorded => (IssueType::Processing, "The encounters and referrals were recorded."),
        UploadOutcome::RefusedEncounterElsewhere => (IssueType::Forbidden, "An encounter in this Bundle is at another organisation (its serviceProvider is not yours); only the organisation an encounter is at may record it. Nothing was stored."),
        UploadOutcome::RefusedEncountersOnly => (IssueType::Forbidden, "This system may upload only its own encounters; summaries, sharing preferences and referrals come from the patient's GP practice. Nothing was stored."),
    };
    match outcome.refusal() {
        None => {
            let body = informational_outcome(outcome.code(), message);
            Ok(fhir_ok(StatusCode::OK, &body))
        }
        Some(code) => Err(ApiError::new(code, issue, message)),
    }
}

/// `POST /FHIR/R4/Patient/{nhs}/$print-summary`: the clinician is printing (or saving as
/// PDF) the summary on their screen. Recorded as an audit entry of its own
/// (`summary-print`) before the app prints anything, so a paper copy of a record always has
/// its trail (the privacy officer finds it by searching the patient's AuditEvents). Needs
/// what `$summary` needs: a role that opens summaries and a legitimate relationship; a
/// dissent means there is nothing to print.
pub async fn print_summary(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (request, held) =
        patient_operation(&state, &headers, &id, AuditAction::SummaryPrint).await?;
    let (_, summary, consent) = held;
    if consent.as_ref().is_some_and(|c| c.preference.is_dissent()) || summary.is_none() {
        let e = ApiError::not_found(
            ErrorCode::NoSummaryHeld,
            "No summary is held for this patient, so there is nothing to print.",
        );
        return Err(request.refuse(e).await);
    }
    request.succeeded().await?;
    Ok(fhir_ok(
        StatusCode::OK,
        &informational_outcome("RECORDED", "The printing was recorded."),
    ))
}

/// What `$summary` checks before it looks at the record, for an operation that records
/// something about the patient (`$print-summary`, `$cp-attendance`): a role that opens
/// summaries, a patient the spine knows, a legitimate relationship (no new self-claim).
/// Refusals are recorded under `action`; the caller finishes the entry.
async fn patient_operation<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    id: &str,
    action: AuditAction,
) -> Result<
    (
        Audited<'a>,
        (
            scr_model::Demographics,
            Option<scr_model::Summary>,
            Option<scr_model::ConsentRecord>,
        ),
    ),
    ApiError,
> {
    let mut request =
        Audited::authorise(state, headers, action, &[Activity::B0370, Activity::B0168]).await?;
    let nhs = request.nhs_number(id).await?;
    let Some(held) = state.store.summary_view(nhs).await? else {
        return Err(request.unknown_patient().await);
    };
    match legitimate_relationship(state, &request, &held.0, false).await? {
        Some((basis, _)) => request.relationship = Some(basis),
        None => {
            let e = ApiError::forbidden(
                ErrorCode::NoLegitimateRelationship,
                "Your organisation has no recorded relationship with this patient.",
            );
            return Err(request.refuse(e).await);
        }
    }
    Ok((request, held))
}

/// `POST /FHIR/R4/Patient/{nhs}/$cp-attendance`: the clinician's "yes" to "Is the patient
/// attending an unscheduled care setting?", asked before the summary of a child on a child
/// protection plan. Recorded (an audit entry of the user's) and raised as an alert for the
/// privacy officer of the organisation responsible for the child — named by the plan the
/// spine holds, never by the caller. Needs a role that opens summaries and a legitimate
/// relationship, as `$summary` does.
pub async fn cp_attendance(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (mut request, (_, summary, _)) =
        patient_operation(&state, &headers, &id, AuditAction::CpAttendance).await?;
    let today = Utc::now().date_naive();
    let responsible = summary
        .as_ref()
        .and_then(|s| s.flags.child_protection.as_ref())
        .filter(|plan| plan.in_force_on(today))
        .and_then(|plan| plan.responsible_ods.clone());
    let Some(responsible) = responsible else {
        let e = ApiError::not_found(
            ErrorCode::NoChildProtectionPlan,
            "This patient has no child protection plan in force; no attendance was recorded.",
        );
        return Err(request.refuse(e).await);
    };
    request.alerts.push(AlertKind::ChildProtectionAttendance);
    request.alert_org = Some(responsible);
    request.succeeded().await?;
    Ok(fhir_ok(
        StatusCode::OK,
        &informational_outcome(
            "ATTENDANCE_RECORDED",
            "The attendance was recorded and the organisation responsible for the child has been notified.",
        ),
    ))
}

/// How far the viewer's clock may be from the spine's when it reports offline views.
const OFFLINE_CLOCK_SKEW_SECS: i64 = 300;

/// The answer to a FHIR document the spine refuses: issue type and error code (which
/// carries the status).
fn offline_views_refusal(e: &fhir::FhirError) -> (IssueType, ErrorCode) {
    use fhir::FhirError as F;
    let in_entry = matches!(e, F::Entry { .. });
    match e.innermost() {
        F::TooLarge { .. } => (IssueType::TooLong, ErrorCode::BundleTooLarge),
        F::TooManyEntries { .. } => (IssueType::TooLong, ErrorCode::TooManyEntries),
        F::InvalidNhsNumber(_) => (IssueType::Value, ErrorCode::InvalidNhsNumber),
        F::MissingNhsNumber => (IssueType::Required, ErrorCode::MissingNhsNumber),
        F::Missing(_) if in_entry => (IssueType::Required, ErrorCode::InvalidOfflineView),
        F::Invalid(_) if in_entry => (IssueType::Value, ErrorCode::InvalidOfflineView),
        F::NotJson(_) | F::WrongResourceType { .. } => {
            (IssueType::Structure, ErrorCode::InvalidBundle)
        }
        _ => (IssueType::Invalid, ErrorCode::InvalidBundle),
    }
}

/// `POST /FHIR/R4/AuditEvent`: the app reports views of offline copies (a `collection`
/// Bundle of AuditEvents) made while it was offline. Each view becomes one audit entry of
/// the session's user, role and organisation (nothing the body claims about who), with the
/// view's own times; an emergency view raises the privacy-officer alert. Idempotent by view
/// id: a view already recorded for this user is skipped. Whether the spine still holds a
/// summary for the patient does not matter: the view has already happened.
pub async fn report_offline_views(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let action = AuditAction::OfflineView;
    // The roles that may open summaries ($summary's check). The reason-specific activity is
    // not checked again: the copy was fetched under that check, and refusing now would only
    // keep a real access out of the trail.
    let request = Audited::authorise(
        &state,
        &headers,
        action,
        &[Activity::B0370, Activity::B0168],
    )
    .await?;
    let caller = &request.caller;
    let body = match read_body(body, crate::state::OFFLINE_VIEWS_BODY_BYTES).await {
        Ok(b) => b,
        Err(()) => {
            let e = ApiError::new(
            ErrorCode::BundleTooLarge,
            IssueType::TooLong,
                format!(
                    "The report is larger than this service accepts; send at most {} views per Bundle.",
                    fhir::MAX_OFFLINE_VIEWS
                ),
            );
            return Err(request.refuse(e).await);
        }
    };
    let views = match fhir::parse_offline_views_bundle(&body) {
        Ok(v) => v,
        Err(e) => {
            let (issue, code) = offline_views_refusal(&e);
            let err = ApiError::new(code, issue, format!("Nothing was recorded: {e}."));
            return Err(request.refuse(err).await);
        }
    };
    // The report is the client's word: hold it against what the spine knows. Times must be
    // in order and not in the future; a user may report only so many views a day; and each
    // view should follow a summary this user really fetched here at about the time the
    // copy says. One that does not is still recorded (the view may be real and the copy
    // older than the trail's retention of reads here), but marked and raised as an alert.
    let now = Utc::now();
    let skew = chrono::Duration::seconds(OFFLINE_CLOCK_SKEW_SECS);
    let max_age =
        chrono::Duration::hours(i64::from(scr_model::timing::MAX_OFFLINE_AGE_HOURS)) + skew;
    if let Some(bad) = views.iter().find(|v| {
        v.fetched_at > v.viewed_at + skew
            || v.viewed_at > now + skew
            || v.viewed_at - v.fetched_at > max_age
    }) {
        let err = ApiError::invalid(
            ErrorCode::InvalidOfflineView,
            format!(
                "Nothing was recorded: view {} is dated before its copy was fetched, in the future, or after any offline copy would have expired.",
                bad.id
            ),
        );
        return Err(request.refuse(err).await);
    }
    let day_ago = now.timestamp_millis() - 86_400_000;
    let reported = state
        .store
        .offline_views_since(&caller.user_id, day_ago)
        .await?;
    let quota = i64::from(state.config.offline_views_per_day);
    // Re-sent views are skipped later, so the report itself may overshoot by one Bundle;
    // past the quota, nothing more is taken for 24 hours.
    if reported >= quota || views.len() as i64 > quota {
        let mut err = ApiError::new(
            ErrorCode::OfflineViewQuota,
            IssueType::Throttled,
            format!("Nothing was recorded: at most {quota} offline views a day are accepted from one user; {reported} were reported in the last 24 hours."),
        );
        err.retry_after = Some(3600);
        return Err(request.refuse(err).await);
    }
    let (from, to) = views.iter().fold((i64::MAX, i64::MIN), |(lo, hi), v| {
        let t = v.fetched_at.timestamp_millis();
        (lo.min(t), hi.max(t))
    });
    let skew_ms = OFFLINE_CLOCK_SKEW_SECS * 1000;
    let reads = state
        .store
        .summary_reads(&caller.user_id, from - skew_ms, to + skew_ms)
        .await?;
    let mut entries = Vec::with_capacity(views.len());
    for v in views {
        let fetched = v.fetched_at.timestamp_millis();
        let digits = v.nhs_number.as_digits();
        let matched = reads
            .iter()
            .any(|(p, at)| *p == digits && (at - fetched).abs() <= skew_ms);
        // The parser accepts only known reasons.
        let Some(reason) = AccessReason::from_header(&v.reason) else {
            let err = ApiError::invalid(
                ErrorCode::InvalidOfflineView,
                "An access reason is not known.",
            );
            return Err(request.refuse(err).await);
        };
        let mut entry = caller.entry(action, Some(v.nhs_number), AuditOutcome::Success);
        entry.reason = Some(reason);
        // Emergency access always raises an alert for the privacy officer, offline too, and
        // so does a view the spine cannot match to a fetch.
        if reason == AccessReason::Emergency {
            entry.raise(AlertKind::EmergencyAccess);
        }
        if !matched {
            entry.raise(AlertKind::UnmatchedOfflineView);
        }
        entry.detail = Some(
            if matched {
                "CLIENT_REPORTED"
            } else {
                "CLIENT_REPORTED_UNMATCHED"
            }
            .to_string(),
        );
        entry.offline = Some(OfflineAccess {
            view_id: v.id,
            viewed_at: v.viewed_at,
            fetched_at: v.fetched_at,
        });
        entries.push(entry);
    }
    let done = state.audit.record_offline_views(entries).await?;
    Ok(fhir_ok(
        StatusCode::OK,
        &fhir::offline_views_outcome(done.recorded, done.already_recorded),
    ))
}

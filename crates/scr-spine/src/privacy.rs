//! The privacy officer's routes (roles with B0015 emergency-access alerts or B0016
//! self-claimed-relationship alerts): the audit trail of their organisations, the alerts
//! raised there, and the review of an alert. An officer sees only the organisations their
//! own role profiles receive alerts for; every search and review is itself audited.
//!
//! - `GET /FHIR/R4/AuditEvent?patient=&agent=&organization=&action=&alert=true&date=geD&date=leD&_count=`
//! - `GET /FHIR/R4/AuditEvent/$alerts?status=open|reviewed|all&patient=&agent=&organization=&date=…&_count=`
//! - `POST /FHIR/R4/AuditEvent/{id}/$review` with a `Parameters` body naming a `note`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use scr_model::access::clean_justification;
use scr_model::fhir::{self, AlertItem, AlertReview, IssueType};
use scr_model::{Activity, AlertKind, AuditAction, AuditOutcome, ErrorCode, NhsNumber};

use crate::api::{parse_nhs, query_pairs, Audited};
use crate::error::{fhir_ok, ApiError};
use crate::state::AppState;
use crate::store::{AlertFilter, AuditFilter};

/// The activities that make a privacy officer.
const OFFICER: [Activity; 2] = [Activity::B0015, Activity::B0016];

/// What an officer's search asked for.
#[derive(Debug, Default)]
struct TrailQuery {
    patient: Option<NhsNumber>,
    agent: Option<String>,
    organization: Option<String>,
    action: Option<AuditAction>,
    alerts_only: bool,
    /// `Some(false)` open, `Some(true)` reviewed, `None` all (alerts only).
    reviewed: Option<bool>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    limit: i64,
}

fn bad(message: &str) -> ApiError {
    ApiError::invalid(ErrorCode::InvalidSearchData, message.to_string())
}

/// A FHIR date or instant as milliseconds: `ge`/`le` bounds (`le` on a date takes the whole
/// day).
fn date_bound(value: &str) -> Result<(bool, i64), ApiError> {
    let (upper, raw) = if let Some(rest) = value.strip_prefix("le") {
        (true, rest)
    } else if let Some(rest) = value.strip_prefix("lt") {
        (true, rest)
    } else {
        (false, value.strip_prefix("ge").unwrap_or(value))
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        let ms = t.timestamp_millis();
        return Ok((upper, if upper { ms + 1 } else { ms }));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| bad("date must be a date (2026-03-12) or a date-time, with ge or le"))?;
    let day = if upper {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    let ms = day
        .and_hms_opt(0, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t).timestamp_millis())
        .ok_or_else(|| bad("date is out of range"))?;
    Ok((upper, ms))
}

fn parse_query(raw: Option<String>, alerts: bool) -> Result<TrailQuery, ApiError> {
    let mut q = TrailQuery {
        limit: 100,
        reviewed: alerts.then_some(false),
        ..TrailQuery::default()
    };
    for (k, v) in query_pairs(raw) {
        match k.as_str() {
            "patient" => q.patient = Some(parse_nhs(v.trim_start_matches("Patient/"))?),
            "agent" => q.agent = Some(v),
            "organization" => q.organization = Some(v),
            "since" | "date" => {
                let (upper, ms) = date_bound(&v)?;
                if upper {
                    q.until_ms = Some(ms);
                } else {
                    q.since_ms = Some(ms);
                }
            }
            "_count" => match v.parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => q.limit = n,
                _ => return Err(bad("_count must be between 1 and 1000")),
            },
            "action" if !alerts => {
                q.action = Some(AuditAction::from_code(&v).ok_or_else(|| bad("unknown action"))?)
            }
            "alert" if !alerts => match v.as_str() {
                "true" => q.alerts_only = true,
                "false" => {}
                _ => return Err(bad("alert must be true or false")),
            },
            "status" if alerts => {
                q.reviewed = match v.as_str() {
                    "open" => Some(false),
                    "reviewed" => Some(true),
                    "all" => None,
                    _ => return Err(bad("status must be open, reviewed or all")),
                }
            }
            _ => return Err(bad("unsupported search parameter")),
        }
    }
    Ok(q)
}

/// The organisations this officer answers for (their profiles that receive alerts), or
/// the one asked for if it is among them.
async fn officer_orgs(
    state: &AppState,
    request: &Audited<'_>,
    asked: Option<&str>,
) -> Result<Result<Vec<String>, ApiError>, ApiError> {
    let mut orgs: Vec<String> = state
        .store
        .role_profiles(&request.caller.user_id)
        .await?
        .into_iter()
        .filter(|p| OFFICER.iter().any(|a| p.allows(*a)))
        .map(|p| p.org_ods)
        .collect();
    orgs.sort();
    orgs.dedup();
    Ok(match asked {
        None => Ok(orgs),
        Some(org) if orgs.iter().any(|o| o == org) => Ok(vec![org.to_string()]),
        Some(_) => Err(ApiError::forbidden(
            ErrorCode::NotPermittedForRole,
            "You are not a privacy officer for that organisation.",
        )),
    })
}

/// Authorises an officer's request and works out what it may see.
async fn officer_request<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    action: AuditAction,
    raw: Option<String>,
    alerts: bool,
) -> Result<(Audited<'a>, TrailQuery, Vec<String>), ApiError> {
    let mut request = Audited::authorise(state, headers, action, &OFFICER).await?;
    let query = match parse_query(raw, alerts) {
        Ok(q) => q,
        Err(e) => return Err(request.refuse(e).await),
    };
    if let Some(p) = query.patient {
        request.about(p);
    }
    let orgs = match officer_orgs(state, &request, query.organization.as_deref()).await? {
        Ok(orgs) => orgs,
        Err(e) => return Err(request.refuse(e).await),
    };
    Ok((request, query, orgs))
}

/// `GET /FHIR/R4/AuditEvent`: the trail of the officer's organisations ("who has viewed
/// this record", a user's accesses around an alert).
pub async fn audit_events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (request, q, orgs) =
        officer_request(&state, &headers, AuditAction::AuditRead, raw, false).await?;
    let filter = AuditFilter {
        patient: q.patient,
        user_id: q.agent,
        action: q.action,
        alerts_only: q.alerts_only,
        since_ms: q.since_ms,
        until_ms: q.until_ms,
        orgs,
        limit: q.limit,
        ..AuditFilter::default()
    };
    let records = state.store.audit_records(&filter).await?;
    request.succeeded().await?;
    Ok(fhir_ok(StatusCode::OK, &fhir::audit_searchset(&records)))
}

/// The kinds this officer's role receives: B0015 emergency access, B0016 self-claimed
/// relationships; the rest (volume, offline views, child protection) go to either.
fn receives(request: &Audited<'_>, kind: AlertKind) -> bool {
    match kind {
        AlertKind::EmergencyAccess => request.role.allows(Activity::B0015),
        AlertKind::SelfClaimedRelationship => request.role.allows(Activity::B0016),
        _ => true,
    }
}

/// `GET /FHIR/R4/AuditEvent/$alerts`: the alerts raised in the officer's organisations,
/// newest first, open ones by default.
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (request, q, orgs) =
        officer_request(&state, &headers, AuditAction::AuditRead, raw, true).await?;
    let rows = state
        .store
        .alerts(&AlertFilter {
            orgs,
            reviewed: q.reviewed,
            user_id: q.agent,
            patient: q.patient,
            since_ms: q.since_ms,
            until_ms: q.until_ms,
            limit: q.limit,
        })
        .await?;
    // One item per raising entry, in the rows' order (newest first).
    let mut seqs: Vec<i64> = Vec::new();
    for r in &rows {
        if receives(&request, r.kind) && !seqs.contains(&r.seq) {
            seqs.push(r.seq);
        }
    }
    let records = if seqs.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .audit_records(&AuditFilter {
                seqs: seqs.clone(),
                limit: seqs.len() as i64,
                ..AuditFilter::default()
            })
            .await?
    };
    let mut items = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let Some(record) = records.iter().find(|r| r.seq == seq) else {
            continue;
        };
        let of_entry: Vec<_> = rows.iter().filter(|r| r.seq == seq).collect();
        let review = of_entry.iter().find_map(|r| {
            let at = Utc.timestamp_millis_opt(r.reviewed_at_ms?).single()?;
            Some(AlertReview {
                reviewed_by: r.reviewed_by.clone().unwrap_or_default(),
                reviewed_at: at,
                note: r.note.clone().unwrap_or_default(),
            })
        });
        items.push(AlertItem {
            record: record.clone(),
            kinds: of_entry
                .iter()
                .map(|r| r.kind)
                .filter(|k| receives(&request, *k))
                .collect(),
            review,
        });
    }
    request.succeeded().await?;
    Ok(fhir_ok(StatusCode::OK, &fhir::alert_searchset(&items)))
}

/// The note of a review: a FHIR `Parameters` resource with a `note` (`valueString`).
fn review_note(body: &[u8]) -> Result<String, ApiError> {
    let refused = || {
        ApiError::new(
            ErrorCode::ReviewNoteRequired,
            IssueType::Required,
            "Send a Parameters resource with a note (valueString) of at most 500 characters.",
        )
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| refused())?;
    if value.get("resourceType").and_then(|v| v.as_str()) != Some("Parameters") {
        return Err(refused());
    }
    let note = value
        .get("parameter")
        .and_then(|p| p.as_array())
        .and_then(|list| {
            list.iter()
                .find(|p| p.get("name").and_then(|n| n.as_str()) == Some("note"))
        })
        .and_then(|p| p.get("valueString"))
        .and_then(|v| v.as_str())
        .ok_or_else(refused)?;
    clean_justification(note).map_err(|_| refused())
}

/// `POST /FHIR/R4/AuditEvent/{id}/$review`: marks the alerts that entry raised (in the
/// officer's organisations) reviewed, with a note. The review is audited with the note.
pub async fn review(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (mut request, _, orgs) =
        officer_request(&state, &headers, AuditAction::AlertReview, None, true).await?;
    let seq = id
        .trim_start_matches("audit-")
        .parse::<i64>()
        .ok()
        .filter(|s| *s > 0);
    let alerts = match seq {
        Some(seq) => state.store.alerts_of_entry(seq, &orgs).await?,
        None => Vec::new(),
    };
    let alerts: Vec<_> = alerts
        .into_iter()
        .filter(|a| receives(&request, a.kind))
        .collect();
    let (Some(seq), false) = (seq, alerts.is_empty()) else {
        let e = ApiError::not_found(
            ErrorCode::AlertNotFound,
            "There is no such alert for your organisations.",
        );
        return Err(request.refuse(e).await);
    };
    if let Some(p) = alerts
        .iter()
        .find_map(|a| a.patient.as_deref().and_then(|p| NhsNumber::parse(p).ok()))
    {
        request.about(p);
    }
    let already = || {
        ApiError::new(
            ErrorCode::AlertAlreadyReviewed,
            IssueType::Conflict,
            "This alert has already been reviewed.",
        )
    };
    if alerts.iter().all(|a| a.reviewed_at_ms.is_some()) {
        return Err(request.refuse(already()).await);
    }
    let note = match review_note(&body) {
        Ok(note) => note,
        Err(e) => return Err(request.refuse(e).await),
    };
    request.justification = Some(note.clone());
    let mut entry = request.entry(request.patient, AuditOutcome::Success);
    entry.detail = Some(format!("audit-{seq}"));
    if !state.audit.review_alert(seq, &note, entry).await? {
        return Err(request.refuse(already()).await);
    }
    Ok(fhir_ok(
        StatusCode::OK,
        &fhir::operation_outcome(
            IssueType::Informational,
            "REVIEWED",
            "The alert is marked reviewed.",
        ),
    ))
}

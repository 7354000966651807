//! Row types and the conversions between stored columns and model types.

use chrono::{NaiveDate, TimeZone, Utc};
use scr_model::{
    AccessReason, Activity, AlertKind, AuditAction, AuditEntry, AuditOutcome, AuditRecord,
    ConsentRecord, Demographics, NhsNumber, OfflineAccess, RelationshipBasis, RoleProfile,
    SharingPreference, Summary,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{StoreError, StoreResult};
use crate::pki::CertificateId;

/// A result row read by column name, from either driver: sqlx's (`AnyRow`) or the SQLite
/// hot path's (`rusqlite::Row`, `super::local`), so a row's conversion is written once.
pub trait Columns {
    fn text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<Option<i64>>;

    /// A column that must not be NULL.
    fn required_text(&self, column: &str) -> StoreResult<String> {
        self.text(column)?
            .ok_or_else(|| corrupt(format!("{column} is missing")))
    }

    fn required_int(&self, column: &str) -> StoreResult<i64> {
        self.int(column)?
            .ok_or_else(|| corrupt(format!("{column} is missing")))
    }
}

impl Columns for AnyRow {
    fn text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }
}

/// A patient to bulk-load: demographics, an optional current summary, an optional preference.
pub struct PatientRow {
    pub demographics: Demographics,
    pub summary: Option<Summary>,
    pub consent: Option<ConsentRecord>,
}

pub struct Challenge {
    pub id: String,
    /// The DER certificate the challenge was issued for.
    pub certificate: Vec<u8>,
    pub nonce: Vec<u8>,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub struct StaffIdentity {
    pub user_id: String,
    pub name: String,
    pub revoked: bool,
}

/// A registered certificate, for operators.
#[derive(Clone, Debug)]
pub struct CertificateRow {
    pub id: CertificateId,
    pub user_id: String,
    pub name: String,
    pub revoked: bool,
    pub live_sessions: i64,
}

/// A session as the request path needs it: who, in which role, and its clocks.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user_id: String,
    pub user_name: String,
    pub role: Option<RoleProfile>,
    pub last_seen: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub patient: Option<NhsNumber>,
    pub user_id: Option<String>,
    pub action: Option<AuditAction>,
    pub alerts_only: bool,
    pub since_ms: Option<i64>,
    /// Entries before this time (ms).
    pub until_ms: Option<i64>,
    /// Only entries of users acting for these organisations (empty: any).
    pub orgs: Vec<String>,
    /// Only these entries (empty: any).
    pub seqs: Vec<i64>,
    pub after_seq: Option<i64>,
    pub ascending: bool,
    pub limit: i64,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub fn demographics(json: &str) -> StoreResult<Demographics> {
    serde_json::from_str(json).map_err(corrupt)
}

pub fn preference_code(p: SharingPreference) -> &'static str {
    match p {
        SharingPreference::ImpliedConsentCore => "implied-consent-core",
        SharingPreference::ExpressConsentCore => "express-consent-core",
        SharingPreference::ExpressConsentCoreAndAdditional => "express-consent-core-additional",
        SharingPreference::Dissent => "dissent",
    }
}

pub(crate) fn preference_from_code(code: &str) -> StoreResult<SharingPreference> {
    [
        SharingPreference::ImpliedConsentCore,
        SharingPreference::ExpressConsentCore,
        SharingPreference::ExpressConsentCoreAndAdditional,
        SharingPreference::Dissent,
    ]
    .into_iter()
    .find(|p| preference_code(*p) == code)
    .ok_or_else(|| corrupt(format!("unknown preference {code:?}")))
}

/// The consent columns of a row (`preference`, `code`, `recorded`, `recorded_by_ods`).
pub fn consent(row: &(impl Columns + ?Sized)) -> StoreResult<Option<ConsentRecord>> {
    let Some(preference) = row.text("preference")? else {
        return Ok(None);
    };
    let recorded = row.text("recorded")?.unwrap_or_default();
    Ok(Some(ConsentRecord {
        preference: preference_from_code(&preference)?,
        code: row.text("code")?.unwrap_or_default(),
        recorded: NaiveDate::parse_from_str(&recorded, "%Y-%m-%d").map_err(corrupt)?,
        recorded_by_ods: row.text("recorded_by_ods")?,
    }))
}

pub fn role_profile(row: &AnyRow) -> StoreResult<RoleProfile> {
    let activities: String = row.try_get("activities")?;
    Ok(RoleProfile {
        id: row.try_get("id")?,
        role_code: row.try_get("role_code")?,
        role_name: row.try_get("role_name")?,
        org_ods: row.try_get("org_ods")?,
        org_name: row.try_get("org_name")?,
        activities: serde_json::from_str::<Vec<Activity>>(&activities).map_err(corrupt)?,
    })
}

pub fn session(row: &(impl Columns + ?Sized)) -> StoreResult<SessionRow> {
    let role = match (row.text("role_profile_id")?, row.text("role_code")?) {
        (Some(id), Some(role_code)) => Some(RoleProfile {
            id,
            role_code,
            role_name: row.text("role_name")?.unwrap_or_default(),
            org_ods: row.text("org_ods")?.unwrap_or_default(),
            org_name: row.text("org_name")?.unwrap_or_default(),
            activities: serde_json::from_str(&row.text("activities")?.unwrap_or_default())
                .map_err(corrupt)?,
        }),
        _ => None,
    };
    Ok(SessionRow {
        user_id: row.required_text("user_id")?,
        user_name: row.required_text("name")?,
        role,
        last_seen: row.required_int("last_seen")?,
        expires_at: row.required_int("expires_at")?,
        revoked: row.required_int("revoked")? != 0,
    })
}

fn instant_ms(ms: i64) -> StoreResult<chrono::DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| corrupt("timestamp"))
}

/// The offline-view columns: all three or none.
fn offline_access(row: &AnyRow) -> StoreResult<Option<OfflineAccess>> {
    let view_id = row.try_get::<Option<String>, _>("view_id")?;
    let viewed_at = row.try_get::<Option<i64>, _>("viewed_at")?;
    let fetched_at = row.try_get::<Option<i64>, _>("fetched_at")?;
    match (view_id, viewed_at, fetched_at) {
        (None, None, None) => Ok(None),
        (Some(view_id), Some(viewed), Some(fetched)) => Ok(Some(OfflineAccess {
            view_id,
            viewed_at: instant_ms(viewed)?,
            fetched_at: instant_ms(fetched)?,
        })),
        _ => Err(corrupt("offline view columns partly empty")),
    }
}

/// The alert kinds of an audit row (space-separated codes, or NULL).
fn alert_kinds(codes: Option<String>) -> StoreResult<Vec<AlertKind>> {
    codes
        .unwrap_or_default()
        .split_whitespace()
        .map(|c| AlertKind::from_code(c).ok_or_else(|| corrupt(format!("alert kind {c:?}"))))
        .collect()
}

/// The column form of alert kinds.
pub fn alert_codes(kinds: &[AlertKind]) -> Option<String> {
    if kinds.is_empty() {
        return None;
    }
    Some(kinds.iter().map(|k| k.code()).collect::<Vec<_>>().join(" "))
}

pub fn audit_record(row: &AnyRow) -> StoreResult<AuditRecord> {
    let at_ms: i64 = row.try_get("at")?;
    let action: String = row.try_get("action")?;
    let outcome: String = row.try_get("outcome")?;
    let patient = row
        .try_get::<Option<String>, _>("patient")?
        .map(|p| NhsNumber::parse(&p).map_err(corrupt))
        .transpose()?;
    let reason = row
        .try_get::<Option<String>, _>("reason")?
        .map(|r| AccessReason::from_header(&r).ok_or_else(|| corrupt(format!("reason {r:?}"))))
        .transpose()?;
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: Utc
            .timestamp_millis_opt(at_ms)
            .single()
            .ok_or_else(|| corrupt("timestamp"))?,
        entry: AuditEntry {
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("user_name")?,
            role_code: row.try_get("role_code")?,
            org_ods: row.try_get("org_ods")?,
            patient,
            action: AuditAction::from_code(&action)
                .ok_or_else(|| corrupt(format!("action {action:?}")))?,
            reason,
            outcome: AuditOutcome::from_code(&outcome)
                .ok_or_else(|| corrupt(format!("outcome {outcome:?}")))?,
            detail: row.try_get("detail")?,
            alert: row.try_get::<i64, _>("alert")? != 0,
            offline: offline_access(row)?,
            relationship: row
                .try_get::<Option<String>, _>("relationship")?
                .map(|r| {
                    RelationshipBasis::from_code(&r)
                        .ok_or_else(|| corrupt(format!("relationship {r:?}")))
                })
                .transpose()?,
            justification: row.try_get("justification")?,
            alerts: alert_kinds(row.try_get("alerts")?)?,
            alert_org: row.try_get("alert_org")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

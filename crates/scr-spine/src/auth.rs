//! Smartcard sign-in (certificate + signature over a fresh nonce; no passwords), sessions
//! held only as token hashes with idle and absolute expiry, and the per-request check of
//! session and role activity. Every refusal is audited.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{TimeZone, Utc};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::Signature;
use rand::RngCore;
use scr_model::fhir::IssueType;
use scr_model::signing::{self, SIGN_IN_NONCE_LEN};
use scr_model::{Activity, AuditAction, AuditOutcome, ErrorCode, NhsNumber, RoleProfile};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::AuditEntry;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{now_ms, Challenge};

/// Refresh `last_seen` at most this often: idle expiry needs minutes, not milliseconds, and
/// each refresh is a write.
const TOUCH_INTERVAL_MS: i64 = 30_000;

/// How stale `last_seen` may be before a request refreshes it: [`TOUCH_INTERVAL_MS`], or a
/// quarter of a shorter idle timeout. With a fixed 30 s, a spine set to an idle timeout
/// under 30 s never refreshed a session at all, and ended busy sessions mid-use.
fn touch_interval_ms(idle_secs: i64) -> i64 {
    TOUCH_INTERVAL_MS.min(idle_secs.saturating_mul(1000) / 4)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| {
        ApiError::invalid(
            ErrorCode::InvalidRequest,
            "The request body is not the JSON this call expects.",
        )
    })
}

/// A refusal during sign-in. One that names a registered user is a chained entry of its own
/// (a wrong signature on a real card, a revoked card); one that names nobody is counted in
/// the writer's refusal tally, since anyone can cause it at line rate. The trail records the
/// answer's code.
async fn refuse_sign_in(state: &AppState, user: Option<(&str, &str)>, err: ApiError) -> ApiError {
    let detail = err.code.as_str();
    refuse_sign_in_noting(state, user, detail, err).await
}

/// [`refuse_sign_in`], recording `detail` where the trail knows more than the answer says
/// (an unregistered certificate is answered as one not accepted).
async fn refuse_sign_in_noting(
    state: &AppState,
    user: Option<(&str, &str)>,
    code: &'static str,
    err: ApiError,
) -> ApiError {
    if user.is_none() {
        state.audit.count_refusal(AuditAction::SignIn, code);
        return err;
    }
    let entry = AuditEntry {
        user_id: user.map(|u| u.0.to_string()),
        user_name: user.map(|u| u.1.to_string()),
        role_code: None,
        org_ods: None,
        patient: None,
        action: AuditAction::SignIn,
        reason: None,
        outcome: AuditOutcome::Refused,
        detail: Some(code.to_string()),
        alert: false,
        offline: None,
        relationship: None,
        justification: None,
        alerts: Vec::new(),
        alert_org: None,
    };
    match state.audit.append(vec![entry]).await {
        Ok(()) => err,
        Err(e) => ApiError::from(e),
    }
}

#[derive(Deserialize)]
struct ChallengeRequest {
    certificate: String,
}

/// `POST /auth/challenge`: a fresh single-use nonce bound to the presented certificate.
pub async fn challenge(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ChallengeRequest = parse_body(&body)?;
    let der = STANDARD.decode(req.certificate.trim()).map_err(|_| {
        ApiError::invalid(
            ErrorCode::InvalidCertificate,
            "certificate must be base64 DER",
        )
    })?;
    // A card signs in a few times a day; a public certificate replayed in a loop must not
    // fill the challenge table or the trail.
    if let Err(wait) = state.sign_in_limits.check_certificate(&der) {
        state
            .audit
            .count_refusal(AuditAction::SignIn, ErrorCode::TooManyRequests.as_str());
        return Err(ApiError::rate_limited(wait));
    }
    if let Err(rejected) = state.trust.verify(&der, Utc::now()) {
        let err = ApiError::new(
            ErrorCode::CertificateNotAccepted,
            IssueType::Security,
            rejected.to_string(),
        );
        return Err(refuse_sign_in(&state, None, err).await);
    }
    let mut nonce = vec![0u8; SIGN_IN_NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let expires_at = now_ms() + state.config.challenge_secs * 1000;
    let challenge = Challenge {
        id: random_b64(18),
        certificate: der,
        nonce: nonce.clone(),
        expires_at,
    };
    state.store.insert_challenge(&challenge).await?;
    Ok(Json(json!({
        "challenge_id": challenge.id,
        "nonce": STANDARD.encode(nonce),
        "expires_at": iso(expires_at),
    }))
    .into_response())
}

#[derive(Deserialize)]
struct SessionRequest {
    challenge_id: String,
    signature: String,
}

/// `POST /auth/session`: checks the certificate again (chain, dates, revocation) and the
/// ECDSA P-256 signature over SHA-256 of the sign-in message (label, one of this spine's
/// origins, challenge id, nonce: `scr_model::signing::sign_in_message`), then opens a session.
pub async fn create_session(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: SessionRequest = parse_body(&body)?;
    let refused = |code: ErrorCode, msg: &str| ApiError::new(code, IssueType::Security, msg);
    let Some(challenge) = state.store.take_challenge(&req.challenge_id).await? else {
        let err = refused(
            ErrorCode::ChallengeInvalid,
            "The challenge is unknown or has already been used. Start sign-in again.",
        );
        return Err(refuse_sign_in(&state, None, err).await);
    };
    if challenge.expires_at < now_ms() {
        let err = refused(
            ErrorCode::ChallengeExpired,
            "The challenge has expired. Start sign-in again.",
        );
        return Err(refuse_sign_in(&state, None, err).await);
    }
    let verified = match state.trust.verify(&challenge.certificate, Utc::now()) {
        Ok(v) => v,
        Err(rejected) => {
            let err = refused(ErrorCode::CertificateNotAccepted, &rejected.to_string());
            return Err(refuse_sign_in(&state, None, err).await);
        }
    };
    let Some(identity) = state.store.identity_for_certificate(&verified.id).await? else {
        let err = refused(
            ErrorCode::CertificateNotAccepted,
            "The certificate is not registered to any user.",
        );
        return Err(refuse_sign_in_noting(&state, None, "CERTIFICATE_UNREGISTERED", err).await);
    };
    let who = Some((identity.user_id.as_str(), identity.name.as_str()));
    if identity.revoked {
        let err = refused(
            ErrorCode::CertificateRevoked,
            "The certificate has been revoked.",
        );
        return Err(refuse_sign_in(&state, who, err).await);
    }
    let signature = STANDARD
        .decode(req.signature.trim())
        .ok()
        .and_then(|b| Signature::from_der(&b).ok());
    // The card signs the labelled sign-in message naming the origin the viewer talked to
    // (`scr_model::signing`); a signature for any other origin is a relayed sign-in.
    let good = match (
        signature,
        <[u8; SIGN_IN_NONCE_LEN]>::try_from(challenge.nonce.as_slice()),
    ) {
        (Some(s), Ok(nonce)) => state.origins.iter().any(|origin| {
            let message = signing::sign_in_message(origin, &challenge.id, &nonce);
            verified.key.verify(&message, &s).is_ok()
        }),
        _ => false,
    };
    if !good {
        let err = refused(
            ErrorCode::SignatureInvalid,
            "The signature over the challenge is not valid for this certificate.",
        );
        return Err(refuse_sign_in(&state, who, err).await);
    }

    let profiles = state.store.role_profiles(&identity.user_id).await?;
    let token = random_b64(32);
    let now = now_ms();
    let expires_at = now + state.config.session_absolute_secs * 1000;
    state
        .store
        .insert_session_for(
            &token_hash(&token),
            &identity.user_id,
            Some(&verified.id),
            now,
            expires_at,
        )
        .await?;
    state
        .audit
        .append(vec![AuditEntry {
            user_id: Some(identity.user_id.clone()),
            user_name: Some(identity.name.clone()),
            role_code: None,
            org_ods: None,
            patient: None,
            action: AuditAction::SignIn,
            reason: None,
            outcome: AuditOutcome::Success,
            detail: None,
            alert: false,
            offline: None,
            relationship: None,
            justification: None,
            alerts: Vec::new(),
            alert_org: None,
        }])
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "session_token": token,
            "user": { "user_id": identity.user_id, "name": identity.name },
            "role_profiles": profiles,
            "expires_at": iso(expires_at),
            "idle_timeout_secs": state.config.session_idle_secs,
        })),
    )
        .into_response())
}

/// The signed-in caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token_hash: String,
    pub user_id: String,
    pub user_name: String,
    pub role: Option<RoleProfile>,
}

impl Caller {
    pub fn entry(
        &self,
        action: AuditAction,
        patient: Option<NhsNumber>,
        outcome: AuditOutcome,
    ) -> AuditEntry {
        AuditEntry {
            user_id: Some(self.user_id.clone()),
            user_name: Some(self.user_name.clone()),
            role_code: self.role.as_ref().map(|r| r.role_code.clone()),
            org_ods: self.role.as_ref().map(|r| r.org_ods.clone()),
            patient,
            action,
            reason: None,
            outcome,
            detail: None,
            alert: false,
            offline: None,
            relationship: None,
            justification: None,
            alerts: Vec::new(),
            alert_org: None,
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Resolves the session behind the request's bearer token, enforcing revocation and the idle
/// and absolute expiry.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    resolve(state, headers, Touch::WhenStale).await
}

/// When a request refreshes its session's `last_seen`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Touch {
    /// Only once it is older than [`touch_interval_ms`] (ordinary requests).
    WhenStale,
    /// Always (the keep-alive, whose whole point is the refresh).
    Always,
}

async fn resolve(state: &AppState, headers: &HeaderMap, touch: Touch) -> Result<Caller, ApiError> {
    let token = bearer(headers)
        .ok_or_else(|| ApiError::unauthenticated("Sign in with your smartcard first."))?;
    let hash = token_hash(token);
    let Some(session) = state.store.session(&hash).await? else {
        return Err(ApiError::unauthenticated(
            "The session is not known. Sign in again.",
        ));
    };
    let now = now_ms();
    if session.revoked {
        return Err(ApiError::new(
            ErrorCode::SessionEnded,
            IssueType::Expired,
            "The session has ended. Sign in again.",
        ));
    }
    let idle_expired = now - session.last_seen > state.config.session_idle_secs * 1000;
    if now > session.expires_at || idle_expired {
        state.store.revoke_session(&hash).await?;
        return Err(ApiError::new(
            ErrorCode::SessionExpired,
            IssueType::Expired,
            "The session has expired. Sign in again.",
        ));
    }
    if touch == Touch::Always
        || now - session.last_seen > touch_interval_ms(state.config.session_idle_secs)
    {
        state.store.touch_session(&hash, now).await?;
    }
    Ok(Caller {
        token_hash: hash,
        user_id: session.user_id,
        user_name: session.user_name,
        role: session.role,
    })
}

/// The caller, in a role that has one of `activities`; refusals are audited as `action`.
pub async fn authorise(
    state: &AppState,
    headers: &HeaderMap,
    action: AuditAction,
    patient: Option<NhsNumber>,
    activities: &[Activity],
) -> Result<(Caller, RoleProfile), ApiError> {
    let caller = match caller(state, headers).await {
        Ok(c) => c,
        // No valid session: counted, not chained one by one (see `RefusalTally`). A store
        // failure is not a refusal and goes back as it is.
        Err(err) if err.status() == StatusCode::UNAUTHORIZED => {
            state.audit.count_refusal(action, err.code.as_str());
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    let err = match &caller.role {
        None => ApiError::forbidden(
            ErrorCode::RoleNotSelected,
            "Choose a role for this session first.",
        ),
        Some(role) if activities.iter().any(|a| role.allows(*a)) => {
            let role = role.clone();
            return Ok((caller, role));
        }
        Some(_) => ApiError::forbidden(
            ErrorCode::NotPermittedForRole,
            "Your selected role does not allow this.",
        ),
    };
    let mut entry = caller.entry(action, patient, AuditOutcome::Refused);
    entry.detail = Some(err.code.as_str().to_string());
    state.audit.append(vec![entry]).await?;
    Err(err)
}

#[derive(Deserialize)]
struct RoleRequest {
    role_profile_id: String,
}

/// `PUT /auth/session/role`: every later call acts in this role.
pub async fn select_role(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = caller(&state, &headers).await?;
    let req: RoleRequest = parse_body(&body)?;
    let profiles = state.store.role_profiles(&caller.user_id).await?;
    let Some(profile) = profiles.into_iter().find(|p| p.id == req.role_profile_id) else {
        let mut entry = caller.entry(AuditAction::SelectRole, None, AuditOutcome::Refused);
        let err = ApiError::forbidden(
            ErrorCode::RoleNotHeld,
            "That role profile is not one of yours.",
        );
        entry.detail = Some(err.code.as_str().into());
        state.audit.append(vec![entry]).await?;
        return Err(err);
    };
    let mut entry = caller.entry(AuditAction::SelectRole, None, AuditOutcome::Success);
    entry.role_code = Some(profile.role_code.clone());
    entry.org_ods = Some(profile.org_ods.clone());
    // The role and its entry commit together: never a role in force that the trail lacks.
    state
        .audit
        .select_role(&caller.token_hash, &profile.id, entry)
        .await?;
    Ok(Json(json!({ "role_profile": profile })).into_response())
}

/// `DELETE /auth/session`: ends the session (the app also calls this when the card is pulled).
pub async fn end_session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&state, &headers).await?;
    state.store.revoke_session(&caller.token_hash).await?;
    state
        .audit
        .append(vec![caller.entry(
            AuditAction::SignOut,
            None,
            AuditOutcome::Success,
        )])
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /auth/session/keep-alive`: the user is still there ("Stay signed in", or input in
/// the app while no request was made), so the session's idle clock starts again. A session
/// that has ended, expired or is unknown is refused as any request would be (401), counted
/// in the refusal tally. Needs no role: the role screen idles too. A success is not chained:
/// it is a heartbeat, not an access to anything, and active users send one a minute.
pub async fn keep_alive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match resolve(&state, &headers, Touch::Always).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(err) if err.status() == StatusCode::UNAUTHORIZED => {
            state
                .audit
                .count_refusal(AuditAction::KeepAlive, err.code.as_str());
            Err(err)
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_idle_timeouts_are_refreshed_well_within_them() {
        assert_eq!(touch_interval_ms(15 * 60), TOUCH_INTERVAL_MS);
        assert_eq!(touch_interval_ms(20), 5_000);
        assert_eq!(touch_interval_ms(1), 250);
    }
}

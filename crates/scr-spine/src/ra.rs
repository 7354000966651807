//! The registration authority over HTTPS (`/ra/…`), for a signed-in role with the local
//! activity `RA-MANAGE`: list and register users, list, add and remove their role profiles,
//! list cards and revoke one (which ends its live sessions). Cards are not issued here: a
//! card's private keys are made where the card is written (`scr-spine card issue`).
//!
//! Each handler authorises through `Audited::authorise` (a refusal is audited), checks the
//! body (a bad one is an audited refusal), then hands the change to the audit writer, which
//! applies it and records it in one transaction (`crate::registration`). Bodies and answers
//! are `scr_model::registration`'s types, which the viewer's client reads.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use scr_model::registration::{
    CardList, CardRef, CardRevoked, RoleProfileAdded, RoleProfileRemoved, UserList, UserRef,
    UserRegistered, UserRoleProfiles,
};
use scr_model::{Activity, AuditAction, AuditOutcome, ErrorCode};
use serde::de::DeserializeOwned;

use crate::api::Audited;
use crate::error::ApiError;
use crate::registration::{
    self, Applied, CardRevocation, CardView, Change, NewRoleProfile, NewUser, Refusal,
    RegistrationJob,
};
use crate::state::AppState;

/// The activities that open the registration authority's routes.
const RA: &[Activity] = &[Activity::RaManage];

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|_| {
        ApiError::invalid(
            ErrorCode::InvalidRequest,
            "The request body is not the JSON this call expects.",
        )
    })
}

impl Audited<'_> {
    /// The body, or an audited `INVALID_REQUEST`.
    async fn body<T: DeserializeOwned>(&self, bytes: &Bytes) -> Result<T, ApiError> {
        match body(bytes) {
            Ok(b) => Ok(b),
            Err(e) => Err(self.refuse(e).await),
        }
    }

    /// The checked change, or its audited refusal.
    async fn checked(&self, change: Result<Change, Refusal>) -> Result<Change, ApiError> {
        match change {
            Ok(c) => Ok(c),
            Err(r) => Err(self.refuse(r.into()).await),
        }
    }

    /// Applies the change with its entry in one transaction on the audit writer (which
    /// records a refusal found there too).
    async fn apply(&self, state: &AppState, change: Change) -> Result<Applied, ApiError> {
        let job = RegistrationJob {
            change,
            by: self.caller.user_id.clone(),
        };
        let entry = self.entry(None, AuditOutcome::Success);
        let applied = state.audit.register(job, entry).await?;
        Ok(applied)
    }

    /// An RA may not give themselves roles (nor take away the ones that might be checked
    /// on them): that is another RA's decision.
    async fn not_own(&self, user_id: &str) -> Result<(), ApiError> {
        if user_id.trim() == self.caller.user_id {
            let e = ApiError::forbidden(
                ErrorCode::OwnRoleChange,
                "You may not add or remove your own role profiles; ask another registration authority agent.",
            );
            return Err(self.refuse(e).await);
        }
        Ok(())
    }
}

/// `GET /ra/users`
pub async fn list_users(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut request =
        Audited::authorise(&state, &headers, AuditAction::RegistrationRead, RA).await?;
    request.noting("list=users");
    let users = state.store.users().await?;
    request.succeeded().await?;
    Ok(Json(UserList { users }).into_response())
}

/// `POST /ra/users` `{user_id, name}`
pub async fn register_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(&state, &headers, AuditAction::UserRegister, RA).await?;
    let new: NewUser = request.body(&bytes).await?;
    request.noting(format!("subject={}", new.user_id.trim()));
    let change = request.checked(registration::register_user(&new)).await?;
    let applied = request.apply(&state, change).await?;
    applied.result?;
    Ok((
        StatusCode::CREATED,
        Json(UserRegistered {
            user: UserRef {
                user_id: applied.subject_id,
                name: applied.subject_name,
            },
        }),
    )
        .into_response())
}

/// `GET /ra/users/{user}/role-profiles`
pub async fn list_role_profiles(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let mut request =
        Audited::authorise(&state, &headers, AuditAction::RegistrationRead, RA).await?;
    request.noting(format!("list=role-profiles subject={}", user.trim()));
    let user_id = match registration::user_id(&user) {
        Ok(u) => u,
        Err(r) => return Err(request.refuse(r.into()).await),
    };
    let Some(name) = state.store.user_name(&user_id).await? else {
        let e = ApiError::not_found(
            ErrorCode::UserNotFound,
            format!("No user is registered as {user_id}."),
        );
        return Err(request.refuse(e).await);
    };
    let profiles = state.store.role_profiles(&user_id).await?;
    request.succeeded().await?;
    Ok(Json(UserRoleProfiles {
        user: UserRef {
            user_id,
            name: Some(name),
        },
        role_profiles: profiles,
    })
    .into_response())
}

/// `POST /ra/users/{user}/role-profiles` (a `NewRoleProfile`)
pub async fn add_role_profile(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(&state, &headers, AuditAction::RoleAdd, RA).await?;
    request.noting(format!("subject={}", user.trim()));
    request.not_own(&user).await?;
    let new: NewRoleProfile = request.body(&bytes).await?;
    let change = request.checked(registration::add_role(&user, &new)).await?;
    let applied = request.apply(&state, change).await?;
    let done = applied.result?;
    Ok((
        StatusCode::CREATED,
        Json(RoleProfileAdded {
            role_profile: done.profile,
        }),
    )
        .into_response())
}

/// `DELETE /ra/users/{user}/role-profiles/{id}`: the role is out of force at once (a live
/// session acting in it must choose a role again).
pub async fn remove_role_profile(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((user, profile)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(&state, &headers, AuditAction::RoleRemove, RA).await?;
    request.noting(format!(
        "subject={} role_profile={}",
        user.trim(),
        profile.trim()
    ));
    request.not_own(&user).await?;
    let change = request
        .checked(registration::remove_role(&user, &profile))
        .await?;
    let applied = request.apply(&state, change).await?;
    let done = applied.result?;
    Ok(Json(RoleProfileRemoved {
        removed: profile.trim().to_string(),
        sessions_in_role: done.sessions,
    })
    .into_response())
}

/// `GET /ra/cards`
pub async fn list_cards(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut request =
        Audited::authorise(&state, &headers, AuditAction::RegistrationRead, RA).await?;
    request.noting("list=cards");
    let cards: Vec<CardView> = state
        .store
        .certificates()
        .await?
        .into_iter()
        .map(CardView::from)
        .collect();
    request.succeeded().await?;
    Ok(Json(CardList { cards }).into_response())
}

/// `POST /ra/cards/{serial}/revoke` `{reason, issuer?}`: sign-in with the card is refused
/// and its live sessions end at once.
pub async fn revoke_card(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(serial): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut request = Audited::authorise(&state, &headers, AuditAction::CardRevoke, RA).await?;
    request.noting(format!("serial={}", serial.trim()));
    let asked: CardRevocation = request.body(&bytes).await?;
    let change = request
        .checked(registration::revoke_card(
            &serial,
            asked.issuer.as_deref(),
            &asked.reason,
        ))
        .await?;
    let applied = request.apply(&state, change).await?;
    let done = applied.result?;
    Ok(Json(CardRevoked {
        certificate: done.certificate.map(|c| CardRef {
            issuer: c.issuer,
            serial: c.serial_hex,
        }),
        user: UserRef {
            user_id: applied.subject_id,
            name: applied.subject_name,
        },
        sessions_ended: done.sessions,
    })
    .into_response())
}

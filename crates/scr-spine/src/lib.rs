//! `scr-spine`: the central Summary Care Record service.
//!
//! HTTPS (rustls) FHIR R4 API over SQLite or PostgreSQL: smartcard sign-in, role-based
//! access, consent, GP upload and a hash-chained audit trail. See docs/ARCHITECTURE.md.

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod identities;
pub mod metadata;
pub mod pki;
pub mod seed;
pub mod server;
pub mod setup;
pub mod store;
pub mod trace;
pub mod upload;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use scr_model::fhir::IssueType;

use crate::audit::AuditWriter;
use crate::config::SpineConfig;
use crate::error::ApiError;
use crate::pki::TrustAnchor;
use crate::store::Store;

/// What every request handler shares.
pub struct AppState {
    pub store: Store,
    pub audit: AuditWriter,
    pub trust: TrustAnchor,
    pub config: SpineConfig,
}

/// The whole API as one router (tests call it directly or over a socket).
pub fn router(state: Arc<AppState>) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(health))
        .route("/FHIR/R4/metadata", get(metadata::capability_statement))
        .route("/auth/challenge", post(auth::challenge))
        .route(
            "/auth/session",
            post(auth::create_session).delete(auth::end_session),
        )
        .route("/auth/session/role", put(auth::select_role))
        .route("/FHIR/R4/Patient", get(api::search_patients))
        .route("/FHIR/R4/Patient/{id}", get(api::read_patient))
        .route("/FHIR/R4/Patient/{id}/$summary", get(api::summary))
        .route("/FHIR/R4/Consent", get(api::consent))
        .route(
            "/FHIR/R4/AuditEvent",
            get(api::audit_events).post(api::report_offline_views),
        )
        .route("/FHIR/R4", post(api::upload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(timeout, request_deadline))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    match sqlx::query("SELECT 1")
        .execute(state.store.read_pool())
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "database unavailable"})),
            )
                .into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("NOT_FOUND", "There is no such resource or operation here.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        IssueType::Processing,
        "METHOD_NOT_ALLOWED",
        "This method is not supported on this resource.",
    )
}

/// A request that overruns its deadline gets 503 (the service is overloaded or the store is
/// slow); the client may retry.
async fn request_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                IssueType::Timeout,
                "TIMEOUT",
                "The service took too long to answer. Try again.",
            );
            e.retry_after = Some(2);
            e.into_response()
        }
    }
}

/// One log line per request: method, route template (never the concrete path, which can
/// hold an NHS number, nor the query, which can hold names), status, time.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

//! The URL space: which handler answers which path, and the layers every request passes
//! (deadline, load shedding, headers, the request log, the sign-in rate limit), plus the
//! health and readiness probes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use scr_model::fhir::IssueType;
use scr_model::ErrorCode;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::state::{AppState, SIGN_IN_BODY_BYTES};
use crate::{api, auth, metadata, privacy, ra, store};

/// The whole API as one router (tests call it directly or over a socket).
pub fn router(state: Arc<AppState>) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let in_flight = state.config.max_requests_in_flight.max(1);
    let sign_in = Router::new()
        .route("/auth/challenge", post(auth::challenge))
        .route(
            "/auth/session",
            post(auth::create_session).delete(auth::end_session),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            sign_in_rate_limit,
        ));
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/FHIR/R4/metadata", get(metadata::capability_statement))
        .merge(sign_in)
        .route("/auth/session/role", put(auth::select_role))
        // Signed-in, like the role: outside the sign-in rate limit, which counts sign-ins
        // per address (a clinic behind one NAT address sends many heartbeats).
        .route("/auth/session/keep-alive", post(auth::keep_alive))
        .route("/FHIR/R4/Patient", get(api::search_patients))
        .route("/FHIR/R4/Patient/{id}", get(api::read_patient))
        .route("/FHIR/R4/Patient/{id}/$summary", get(api::summary))
        .route(
            "/FHIR/R4/Patient/{id}/$cp-attendance",
            post(api::cp_attendance),
        )
        .route(
            "/FHIR/R4/Patient/{id}/$print-summary",
            post(api::print_summary),
        )
        .route("/FHIR/R4/Consent", get(api::consent))
        .route(
            "/FHIR/R4/AuditEvent",
            get(privacy::audit_events).post(api::report_offline_views),
        )
        .route("/FHIR/R4/AuditEvent/$alerts", get(privacy::alerts))
        .route("/FHIR/R4/AuditEvent/{id}/$review", post(privacy::review))
        .route("/FHIR/R4", post(api::upload))
        // The registration authority (roles with RA-MANAGE).
        .route("/ra/users", get(ra::list_users).post(ra::register_user))
        .route(
            "/ra/users/{user}/role-profiles",
            get(ra::list_role_profiles).post(ra::add_role_profile),
        )
        .route(
            "/ra/users/{user}/role-profiles/{id}",
            delete(ra::remove_role_profile),
        )
        .route("/ra/cards", get(ra::list_cards))
        .route("/ra/cards/{serial}/revoke", post(ra::revoke_card))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies read by extractors (sign-in, role, the RA's) are small; the upload and offline-view
        // handlers read theirs themselves, after the caller is authenticated, with their own
        // limits.
        .layer(DefaultBodyLimit::max(SIGN_IN_BODY_BYTES))
        .layer(middleware::from_fn_with_state(timeout, request_deadline))
        // Past `in_flight` requests at once, shed with 503 + Retry-After rather than queue:
        // queued requests would only time out later, holding memory and connections.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    ApiError::overloaded()
                }))
                .load_shed()
                // Global: `Router::layer` wraps each route, and one limit must hold for all.
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(in_flight)),
        )
        // Patient data must not be kept by any cache on the way, nor sniffed as another type.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Liveness: the process answers and its database is reachable for reads.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.store.readable().await {
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

/// How long the readiness probe waits for its write through the audit writer.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// Readiness: a committed write through the audit writer (the path every data release
/// waits on), within a time limit. A wedged writer, a full disk or a lost database says 503,
/// so a load balancer stops sending clinicians here. Reports the age of the writer's last
/// commit.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let outcome = tokio::time::timeout(READY_TIMEOUT, state.audit.ping()).await;
    let age_ms = state
        .audit
        .last_commit_ms()
        .map(|ms| (store::now_ms() - ms).max(0));
    let (status, text) = match outcome {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness: the audit writer could not commit");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "audit writer cannot commit",
            )
        }
        Err(_) => {
            tracing::error!("readiness: the audit writer did not answer in time");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "audit writer not answering",
            )
        }
    };
    let mut response = (
        status,
        axum::Json(serde_json::json!({
            "status": text,
            "last_audit_commit_age_ms": age_ms,
        })),
    )
        .into_response();
    if status != StatusCode::OK {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(5u32));
    }
    response
}

/// Per-address allowance on `/auth/*`. Requests that come with no peer address (tests that
/// call the router directly) are not limited here.
async fn sign_in_rate_limit(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        if let Err(wait) = state.sign_in_limits.check_address(ip) {
            state.audit.count_refusal(
                scr_model::AuditAction::SignIn,
                ErrorCode::TooManyRequests.as_str(),
            );
            return ApiError::rate_limited(wait).into_response();
        }
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        ErrorCode::NotFound,
        "There is no such resource or operation here.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        IssueType::Processing,
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
                ErrorCode::Timeout,
                IssueType::Timeout,
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
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

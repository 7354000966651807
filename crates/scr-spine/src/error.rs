//! Errors at the HTTP edge: every one is a FHIR OperationOutcome with a precise issue type
//! and a stable error code the app can branch on. 5xx bodies are generic; the detail goes
//! to the log (never patient data).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scr_model::fhir::{operation_outcome, IssueType};

pub const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub issue: IssueType,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        issue: IssueType,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            issue,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            IssueType::Login,
            "UNAUTHENTICATED",
            message,
        )
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, IssueType::Forbidden, code, message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, IssueType::Invalid, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, IssueType::NotFound, code, message)
    }

    /// A server-side failure: logged with its detail, answered generically.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            IssueType::Exception,
            "INTERNAL_ERROR",
            "The service could not complete the request.",
        )
    }

    /// The store cannot be reached or is overloaded for now: the client may retry.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(%detail, "store unavailable; request refused");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            IssueType::Transient,
            "SERVICE_UNAVAILABLE",
            "The service cannot reach its records right now. Try again shortly.",
        );
        e.retry_after = Some(2);
        e
    }

    /// Too many requests from this caller: slow down.
    pub fn rate_limited(retry_after: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            IssueType::Throttled,
            "TOO_MANY_REQUESTS",
            "Too many requests. Wait a moment and try again.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// The service is at its limit of requests in flight: shed, and ask to retry.
    pub fn overloaded() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            IssueType::Transient,
            "SERVICE_BUSY",
            "The service is busy. Try again shortly.",
        );
        e.retry_after = Some(1);
        e
    }

    /// The audit trail could not be written, so no data is released (fail closed).
    pub fn audit_unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "audit write failed; request refused");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            IssueType::Exception,
            "AUDIT_UNAVAILABLE",
            "The service cannot record this access right now, so it cannot release data. Try again shortly.",
        );
        e.retry_after = Some(5);
        e
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_transient() {
            ApiError::unavailable(e)
        } else {
            ApiError::internal(e)
        }
    }
}

impl From<crate::audit::AuditError> for ApiError {
    fn from(e: crate::audit::AuditError) -> Self {
        ApiError::audit_unavailable(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = operation_outcome(self.issue, self.code, &self.message);
        let mut response = (self.status, fhir_json(&body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

fn fhir_json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A FHIR JSON success response.
pub fn fhir_ok(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = (status, fhir_json(value)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

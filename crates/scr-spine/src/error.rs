//! Errors at the HTTP edge: every one is a FHIR OperationOutcome with a precise issue type
//! and a stable error code the app can branch on. 5xx bodies are generic; the detail goes
//! to the log (never patient data).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scr_model::fhir::{operation_outcome, IssueType};
use scr_model::ErrorCode;

pub const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug)]
pub struct ApiError {
    pub issue: IssueType,
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// The answer for `code`, sent with the code's own HTTP status.
    pub fn new(code: ErrorCode, issue: IssueType, message: impl Into<String>) -> Self {
        ApiError {
            issue,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The HTTP status: the code's own, so one code never comes with two statuses.
    pub fn status(&self) -> StatusCode {
        // Every status in the table is a valid one (a test in scr-model checks the range).
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, IssueType::Login, message)
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, IssueType::Forbidden, message)
    }

    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, IssueType::Invalid, message)
    }

    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, IssueType::NotFound, message)
    }

    /// A server-side failure: logged with its detail, answered generically.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "request failed");
        Self::new(
            ErrorCode::InternalError,
            IssueType::Exception,
            "The service could not complete the request.",
        )
    }

    /// The store cannot be reached or is overloaded for now: the client may retry.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(%detail, "store unavailable; request refused");
        let mut e = Self::new(
            ErrorCode::ServiceUnavailable,
            IssueType::Transient,
            "The service cannot reach its records right now. Try again shortly.",
        );
        e.retry_after = Some(2);
        e
    }

    /// Too many requests from this caller: slow down.
    pub fn rate_limited(retry_after: u32) -> Self {
        let mut e = Self::new(
            ErrorCode::TooManyRequests,
            IssueType::Throttled,
            "Too many requests. Wait a moment and try again.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// The service is at its limit of requests in flight: shed, and ask to retry.
    pub fn overloaded() -> Self {
        let mut e = Self::new(
            ErrorCode::ServiceBusy,
            IssueType::Transient,
            "The service is busy. Try again shortly.",
        );
        e.retry_after = Some(1);
        e
    }

    /// The audit trail could not be written, so no data is released (fail closed).
    pub fn audit_unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "audit write failed; request refused");
        let mut e = Self::new(
            ErrorCode::AuditUnavailable,
            IssueType::Exception,
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
        let body = operation_outcome(self.issue, self.code.as_str(), &self.message);
        let mut response = (self.status(), fhir_json(&body)).into_response();
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

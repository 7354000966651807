//! OperationOutcome: every error answer of the spine.

use serde_json::{json, Value};

use super::ERROR_CODE_SYSTEM;

/// FHIR `IssueType` codes the spine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueType {
    Invalid,
    Structure,
    Required,
    Value,
    Security,
    Login,
    Forbidden,
    Processing,
    NotFound,
    Conflict,
    TooCostly,
    BusinessRule,
    Exception,
    /// A passing failure (the store or the service is unavailable for now).
    Transient,
    Timeout,
    Throttled,
    TooLong,
    Expired,
    NotSupported,
    Informational,
}

impl IssueType {
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Security => "security",
            IssueType::Login => "login",
            IssueType::Forbidden => "forbidden",
            IssueType::Processing => "processing",
            IssueType::NotFound => "not-found",
            IssueType::Conflict => "conflict",
            IssueType::TooCostly => "too-costly",
            IssueType::BusinessRule => "business-rule",
            IssueType::Exception => "exception",
            IssueType::Transient => "transient",
            IssueType::Timeout => "timeout",
            IssueType::Throttled => "throttled",
            IssueType::TooLong => "too-long",
            IssueType::Expired => "expired",
            IssueType::NotSupported => "not-supported",
            IssueType::Informational => "informational",
        }
    }
}

/// An error OperationOutcome: the issue type, a stable code the app branches on
/// (`issue[0].details.coding[0].code`) and a message for people.
pub fn operation_outcome(issue: IssueType, error_code: &str, message: &str) -> Value {
    let severity = if issue == IssueType::Informational {
        "information"
    } else {
        "error"
    };
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": severity,
            "code": issue.code(),
            "details": {
                "coding": [{ "system": ERROR_CODE_SYSTEM, "code": error_code }],
                "text": message
            },
            "diagnostics": message
        }]
    })
}

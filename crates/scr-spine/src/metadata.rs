//! `GET /FHIR/R4/metadata`: what this server does, for any FHIR client.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::error::fhir_ok;

pub async fn capability_statement() -> Response {
    fhir_ok(StatusCode::OK, &capability())
}

pub fn capability() -> serde_json::Value {
    let nhs_search = |name: &str, kind: &str, doc: &str| json!({ "name": name, "type": kind, "documentation": doc });
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-24",
        "publisher": "SCR Viewer",
        "kind": "instance",
        "software": { "name": "scr-spine", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Summary Care Record central service (synthetic data)" },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "Smartcard sign-in: POST /auth/challenge then POST /auth/session with an ECDSA P-256 signature over the nonce; then a Bearer token. Every call is role-checked and audited."
            },
            "resource": [
                {
                    "type": "Patient",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [
                        nhs_search("family", "string", "Family name; a trailing * after 2 characters is a wildcard"),
                        nhs_search("given", "string", "Given name"),
                        nhs_search("gender", "token", "male | female | other | unknown"),
                        nhs_search("birthdate", "date", "eq, ge or le prefixes"),
                        nhs_search("address-postalcode", "string", "Postcode"),
                        nhs_search("_fuzzy-match", "special", "Phonetic and typo-tolerant matching"),
                        nhs_search("_exact-match", "special", "Only exact matches"),
                        nhs_search("_max-results", "number", "1 to 50")
                    ],
                    "operation": [{
                        "name": "summary",
                        "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
                        "documentation": "IPS document Bundle; needs a clinical role and X-Access-Reason"
                    }, {
                        "name": "cp-attendance",
                        "definition": "https://fhir.scr-viewer.example/OperationDefinition/cp-attendance",
                        "documentation": "POST: a child on a child protection plan is attending unscheduled care; recorded, and alerts the child's responsible organisation"
                    }, {
                        "name": "print-summary",
                        "definition": "https://fhir.scr-viewer.example/OperationDefinition/print-summary",
                        "documentation": "POST: the clinician is printing (or saving as PDF) the summary on screen; recorded as summary-print before anything is printed"
                    }]
                },
                {
                    "type": "Consent",
                    "interaction": [{ "code": "search-type" }],
                    "searchParam": [nhs_search("patient", "reference", "NHS number")]
                },
                {
                    "type": "AuditEvent",
                    "interaction": [
                        { "code": "search-type", "documentation": "Privacy officer: the audit trail and emergency-access alerts" },
                        { "code": "create", "documentation": "POST a collection Bundle of AuditEvents (subtype offline-view, at most 1000): views of offline copies the app made while offline; each is recorded once per view id, attributed to the session's user and role" }
                    ],
                    "searchParam": [
                        nhs_search("patient", "reference", "NHS number"),
                        nhs_search("agent", "token", "User id"),
                        nhs_search("action", "token", "Audited action code"),
                        nhs_search("alert", "token", "true: emergency-access alerts only"),
                        nhs_search("since", "date", "Entries at or after")
                    ]
                }
            ],
            "interaction": [{ "code": "transaction", "documentation": "GP practice upload of a summary, sharing preference and referrals; a hospital system's upload of its encounters" }]
        }]
    })
}

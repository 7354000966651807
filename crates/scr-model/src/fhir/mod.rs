//! FHIR R4 JSON in and out.
//!
//! CONTRACT (the spine is written against these signatures; keep them):
//!
//! ```text
//! pub const MAX_DOCUMENT_BYTES: usize;                       // refuse larger input with FhirError::TooLarge
//! pub enum IssueType { Invalid, Structure, Required, Value, Security, Login, Forbidden,
//!                      Processing, NotFound, Conflict, TooCostly, BusinessRule, Exception,
//!                      Timeout, Throttled, TooLong, Expired }  // .code() -> "invalid", ...
//! pub fn operation_outcome(issue: IssueType, error_code: &str, message: &str) -> Value;
//! pub fn patient_resource(d: &Demographics) -> Value;        // id = NHS number digits
//! pub fn patient_searchset(matches: &[(Demographics, f64)]) -> Value; // entry.search.score
//! pub fn summary_document(input: &SummaryDocumentInput) -> Value;     // IPS document Bundle
//! pub fn consent_searchset(nhs: NhsNumber, record: Option<&ConsentRecord>) -> Value;
//! pub fn consent_resource(nhs: NhsNumber, record: &ConsentRecord) -> Value;
//! pub fn audit_event(record: &AuditRecord) -> Value;
//! pub fn audit_searchset(records: &[AuditRecord]) -> Value;
//! pub fn upload_bundle(upload: &Upload) -> Value;            // transaction Bundle a GP system sends
//! pub fn parse_upload(json: &[u8]) -> Result<Upload, FhirError>;            // strict where it must be
//! pub fn parse_document(json: &[u8]) -> Result<PatientSummaryDocument, FhirError>; // tolerant
//! ```

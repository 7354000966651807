//! FHIR R4 JSON in and out: the spine's responses (IPS `$summary` document, searchsets,
//! Consent, AuditEvent, OperationOutcome), the GP practice's transaction Bundle, a
//! tolerant reader for other vendors' IPS documents, and the privacy officer's reading of
//! the audit trail and its alerts (`trail.rs`).
//!
//! A hand-written subset over `serde_json::Value` rather than a generated FHIR model crate:
//! the complete R4 models take minutes to compile on our 2-core machines and we use eight
//! resource types. Parsing walks JSON defensively: nothing from outside is indexed or
//! unwrapped.

mod additional;
mod offline;
mod outcome;
mod parse;
mod render;
mod resolve;
mod trail;

pub use additional::{
    LOINC_ADVANCE_DIRECTIVES, LOINC_FUNCTIONAL_STATUS, LOINC_IMMUNIZATIONS, LOINC_PAST_ILLNESS,
    LOINC_PLAN_OF_CARE, LOINC_PROCEDURES,
};
pub use offline::{
    offline_views_bundle, offline_views_outcome, parse_offline_views_bundle,
    parse_offline_views_outcome, MAX_OFFLINE_VIEWS,
};
pub use outcome::{operation_outcome, IssueType};
pub use parse::{
    parse_consent_searchset, parse_document, parse_patient, parse_patient_searchset, parse_upload,
    DocumentPatient, DocumentSource, OtherSection, PatientSummaryDocument,
};
pub use render::{
    alert_searchset, audit_event, audit_searchset, consent_resource, consent_searchset,
    patient_resource, patient_searchset, summary_document, upload_bundle, AlertItem, AlertReview,
    SummaryDocumentInput,
};
pub use trail::{parse_alert_searchset, parse_audit_searchset};

use chrono::{DateTime, Utc};

use crate::{ConsentRecord, Demographics, NhsNumberError, RelationshipBasis, Summary};

/// The largest document or upload accepted. Real IPS documents reach 1.7 MB.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// Where our own codes and extensions live.
pub const ERROR_CODE_SYSTEM: &str = "https://fhir.scr-viewer.example/CodeSystem/error-code";
pub const EXTENSION_BASE: &str = "https://fhir.scr-viewer.example/StructureDefinition/";
pub const UPLOAD_ID_SYSTEM: &str = "https://fhir.scr-viewer.example/Id/upload";
pub const AUDIT_ACTION_SYSTEM: &str = "https://fhir.scr-viewer.example/CodeSystem/audit-action";
pub const ACCESS_REASON_SYSTEM: &str = "https://fhir.scr-viewer.example/CodeSystem/access-reason";
/// IPS "absent or unknown" codes (`no-allergy-info`, `no-known-allergies`, …).
pub const IPS_ABSENT_UNKNOWN: &str = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips";
/// SNOMED CT 716186003 "No known allergy".
pub const SNOMED_NO_KNOWN_ALLERGY: &str = "716186003";

pub const LOINC_ALLERGIES: &str = "48765-2";
pub const LOINC_MEDICATIONS: &str = "10160-0";
pub const LOINC_PROBLEMS: &str = "11450-4";

/// An upload: the patient, the summary (absent when only a preference is sent) and the
/// sharing preference if the practice sent one, and the encounters and referrals that
/// open (or end) a legitimate relationship between the patient and an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// `Bundle.identifier.value`: a retry carries the same identifier.
    pub bundle_id: String,
    pub patient: Demographics,
    pub summary: Option<Summary>,
    pub consent: Option<ConsentRecord>,
    /// `Encounter` and referral `ServiceRequest` entries, in Bundle order.
    pub care: Vec<CareEvent>,
}

/// What kind of care event an upload carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CareEventKind {
    /// An `Encounter` (an attendance, an admission) at `org_ods` (`serviceProvider`).
    Encounter,
    /// A referral (`ServiceRequest`, category SNOMED CT 3457005) to `org_ods` (`performer`).
    Referral,
}

impl CareEventKind {
    /// The legitimate relationship it opens.
    pub fn basis(self) -> RelationshipBasis {
        match self {
            CareEventKind::Encounter => RelationshipBasis::Encounter,
            CareEventKind::Referral => RelationshipBasis::Referral,
        }
    }
}

/// One encounter or referral of an upload: at (or to) which organisation, whether it is
/// open (it opens a relationship) or closed (it ends one), and its times as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareEvent {
    pub kind: CareEventKind,
    pub org_ods: String,
    pub open: bool,
    /// `Encounter.period.start`, `ServiceRequest.authoredOn`.
    pub start: Option<DateTime<Utc>>,
    /// `Encounter.period.end` (closed encounters).
    pub end: Option<DateTime<Utc>>,
}

impl Upload {
    /// An upload of `patient` with nothing in it yet.
    pub fn new(bundle_id: impl Into<String>, patient: Demographics) -> Upload {
        Upload {
            bundle_id: bundle_id.into(),
            patient,
            summary: None,
            consent: None,
            care: Vec::new(),
        }
    }
}

/// SNOMED CT 3457005 "Patient referral": the `ServiceRequest.category` of a referral.
pub const SNOMED_PATIENT_REFERRAL: &str = "3457005";
/// LOINC 104605-1, the IPS Alerts section (its `Flag` entries).
pub const LOINC_ALERTS: &str = "104605-1";

/// Why a FHIR document or Bundle was refused. Messages are specific and safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    #[error("the document is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the document is not valid JSON ({0})")]
    NotJson(String),
    #[error("expected a {expected}, found {found}")]
    WrongResourceType { expected: String, found: String },
    #[error("the patient has no NHS number (identifier system https://fhir.nhs.uk/Id/nhs-number)")]
    MissingNhsNumber,
    #[error("the patient's NHS number is not valid: {0}")]
    InvalidNhsNumber(NhsNumberError),
    #[error("the reference {0:?} does not resolve to a resource in the Bundle")]
    UnresolvedReference(String),
    #[error("{0} is missing")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the Bundle has {count} entries; the limit is {limit} (send the rest in another Bundle)"
    )]
    TooManyEntries { count: usize, limit: usize },
    /// A problem with one entry of a Bundle (0-based, as in FHIRPath).
    #[error("Bundle.entry[{index}]: {problem}")]
    Entry {
        index: usize,
        problem: Box<FhirError>,
    },
}

impl FhirError {
    /// The problem itself, without the entry it was found in.
    pub fn innermost(&self) -> &FhirError {
        match self {
            FhirError::Entry { problem, .. } => problem.innermost(),
            other => other,
        }
    }
}

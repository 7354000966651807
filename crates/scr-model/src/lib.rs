//! The shared language of SCR Viewer: NHS numbers, demographics, the Summary Care Record's
//! content, sharing preferences (consent codes), role profiles, audit records, the
//! registration authority's requests and answers, and their FHIR R4 JSON form. Used by the spine and the app alike, so nothing is written twice.

pub mod access;
pub mod additional;
pub mod audit;
pub mod changes;
pub mod consent;
pub mod date;
pub mod demographics;
pub mod error_code;
pub mod fhir;
pub mod flags;
pub mod narrative;
pub mod nhs_number;
pub mod registration;
pub mod roles;
pub mod signing;
pub mod summary;
pub mod timing;

pub use access::{
    AccessReason, AccessRequest, AlertKind, RelationshipBasis, VolumeScope, VolumeWarning,
    VolumeWindow,
};
pub use additional::{
    AdditionalInformation, CareNote, Immunisation, ImmunisationStatus, PastCondition,
    PastProcedure, Section, SensitiveCategory,
};
pub use audit::{AuditAction, AuditEntry, AuditOutcome, AuditRecord, OfflineAccess, OfflineView};
pub use consent::{ConsentRecord, SharingPreference};
pub use date::ClinicalDate;
pub use demographics::{Address, Deceased, Demographics, Gender};
pub use error_code::ErrorCode;
pub use flags::{ChildProtectionPlan, Flags, OtherFlag, ReasonableAdjustment};
pub use nhs_number::{NhsNumber, NhsNumberError};
pub use roles::{Activity, RoleProfile};
pub use summary::{
    Allergy, AllergyState, Coding, Criticality, Medication, MedicationKind, MedicationStatus,
    Narratives, Problem, ProblemStatus, Provenance, Severity, Summary, Verification,
};

/// Code systems used across the model and the FHIR mapping.
pub mod systems {
    pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
    pub const ODS_CODE: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
    pub const SDS_ROLE_CODE: &str = "https://fhir.nhs.uk/Id/sds-role-code";
    pub const SDS_USER_ID: &str = "https://fhir.nhs.uk/Id/sds-user-id";
    pub const SNOMED: &str = "http://snomed.info/sct";
    pub const DMD: &str = "https://dmd.nhs.uk";
    pub const READ_V2: &str = "http://read.info/readv2";
    pub const LOINC: &str = "http://loinc.org";
}

//! The Summary Care Record's clinical content: allergies first, then medication and problems,
//! and where and when the data came from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::additional::{allows_additional, AdditionalInformation};
use crate::{ClinicalDate, Flags, SharingPreference};

/// A coded concept: SNOMED CT for allergies, problems and consent; dm+d for medicines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    /// The human-readable term; what the viewer shows.
    pub display: String,
}

/// The allergy section's state. GP systems do not upload negative entries, so an empty list
/// is never "no known allergies": that must be recorded (SNOMED CT 716186003). The viewer
/// adds a fourth state of its own, "allergies unavailable", when the fetch itself failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AllergyState {
    Known {
        allergies: Vec<Allergy>,
    },
    NoKnownAllergies {
        recorded: Option<ClinicalDate>,
    },
    NotRecorded,
    /// No coded entry, but the section's own text says something (`Narratives::allergies`):
    /// as the NHS SCR API sends allergies. Never "not recorded", never "no known allergies":
    /// the text may name an allergy.
    DescribedInText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Criticality {
    Low,
    High,
    UnableToAssess,
}

/// FHIR `AllergyIntolerance.verificationStatus`. Anything but `Confirmed` is marked in the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    Confirmed,
    Unconfirmed,
    Presumed,
    Refuted,
    EnteredInError,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allergy {
    /// The substance or agent (SNOMED CT).
    pub substance: Coding,
    /// The reaction (manifestation), e.g. "Anaphylaxis".
    pub reaction: Option<String>,
    pub severity: Option<Severity>,
    pub criticality: Option<Criticality>,
    pub verification: Verification,
    /// When it was recorded (or its onset, where only that is known).
    pub recorded: Option<ClinicalDate>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MedicationKind {
    Acute,
    Repeat,
    /// Foreign documents rarely say; shown under current medication.
    Unspecified,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MedicationStatus {
    Active,
    Completed,
    Discontinued,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medication {
    /// The medicine (dm+d), generic name first.
    pub medicine: Coding,
    pub kind: MedicationKind,
    pub status: MedicationStatus,
    /// Dosage instruction as written, e.g. "One tablet twice a day".
    pub dosage: Option<String>,
    /// Quantity supplied, e.g. "56 tablet".
    pub quantity: Option<String>,
    pub started: Option<ClinicalDate>,
    pub last_issued: Option<ClinicalDate>,
    pub discontinued: Option<ClinicalDate>,
    /// Why it was prescribed (`reasonCode` text): SCR Additional Information, so held and
    /// shown only where the patient's preference allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemStatus {
    Active,
    Inactive,
    Resolved,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub condition: Coding,
    pub status: ProblemStatus,
    pub onset: Option<ClinicalDate>,
    pub recorded: Option<ClinicalDate>,
}

/// Where and when the summary came from; the viewer shows it with every summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub practice_ods: Option<String>,
    pub practice_name: Option<String>,
    /// Who created the summary (a person or the practice system).
    pub author: Option<String>,
    /// When the source system last updated it.
    pub last_updated: Option<DateTime<Utc>>,
}

/// Section narratives (XHTML as sent), kept whether or not the section also has coded entries
/// (the NHS SCR API sends allergies and medication as text only). Read them only through
/// `narrative::narrative_text`, which keeps the text and drops all markup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narratives {
    pub allergies: Option<String>,
    pub medications: Option<String>,
    pub problems: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub allergies: AllergyState,
    pub medications: Vec<Medication>,
    pub problems: Vec<Problem>,
    pub provenance: Provenance,
    #[serde(default)]
    pub narratives: Narratives,
    /// The flags shown before the summary (reasonable adjustments, a child protection
    /// plan, other alerts). Absent in summaries stored before flags existed.
    #[serde(default, skip_serializing_if = "Flags::is_empty")]
    pub flags: Flags,
    /// SCR Additional Information (`additional.rs`). Absent in summaries stored before it
    /// existed, which read as "not included".
    #[serde(default, skip_serializing_if = "AdditionalInformation::is_empty")]
    pub additional: AdditionalInformation,
}

impl Summary {
    /// The summary as it may be held and shown under the patient's sharing preference
    /// (`None`: no stated preference): without Additional Information (every section
    /// carried marked withheld, reasons for medication removed) unless the preference allows
    /// it, and without the sensitive categories unless the upload marks the patient's
    /// request. Never called for a dissent: nothing clinical is held then at all.
    pub fn held_under(mut self, preference: Option<SharingPreference>) -> Summary {
        if allows_additional(preference) {
            self.additional.drop_sensitive();
        } else {
            self.additional.withhold();
            for m in &mut self.medications {
                m.reason = None;
            }
        }
        self
    }

    /// [`Summary::held_under`] of a copy.
    pub fn as_held_under(&self, preference: Option<SharingPreference>) -> Summary {
        self.clone().held_under(preference)
    }

    /// The summary as served for a restricted (sensitive) patient: the source practice and
    /// author could locate the patient, so they are withheld like the address and GP; so is
    /// the organisation responsible for a child protection plan (a local authority names
    /// the area the child lives in). The plan itself is still shown.
    pub fn with_source_withheld(&self) -> Summary {
        let mut s = self.clone();
        s.provenance.practice_ods = None;
        s.provenance.practice_name = None;
        s.provenance.author = None;
        if let Some(plan) = &mut s.flags.child_protection {
            plan.responsible_ods = None;
            plan.responsible_name = None;
        }
        s
    }
}

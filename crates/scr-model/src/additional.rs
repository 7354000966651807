//! SCR Additional Information (DOMAIN.md): significant medical history and procedures,
//! reason for medication, anticipatory care, communication needs and preferences, end-of-life
//! care preferences and immunisations, uploaded by the GP system with the core summary.
//!
//! It is held only where the patient's sharing preference allows it — express consent for
//! core and additional information, or no stated preference — and never for a dissent. The
//! sensitive categories (fertility treatment, sexually transmitted infections, termination
//! of pregnancy, gender reassignment) are held only when the upload marks the patient's
//! request to include them. `Summary::as_held_under` applies both rules; the spine applies it
//! on upload and again when serving (a preference may have changed since the upload).

use serde::{Deserialize, Serialize};

use crate::{ClinicalDate, Coding, SharingPreference};

/// What one Additional Information section holds. Three answers a clinician must be able to
/// tell apart: the patient's preference keeps it from being shared; the record holds nothing
/// under this heading; or the summary (or a document from another system) simply does not
/// carry the section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Section<T> {
    /// Not in the summary or document at all: nothing can be said either way.
    #[default]
    NotIncluded,
    /// Held back: the patient's sharing preference covers the core record only (FHIR
    /// `emptyReason` `withheld`).
    Withheld,
    /// Shared. No entries and no text means the record holds nothing under this heading.
    Recorded {
        entries: Vec<T>,
        /// The section's own text, kept where it has no entry the viewer can read (plain text
        /// only through `narrative::narrative_text`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

impl<T> Section<T> {
    pub fn recorded(entries: Vec<T>) -> Section<T> {
        Section::Recorded {
            entries,
            text: None,
        }
    }

    pub fn entries(&self) -> &[T] {
        match self {
            Section::Recorded { entries, .. } => entries,
            Section::NotIncluded | Section::Withheld => &[],
        }
    }

    fn withhold(&mut self) {
        if !matches!(self, Section::NotIncluded) {
            *self = Section::Withheld;
        }
    }
}

/// The categories DOMAIN.md names as withheld unless the patient asks for them to be shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SensitiveCategory {
    FertilityTreatment,
    SexuallyTransmittedInfection,
    TerminationOfPregnancy,
    GenderReassignment,
}

impl SensitiveCategory {
    pub const ALL: [SensitiveCategory; 4] = [
        SensitiveCategory::FertilityTreatment,
        SensitiveCategory::SexuallyTransmittedInfection,
        SensitiveCategory::TerminationOfPregnancy,
        SensitiveCategory::GenderReassignment,
    ];

    /// The code carried in FHIR (our extension `sensitive-category`).
    pub fn code(self) -> &'static str {
        match self {
            SensitiveCategory::FertilityTreatment => "fertility-treatment",
            SensitiveCategory::SexuallyTransmittedInfection => "sexually-transmitted-infection",
            SensitiveCategory::TerminationOfPregnancy => "termination-of-pregnancy",
            SensitiveCategory::GenderReassignment => "gender-reassignment",
        }
    }

    pub fn from_code(code: &str) -> Option<SensitiveCategory> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn words(self) -> &'static str {
        match self {
            SensitiveCategory::FertilityTreatment => "fertility treatment",
            SensitiveCategory::SexuallyTransmittedInfection => "sexually transmitted infection",
            SensitiveCategory::TerminationOfPregnancy => "termination of pregnancy",
            SensitiveCategory::GenderReassignment => "gender reassignment",
        }
    }
}

/// A significant past illness (IPS History of Past Illness: a `Condition` no longer active).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastCondition {
    pub condition: Coding,
    pub onset: Option<ClinicalDate>,
    /// When it resolved (`Condition.abatementDateTime`), where recorded.
    pub ended: Option<ClinicalDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<SensitiveCategory>,
}

/// A procedure the patient has had (IPS History of Procedures: `Procedure`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastProcedure {
    pub procedure: Coding,
    pub performed: Option<ClinicalDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<SensitiveCategory>,
}

/// `Immunization.status` as a clinician needs it: given, or recorded as not given (declined,
/// contraindicated). Entries in error are not shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImmunisationStatus {
    Given,
    NotGiven,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Immunisation {
    pub vaccine: Coding,
    pub status: ImmunisationStatus,
    pub date: Option<ClinicalDate>,
}

/// A note in words: an anticipatory care plan, an end-of-life preference, a communication
/// need. GP systems hold these as free text under a heading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareNote {
    /// What it is about, e.g. "Preferred place of death", "Needs an interpreter".
    pub title: String,
    /// The note itself, e.g. "Home, with family present".
    pub detail: Option<String>,
    pub recorded: Option<ClinicalDate>,
}

/// The Additional Information sections. Reasons for medication travel with each
/// `Medication` (`Medication::reason`) and follow the same rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalInformation {
    #[serde(default)]
    pub history: Section<PastCondition>,
    #[serde(default)]
    pub procedures: Section<PastProcedure>,
    #[serde(default)]
    pub immunisations: Section<Immunisation>,
    /// Anticipatory care (IPS Plan of Care).
    #[serde(default)]
    pub anticipatory_care: Section<CareNote>,
    /// End-of-life care preferences (IPS Advance Directives).
    #[serde(default)]
    pub end_of_life: Section<CareNote>,
    /// Communication needs and preferences (IPS Functional Status).
    #[serde(default)]
    pub communication: Section<CareNote>,
    /// The upload marks the patient's request to include the sensitive categories.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive_included: bool,
}

/// Whether a sharing preference lets Additional Information be held and shown: express
/// consent for core and additional, or no stated preference (the default since 2020).
pub fn allows_additional(preference: Option<SharingPreference>) -> bool {
    matches!(
        preference,
        None | Some(SharingPreference::ExpressConsentCoreAndAdditional)
    )
}

impl AdditionalInformation {
    /// No section carried at all (what summaries stored before Additional Information read
    /// as).
    pub fn is_empty(&self) -> bool {
        *self == AdditionalInformation::default()
    }

    /// Every section carried is marked withheld; the entries go.
    pub fn withhold(&mut self) {
        self.history.withhold();
        self.procedures.withhold();
        self.immunisations.withhold();
        self.anticipatory_care.withhold();
        self.end_of_life.withhold();
        self.communication.withhold();
        self.sensitive_included = false;
    }

    /// Drops the entries in a sensitive category, unless the patient asked for them to be
    /// included. Returns how many were dropped.
    pub fn drop_sensitive(&mut self) -> usize {
        if self.sensitive_included {
            return 0;
        }
        let mut dropped = 0;
        if let Section::Recorded { entries, .. } = &mut self.history {
            let before = entries.len();
            entries.retain(|e| e.sensitive.is_none());
            dropped += before - entries.len();
        }
        if let Section::Recorded { entries, .. } = &mut self.procedures {
            let before = entries.len();
            entries.retain(|e| e.sensitive.is_none());
            dropped += before - entries.len();
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coding(display: &str) -> Coding {
        Coding {
            system: Some(crate::systems::SNOMED.into()),
            code: Some("1".into()),
            display: display.into(),
        }
    }

    fn full(sensitive_included: bool) -> AdditionalInformation {
        AdditionalInformation {
            history: Section::recorded(vec![
                PastCondition {
                    condition: coding("Appendicitis"),
                    onset: None,
                    ended: None,
                    sensitive: None,
                },
                PastCondition {
                    condition: coding("Chlamydia infection"),
                    onset: None,
                    ended: None,
                    sensitive: Some(SensitiveCategory::SexuallyTransmittedInfection),
                },
            ]),
            procedures: Section::recorded(vec![PastProcedure {
                procedure: coding("In vitro fertilisation"),
                performed: None,
                sensitive: Some(SensitiveCategory::FertilityTreatment),
            }]),
            immunisations: Section::recorded(Vec::new()),
            sensitive_included,
            ..Default::default()
        }
    }

    #[test]
    fn additional_information_is_allowed_only_for_core_and_additional_consent_or_no_preference() {
        assert!(allows_additional(None));
        assert!(allows_additional(Some(
            SharingPreference::ExpressConsentCoreAndAdditional
        )));
        assert!(!allows_additional(Some(
            SharingPreference::ExpressConsentCore
        )));
        assert!(!allows_additional(Some(
            SharingPreference::ImpliedConsentCore
        )));
        assert!(!allows_additional(Some(SharingPreference::Dissent)));
    }

    #[test]
    fn sensitive_entries_go_unless_the_patient_asked_for_them() {
        let mut ai = full(false);
        assert_eq!(ai.drop_sensitive(), 2);
        assert_eq!(ai.history.entries().len(), 1);
        assert_eq!(ai.history.entries()[0].condition.display, "Appendicitis");
        assert!(ai.procedures.entries().is_empty());
        // The section stays shared (and now says nothing recorded): the category is not
        // hinted at by a "withheld" that only these entries would explain.
        assert!(matches!(ai.procedures, Section::Recorded { .. }));

        let mut asked = full(true);
        assert_eq!(asked.drop_sensitive(), 0);
        assert_eq!(asked.history.entries().len(), 2);
    }

    #[test]
    fn withholding_keeps_which_sections_were_carried_and_drops_every_entry() {
        let mut ai = full(true);
        ai.withhold();
        assert_eq!(ai.history, Section::Withheld);
        assert_eq!(ai.procedures, Section::Withheld);
        assert_eq!(ai.immunisations, Section::Withheld);
        // Not carried stays not carried.
        assert_eq!(ai.end_of_life, Section::NotIncluded);
        assert!(!ai.sensitive_included);
    }

    #[test]
    fn summaries_stored_before_additional_information_read_as_not_included() {
        let ai: AdditionalInformation =
            serde_json::from_str("{}").unwrap_or_else(|e| panic!("{e}"));
        assert!(ai.is_empty());
        assert_eq!(ai.history, Section::NotIncluded);
    }
}

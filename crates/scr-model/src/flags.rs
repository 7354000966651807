//! The flags shown before a patient's summary, as the national service shows them first
//! (DOMAIN.md, "NCRS"): a reasonable adjustment flag (the adjustments in words), a child
//! protection plan naming the organisation responsible for the child, and any other active
//! alert another system sent. Carried with the summary (`Summary::flags`) and, in FHIR, as
//! IPS `Flag` resources in the document's Alerts section. A patient's death is not a flag
//! here: it is part of the demographics (`Demographics::deceased`).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::ClinicalDate;

/// SNOMED CT 1326341000000105, recorded when a reasonable adjustment flag is created
/// (DOMAIN.md; its preferred term is *unverified*, so none is sent with the code).
pub const SNOMED_REASONABLE_ADJUSTMENT_FLAG: &str = "1326341000000105";

/// Our code system for the kind of a flag (`Flag.category`): `reasonable-adjustment`,
/// `child-protection-plan`.
pub const FLAG_KIND_SYSTEM: &str = "https://fhir.scr-viewer.example/CodeSystem/flag-kind";
pub const FLAG_KIND_REASONABLE_ADJUSTMENT: &str = "reasonable-adjustment";
pub const FLAG_KIND_CHILD_PROTECTION: &str = "child-protection-plan";

/// The flags of one patient. Stored with the summary: `#[serde(default)]` everywhere, so a
/// summary stored before flags existed reads as one without any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasonable_adjustment: Option<ReasonableAdjustment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_protection: Option<ChildProtectionPlan>,
    /// Other active alerts a document carried (a diet, a device), shown as their text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherFlag>,
}

impl Flags {
    pub fn is_empty(&self) -> bool {
        self.reasonable_adjustment.is_none()
            && self.child_protection.is_none()
            && self.other.is_empty()
    }
}

/// A reasonable adjustment flag: what the patient needs, in words ("Needs a British Sign
/// Language interpreter"). No adjustment at all means the flag was sent without its details;
/// the window says so rather than showing an empty list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonableAdjustment {
    pub adjustments: Vec<String>,
    #[serde(default)]
    pub recorded: Option<ClinicalDate>,
}

/// A child protection plan (CP-IS style): the organisation responsible for the child (a
/// local authority's children's services, by ODS code), and the plan's dates. The
/// organisation is withheld (`None`) in what is served for a restricted patient, where it
/// would locate the child; the spine still notifies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildProtectionPlan {
    #[serde(default)]
    pub responsible_ods: Option<String>,
    #[serde(default)]
    pub responsible_name: Option<String>,
    #[serde(default)]
    pub start: Option<ClinicalDate>,
    #[serde(default)]
    pub end: Option<ClinicalDate>,
}

impl ChildProtectionPlan {
    /// Whether the plan is in force on `today`: no end, or an end not yet passed (a plan
    /// ending on a month or a year is in force to the end of it).
    pub fn in_force_on(&self, today: NaiveDate) -> bool {
        match self.end {
            None => true,
            Some(ClinicalDate::Year(y)) => today.year() <= y,
            Some(ClinicalDate::YearMonth(y, m)) => (today.year(), today.month()) <= (y, m),
            Some(ClinicalDate::Day(d)) => today <= d,
            Some(ClinicalDate::Instant(t)) => today <= t.date_naive(),
        }
    }
}

/// Any other active flag: its text as sent, and its category's words where there are any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherFlag {
    pub text: String,
    #[serde(default)]
    pub category: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(end: Option<ClinicalDate>) -> ChildProtectionPlan {
        ChildProtectionPlan {
            responsible_ods: Some("LA901".into()),
            responsible_name: None,
            start: None,
            end,
        }
    }

    #[test]
    fn a_plan_is_in_force_until_the_end_of_its_last_day_month_or_year() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        let today = day(2026, 11, 1);
        assert!(plan(None).in_force_on(today));
        assert!(plan(Some(ClinicalDate::Day(today))).in_force_on(today));
        assert!(!plan(Some(ClinicalDate::Day(day(2026, 10, 31)))).in_force_on(today));
        assert!(plan(Some(ClinicalDate::YearMonth(2026, 11))).in_force_on(today));
        assert!(!plan(Some(ClinicalDate::YearMonth(2026, 10))).in_force_on(today));
        assert!(plan(Some(ClinicalDate::Year(2026))).in_force_on(today));
        assert!(!plan(Some(ClinicalDate::Year(2025))).in_force_on(today));
    }

    #[test]
    fn flags_stored_before_they_had_fields_read_as_none() {
        let flags: Flags = serde_json::from_str("{}").expect("empty flags");
        assert!(flags.is_empty());
        let plan: ChildProtectionPlan = serde_json::from_str("{}").expect("bare plan");
        assert_eq!(plan.responsible_ods, None);
    }
}

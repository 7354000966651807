//! Who the patient is: the PDS-style demographics the spine holds and the banner shows.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{ClinicalDate, NhsNumber};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
    Other,
    Unknown,
}

impl Gender {
    /// The FHIR `AdministrativeGender` code.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            "other" => Some(Gender::Other),
            "unknown" => Some(Gender::Unknown),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// House, street, locality; the town last.
    pub lines: Vec<String>,
    pub postcode: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demographics {
    pub nhs_number: NhsNumber,
    pub title: Option<String>,
    pub given: Vec<String>,
    pub family: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub address: Address,
    /// ODS code of the registered GP practice.
    pub gp_ods: Option<String>,
    /// Restricted (sensitive) patients are returned without address, telecom or GP.
    #[serde(default)]
    pub restricted: bool,
    /// The patient has died (`Patient.deceasedDateTime`, or `deceasedBoolean` without a
    /// date). Absent in records stored before it existed: alive, as far as they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased: Option<Deceased>,
}

/// A recorded death: its date when the record gives one (FHIR `deceasedDateTime`), or only
/// that the patient died (`deceasedBoolean: true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deceased {
    #[serde(default)]
    pub date: Option<ClinicalDate>,
}

impl Demographics {
    /// The NHS CUI banner name: `FAMILY, Given (Title)`.
    pub fn banner_name(&self) -> String {
        let mut name = format!("{}, {}", self.family.to_uppercase(), self.given.join(" "));
        if let Some(title) = &self.title {
            name.push_str(&format!(" ({title})"));
        }
        name
    }

    /// Whole years of age on `today`.
    pub fn age_on(&self, today: NaiveDate) -> Option<u32> {
        today.years_since(self.birth_date)
    }

    /// A copy with what a restricted record must not reveal removed.
    pub fn redacted_if_restricted(&self) -> Demographics {
        let mut d = self.clone();
        if d.restricted {
            d.address = Address::default();
            d.gp_ods = None;
        }
        d
    }
}

//! The patient's Summary Care Record sharing preference, from the codes in DOMAIN.md.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What the GP record says about sharing. No code at all means the default sharing, which is
/// a different answer from "unknown patient".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SharingPreference {
    /// Read 9Ndl: implied consent for the core SCR dataset.
    ImpliedConsentCore,
    /// Read 9Ndm: express consent for the core SCR dataset.
    ExpressConsentCore,
    /// Read 9Ndn (and 93C2): express consent for core and additional information.
    ExpressConsentCoreAndAdditional,
    /// Read 9Ndo (and 93C3): express dissent: nothing clinical is shared.
    Dissent,
}

/// One row of the code table: the Read code, its SNOMED CT concept where known, the term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsentCode {
    pub read: &'static str,
    pub snomed: Option<&'static str>,
    pub term: &'static str,
    pub preference: SharingPreference,
}

/// Read↔SNOMED pairs matched by term (DOMAIN.md); 9Nd* SNOMED concepts are unverified and
/// therefore not claimed.
pub const CONSENT_CODES: &[ConsentCode] = &[
    ConsentCode {
        read: "9Ndl",
        snomed: None,
        term: "Implied consent for core Summary Care Record dataset upload",
        preference: SharingPreference::ImpliedConsentCore,
    },
    ConsentCode {
        read: "9Ndm",
        snomed: None,
        term: "Express consent for core Summary Care Record dataset upload",
        preference: SharingPreference::ExpressConsentCore,
    },
    ConsentCode {
        read: "9Ndn",
        snomed: None,
        term: "Express consent for core and additional Summary Care Record dataset upload",
        preference: SharingPreference::ExpressConsentCoreAndAdditional,
    },
    ConsentCode {
        read: "9Ndo",
        snomed: None,
        term: "Express dissent for Summary Care Record dataset upload",
        preference: SharingPreference::Dissent,
    },
    ConsentCode {
        read: "93C2",
        snomed: Some("417370002"),
        term: "Consent given for upload to national shared electronic record",
        preference: SharingPreference::ExpressConsentCoreAndAdditional,
    },
    ConsentCode {
        read: "93C3",
        snomed: Some("416308001"),
        term: "Refused consent for upload to national shared electronic record",
        preference: SharingPreference::Dissent,
    },
];

impl SharingPreference {
    pub fn is_dissent(self) -> bool {
        self == SharingPreference::Dissent
    }

    /// The code a GP system records today for this preference (the 9Nd* series).
    pub fn preferred_code(self) -> &'static ConsentCode {
        let read = match self {
            SharingPreference::ImpliedConsentCore => "9Ndl",
            SharingPreference::ExpressConsentCore => "9Ndm",
            SharingPreference::ExpressConsentCoreAndAdditional => "9Ndn",
            SharingPreference::Dissent => "9Ndo",
        };
        CONSENT_CODES
            .iter()
            .find(|c| c.read == read)
            .unwrap_or(&CONSENT_CODES[0])
    }

    /// Finds the preference for a Read code (`93C3`, `9Ndo`, …) or SNOMED CT concept.
    pub fn from_code(code: &str) -> Option<&'static ConsentCode> {
        let code = code.trim();
        CONSENT_CODES
            .iter()
            .find(|c| c.read.eq_ignore_ascii_case(code) || c.snomed == Some(code))
    }
}

/// A recorded preference: which code, and the date the practice recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub preference: SharingPreference,
    /// The code as the practice recorded it (`93C3`, `9Ndo`, …).
    pub code: String,
    pub recorded: NaiveDate,
    /// ODS code of the practice that recorded it.
    pub recorded_by_ods: Option<String>,
}

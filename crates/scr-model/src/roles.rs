//! Role profiles and the RBAC activities that gate each API call (DOMAIN.md, access control).

use serde::{Deserialize, Serialize};

/// National RBAC activities used by the spine. A role profile carries a set of them; every
/// route names the one it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activity {
    /// B0264: patient trace / access the SCR application (demographics).
    B0264,
    /// B0370: view summary health records.
    B0370,
    /// B0168: emergency access to view the SCR.
    B0168,
    /// B0015: receive emergency view alerts (privacy officer).
    B0015,
    /// B0016: receive self-claimed legitimate-relationship alerts.
    B0016,
    /// B0020: record consent (view the sharing preference).
    B0020,
    /// B0098: national postcode search.
    B0098,
    /// Not a national activity: the credential of a GP practice system allowed to upload
    /// summaries for its registered patients.
    GpSystemUpload,
    /// Not a national activity: the credential of a hospital's (or other care setting's)
    /// system allowed to upload its own encounters — attendances and admissions at its
    /// organisation, for any patient — and nothing else.
    EncounterUpload,
}

impl Activity {
    pub fn code(self) -> &'static str {
        match self {
            Activity::B0264 => "B0264",
            Activity::B0370 => "B0370",
            Activity::B0168 => "B0168",
            Activity::B0015 => "B0015",
            Activity::B0016 => "B0016",
            Activity::B0020 => "B0020",
            Activity::B0098 => "B0098",
            Activity::GpSystemUpload => "GP-UPLOAD",
            Activity::EncounterUpload => "ENCOUNTER-UPLOAD",
        }
    }
}

/// One of a user's roles in one organisation; the user picks one per session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleProfile {
    pub id: String,
    /// SDS job role code, e.g. `R8000`.
    pub role_code: String,
    pub role_name: String,
    pub org_ods: String,
    pub org_name: String,
    pub activities: Vec<Activity>,
}

impl RoleProfile {
    pub fn allows(&self, activity: Activity) -> bool {
        self.activities.contains(&activity)
    }
}

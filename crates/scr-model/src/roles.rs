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
    /// Not a national activity: local to this service. The registration authority's own
    /// operations (register users, add and remove role profiles, list and revoke cards).
    /// Nothing national is implied by holding it, and it opens no patient data.
    RaManage,
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
            Activity::RaManage => "RA-MANAGE",
            Activity::EncounterUpload => "ENCOUNTER-UPLOAD",
        }
    }

    /// Every activity, in declaration order.
    pub const ALL: &'static [Activity] = &[
        Activity::B0264,
        Activity::B0370,
        Activity::B0168,
        Activity::B0015,
        Activity::B0016,
        Activity::B0020,
        Activity::B0098,
        Activity::GpSystemUpload,
        Activity::RaManage,
        Activity::EncounterUpload,
    ];

    /// The activity with this code (`B0264`, `GP-UPLOAD`, `RA-MANAGE`) or this JSON name
    /// (`GpSystemUpload`, `RaManage`), as an operator may type either.
    pub fn parse(text: &str) -> Option<Activity> {
        let text = text.trim();
        Activity::ALL.iter().copied().find(|a| {
            a.code().eq_ignore_ascii_case(text)
                || serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    == Some(text.to_string())
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_parse_from_their_code_or_their_json_name() {
        for &a in Activity::ALL {
            assert_eq!(Activity::parse(a.code()), Some(a), "{}", a.code());
            let name = serde_json::to_value(a).expect("json");
            assert_eq!(Activity::parse(name.as_str().expect("a string")), Some(a));
        }
        assert_eq!(Activity::parse("ra-manage"), Some(Activity::RaManage));
        assert_eq!(Activity::parse(" B0370 "), Some(Activity::B0370));
        assert_eq!(Activity::parse("B9999"), None);
        assert_eq!(Activity::parse(""), None);
    }

    #[test]
    fn every_activity_is_listed_in_all() {
        // Exhaustive: a new activity does not build here until it has a place, and the
        // assertions then fail until it is in `ALL` too (two branches once missed it there).
        fn place(a: Activity) -> usize {
            match a {
                Activity::B0264 => 0,
                Activity::B0370 => 1,
                Activity::B0168 => 2,
                Activity::B0015 => 3,
                Activity::B0016 => 4,
                Activity::B0020 => 5,
                Activity::B0098 => 6,
                Activity::GpSystemUpload => 7,
                Activity::RaManage => 8,
                Activity::EncounterUpload => 9,
            }
        }
        assert_eq!(Activity::ALL.len(), 10);
        for (i, a) in Activity::ALL.iter().enumerate() {
            assert_eq!(place(*a), i, "{a:?}");
        }
    }
}

//! Demo staff and system identities: a key and certificate issued by the CA (what a
//! smartcard holds), their role profiles, and the folder a virtual card is provisioned from:
//! `DIR/identities/<name>/{key.pem, cert.pem, km-key.pem, km-cert.pem, profile.json}`.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use scr_model::{Activity, RoleProfile};

use scr_spine::pki::{CertificateAuthority, PkiError};
use scr_spine::registration::write_card_folder;
/// `profile.json`: the card folder's format is the spine's (`scr-spine card issue` writes
/// the same folders for real users).
pub use scr_spine::registration::IdentityProfile;
use scr_spine::store::{StaffIdentity, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const HOSPITAL_ODS: &str = "RX901";
/// The registration authority agent's role code. DOMAIN.md names no SDS code for it, so
/// this one is local to this service, and spelt unlike any national `R…` code.
pub const RA_ROLE_CODE: &str = "RA-AGENT";
pub const HOSPITAL_NAME: &str = "Synthetic General Hospital";
pub const OUT_OF_HOURS_ODS: &str = "NX901";
pub const OUT_OF_HOURS_NAME: &str = "Synthetic Out of Hours Service";
/// The local authority responsible for the seeded children on a child protection plan.
pub const LOCAL_AUTHORITY_ODS: &str = "LA901";
pub const LOCAL_AUTHORITY_NAME: &str = "Synthetic County Council Children's Services";

struct ProfileTemplate {
    id: &'static str,
    role_code: &'static str,
    role_name: &'static str,
    org_ods: String,
    org_name: String,
    activities: Vec<Activity>,
}

struct Template {
    folder: &'static str,
    name: &'static str,
    user_id: &'static str,
    passcode: &'static str,
    profiles: Vec<ProfileTemplate>,
}

/// The demo identities. `practice` is the GP practice whose staff and system they are.
fn templates(practice_ods: &str, practice_name: &str) -> Vec<Template> {
    use Activity::*;
    let p = |s: &str| s.to_string();
    vec![
        Template {
            folder: "doctor",
            name: "Dr Amara Okafor",
            user_id: "555000000101",
            passcode: "246810",
            profiles: vec![
                ProfileTemplate {
                    id: "doctor-ed",
                    role_code: "R8000",
                    role_name: "Clinical Practitioner Access Role",
                    org_ods: p(HOSPITAL_ODS),
                    org_name: format!("{HOSPITAL_NAME} Emergency Department"),
                    activities: vec![B0264, B0370, B0168, B0020],
                },
                ProfileTemplate {
                    id: "doctor-ooh",
                    role_code: "R8003",
                    role_name: "Health Professional Access Role",
                    org_ods: p(OUT_OF_HOURS_ODS),
                    org_name: p(OUT_OF_HOURS_NAME),
                    activities: vec![B0264, B0370, B0168, B0020],
                },
            ],
        },
        Template {
            folder: "receptionist",
            name: "Sam Patel",
            user_id: "555000000202",
            passcode: "135790",
            profiles: vec![ProfileTemplate {
                id: "receptionist",
                role_code: "R8008",
                role_name: "Admin/Clinical Support Access Role",
                org_ods: p(practice_ods),
                org_name: p(practice_name),
                activities: vec![B0264, B0020],
            }],
        },
        Template {
            folder: "privacy-officer",
            name: "Priya Shah",
            user_id: "555000000303",
            passcode: "975310",
            profiles: vec![ProfileTemplate {
                id: "privacy-officer",
                role_code: "R0001",
                role_name: "Privacy Officer Access Role",
                org_ods: p(HOSPITAL_ODS),
                org_name: p(HOSPITAL_NAME),
                activities: vec![B0015, B0016],
            }],
        },
        Template {
            folder: "gp",
            name: "Dr Rowan Hughes",
            user_id: "555000000505",
            passcode: "314159",
            profiles: vec![ProfileTemplate {
                id: "gp",
                role_code: "R8000",
                role_name: "Clinical Practitioner Access Role",
                org_ods: p(practice_ods),
                org_name: p(practice_name),
                activities: vec![B0264, B0370, B0168, B0020],
            }],
        },
        Template {
            folder: "gp-system",
            name: "Clinical system of the practice",
            user_id: "555000000404",
            passcode: "864200",
            profiles: vec![ProfileTemplate {
                id: "gp-system",
                role_code: "R8008",
                role_name: "GP practice clinical system",
                org_ods: p(practice_ods),
                org_name: p(practice_name),
                activities: vec![GpSystemUpload, B0264],
            }],
        },
        Template {
            folder: "ra",
            name: "Robin Clarke",
            user_id: "555000000606",
            passcode: "192837",
            profiles: vec![ProfileTemplate {
                id: "ra-agent",
                role_code: RA_ROLE_CODE,
                role_name: "Registration Authority Agent (local role)",
                org_ods: p(HOSPITAL_ODS),
                org_name: p(HOSPITAL_NAME),
                // Registration only: no patient data.
                activities: vec![RaManage],
            }],
        },
        Template {
            folder: "hospital-system",
            name: "Patient administration system of the hospital",
            user_id: "555000000808",
            passcode: "753197",
            profiles: vec![ProfileTemplate {
                id: "hospital-system",
                role_code: "R8008",
                role_name: "Hospital patient administration system",
                org_ods: p(HOSPITAL_ODS),
                org_name: p(HOSPITAL_NAME),
                activities: vec![EncounterUpload],
            }],
        },
        Template {
            folder: "la-privacy-officer",
            name: "Jo Brennan",
            user_id: "555000000707",
            passcode: "518362",
            profiles: vec![ProfileTemplate {
                id: "la-privacy-officer",
                role_code: "R0001",
                role_name: "Privacy Officer Access Role",
                org_ods: p(LOCAL_AUTHORITY_ODS),
                org_name: p(LOCAL_AUTHORITY_NAME),
                activities: vec![B0015, B0016],
            }],
        },
    ]
}

/// Issues every demo identity, registers it in the store and writes its folder.
pub async fn create_demo_identities(
    data_dir: &Path,
    ca: &CertificateAuthority,
    store: &Store,
    practice_ods: &str,
    practice_name: &str,
) -> Result<Vec<PathBuf>, IdentityError> {
    let mut folders = Vec::new();
    for t in templates(practice_ods, practice_name) {
        let profiles: Vec<RoleProfile> = t
            .profiles
            .iter()
            .map(|p| RoleProfile {
                id: p.id.to_string(),
                role_code: p.role_code.to_string(),
                role_name: p.role_name.to_string(),
                org_ods: p.org_ods.clone(),
                org_name: p.org_name.clone(),
                activities: p.activities.clone(),
            })
            .collect();
        let profile = IdentityProfile {
            name: t.name.to_string(),
            user_id: t.user_id.to_string(),
            passcode: t.passcode.to_string(),
            role_profiles: profiles,
        };
        let dir = data_dir.join("identities").join(t.folder);
        issue_identity(
            ca,
            store,
            &dir,
            &profile,
            Utc::now() - Duration::days(1),
            Utc::now() + Duration::days(1095),
        )
        .await?;
        folders.push(dir);
    }
    Ok(folders)
}

/// Issues a certificate for `profile`, registers it and writes the identity folder.
pub async fn issue_identity(
    ca: &CertificateAuthority,
    store: &Store,
    dir: &Path,
    profile: &IdentityProfile,
    not_before: chrono::DateTime<Utc>,
    not_after: chrono::DateTime<Utc>,
) -> Result<String, IdentityError> {
    let auth = ca.issue_identity(&profile.name, not_before, not_after)?;
    let km = ca.issue_key_management(&profile.name)?;
    store
        .insert_identity(
            &StaffIdentity {
                user_id: profile.user_id.clone(),
                name: profile.name.clone(),
                revoked: false,
            },
            &auth.id,
            &profile.role_profiles,
        )
        .await?;
    write_card_folder(dir, &auth, &km, profile)?;
    Ok(auth.id.serial_hex)
}

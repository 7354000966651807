//! The registration authority (RA): registering users, adding and removing their role
//! profiles, issuing and revoking their cards, and listing them — what a deployment needs to
//! run without editing a database.
//!
//! Each change is checked here (`register_user`, `add_role`, … build a [`Change`] or refuse
//! with a [`Refusal`]), then applied by [`apply`] inside one transaction together with its
//! audit entry: by the spine's audit writer for the HTTPS routes (`crate::ra`), or by
//! [`crate::audit::register_now`] for the console (`console`). Either way the change and its
//! entry commit together, and a change refused inside the transaction (a user id already
//! taken, a role profile that is not there) is itself recorded as refused.
//!
//! A card is issued only at the console (`scr-spine card issue`): its private keys are made
//! where the card is written and never travel over the network.

pub mod console;

use scr_model::fhir::IssueType;
use scr_model::{Activity, ErrorCode, RoleProfile};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::error::ApiError;
use crate::pki::{write_file, write_secret, CertificateId, Issued, PkiError};
use crate::store::{self, StoreResult};

/// `profile.json` of a card folder: what a person (or the virtual card) needs to sign in.
/// The folder (`key.pem`, `cert.pem`, `km-key.pem`, `km-cert.pem`, `profile.json`) is what
/// `scr-vcard` is provisioned from; `scr-spine card issue` and the demo identities write it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdentityProfile {
    pub name: String,
    pub user_id: String,
    /// The card passcode (the virtual card keeps it here; synthetic identities only).
    pub passcode: String,
    /// The holder's role profiles when the card was written (sign-in reads the spine's).
    pub role_profiles: Vec<RoleProfile>,
}

/// Writes a card folder: certificates readable, private keys and the profile (which holds
/// the passcode) owner-only from the moment each file exists.
pub fn write_card_folder(
    dir: &std::path::Path,
    authentication: &Issued,
    key_management: &Issued,
    profile: &IdentityProfile,
) -> Result<(), PkiError> {
    let json = serde_json::to_string_pretty(profile).map_err(|e| PkiError::Write {
        path: dir.join("profile.json"),
        source: std::io::Error::other(e),
    })?;
    write_file(&dir.join("cert.pem"), &authentication.cert_pem)?;
    write_secret(&dir.join("key.pem"), &authentication.key_pem)?;
    write_file(&dir.join("km-cert.pem"), &key_management.cert_pem)?;
    write_secret(&dir.join("km-key.pem"), &key_management.key_pem)?;
    write_secret(&dir.join("profile.json"), &json)?;
    Ok(())
}

/// The files of a card folder (what `card issue` refuses to overwrite).
pub const CARD_FOLDER_FILES: [&str; 5] = [
    "cert.pem",
    "key.pem",
    "km-cert.pem",
    "km-key.pem",
    "profile.json",
];

/// Why a registration was refused: a code from the spine's closed set and words for the
/// operator (safe to answer with).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::InvalidRegistration, message)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        let issue = match r.code.http_status() {
            404 => IssueType::NotFound,
            409 => IssueType::Conflict,
            403 => IssueType::Forbidden,
            _ => IssueType::Value,
        };
        ApiError::new(r.code, issue, r.message)
    }
}

/// The `/ra/…` bodies and answers: one definition, shared with the viewer's client.
pub use scr_model::registration::{CardRevocation, CardView, NewRoleProfile, NewUser};

impl From<store::CertificateRow> for CardView {
    fn from(r: store::CertificateRow) -> CardView {
        CardView {
            issuer: r.id.issuer,
            serial: r.id.serial_hex,
            user_id: r.user_id,
            name: r.name,
            revoked: r.revoked,
            live_sessions: r.live_sessions,
        }
    }
}

/// A change to who may sign in and as what, checked and ready to apply.
#[derive(Clone, Debug)]
pub enum Change {
    RegisterUser {
        user_id: String,
        name: String,
    },
    AddRole {
        user_id: String,
        profile: RoleProfile,
    },
    RemoveRole {
        user_id: String,
        profile_id: String,
    },
    IssueCard {
        user_id: String,
        certificate: CertificateId,
    },
    RevokeCard {
        serial_hex: String,
        /// Lowercase hex, the issuer key or its first digits.
        issuer: Option<String>,
        reason: String,
    },
}

/// A change and who asks for it (the signed-in RA's user id, or `console:<login>`).
#[derive(Clone, Debug)]
pub struct RegistrationJob {
    pub change: Change,
    pub by: String,
}

/// What applying a change did.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The user the change is about (for a revocation, the card's holder once known).
    pub subject_id: String,
    pub subject_name: Option<String>,
    /// For the audit entry: what was changed, as `key=value` words.
    pub detail: String,
    pub result: Result<Done, Refusal>,
}

/// What a change that went through did.
#[derive(Clone, Debug, Default)]
pub struct Done {
    /// Sessions a revocation ended, or that were acting in a removed role.
    pub sessions: u64,
    /// The certificate revoked.
    pub certificate: Option<CertificateId>,
    /// The role profile added.
    pub profile: Option<RoleProfile>,
}

fn clean_text(field: &str, value: &str, max: usize) -> Result<String, Refusal> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Refusal::invalid(format!(
            "The {field} must be 1 to {max} characters of text, without control characters."
        )));
    }
    Ok(value.to_string())
}

/// An SDS user id: twelve digits.
pub fn user_id(value: &str) -> Result<String, Refusal> {
    let value = value.trim();
    if value.len() != 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::invalid(format!(
            "{value:?} is not a user id: an SDS user id is 12 digits."
        )));
    }
    Ok(value.to_string())
}

fn word(field: &str, value: &str, max: usize) -> Result<String, Refusal> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(Refusal::invalid(format!(
            "The {field} must be 1 to {max} letters, digits, '-', '_' or '.'."
        )));
    }
    Ok(value.to_string())
}

/// A new user, checked.
pub fn register_user(new: &NewUser) -> Result<Change, Refusal> {
    Ok(Change::RegisterUser {
        user_id: user_id(&new.user_id)?,
        name: clean_text("name", &new.name, 100)?,
    })
}

/// A new role profile for `user`, checked.
pub fn add_role(user: &str, new: &NewRoleProfile) -> Result<Change, Refusal> {
    let user_id = user_id(user)?;
    let role_code = word("role code", &new.role_code, 16)?;
    let org_ods = new.org_ods.trim().to_ascii_uppercase();
    if !(3..=10).contains(&org_ods.len()) || !org_ods.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Refusal::invalid(format!(
            "{:?} is not an ODS code (3 to 10 letters and digits).",
            new.org_ods.trim()
        )));
    }
    let mut activities = Vec::new();
    for text in &new.activities {
        let Some(a) = Activity::parse(text) else {
            return Err(Refusal::invalid(format!(
                "{:?} is not an activity this service knows (one of {}).",
                text.trim(),
                Activity::ALL
                    .iter()
                    .map(|a| a.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if !activities.contains(&a) {
            activities.push(a);
        }
    }
    if activities.is_empty() {
        return Err(Refusal::invalid(
            "A role profile needs at least one activity.",
        ));
    }
    let id = match &new.id {
        Some(id) => word("role profile id", id, 64)?,
        // One role at one organisation per user unless the RA names the profiles apart.
        None => format!("{user_id}-{role_code}-{org_ods}").to_ascii_lowercase(),
    };
    Ok(Change::AddRole {
        user_id,
        profile: RoleProfile {
            id,
            role_code,
            role_name: clean_text("role name", &new.role_name, 100)?,
            org_ods,
            org_name: clean_text("organisation name", &new.org_name, 100)?,
            activities,
        },
    })
}

/// Taking role profile `profile_id` from `user`, checked.
pub fn remove_role(user: &str, profile_id: &str) -> Result<Change, Refusal> {
    Ok(Change::RemoveRole {
        user_id: user_id(user)?,
        profile_id: word("role profile id", profile_id, 64)?,
    })
}

/// Revoking the card with `serial` (hex), checked.
pub fn revoke_card(serial: &str, issuer: Option<&str>, reason: &str) -> Result<Change, Refusal> {
    let hex = |field: &str, v: &str| {
        let v = v.trim().to_ascii_lowercase();
        if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Refusal::invalid(format!(
                "The {field} must be hexadecimal, as `card list` shows it."
            )));
        }
        Ok(v)
    };
    // The reason is the operator's free text: no control characters (the entry is one line).
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if reason.trim().is_empty() {
        return Err(Refusal::invalid(
            "Say why the card is revoked (lost, stolen, left the organisation…).",
        ));
    }
    Ok(Change::RevokeCard {
        serial_hex: hex("serial", serial)?,
        issuer: issuer.map(|i| hex("issuer", i)).transpose()?,
        reason: reason.trim().to_string(),
    })
}

fn activity_codes(activities: &[Activity]) -> String {
    activities
        .iter()
        .map(|a| a.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn refused(subject_id: &str, name: Option<String>, detail: String, r: Refusal) -> Applied {
    Applied {
        subject_id: subject_id.to_string(),
        subject_name: name,
        detail,
        result: Err(r),
    }
}

fn unknown_user(user_id: &str, detail: String) -> Applied {
    refused(
        user_id,
        None,
        detail,
        Refusal::new(
            ErrorCode::UserNotFound,
            format!("No user is registered as {user_id}."),
        ),
    )
}

/// Applies `change` in the caller's transaction (which holds the chain head's lock, so
/// checks and writes here cannot race another registration). A refusal changes nothing.
pub(crate) async fn apply(conn: &mut AnyConnection, change: &Change) -> StoreResult<Applied> {
    match change {
        Change::RegisterUser { user_id, name } => {
            let detail = format!("subject={user_id}");
            if !store::insert_user(conn, user_id, name).await? {
                return Ok(refused(
                    user_id,
                    store::user_name(conn, user_id).await?,
                    detail,
                    Refusal::new(
                        ErrorCode::UserExists,
                        format!("A user is already registered as {user_id}; nothing changed."),
                    ),
                ));
            }
            Ok(Applied {
                subject_id: user_id.clone(),
                subject_name: Some(name.clone()),
                detail,
                result: Ok(Done::default()),
            })
        }
        Change::AddRole { user_id, profile } => {
            let detail = format!(
                "subject={user_id} role_profile={} role={} org={} activities={}",
                profile.id,
                profile.role_code,
                profile.org_ods,
                activity_codes(&profile.activities)
            );
            let Some(name) = store::user_name(conn, user_id).await? else {
                return Ok(unknown_user(user_id, detail));
            };
            if !store::insert_role_profile(conn, user_id, profile).await? {
                return Ok(refused(
                    user_id,
                    Some(name),
                    detail,
                    Refusal::new(
                        ErrorCode::RoleProfileExists,
                        format!(
                            "A role profile {} exists already; nothing changed (give another id to hold the role twice).",
                            profile.id
                        ),
                    ),
                ));
            }
            Ok(Applied {
                subject_id: user_id.clone(),
                subject_name: Some(name),
                detail,
                result: Ok(Done {
                    profile: Some(profile.clone()),
                    ..Done::default()
                }),
            })
        }
        Change::RemoveRole {
            user_id,
            profile_id,
        } => {
            let mut detail = format!("subject={user_id} role_profile={profile_id}");
            let Some(name) = store::user_name(conn, user_id).await? else {
                return Ok(unknown_user(user_id, detail));
            };
            let Some(in_role) = store::delete_role_profile(conn, user_id, profile_id).await? else {
                return Ok(refused(
                    user_id,
                    Some(name),
                    detail,
                    Refusal::new(
                        ErrorCode::RoleProfileNotFound,
                        format!("{user_id} holds no role profile {profile_id}; nothing changed."),
                    ),
                ));
            };
            detail.push_str(&format!(" sessions_in_role={in_role}"));
            Ok(Applied {
                subject_id: user_id.clone(),
                subject_name: Some(name),
                detail,
                result: Ok(Done {
                    sessions: in_role,
                    ..Done::default()
                }),
            })
        }
        Change::IssueCard {
            user_id,
            certificate,
        } => {
            let detail = format!("subject={user_id} certificate={certificate}");
            let Some(name) = store::user_name(conn, user_id).await? else {
                return Ok(unknown_user(user_id, detail));
            };
            if !store::register_certificate(conn, certificate, user_id).await? {
                // A fresh random 128-bit serial from our own CA: only a bug gets here.
                return Ok(refused(
                    user_id,
                    Some(name),
                    detail,
                    Refusal::new(
                        ErrorCode::InvalidRegistration,
                        format!("The certificate {certificate} is registered already."),
                    ),
                ));
            }
            Ok(Applied {
                subject_id: user_id.clone(),
                subject_name: Some(name),
                detail,
                result: Ok(Done {
                    certificate: Some(certificate.clone()),
                    ..Done::default()
                }),
            })
        }
        Change::RevokeCard {
            serial_hex,
            issuer,
            reason,
        } => {
            let matching: Vec<_> = store::certificates_with_serial(conn, serial_hex)
                .await?
                .into_iter()
                .filter(|(id, ..)| issuer.as_deref().is_none_or(|i| id.issuer.starts_with(i)))
                .collect();
            let (certificate, holder, name) = match matching.as_slice() {
                [(id, holder, name, _)] => (id.clone(), holder.clone(), name.clone()),
                [] => {
                    return Ok(refused(
                        "",
                        None,
                        format!("serial={serial_hex} reason={reason}"),
                        Refusal::new(
                            ErrorCode::CardNotFound,
                            format!(
                            "No registered certificate has serial {serial_hex}; nothing revoked."
                        ),
                        ),
                    ))
                }
                several => {
                    let issuers: Vec<String> = several
                        .iter()
                        .map(|(id, holder, name, _)| format!("{} ({name}, {holder})", id.issuer))
                        .collect();
                    return Ok(refused(
                        "",
                        None,
                        format!("serial={serial_hex} reason={reason}"),
                        Refusal::new(
                            ErrorCode::CardAmbiguous,
                            format!(
                                "{} certificates from different issuers have serial {serial_hex}; nothing revoked. Name one by its issuer (`--issuer`, or `issuer` in the request): {}",
                                several.len(),
                                issuers.join(", ")
                            ),
                        ),
                    ));
                }
            };
            let ended = store::revoke_certificate(conn, &certificate)
                .await?
                .unwrap_or(0);
            Ok(Applied {
                subject_id: holder.clone(),
                subject_name: Some(name),
                detail: format!(
                    "subject={holder} certificate={certificate} sessions_ended={ended} reason={reason}"
                ),
                result: Ok(Done {
                    sessions: ended,
                    certificate: Some(certificate),
                    ..Done::default()
                }),
            })
        }
    }
}

/// The audit action of a change.
pub fn action(change: &Change) -> scr_model::AuditAction {
    use scr_model::AuditAction as A;
    match change {
        Change::RegisterUser { .. } => A::UserRegister,
        Change::AddRole { .. } => A::RoleAdd,
        Change::RemoveRole { .. } => A::RoleRemove,
        Change::IssueCard { .. } => A::CardIssue,
        Change::RevokeCard { .. } => A::CardRevoke,
    }
}

/// Completes the change's audit entry from what applying it did: outcome, detail (the
/// refusal's code first, as every refused entry has, then what was asked and by whom) and,
/// for an entry with no signed-in user (the console), the subject as its user, as
/// `card-revoke` entries have always named the card's holder. A revocation alerts the
/// privacy officer.
pub(crate) fn complete_entry(
    entry: &mut scr_model::AuditEntry,
    job: &RegistrationJob,
    applied: &Applied,
) {
    use scr_model::AuditOutcome;
    let by = &job.by;
    match &applied.result {
        Ok(_) => {
            entry.outcome = AuditOutcome::Success;
            entry.detail = Some(format!("{} by={by}", applied.detail));
        }
        Err(r) => {
            entry.outcome = match r.code.http_status() {
                404 => AuditOutcome::NotFound,
                400 => AuditOutcome::Invalid,
                _ => AuditOutcome::Refused,
            };
            entry.detail = Some(format!("{} {} by={by}", r.code.as_str(), applied.detail));
        }
    }
    if entry.user_id.is_none() && !applied.subject_id.is_empty() {
        entry.user_id = Some(applied.subject_id.clone());
        entry.user_name = applied.subject_name.clone();
    }
    entry.alert = matches!(job.change, Change::RevokeCard { .. }) && applied.result.is_ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(activities: &[&str]) -> NewRoleProfile {
        NewRoleProfile {
            id: None,
            role_code: "R8000".into(),
            role_name: "Clinical Practitioner Access Role".into(),
            org_ods: " rx901 ".into(),
            org_name: "Synthetic General Hospital".into(),
            activities: activities.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn a_user_id_is_twelve_digits_and_a_name_is_plain_text() {
        let ok = NewUser {
            user_id: " 555000000999 ".into(),
            name: " Alex Jones ".into(),
        };
        assert!(matches!(
            register_user(&ok),
            Ok(Change::RegisterUser { user_id, name }) if user_id == "555000000999" && name == "Alex Jones"
        ));
        for (id, name) in [
            ("55500000099", "Alex"),
            ("55500000099x", "Alex"),
            ("555000000999", ""),
            ("555000000999", "Alex\nJones"),
        ] {
            let r = register_user(&NewUser {
                user_id: id.into(),
                name: name.into(),
            });
            assert_eq!(
                r.err().map(|e| e.code),
                Some(ErrorCode::InvalidRegistration),
                "{id:?} {name:?}"
            );
        }
    }

    #[test]
    fn a_role_profile_names_known_activities_and_a_real_ods_code() {
        let Ok(Change::AddRole { profile, .. }) = add_role(
            "555000000999",
            &role(&["B0264", "b0370", "RaManage", "B0264"]),
        ) else {
            panic!("a valid role profile was refused");
        };
        assert_eq!(profile.org_ods, "RX901");
        assert_eq!(profile.id, "555000000999-r8000-rx901");
        assert_eq!(
            profile.activities,
            vec![Activity::B0264, Activity::B0370, Activity::RaManage]
        );
        for bad in [role(&[]), role(&["B9999"])] {
            assert_eq!(
                add_role("555000000999", &bad).err().map(|e| e.code),
                Some(ErrorCode::InvalidRegistration)
            );
        }
        let mut bad_ods = role(&["B0264"]);
        bad_ods.org_ods = "R-X".into();
        assert!(add_role("555000000999", &bad_ods).is_err());
    }

    #[test]
    fn a_revocation_needs_a_hex_serial_and_a_reason() {
        assert!(matches!(
            revoke_card(" 4A01 ", Some("AB"), "lost"),
            Ok(Change::RevokeCard { serial_hex, issuer: Some(i), .. }) if serial_hex == "4a01" && i == "ab"
        ));
        assert!(revoke_card("4a01", None, " \n ").is_err());
        assert!(revoke_card("not-hex", None, "lost").is_err());
    }
}

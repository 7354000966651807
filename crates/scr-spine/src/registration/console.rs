//! The registration authority at the console: `scr-spine user|role|card …` against a data
//! folder (its store, its CA). Each change goes through the same checks and the same
//! transaction with its audit entry as over HTTPS; the entry names the operator at this
//! console (`by=console:<login>`).
//!
//! Every function prints its report on stdout and answers `Ok(true)`, or prints one line
//! saying why it refused on stderr and answers `Ok(false)` (exit status 1); `Err` is a
//! failure to do the work at all (exit status 2).

use std::path::Path;

use anyhow::Context;
use chrono::{Duration, Utc};
use rand::Rng;
use scr_model::{AuditAction, AuditEntry, AuditOutcome};

use super::{
    add_role, register_user, remove_role, revoke_card, Applied, Change, IdentityProfile,
    NewRoleProfile, NewUser, Refusal, RegistrationJob, CARD_FOLDER_FILES,
};
use crate::audit::register_now;
use crate::pki::CertificateAuthority;
use crate::setup::{config_for, open_store};
use crate::store::Store;

/// Who is at this console, for the audit entry: the login that ran the command (through
/// sudo, the one that ran sudo).
pub fn console_operator() -> String {
    let login = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "operator".into());
    let login: String = login
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .take(64)
        .collect();
    format!("console:{login}")
}

async fn store_for(data: &Path, database: Option<String>) -> anyhow::Result<Store> {
    let config = config_for(data, database)?;
    open_store(data, &config).await
}

fn say_refused(r: &Refusal) -> bool {
    eprintln!("scr-spine: refused ({}): {}", r.code.as_str(), r.message);
    false
}

/// An entry for a console change: no signed-in user (the transaction names the subject).
fn console_entry(action: AuditAction) -> AuditEntry {
    AuditEntry {
        user_id: None,
        user_name: None,
        role_code: None,
        org_ods: None,
        patient: None,
        action,
        reason: None,
        outcome: AuditOutcome::Success,
        detail: None,
        alert: false,
        offline: None,
        relationship: None,
        justification: None,
        alerts: Vec::new(),
        alert_org: None,
    }
}

/// Opens the data folder's store, applies `change` with its audit entry in one
/// transaction, and closes the store.
async fn apply_in(
    data: &Path,
    database: Option<String>,
    change: Change,
) -> anyhow::Result<Applied> {
    let store = store_for(data, database).await?;
    let result = apply(&store, change).await;
    store.close().await;
    result
}

/// Applies `change` with its audit entry, in one transaction.
async fn apply(store: &Store, change: Change) -> anyhow::Result<Applied> {
    let action = super::action(&change);
    let job = RegistrationJob {
        change,
        by: console_operator(),
    };
    Ok(register_now(store, &job, console_entry(action)).await?)
}

/// `user add --user ID --name NAME`
pub async fn user_add(
    data: &Path,
    database: Option<String>,
    user_id: &str,
    name: &str,
) -> anyhow::Result<bool> {
    let change = match register_user(&NewUser {
        user_id: user_id.into(),
        name: name.into(),
    }) {
        Ok(c) => c,
        Err(r) => return Ok(say_refused(&r)),
    };
    let applied = apply_in(data, database, change).await?;
    Ok(match applied.result {
        Ok(_) => {
            println!(
                "registered {} ({}); add a role profile (`role add`) and issue a card (`card issue`) for them to sign in",
                applied.subject_id,
                applied.subject_name.unwrap_or_default()
            );
            true
        }
        Err(r) => say_refused(&r),
    })
}

/// `user list`
pub async fn user_list(data: &Path, database: Option<String>) -> anyhow::Result<bool> {
    let store = store_for(data, database).await?;
    let users = store.users().await;
    store.close().await;
    let users = users?;
    println!("{:<14} {:>5} {:>5}  name", "user", "roles", "cards");
    for u in users {
        println!(
            "{:<14} {:>5} {:>5}  {}",
            u.user_id, u.role_profiles, u.active_cards, u.name
        );
    }
    Ok(true)
}

/// `role add --user ID --code … --name … --org-ods … --org-name … --activities A,B [--id …]`
pub async fn role_add(
    data: &Path,
    database: Option<String>,
    user_id: &str,
    new: &NewRoleProfile,
) -> anyhow::Result<bool> {
    let change = match add_role(user_id, new) {
        Ok(c) => c,
        Err(r) => return Ok(say_refused(&r)),
    };
    let applied = apply_in(data, database, change).await?;
    Ok(match applied.result {
        Ok(done) => {
            if let Some(p) = done.profile {
                println!(
                    "added role profile {} to {} ({}): {} {} at {} {} [{}]",
                    p.id,
                    applied.subject_id,
                    applied.subject_name.unwrap_or_default(),
                    p.role_code,
                    p.role_name,
                    p.org_ods,
                    p.org_name,
                    super::activity_codes(&p.activities)
                );
            }
            true
        }
        Err(r) => say_refused(&r),
    })
}

/// `role remove --user ID --id PROFILE`
pub async fn role_remove(
    data: &Path,
    database: Option<String>,
    user_id: &str,
    profile_id: &str,
) -> anyhow::Result<bool> {
    let change = match remove_role(user_id, profile_id) {
        Ok(c) => c,
        Err(r) => return Ok(say_refused(&r)),
    };
    let applied = apply_in(data, database, change).await?;
    Ok(match applied.result {
        Ok(done) => {
            println!(
                "removed role profile {profile_id} from {} ({}); {} live session(s) acting in it must choose another role",
                applied.subject_id,
                applied.subject_name.unwrap_or_default(),
                done.sessions
            );
            true
        }
        Err(r) => say_refused(&r),
    })
}

/// `role list --user ID`
pub async fn role_list(
    data: &Path,
    database: Option<String>,
    user_id: &str,
) -> anyhow::Result<bool> {
    let user_id = match super::user_id(user_id) {
        Ok(u) => u,
        Err(r) => return Ok(say_refused(&r)),
    };
    let store = store_for(data, database).await?;
    let found = profiles_of(&store, &user_id).await;
    store.close().await;
    let Some((name, profiles)) = found? else {
        return Ok(say_refused(&Refusal::new(
            scr_model::ErrorCode::UserNotFound,
            format!("No user is registered as {user_id}."),
        )));
    };
    println!("role profiles of {user_id} ({name}):");
    println!(
        "{:<32} {:<10} {:<8} {:<24} role",
        "id", "code", "org", "activities"
    );
    for p in profiles {
        println!(
            "{:<32} {:<10} {:<8} {:<24} {} at {}",
            p.id,
            p.role_code,
            p.org_ods,
            super::activity_codes(&p.activities),
            p.role_name,
            p.org_name
        );
    }
    Ok(true)
}

async fn profiles_of(
    store: &Store,
    user_id: &str,
) -> anyhow::Result<Option<(String, Vec<scr_model::RoleProfile>)>> {
    let Some(name) = store.user_name(user_id).await? else {
        return Ok(None);
    };
    Ok(Some((name, store.role_profiles(user_id).await?)))
}

/// A card passcode: 6 to 8 digits, as the card (and NCRS) require.
fn passcode(given: Option<&str>) -> Result<String, Refusal> {
    match given {
        Some(p) => {
            let p = p.trim();
            if (6..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) {
                Ok(p.to_string())
            } else {
                Err(Refusal::invalid("A card passcode is 6 to 8 digits."))
            }
        }
        None => {
            let mut rng = rand::thread_rng();
            Ok((0..6)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect())
        }
    }
}

/// `card issue --user ID --out DIR [--passcode DIGITS]`: a PIV identity (9A authentication
/// and 9D key-management keys and certificates) issued by the data folder's CA, registered
/// to the user, and written to DIR as the virtual card reads it. The keys are made here and
/// written only to DIR (owner-only); the registration and its `card-issue` entry commit
/// together, and the folder is written only after that, so a refused issue leaves nothing.
pub async fn card_issue(
    data: &Path,
    database: Option<String>,
    user_id: &str,
    out: &Path,
    given_passcode: Option<&str>,
) -> anyhow::Result<bool> {
    let user_id = match super::user_id(user_id) {
        Ok(u) => u,
        Err(r) => return Ok(say_refused(&r)),
    };
    let passcode = match passcode(given_passcode) {
        Ok(p) => p,
        Err(r) => return Ok(say_refused(&r)),
    };
    if let Some(existing) = CARD_FOLDER_FILES
        .iter()
        .map(|f| out.join(f))
        .find(|p| p.exists())
    {
        return Ok(say_refused(&Refusal::invalid(format!(
            "{} exists: write a new card to an empty folder (nothing was issued).",
            existing.display()
        ))));
    }
    let ca = CertificateAuthority::load(&data.join("ca"))
        .context("loading the data folder's CA (run `scr-spine init` first)")?;
    let store = store_for(data, database).await?;
    let result = issue(&store, &ca, &user_id, out, passcode).await;
    store.close().await;
    result
}

async fn issue(
    store: &Store,
    ca: &CertificateAuthority,
    user_id: &str,
    out: &Path,
    passcode: String,
) -> anyhow::Result<bool> {
    // The name in the certificate is the registered one; an unknown user is refused (and
    // recorded) by the registration itself below.
    let name = store.user_name(user_id).await?.unwrap_or_default();
    let now = Utc::now();
    let authentication = ca.issue_identity(
        if name.is_empty() { user_id } else { &name },
        now - Duration::days(1),
        now + Duration::days(1095),
    )?;
    let key_management = ca.issue_key_management(if name.is_empty() { user_id } else { &name })?;
    let applied = apply(
        store,
        Change::IssueCard {
            user_id: user_id.to_string(),
            certificate: authentication.id.clone(),
        },
    )
    .await?;
    if let Err(r) = &applied.result {
        return Ok(say_refused(r));
    }
    let profile = IdentityProfile {
        name: applied.subject_name.clone().unwrap_or(name),
        user_id: user_id.to_string(),
        passcode,
        role_profiles: store.role_profiles(user_id).await?,
    };
    if let Err(e) = super::write_card_folder(out, &authentication, &key_management, &profile) {
        // A registered certificate whose key was never written is of no use to anyone, but
        // it should not stay live either: revoke it, recorded like any other revocation.
        let undo = apply(
            store,
            Change::RevokeCard {
                serial_hex: authentication.id.serial_hex.clone(),
                issuer: Some(authentication.id.issuer.clone()),
                reason: "card-issue: the card folder could not be written".into(),
            },
        )
        .await;
        return Err(anyhow::Error::new(e).context(match undo {
            Ok(_) => "the card folder could not be written; the certificate just registered was revoked".to_string(),
            Err(u) => format!("the card folder could not be written, and revoking the certificate just registered failed too ({u}): revoke {} by hand", authentication.id),
        }));
    }
    println!(
        "issued card {} to {} ({}); written to {} (key.pem, km-key.pem and profile.json owner-only; the passcode is in profile.json)",
        authentication.id,
        user_id,
        profile.name,
        out.display()
    );
    if profile.role_profiles.is_empty() {
        println!("  {user_id} holds no role profile yet: add one (`role add`) before they sign in");
    }
    Ok(true)
}

/// `card list`
pub async fn card_list(data: &Path, database: Option<String>) -> anyhow::Result<bool> {
    let store = store_for(data, database).await?;
    let rows = store.certificates().await;
    store.close().await;
    let rows = rows?;
    println!(
        "{:<16} {:<34} {:<14} {:<8} {:>5}  holder",
        "issuer", "serial", "user", "state", "live"
    );
    for r in rows {
        println!(
            "{:<16} {:<34} {:<14} {:<8} {:>5}  {}",
            r.id.issuer.get(..16).unwrap_or(&r.id.issuer),
            r.id.serial_hex,
            r.user_id,
            if r.revoked { "revoked" } else { "active" },
            r.live_sessions,
            r.name
        );
    }
    Ok(true)
}

/// `card revoke --serial HEX [--issuer HEX] --reason TEXT`: sign-in with the card is refused
/// and its live sessions end at once.
pub async fn card_revoke(
    data: &Path,
    database: Option<String>,
    serial: &str,
    issuer: Option<&str>,
    reason: &str,
) -> anyhow::Result<bool> {
    let change = match revoke_card(serial, issuer, reason) {
        Ok(c) => c,
        Err(r) => return Ok(say_refused(&r)),
    };
    let applied = apply_in(data, database, change).await?;
    Ok(match applied.result {
        Ok(done) => {
            let certificate = done.certificate.map(|c| c.to_string()).unwrap_or_default();
            println!(
                "revoked {certificate} ({}, {}); {} live session(s) ended",
                applied.subject_name.unwrap_or_default(),
                applied.subject_id,
                done.sessions
            );
            true
        }
        Err(r) => say_refused(&r),
    })
}

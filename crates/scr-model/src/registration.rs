//! The registration authority's HTTPS contract (`/ra/…`): the bodies the spine reads and the
//! answers it sends, written once here so the spine (`scr-spine`'s `ra.rs`) and the viewer's
//! client (`scr-client`) cannot drift apart. The JSON is snake_case, as the spine's other
//! non-FHIR answers (`/auth/…`) are. Cards are not issued over HTTPS: their private keys are
//! made where the card is written (`scr-spine card issue`), so no type here carries a key.

use serde::{Deserialize, Serialize};

use crate::RoleProfile;

/// `POST /ra/users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub user_id: String,
    pub name: String,
}

/// `POST /ra/users/{user}/role-profiles`. Activities by code (`B0264`, `RA-MANAGE`) or by
/// their JSON name (`RaManage`); the id is made from the user, role and organisation when
/// not given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRoleProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub role_code: String,
    pub role_name: String,
    pub org_ods: String,
    pub org_name: String,
    pub activities: Vec<String>,
}

/// `POST /ra/cards/{serial}/revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRevocation {
    /// The issuer (hex, or its first digits); needed only when two issuers share the serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Why (lost, stolen, left the organisation…); kept in the audit entry.
    pub reason: String,
}

/// A registered user as `GET /ra/users` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredUser {
    pub user_id: String,
    pub name: String,
    /// How many role profiles they hold.
    pub role_profiles: i64,
    /// How many of their cards are not revoked.
    pub active_cards: i64,
}

/// A registered card as `GET /ra/cards` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    /// The issuing CA's key, lowercase hex.
    pub issuer: String,
    /// The certificate's serial, lowercase hex.
    pub serial: String,
    pub user_id: String,
    pub name: String,
    pub revoked: bool,
    pub live_sessions: i64,
}

/// The user an answer is about. The name is `None` only where the spine could not name them
/// (it names them in every answer to a change that went through).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub user_id: String,
    pub name: Option<String>,
}

/// A certificate named by its issuer and serial (both lowercase hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub issuer: String,
    pub serial: String,
}

/// The answer to `GET /ra/users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<RegisteredUser>,
}

/// The answer to `POST /ra/users` (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user: UserRef,
}

/// The answer to `GET /ra/users/{user}/role-profiles`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRoleProfiles {
    pub user: UserRef,
    pub role_profiles: Vec<RoleProfile>,
}

/// The answer to `POST /ra/users/{user}/role-profiles` (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleProfileAdded {
    pub role_profile: Option<RoleProfile>,
}

/// The answer to `DELETE /ra/users/{user}/role-profiles/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleProfileRemoved {
    /// The id of the profile removed.
    pub removed: String,
    /// Live sessions that were acting in it (they must choose a role again).
    pub sessions_in_role: u64,
}

/// The answer to `GET /ra/cards`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardList {
    pub cards: Vec<CardView>,
}

/// The answer to `POST /ra/cards/{serial}/revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRevoked {
    pub certificate: Option<CardRef>,
    /// The card's holder.
    pub user: UserRef,
    /// The holder's live sessions with this card, ended by the revocation.
    pub sessions_ended: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bodies_read_what_operators_and_the_console_send() {
        let role: NewRoleProfile = serde_json::from_value(json!({
            "role_code": "R8001", "role_name": "Nurse Access Role", "org_ods": "RX901",
            "org_name": "Synthetic General Hospital", "activities": ["B0264", "RaManage"],
        }))
        .expect("a role profile without an id");
        assert_eq!(role.id, None);
        assert!(
            !serde_json::to_value(&role)
                .expect("json")
                .as_object()
                .expect("object")
                .contains_key("id"),
            "no id sent when none is chosen (the spine makes one)"
        );
        let revoke: CardRevocation =
            serde_json::from_value(json!({"reason": "lost"})).expect("no issuer");
        assert_eq!(revoke.issuer, None);
        assert!(serde_json::from_value::<CardRevocation>(json!({"why": "lost"})).is_err());
    }
}

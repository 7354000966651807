//! The registration authority's calls (`SpineClient::ra_…`) against a real spine (HTTPS on
//! loopback, SQLite, the demo's identities): typed answers for each route, the spine's
//! refusals with their codes and words, a revoked card's live session ended, and an ended
//! session answered as `SessionEnded` by every call. Sessions are made in the spine's store
//! directly, as in `keep_alive.rs` (the card sign-in has its own tests).

use scr_client::{ClientError, SpineCode};
use scr_model::registration::{CardRevocation, NewRoleProfile, NewUser};
use scr_model::{Activity, ErrorCode, NhsNumber};
use scr_spine::pki::CertificateId;

mod common;
use common::Rig;

const RA: &str = "555000000606";
const DOCTOR: &str = "555000000101";
const RECEPTIONIST: &str = "555000000202";
const ALEX: &str = "555000000999";

async fn card_of(rig: &Rig, user_id: &str) -> CertificateId {
    rig.spine
        .store
        .certificates()
        .await
        .expect("cards")
        .into_iter()
        .find(|c| c.user_id == user_id)
        .expect("a card")
        .id
}

/// The spine's refusal code, or a panic naming what came instead.
fn refused<T: std::fmt::Debug>(answer: Result<T, ClientError>) -> (ErrorCode, String) {
    match answer {
        Err(ClientError::Spine {
            code: SpineCode::Known(code),
            message,
            status,
        }) => {
            assert_eq!(status, code.http_status(), "{code}");
            (code, message)
        }
        other => panic!("expected the spine's refusal, got {other:?}"),
    }
}

fn nurse() -> NewRoleProfile {
    NewRoleProfile {
        id: None,
        role_code: "R8001".into(),
        role_name: "Nurse Access Role".into(),
        org_ods: "RX901".into(),
        org_name: "Synthetic General Hospital".into(),
        activities: vec!["B0264".into(), "B0370".into()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ra_calls_answer_in_the_shared_types_and_refuse_in_the_spines_words() {
    let rig = Rig::start(20).await;
    let ra = rig.session_on_card(RA, Some("ra-agent"), None).await;
    let c = &rig.client;

    let users = c.ra_users(&ra).await.expect("users");
    let doctor = users
        .iter()
        .find(|u| u.user_id == DOCTOR)
        .expect("the doctor is listed");
    assert_eq!(
        (
            doctor.name.as_str(),
            doctor.role_profiles,
            doctor.active_cards
        ),
        ("Dr Amara Okafor", 2, 1)
    );

    // Register; the same id again is the spine's USER_EXISTS, with its words.
    let alex = NewUser {
        user_id: ALEX.into(),
        name: "Alex Jones".into(),
    };
    let done = c.ra_register_user(&ra, &alex).await.expect("registered");
    assert_eq!(
        (done.user_id.as_str(), done.name.as_deref()),
        (ALEX, Some("Alex Jones"))
    );
    let (code, words) = refused(c.ra_register_user(&ra, &alex).await);
    assert_eq!(code, ErrorCode::UserExists);
    assert!(words.contains(ALEX), "{words}");

    // A role profile: the spine names it; its activities come back typed.
    let added = c
        .ra_add_role_profile(&ra, ALEX, &nurse())
        .await
        .expect("added");
    assert_eq!(added.id, "555000000999-r8001-rx901");
    assert_eq!(added.activities, vec![Activity::B0264, Activity::B0370]);
    let (code, _) = refused(c.ra_add_role_profile(&ra, ALEX, &nurse()).await);
    assert_eq!(code, ErrorCode::RoleProfileExists);
    let (code, _) = refused(c.ra_add_role_profile(&ra, RA, &nurse()).await);
    assert_eq!(code, ErrorCode::OwnRoleChange);
    let mut unknown = nurse();
    unknown.activities = vec!["B9999".into()];
    let (code, words) = refused(c.ra_add_role_profile(&ra, ALEX, &unknown).await);
    assert_eq!(code, ErrorCode::InvalidRegistration);
    assert!(words.contains("B9999"), "{words}");

    let held = c.ra_role_profiles(&ra, ALEX).await.expect("profiles");
    assert_eq!(held.user.name.as_deref(), Some("Alex Jones"));
    assert_eq!(held.role_profiles, vec![added.clone()]);
    let (code, _) = refused(c.ra_role_profiles(&ra, "555000000998").await);
    assert_eq!(code, ErrorCode::UserNotFound);

    let removed = c
        .ra_remove_role_profile(&ra, ALEX, &added.id)
        .await
        .expect("removed");
    assert_eq!(
        (removed.removed.as_str(), removed.sessions_in_role),
        (added.id.as_str(), 0)
    );
    let (code, _) = refused(c.ra_remove_role_profile(&ra, ALEX, &added.id).await);
    assert_eq!(code, ErrorCode::RoleProfileNotFound);

    // The receptionist is signed in with her card; revoking it ends that session.
    let card = card_of(&rig, RECEPTIONIST).await;
    let desk = rig
        .session_on_card(RECEPTIONIST, Some("receptionist"), Some(&card))
        .await;
    let nhs = NhsNumber::nth_test_number(0).expect("number");
    assert!(
        c.patient(&desk, nhs).await.is_ok(),
        "the receptionist reads"
    );
    let listed = c.ra_cards(&ra).await.expect("cards");
    let hers = listed
        .iter()
        .find(|k| k.serial == card.serial_hex && k.issuer == card.issuer)
        .expect("her card is listed");
    assert_eq!(
        (hers.user_id.as_str(), hers.revoked, hers.live_sessions),
        (RECEPTIONIST, false, 1)
    );
    let revoked = c
        .ra_revoke_card(
            &ra,
            &hers.serial,
            &CardRevocation {
                issuer: Some(hers.issuer.clone()),
                reason: "reported lost".into(),
            },
        )
        .await
        .expect("revoked");
    assert_eq!(
        (
            revoked.user.user_id.as_str(),
            revoked.user.name.as_deref(),
            revoked.sessions_ended
        ),
        (RECEPTIONIST, Some("Sam Patel"), 1)
    );
    assert_eq!(
        revoked.certificate.map(|k| k.serial),
        Some(card.serial_hex.clone())
    );
    let after = c.patient(&desk, nhs).await;
    assert!(
        matches!(after, Err(ClientError::SessionEnded)),
        "her session outlived the card: {after:?}"
    );
    let listed = c.ra_cards(&ra).await.expect("cards");
    assert!(listed
        .iter()
        .any(|k| k.serial == card.serial_hex && k.revoked && k.live_sessions == 0));
    let (code, _) = refused(
        c.ra_revoke_card(
            &ra,
            "00ff",
            &CardRevocation {
                issuer: None,
                reason: "lost".into(),
            },
        )
        .await,
    );
    assert_eq!(code, ErrorCode::CardNotFound);

    // An id that would name another route is not sent at all.
    let odd = c.ra_remove_role_profile(&ra, ALEX, "..").await;
    assert!(matches!(odd, Err(ClientError::InvalidInput(_))), "{odd:?}");

    // Another role is refused by the spine, whatever the client asks.
    let doctor = rig.session_on_card(DOCTOR, Some("doctor-ed"), None).await;
    let (code, _) = refused(c.ra_users(&doctor).await);
    assert_eq!(code, ErrorCode::NotPermittedForRole);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ra_call_of_an_ended_session_is_session_ended() {
    let rig = Rig::start(20).await;
    let ra = rig.session_on_card(RA, Some("ra-agent"), None).await;
    let c = &rig.client;
    let serial = card_of(&rig, DOCTOR).await.serial_hex;
    c.ra_users(&ra).await.expect("in force before");
    c.end_session(&ra).await.expect("signed out");
    let revoke = CardRevocation {
        issuer: None,
        reason: "lost".into(),
    };
    let alex = NewUser {
        user_id: ALEX.into(),
        name: "Alex Jones".into(),
    };
    let answers = [
        ("users", c.ra_users(&ra).await.map(|_| ())),
        ("register", c.ra_register_user(&ra, &alex).await.map(|_| ())),
        (
            "profiles",
            c.ra_role_profiles(&ra, DOCTOR).await.map(|_| ()),
        ),
        (
            "add",
            c.ra_add_role_profile(&ra, ALEX, &nurse()).await.map(|_| ()),
        ),
        (
            "remove",
            c.ra_remove_role_profile(&ra, DOCTOR, "doctor-ed")
                .await
                .map(|_| ()),
        ),
        ("cards", c.ra_cards(&ra).await.map(|_| ())),
        (
            "revoke",
            c.ra_revoke_card(&ra, &serial, &revoke).await.map(|_| ()),
        ),
    ];
    for (call, answer) in answers {
        assert!(
            matches!(answer, Err(ClientError::SessionEnded)),
            "{call}: {answer:?}"
        );
    }
    // Nothing was done by the ended session.
    let store = &rig.spine.store;
    assert!(store.user_name(ALEX).await.expect("user").is_none());
    assert_eq!(store.role_profiles(DOCTOR).await.expect("roles").len(), 2);
    assert!(store
        .certificates()
        .await
        .expect("cards")
        .iter()
        .all(|k| !k.revoked));
    rig.stop().await;
}

//! Pulling the card ends the session here at once and on the spine as soon as it can hear.

use std::time::{Duration, Instant};

use scr_client::{ClientError, EndReason, SessionEvent};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_card_ends_the_session_and_the_spine_refuses_the_token() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let card = rig.insert("doctor", 0);
    let mut w = rig.session();
    let reader = w.card_in(0).await;
    w.session
        .sign_in(&reader, passcode(DOCTOR_PASSCODE))
        .await
        .expect("sign in");
    w.session.select_role("doctor-ed").await.expect("role");
    let token = w.session.token().expect("token");
    let removed_at = Instant::now();
    card.remove();
    let ended = w
        .next_matching(Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Ended { .. })
        })
        .await;
    let took = removed_at.elapsed();
    assert_eq!(
        ended,
        SessionEvent::Ended {
            reason: EndReason::CardRemoved
        }
    );
    assert!(
        w.session.token().is_none(),
        "the token is gone from the session"
    );
    let revoked = w
        .next_matching(Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Revoked { .. })
        })
        .await;
    assert_eq!(revoked, SessionEvent::Revoked { on_spine: true });
    match rig
        .client()
        .fhir_get(&token, &format!("Patient/{}", first_patient()), &[])
        .await
    {
        Err(ClientError::SessionEnded) => {}
        other => panic!("the spine must refuse a revoked token, got {other:?}"),
    }
    eprintln!("removal to SessionEnded: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_spine_down_removal_still_ends_the_session_at_once() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    let card = rig.insert("doctor", 0);
    let mut w = rig.session();
    let reader = w.card_in(0).await;
    w.session
        .sign_in(&reader, passcode(DOCTOR_PASSCODE))
        .await
        .expect("sign in");
    rig.stop_spine().await;
    card.remove();
    let ended = w
        .next_matching(Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Ended { .. })
        })
        .await;
    assert_eq!(
        ended,
        SessionEvent::Ended {
            reason: EndReason::CardRemoved
        }
    );
    assert!(w.session.token().is_none());
    let revoked = w
        .next_matching(Duration::from_secs(10), |e| {
            matches!(e, SessionEvent::Revoked { .. })
        })
        .await;
    assert_eq!(revoked, SessionEvent::Revoked { on_spine: false });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_revokes_and_a_later_call_is_refused() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert("doctor", 0);
    let mut w = rig.session();
    let reader = w.card_in(0).await;
    w.session
        .sign_in(&reader, passcode(DOCTOR_PASSCODE))
        .await
        .expect("sign in");
    let token = w.session.token().expect("token");
    w.session.end(EndReason::SignedOut);
    w.next_matching(Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Revoked { on_spine: true })
    })
    .await;
    assert!(matches!(
        w.session.select_role("doctor-ed").await,
        Err(ClientError::SessionEnded)
    ));
    assert!(matches!(
        rig.client().select_role(&token, "doctor-ed").await,
        Err(ClientError::SessionEnded)
    ));
}

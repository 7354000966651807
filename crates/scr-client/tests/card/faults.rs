//! Cards that misbehave give clear errors, never a hang or a panic.

use std::time::{Duration, Instant};

use scr_card::CardError;
use scr_client::ClientError;
use scr_vcard::Fault;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_answering_garbage_is_reported_as_not_valid_piv() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert_with("doctor", 0, Fault::Garbage);
    let w = rig.session();
    let reader = w.card_in(0).await;
    match w.session.sign_in(&reader, passcode(DOCTOR_PASSCODE)).await {
        Err(ClientError::Card(CardError::Malformed(why))) => {
            assert!(!why.is_empty());
        }
        other => panic!("garbage must be Malformed, got {other:?}"),
    }
    assert!(w.session.token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_that_answers_slowly_times_out() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert_with("doctor", 0, Fault::Slow(7_000));
    let w = rig.session();
    let reader = w.card_in(0).await;
    let started = Instant::now();
    match w.session.sign_in(&reader, passcode(DOCTOR_PASSCODE)).await {
        Err(ClientError::Card(CardError::Timeout)) => {}
        other => panic!("a slow card must time out, got {other:?}"),
    }
    // The caller is released at the card step deadline, not when the card finally answers.
    assert!(started.elapsed() < Duration::from_secs(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_pulled_mid_signature_is_card_removed() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert_with("doctor", 0, Fault::DropOn(0x87));
    let w = rig.session();
    let reader = w.card_in(0).await;
    match w.session.sign_in(&reader, passcode(DOCTOR_PASSCODE)).await {
        Err(ClientError::Card(CardError::CardRemoved)) => {}
        other => panic!("a card gone mid-command must be CardRemoved, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_without_piv_is_named_as_such() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert_with("doctor", 0, Fault::NotPiv);
    let w = rig.session();
    let reader = w.card_in(0).await;
    match w.session.sign_in(&reader, passcode(DOCTOR_PASSCODE)).await {
        Err(ClientError::Card(CardError::NotPivCard)) => {}
        other => panic!("a non-PIV card must be NotPivCard, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_and_no_such_reader_are_clear_errors() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let w = rig.session();
    // The watcher has reported both readers, empty.
    for _ in 0..50 {
        if w.session.readers().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match w
        .session
        .wait_for_card(Some(&reader_name(0)), Duration::from_millis(300))
        .await
    {
        Err(ClientError::Card(CardError::NoCard)) => {}
        other => panic!("an empty reader must be NoCard, got {other:?}"),
    }
    match w
        .session
        .sign_in(&reader_name(0), passcode(DOCTOR_PASSCODE))
        .await
    {
        Err(ClientError::Card(CardError::NoCard)) => {}
        other => panic!("signing in without a card must be NoCard, got {other:?}"),
    }
    let ctx = scr_card::PcscContext::establish().expect("pcsc");
    assert!(matches!(
        ctx.connect("No Such Reader 99"),
        Err(CardError::ReaderNotFound(_))
    ));
}

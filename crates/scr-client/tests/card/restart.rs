//! pcscd going away ends the session (the card can no longer be vouched for), and the
//! watcher picks up again when pcscd is back. Runs only where the test script owns pcscd
//! (SCR_TEST_PCSCD_RESTART=1): restarting someone else's pcscd would disturb them.

use std::process::{Command, Stdio};
use std::time::Duration;

use scr_card::ReaderEvent;
use scr_client::{EndReason, SessionEvent};

use crate::harness::*;

fn pcscd(args: &[&str]) -> bool {
    let as_root = std::env::var("USER").map(|u| u == "root").unwrap_or(true);
    let mut cmd = if as_root {
        Command::new(args[0])
    } else {
        let mut c = Command::new("sudo");
        c.arg(args[0]);
        c
    };
    cmd.args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if args[0] == "pcscd" {
        cmd.spawn().is_ok()
    } else {
        cmd.status().map(|s| s.success()).unwrap_or(false)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_ends_when_pcscd_stops_and_the_watcher_recovers_when_it_returns() {
    if std::env::var("SCR_TEST_PCSCD_RESTART").is_err() {
        eprintln!("pcscd not owned by the test script: restart test skipped");
        return;
    }
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

    assert!(pcscd(&["pkill", "-x", "pcscd"]), "stop pcscd");
    let ended = w
        .next_matching(Duration::from_secs(10), |e| {
            matches!(e, SessionEvent::Ended { .. })
        })
        .await;
    // Either the service stop or the card's disappearance is seen first; both end it.
    assert!(matches!(
        ended,
        SessionEvent::Ended {
            reason: EndReason::CardServiceStopped
                | EndReason::CardRemoved
                | EndReason::ReaderDetached
        }
    ));
    w.next_matching(Duration::from_secs(10), |e| {
        *e == SessionEvent::Reader(ReaderEvent::ServiceDown)
    })
    .await;
    drop(card);

    // Let the old pcscd finish exiting, then start a new one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = std::fs::create_dir_all("/run/pcscd");
    assert!(pcscd(&["pcscd", "-f"]), "start pcscd");
    w.next_matching(Duration::from_secs(15), |e| {
        *e == SessionEvent::Reader(ReaderEvent::ServiceUp)
    })
    .await;
    // The same watcher sees readers and a new card, and sign-in works again.
    let mut again = None;
    for _ in 0..50 {
        match scr_vcard::insert(&scr_vcard::CardConfig::new(rig.identity("doctor"), 0)) {
            Ok(c) => {
                again = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let _again = again.expect("vpcd listening again");
    let reader = w.card_in(0).await;
    w.session
        .sign_in(&reader, passcode(DOCTOR_PASSCODE))
        .await
        .expect("sign in after pcscd restart");
}

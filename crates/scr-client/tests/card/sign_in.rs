use std::time::Duration;

use scr_card::CardError;
use scr_client::{ClientError, SpineClient, Timeouts};
use scr_vcard::Fault;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_signs_in_chooses_a_role_and_reads_a_record() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert("doctor", 0);
    let w = rig.session();
    let reader = w.card_in(0).await;
    let signed = w
        .session
        .sign_in(&reader, passcode(DOCTOR_PASSCODE))
        .await
        .expect("sign in");
    assert_eq!(signed.user.name, "Dr Amara Okafor");
    let ids: Vec<&str> = signed.role_profiles.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["doctor-ed", "doctor-ooh"]);
    let role = w.session.select_role("doctor-ed").await.expect("role");
    assert_eq!(role.org_ods, "RX901");
    let token = w.session.token().expect("token held");
    let patient = rig
        .client()
        .fhir_get(&token, &format!("Patient/{}", first_patient()), &[])
        .await
        .expect("demographics");
    assert_eq!(patient["resourceType"], "Patient");
    // The card was reset after signing: the passcode is not left verified on it.
    let mut conn = scr_card::PcscContext::establish()
        .and_then(|c| c.connect(&reader))
        .expect("connect");
    let status = conn.with_piv(|piv| piv.passcode_status()).expect("status");
    assert_eq!(status, scr_card::PasscodeStatus::TriesLeft(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receptionist_signs_in_and_the_spine_refuses_her_the_summary() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _card = rig.insert("receptionist", 1);
    let w = rig.session();
    let reader = w.card_in(1).await;
    let signed = w
        .session
        .sign_in(&reader, passcode(RECEPTIONIST_PASSCODE))
        .await
        .expect("sign in");
    assert_eq!(signed.user.name, "Sam Patel");
    assert_eq!(signed.role_profiles.len(), 1);
    w.session.select_role("receptionist").await.expect("role");
    let token = w.session.token().expect("token");
    let nhs = first_patient();
    let consent = rig
        .client()
        .fhir_get(&token, &format!("Consent?patient={nhs}"), &[])
        .await
        .expect("consent");
    assert_eq!(consent["resourceType"], "Bundle");
    let summary = rig
        .client()
        .fhir_get(
            &token,
            &format!("Patient/{nhs}/$summary"),
            &[("X-Access-Reason", "permission-to-view")],
        )
        .await;
    match summary {
        Err(ClientError::Spine { status: 403, .. }) => {}
        other => panic!("receptionist summary must be refused with 403, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_passcodes_block_the_card_and_reinsertion_does_not_unblock_it() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let card = rig.insert("doctor", 0);
    let w = rig.session();
    let reader = w.card_in(0).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        match w.session.sign_in(&reader, passcode("000000")).await {
            Err(ClientError::Card(e)) => seen.push(e),
            other => panic!("wrong passcode must fail on the card, got {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            CardError::WrongPasscode { tries_left: 2 },
            CardError::WrongPasscode { tries_left: 1 },
            CardError::CardBlocked
        ]
    );
    // Pull the card and put it back (a new virtual card process would read the same file).
    card.remove();
    w.session
        .wait_for_card(Some(&reader), Duration::from_millis(1))
        .await
        .ok();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let _again = rig.insert("doctor", 0);
    let reader = w.card_in(0).await;
    match w.session.sign_in(&reader, passcode(DOCTOR_PASSCODE)).await {
        Err(ClientError::Card(CardError::CardBlocked)) => {}
        other => panic!("the right passcode must not unblock a blocked card, got {other:?}"),
    }
    let state = std::fs::read_to_string(rig.identity("doctor").join("card-state.json"))
        .expect("counter file");
    assert!(state.contains("\"passcode_tries_left\":0"), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_from_an_unknown_ca_is_refused_by_the_spine() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    // A whole other PKI: a CA the spine has never heard of issues a look-alike identity.
    let rogue = scr_spine::pki::CertificateAuthority::create("Rogue CA").expect("CA");
    let now = chrono::Utc::now();
    let auth = rogue
        .issue_identity(
            "Dr Amara Okafor",
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .expect("identity");
    let km = rogue.issue_key_management("Dr Amara Okafor").expect("km");
    let dir = rig.data.path().join("rogue");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("cert.pem"), &auth.cert_pem).expect("write");
    std::fs::write(dir.join("key.pem"), &auth.key_pem).expect("write");
    std::fs::write(dir.join("km-cert.pem"), &km.cert_pem).expect("write");
    std::fs::write(dir.join("km-key.pem"), &km.key_pem).expect("write");
    std::fs::write(dir.join("profile.json"), r#"{"passcode":"246810"}"#).expect("write");
    let _card = rig.insert_identity(dir, 0, Fault::None);
    let w = rig.session();
    let reader = w.card_in(0).await;
    match w.session.sign_in(&reader, passcode(DOCTOR_PASSCODE)).await {
        Err(ClientError::CertificateNotAccepted) => {}
        other => panic!("a foreign card must be refused, got {other:?}"),
    }
    assert!(w.session.token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_readers_two_cards_two_sessions() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let _doctor = rig.insert("doctor", 0);
    let receptionist = rig.insert("receptionist", 1);
    let doctor_session = rig.session();
    let mut reception_session = rig.session();
    let r0 = doctor_session.card_in(0).await;
    let r1 = reception_session.card_in(1).await;
    let d = doctor_session
        .session
        .sign_in(&r0, passcode(DOCTOR_PASSCODE))
        .await
        .expect("doctor");
    let r = reception_session
        .session
        .sign_in(&r1, passcode(RECEPTIONIST_PASSCODE))
        .await
        .expect("receptionist");
    assert_eq!(d.user.user_id, "555000000101");
    assert_eq!(r.user.user_id, "555000000202");
    // Pulling the receptionist's card ends her session and only hers.
    receptionist.remove();
    reception_session
        .next_matching(Duration::from_secs(5), |e| {
            matches!(e, scr_client::SessionEvent::Ended { .. })
        })
        .await;
    assert!(reception_session.session.token().is_none());
    let doctor_token = doctor_session
        .session
        .token()
        .expect("doctor still signed in");
    doctor_session
        .session
        .select_role("doctor-ooh")
        .await
        .expect("doctor's token still good");
    drop(doctor_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_trusts_only_its_configured_ca_and_names_an_absent_spine() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let other = tempfile::tempdir().expect("dir");
    scr_spine::setup::init(other.path(), &["localhost".into()], None)
        .await
        .expect("other PKI");
    let other_ca = std::fs::read(other.path().join("ca/ca.pem")).expect("CA");
    let wrong = SpineClient::new(&rig.base, &other_ca, Timeouts::default()).expect("client");
    match wrong.challenge(b"not used").await {
        Err(ClientError::Tls(_)) => {}
        other => panic!(
            "a spine certificate from another CA must fail TLS, got {:?}",
            other.err()
        ),
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let absent = SpineClient::new(
        &format!("https://localhost:{port}"),
        &rig.ca,
        Timeouts::default(),
    )
    .expect("client");
    match absent.challenge(b"not used").await {
        Err(ClientError::SpineUnreachable(_)) => {}
        other => panic!(
            "a closed port must be SpineUnreachable, got {:?}",
            other.err()
        ),
    }
    assert!(SpineClient::new("http://localhost:1", &rig.ca, Timeouts::default()).is_err());
}

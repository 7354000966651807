//! Two spines on one PostgreSQL database (issue 15: more than one machine). Each has its own
//! pool, audit writer and housekeeping, as two processes would; they share the data folder's
//! CA and keys, as two machines of one deployment would. A session signed in on one is
//! honoured by the other; ending it, or revoking its card, on one is refused at once by the
//! other; reads and uploads through both at once leave one unbroken audit chain.

use reqwest::{Method, StatusCode};
use scr_model::fhir::{upload_bundle, Upload};
use scr_model::NhsNumber;
use scr_spine::audit::{verify_chain, ChainReport};
use serde_json::json;

use crate::harness::{SpineClient, TestSpine};
use crate::upload::{patient_at_a81001, summary_with_allergy};

const DOCTOR: &str = "555000000101";

/// Seeded patients the demo hospital has a care relationship with, holding a summary.
async fn related_patients(spine: &TestSpine, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..2_000u32 {
        if out.len() == n {
            break;
        }
        if !scr_demo::seed::has_care_relationship(i) {
            continue;
        }
        let nhs = NhsNumber::nth_test_number(i).expect("test number");
        if let Ok(Some((d, Some(_), None))) = spine.store().summary_view(nhs).await {
            if !d.restricted {
                out.push(nhs.as_digits());
            }
        }
    }
    assert_eq!(out.len(), n, "enough related patients in the seed");
    out
}

async fn read(client: &SpineClient, token: &str, nhs: &str) -> StatusCode {
    client
        .summary(nhs, token, Some("permission-to-view"))
        .await
        .0
}

#[tokio::test]
async fn two_spines_on_one_postgresql_share_sessions_revocation_and_one_audit_chain() {
    let Some(a) = TestSpine::start_postgres().await else {
        return;
    };
    let database = a.database.clone().expect("a PostgreSQL database");
    let mut config =
        scr_spine::setup::config_for(a.data(), Some(database.clone())).expect("config");
    config.listen = "127.0.0.1:0".into();
    let second = scr_spine::server::start(a.data(), config)
        .await
        .expect("a second spine on the same database");
    let b = SpineClient::new(a.data(), second.addr);
    let patients = related_patients(&a, 8).await;

    // Signed in on A; read on B.
    let doctor = a.sign_in(&a.identity("doctor"), Some("doctor-ed")).await;
    assert_eq!(read(&b, &doctor, &patients[0]).await, StatusCode::OK);

    // Reads through both spines at once, and GP uploads through both.
    let gp = b.sign_in(&a.identity("gp-system"), None).await;
    let upload_patient = patient_at_a81001(&a, false).await;
    let mut tasks = tokio::task::JoinSet::new();
    for reader in 0..4usize {
        let client = if reader % 2 == 0 {
            a.client.clone()
        } else {
            b.clone()
        };
        let (token, patients) = (doctor.clone(), patients.clone());
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..15 {
                statuses
                    .push(read(&client, &token, &patients[(reader + i) % patients.len()]).await);
            }
            statuses
        });
    }
    for uploader in 0..2usize {
        let client = if uploader == 0 {
            a.client.clone()
        } else {
            b.clone()
        };
        let (token, patient) = (gp.clone(), upload_patient.clone());
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..5 {
                let upload = Upload {
                    bundle_id: format!("two-spines-{uploader}-{i}"),
                    patient: patient.clone(),
                    summary: Some(summary_with_allergy(&format!("Substance {uploader}-{i}"))),
                    consent: None,
                    care: Vec::new(),
                };
                let body = serde_json::to_vec(&upload_bundle(&upload)).expect("json");
                let (status, _) = client
                    .call(Method::POST, "/FHIR/R4", Some(&token), &[], Some(body))
                    .await;
                statuses.push(status);
            }
            statuses
        });
    }
    while let Some(done) = tasks.join_next().await {
        let statuses = done.expect("task");
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "every read and upload through either spine is served: {statuses:?}"
        );
    }

    // Signed out on B: refused at once on A.
    let other = b.sign_in(&a.identity("doctor"), Some("doctor-ed")).await;
    assert_eq!(read(&a, &other, &patients[1]).await, StatusCode::OK);
    let (status, body) = b
        .call(Method::DELETE, "/auth/session", Some(&other), &[], None)
        .await;
    assert!(status.is_success(), "sign-out on B: {status} {body}");
    assert_eq!(
        read(&a, &other, &patients[1]).await,
        StatusCode::UNAUTHORIZED
    );

    // The doctor's card revoked by the registration authority on A: the doctor's live
    // session is refused on B at its next request.
    let serial = a
        .store()
        .certificates()
        .await
        .expect("cards")
        .into_iter()
        .find(|c| c.user_id == DOCTOR)
        .expect("the doctor's card")
        .id
        .serial_hex;
    let ra = a.sign_in(&a.identity("ra"), None).await;
    let (status, body) = a
        .call(
            Method::POST,
            &format!("/ra/cards/{serial}/revoke"),
            Some(&ra),
            &[],
            Some(
                json!({"reason": "reported stolen"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        read(&b, &doctor, &patients[2]).await,
        StatusCode::UNAUTHORIZED
    );

    // One chain, unbroken, holding what both spines appended.
    second.shutdown().await.expect("second spine stops");
    let report = verify_chain(a.store()).await.expect("verify");
    let ChainReport::Intact { entries } = report else {
        panic!("one unbroken chain across both spines: {report:?}")
    };
    assert!(entries >= 4 * 15 + 2 * 5, "{entries} entries");
    a.stop().await;
}

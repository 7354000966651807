//! `SpineClient::record_cp_attendance` against a real spine (HTTPS on loopback, SQLite): the
//! "yes" is recorded, and the refusals the app branches on arrive as the spine's codes.
//! Sessions and the child's record are made in the spine's store directly.

use chrono::Utc;
use scr_client::{ClientError, SessionToken};
use scr_model::{
    AllergyState, AuditAction, ChildProtectionPlan, Demographics, ErrorCode, NhsNumber, Provenance,
    RelationshipBasis, Summary,
};
use scr_spine::store::{AuditFilter, CareRelationship, PatientRow};

mod common;
use common::{spine_code, Rig};

/// A child numbered far above the seeded population, with a summary holding a child
/// protection plan of LA901's (when `plan`), and an open encounter at the demo hospital.
async fn child(spine: &scr_spine::server::RunningSpine, index: u32, plan: bool) -> NhsNumber {
    let nhs = NhsNumber::nth_test_number(700_000 + index).expect("test number");
    let mut summary = Summary {
        allergies: AllergyState::NotRecorded,
        medications: vec![],
        problems: vec![],
        provenance: Provenance {
            practice_ods: Some("A81001".into()),
            practice_name: None,
            author: None,
            last_updated: None,
        },
        narratives: Default::default(),
        flags: Default::default(),
        additional: Default::default(),
    };
    if plan {
        summary.flags.child_protection = Some(ChildProtectionPlan {
            responsible_ods: Some("LA901".into()),
            responsible_name: None,
            start: None,
            end: None,
        });
    }
    let row = PatientRow {
        demographics: Demographics {
            nhs_number: nhs,
            title: None,
            given: vec!["Sam".into()],
            family: "Okoro".into(),
            gender: scr_model::Gender::Male,
            birth_date: chrono::NaiveDate::from_ymd_opt(2016, 5, 1).expect("date"),
            address: Default::default(),
            gp_ods: Some("A81001".into()),
            restricted: false,
            deceased: None,
        },
        summary: Some(summary),
        consent: None,
    };
    let store = &spine.store;
    store.insert_patients_bulk(&[row]).await.expect("patient");
    store
        .insert_relationships(&[CareRelationship {
            nhs_number: nhs,
            org_ods: "RX901".into(),
            basis: RelationshipBasis::Encounter,
            opened_at_ms: Utc::now().timestamp_millis() - 60_000,
            ends_at_ms: None,
        }])
        .await
        .expect("encounter");
    nhs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attendance_is_recorded_and_refusals_keep_their_codes() {
    let rig = Rig::start(20).await;
    let spine = &rig.spine;
    let client = &rig.client;
    let doctor = rig.session("555000000101", Some("doctor-ed")).await;
    let with_plan = child(spine, 1, true).await;
    let without = child(spine, 2, false).await;

    client
        .record_cp_attendance(&doctor, with_plan)
        .await
        .expect("recorded");
    let trail = spine
        .store
        .audit_records(&AuditFilter {
            action: Some(AuditAction::CpAttendance),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("trail");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].entry.alert_org.as_deref(), Some("LA901"));

    let none = client
        .record_cp_attendance(&doctor, without)
        .await
        .expect_err("no plan");
    assert_eq!(spine_code(&none), Some(ErrorCode::NoChildProtectionPlan));
    let reception = rig.session("555000000202", Some("receptionist")).await;
    let role = client
        .record_cp_attendance(&reception, with_plan)
        .await
        .expect_err("not a clinical role");
    assert_eq!(spine_code(&role), Some(ErrorCode::NotPermittedForRole));
    let gone = client
        .record_cp_attendance(&SessionToken::new("no-such-session".into()), with_plan)
        .await
        .expect_err("no session");
    assert!(
        matches!(
            gone,
            ClientError::Spine { status: 401, .. } | ClientError::SessionEnded
        ),
        "{gone:?}"
    );
    rig.stop().await;
}

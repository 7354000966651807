//! The privacy officer's calls against a real spine (HTTPS on loopback, SQLite): a doctor's
//! self-claimed relationship reaches the officer as a typed alert, the filters narrow it, a
//! review with a note closes it, the trail shows who read the record, and a session the
//! spine has ended gives `SessionEnded`. Sessions are made in the spine's store directly
//! (the card sign-in has its own tests).

use chrono::{Duration, Utc};
use scr_client::{AlertQuery, AlertStatus, ClientError};
use scr_client::{SpineCode, TrailQuery};
use scr_model::{
    AccessReason, AccessRequest, AlertKind, AuditAction, AuditOutcome, ErrorCode, NhsNumber,
    RelationshipBasis,
};

mod common;
use common::Rig;

const DOCTOR: &str = "555000000101";
const OFFICER: &str = "555000000303";

/// A seeded patient with a summary, sharing it, whom the demo hospital has (or has no)
/// recorded relationship with.
async fn patient(rig: &Rig, related: bool) -> NhsNumber {
    for i in 0..40u32 {
        if scr_demo::seed::has_care_relationship(i) != related {
            continue;
        }
        let nhs = NhsNumber::nth_test_number(i).expect("test number");
        if let Ok(Some((_, Some(_), consent))) = rig.spine.store.summary_view(nhs).await {
            if !consent.is_some_and(|c| c.preference.is_dissent()) {
                return nhs;
            }
        }
    }
    panic!("no seeded patient with a summary (related: {related})");
}

fn refused_with(result: Result<impl std::fmt::Debug, ClientError>, code: ErrorCode) {
    match result {
        Err(ClientError::Spine {
            code: SpineCode::Known(got),
            ..
        }) if got == code => {}
        other => panic!("expected {code}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_claim_reaches_the_officer_who_reviews_it_and_reads_the_trail() {
    let rig = Rig::start(40).await;
    let doctor = rig.session(DOCTOR, Some("doctor-ed")).await;
    let officer = rig.session(OFFICER, Some("privacy-officer")).await;
    let stranger = patient(&rig, false).await;
    let yes = AccessRequest::new(AccessReason::PermissionToView);

    // No relationship recorded: refused; with the claim, opened and alerted.
    refused_with(
        rig.client
            .summary(&doctor, stranger, &yes)
            .await
            .map(|_| ()),
        ErrorCode::NoLegitimateRelationship,
    );
    let claimed = AccessRequest {
        justification: Some("Seeing them in the fracture clinic".into()),
        ..yes.clone()
    }
    .self_claimed();
    let fetched = rig
        .client
        .summary(&doctor, stranger, &claimed)
        .await
        .expect("a self-claim opens the record");
    assert_eq!(fetched.document.patient.nhs_number, Some(stranger));

    // The officer's open alerts: this one, typed.
    let open = rig
        .client
        .alerts(&officer, &AlertQuery::default())
        .await
        .expect("alerts");
    let [alert] = open.as_slice() else {
        panic!("one open alert: {open:?}")
    };
    assert_eq!(alert.kinds, vec![AlertKind::SelfClaimedRelationship]);
    assert!(alert.review.is_none());
    let e = &alert.record.entry;
    assert_eq!(
        (
            e.user_id.as_deref(),
            e.user_name.as_deref(),
            e.org_ods.as_deref()
        ),
        (Some(DOCTOR), Some("Dr Amara Okafor"), Some("RX901"))
    );
    assert_eq!(e.patient, Some(stranger));
    assert_eq!(e.relationship, Some(RelationshipBasis::SelfClaimed));
    assert_eq!(
        e.justification.as_deref(),
        Some("Seeing them in the fracture clinic")
    );
    let id = format!("audit-{}", alert.record.seq);

    // The filters reach the spine: another user, another patient, a day before.
    let other_patient = patient(&rig, true).await;
    let yesterday = (Utc::now() - Duration::days(1)).date_naive();
    for (query, what) in [
        (
            AlertQuery {
                agent: Some("555000000999".into()),
                ..AlertQuery::default()
            },
            "another user",
        ),
        (
            AlertQuery {
                patient: Some(other_patient),
                ..AlertQuery::default()
            },
            "another patient",
        ),
        (
            AlertQuery {
                to: Some(yesterday),
                ..AlertQuery::default()
            },
            "up to yesterday",
        ),
    ] {
        let found = rig.client.alerts(&officer, &query).await.expect(what);
        assert!(found.is_empty(), "{what}: {found:?}");
    }
    let today = AlertQuery {
        patient: Some(stranger),
        agent: Some(DOCTOR.into()),
        from: Some(Utc::now().date_naive()),
        to: Some(Utc::now().date_naive()),
        ..AlertQuery::default()
    };
    assert_eq!(
        rig.client
            .alerts(&officer, &today)
            .await
            .expect("today")
            .len(),
        1
    );
    // Another organisation is not the officer's to ask about: the spine says so.
    refused_with(
        rig.client
            .alerts(
                &officer,
                &AlertQuery {
                    organization: Some("NX901".into()),
                    ..AlertQuery::default()
                },
            )
            .await,
        ErrorCode::NotPermittedForRole,
    );

    // Review: the spine wants a note; with one the alert leaves the open list.
    refused_with(
        rig.client.review_alert(&officer, &id, " ").await,
        ErrorCode::ReviewNoteRequired,
    );
    rig.client
        .review_alert(&officer, &id, "Confirmed with the clinic lead.")
        .await
        .expect("reviewed");
    refused_with(
        rig.client.review_alert(&officer, &id, "again").await,
        ErrorCode::AlertAlreadyReviewed,
    );
    // An id that tries to be a path stays one segment: no such alert.
    refused_with(
        rig.client
            .review_alert(&officer, "../../Patient", "x")
            .await,
        ErrorCode::AlertNotFound,
    );
    let open = rig
        .client
        .alerts(&officer, &AlertQuery::default())
        .await
        .expect("alerts");
    assert!(open.is_empty(), "{open:?}");
    let reviewed = rig
        .client
        .alerts(
            &officer,
            &AlertQuery {
                status: AlertStatus::Reviewed,
                ..AlertQuery::default()
            },
        )
        .await
        .expect("reviewed alerts");
    let [done] = reviewed.as_slice() else {
        panic!("{reviewed:?}")
    };
    let review = done.review.as_ref().expect("its review");
    assert_eq!(review.note, "Confirmed with the clinic lead.");
    assert_eq!(review.reviewed_by, OFFICER);

    // "Who has viewed this record": the refusal and the read, newest first.
    let trail = rig
        .client
        .audit_trail(
            &officer,
            &TrailQuery {
                patient: Some(stranger),
                action: Some(AuditAction::SummaryRead),
                ..TrailQuery::default()
            },
        )
        .await
        .expect("trail");
    let outcomes: Vec<(AuditOutcome, Option<&str>)> = trail
        .iter()
        .map(|r| (r.entry.outcome, r.entry.detail.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (AuditOutcome::Success, None),
            (AuditOutcome::Refused, Some("NO_LEGITIMATE_RELATIONSHIP")),
        ]
    );
    // Around the alert: the doctor's reads within 12 hours either side, and none after.
    let around = |since, until| TrailQuery {
        agent: Some(DOCTOR.into()),
        action: Some(AuditAction::SummaryRead),
        since: Some(since),
        until: Some(until),
        ..TrailQuery::default()
    };
    let at = alert.record.at;
    let near = rig
        .client
        .audit_trail(
            &officer,
            &around(at - Duration::hours(12), at + Duration::hours(12)),
        )
        .await
        .expect("around");
    assert_eq!(near.len(), 2, "{near:?}");
    let later = rig
        .client
        .audit_trail(
            &officer,
            &around(at + Duration::hours(1), at + Duration::hours(12)),
        )
        .await
        .expect("later");
    assert!(later.is_empty(), "{later:?}");

    // A doctor is no privacy officer.
    refused_with(
        rig.client.alerts(&doctor, &AlertQuery::default()).await,
        ErrorCode::NotPermittedForRole,
    );
    // A session the spine has ended: every call says so, typed.
    rig.client.end_session(&officer).await.expect("signed out");
    assert!(matches!(
        rig.client.alerts(&officer, &AlertQuery::default()).await,
        Err(ClientError::SessionEnded)
    ));
    assert!(matches!(
        rig.client.review_alert(&officer, &id, "note").await,
        Err(ClientError::SessionEnded)
    ));
    assert!(matches!(
        rig.client
            .audit_trail(&officer, &TrailQuery::default())
            .await,
        Err(ClientError::SessionEnded)
    ));
    rig.stop().await;
}

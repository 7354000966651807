//! Views of offline copies, reported after the fact (`POST /FHIR/R4/AuditEvent`): recorded
//! once per view id, attributed to the session, alerting on emergency, refused whole when
//! any part is wrong, and shown to the privacy officer as valid AuditEvents.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use scr_model::fhir::{offline_views_bundle, parse_offline_views_outcome};
use scr_model::{AuditAction, AuditOutcome, NhsNumber, OfflineView};
use scr_spine::audit::{verify_chain, ChainReport};
use scr_spine::store::AuditFilter;
use serde_json::{json, Value};

use crate::audit_chain::verify_cli;
use crate::backend_tests;
use crate::harness::{error_code, TestSpine};

backend_tests!(
    offline_views_are_recorded_once_for_the_session_user,
    offline_views_are_refused_whole,
    a_trail_from_before_offline_views_is_upgraded_intact
);

const DOCTOR_ID: &str = "555000000101";
const PATH: &str = "/FHIR/R4/AuditEvent";

/// A time with milliseconds (what the trail keeps), `hours` before a fixed day.
fn hours_before(hours: i64, ms: i64) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
        .single()
        .expect("time");
    base - Duration::hours(hours) + Duration::milliseconds(ms)
}

fn view(n: u8, nhs: NhsNumber, reason: &str) -> OfflineView {
    OfflineView {
        id: format!("{:032x}", 0xabc000 + u32::from(n)),
        nhs_number: nhs,
        reason: reason.into(),
        viewed_at: hours_before(i64::from(n), 250),
        fetched_at: hours_before(30, 17),
    }
}

async fn post(spine: &TestSpine, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    spine.call(Method::POST, PATH, token, &[], Some(body)).await
}

async fn post_views(spine: &TestSpine, token: &str, views: &[OfflineView]) -> (usize, usize) {
    let bundle = serde_json::to_vec(&offline_views_bundle(views)).expect("json");
    let (status, outcome) = post(spine, Some(token), bundle).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    parse_offline_views_outcome(&outcome).expect("counts")
}

async fn offline_records(spine: &TestSpine) -> Vec<scr_model::AuditRecord> {
    spine
        .store()
        .audit_records(&AuditFilter {
            action: Some(AuditAction::OfflineView),
            ascending: true,
            limit: 10_000,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
}

async fn chain_is_intact(spine: &TestSpine) {
    let report = verify_chain(spine.store()).await.expect("verify");
    assert!(matches!(report, ChainReport::Intact { .. }), "{report:?}");
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 0, "{out}");
}

/// The entity detail of `kind` in a served AuditEvent.
fn detail<'a>(event: &'a Value, kind: &str) -> Option<&'a str> {
    event["entity"][0]["detail"]
        .as_array()?
        .iter()
        .find(|d| d["type"] == kind)?["valueString"]
        .as_str()
}

async fn offline_views_are_recorded_once_for_the_session_user(spine: &TestSpine) {
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let with_summary = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    // Not in the spine's index at all (1 500 are seeded): the view happened regardless.
    let unknown = NhsNumber::nth_test_number(800_000).expect("number");
    assert!(spine
        .store()
        .patient(unknown)
        .await
        .expect("read")
        .is_none());
    let first = view(1, with_summary, "permission-to-view");
    let second = view(2, unknown, "emergency");

    // The body claims someone else did it; the spine takes who from the session.
    let mut bundle = offline_views_bundle(&[first.clone(), second.clone()]);
    bundle["entry"][0]["resource"]["agent"][0]["who"] = json!({ "identifier": { "system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "555000000303" }, "display": "Priya Shah" });
    spine.keep_sample("offline-views-bundle", &bundle);
    let (status, outcome) = post(
        spine,
        Some(&doctor),
        serde_json::to_vec(&bundle).expect("json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(parse_offline_views_outcome(&outcome), Ok((2, 0)));
    spine.keep_sample("offline-views-outcome", &outcome);

    // Re-sending records nothing new; a queue with one new view records just that one.
    let both = [first.clone(), second.clone()];
    assert_eq!(post_views(spine, &doctor, &both).await, (0, 2));
    let third = view(3, with_summary, "permission-to-view");
    assert_eq!(
        post_views(spine, &doctor, &[first.clone(), third.clone()]).await,
        (1, 1)
    );
    // An id repeated inside one report counts once.
    let fourth = view(4, with_summary, "emergency");
    assert_eq!(
        post_views(spine, &doctor, &[fourth.clone(), fourth.clone()]).await,
        (1, 1)
    );
    // The same user in another role: recorded in that role; ids already sent stay skipped.
    let ooh = spine
        .sign_in(&spine.identity("doctor"), Some("doctor-ooh"))
        .await;
    let fifth = view(5, unknown, "permission-to-view");
    assert_eq!(
        post_views(spine, &ooh, &[first.clone(), fifth.clone()]).await,
        (1, 1)
    );
    // Concurrent re-sends of one new report record it once.
    let sixth = view(6, with_summary, "permission-to-view");
    let seventh = view(7, unknown, "permission-to-view");
    let batch = [sixth.clone(), seventh.clone()];
    let (a, b) = tokio::join!(
        post_views(spine, &doctor, &batch),
        post_views(spine, &doctor, &batch)
    );
    assert_eq!((a.0 + b.0, a.1 + b.1), (2, 2), "{a:?} {b:?}");

    let records = offline_records(spine).await;
    assert_eq!(records.len(), 7, "{records:?}");
    for r in &records {
        assert_eq!(r.entry.user_id.as_deref(), Some(DOCTOR_ID));
        assert_eq!(r.entry.outcome, AuditOutcome::Success);
    }
    let find = |v: &OfflineView| {
        records
            .iter()
            .find(|r| r.entry.offline.as_ref().map(|o| o.view_id.as_str()) == Some(v.id.as_str()))
            .expect("recorded")
    };
    let r1 = find(&first);
    assert_eq!(r1.entry.patient, Some(with_summary));
    assert_eq!(r1.entry.role_code.as_deref(), Some("R8000"));
    assert_eq!(r1.entry.org_ods.as_deref(), Some("RX901"));
    // The fixture's copies match no summary this user fetched here at those times, so each
    // is recorded, marked as the client's unmatched word, and raised for the privacy officer
    // (hardening.rs has a view that follows a real fetch).
    assert!(r1.entry.alert);
    assert_eq!(
        r1.entry.detail.as_deref(),
        Some("CLIENT_REPORTED_UNMATCHED")
    );
    let o1 = r1.entry.offline.as_ref().expect("offline");
    assert_eq!(
        (o1.viewed_at, o1.fetched_at),
        (first.viewed_at, first.fetched_at)
    );
    assert!(
        r1.at > first.viewed_at,
        "recorded at receipt, not at the view"
    );
    assert!(find(&second).entry.alert, "an emergency view alerts");
    let r5 = find(&fifth);
    assert_eq!(
        (r5.entry.role_code.as_deref(), r5.entry.org_ods.as_deref()),
        (Some("R8003"), Some("NX901"))
    );

    // The privacy officer sees them as AuditEvents, with the right who, whose, when and why.
    let privacy = spine
        .sign_in(&spine.identity("privacy-officer"), None)
        .await;
    let (status, trail) = spine
        .get(&format!("{PATH}?action=offline-view&_count=50"), &privacy)
        .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    // The officer is the hospital's (RX901): the view reported under the doctor's
    // out-of-hours role (NX901) is for that organisation's officer, not shown here.
    assert_eq!(trail["total"], 6, "{trail}");
    assert!(
        !trail.to_string().contains(&fifth.id),
        "another organisation's view is not shown: {trail}"
    );
    spine.keep_sample("audit-offline-views", &trail);
    let events: Vec<&Value> = trail["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let event = events
        .iter()
        .find(|e| detail(e, "view-id") == Some(second.id.as_str()))
        .expect("second view shown");
    assert_eq!(event["subtype"][0]["code"], "offline-view");
    assert_eq!(event["action"], "R");
    assert_eq!(event["agent"][0]["who"]["identifier"]["value"], DOCTOR_ID);
    assert_eq!(event["agent"][0]["who"]["display"], "Dr Amara Okafor");
    assert_eq!(
        event["entity"][0]["what"]["identifier"]["value"],
        unknown.as_digits()
    );
    assert_eq!(event["purposeOfEvent"][0]["coding"][0]["code"], "emergency");
    assert_eq!(detail(event, "viewed-at"), Some("2026-11-24T10:00:00.250Z"));
    assert_eq!(
        detail(event, "fetched-at"),
        Some("2026-11-23T06:00:00.017Z")
    );
    assert_eq!(event["period"]["start"], "2026-11-24T10:00:00.250Z");

    // The emergency view is an alert under the patient, like an online emergency access.
    let (status, alerts) = spine
        .get(
            &format!("{PATH}?patient={}&alert=true", unknown.as_digits()),
            &privacy,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    // Every view of this patient alerts (unmatched to a fetch here); the emergency one too.
    // The third, under the out-of-hours role, is that organisation's officer's.
    assert_eq!(alerts["total"], 2, "{alerts}");
    assert!(alerts["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .all(|e| e["resource"]["subtype"][0]["code"] == "offline-view"));
    assert!(alerts["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| detail(&e["resource"], "view-id") == Some(second.id.as_str())));
    chain_is_intact(spine).await;
}

async fn offline_views_are_refused_whole(spine: &TestSpine) {
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let good = view(1, nhs, "emergency");
    let bundle = offline_views_bundle;
    let bytes = |v: &Value| serde_json::to_vec(v).expect("json");
    let one = bytes(&bundle(std::slice::from_ref(&good)));

    // Who may report: a role that may open summaries, in a live session.
    let reception = spine.sign_in(&spine.identity("receptionist"), None).await;
    let (status, body) = post(spine, Some(&reception), one.clone()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "NOT_PERMITTED_FOR_ROLE"),
        "{body}"
    );
    let privacy = spine
        .sign_in(&spine.identity("privacy-officer"), None)
        .await;
    let (status, _) = post(spine, Some(&privacy), one.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = post(spine, None, one.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = post(spine, Some("forged"), one.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let no_role = spine.sign_in_session(&spine.identity("doctor")).await;
    let no_role = no_role["session_token"].as_str().expect("token");
    let (status, body) = post(spine, Some(no_role), one.clone()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "ROLE_NOT_SELECTED")
    );

    // What is refused, and how precisely. A good view beside a bad one is not recorded.
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let with_bad = |edit: &dyn Fn(&mut Value)| {
        let mut b = bundle(&[good.clone(), view(2, nhs, "permission-to-view")]);
        edit(&mut b["entry"][1]["resource"]);
        bytes(&b)
    };
    let many: Vec<OfflineView> = (0..1001u32)
        .map(|n| OfflineView {
            id: format!("{n:032x}"),
            ..good.clone()
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "not JSON",
            b"{\"resourceType\": \"Bundle\",".to_vec(),
            "structure",
            "INVALID_BUNDLE",
        ),
        (
            "not a Bundle",
            bytes(&json!({"resourceType": "Patient"})),
            "structure",
            "INVALID_BUNDLE",
        ),
        (
            "a transaction",
            bytes(&{
                let mut b = bundle(std::slice::from_ref(&good));
                b["type"] = json!("transaction");
                b
            }),
            "invalid",
            "INVALID_BUNDLE",
        ),
        (
            "bad NHS number",
            with_bad(&|e| e["entity"][0]["what"]["identifier"]["value"] = json!("9434765918")),
            "value",
            "INVALID_NHS_NUMBER",
        ),
        (
            "no NHS number",
            with_bad(&|e| e["entity"][0]["what"] = json!({ "display": "someone" })),
            "required",
            "MISSING_NHS_NUMBER",
        ),
        (
            "bad date",
            with_bad(&|e| e["recorded"] = json!("2026-11-24")),
            "value",
            "INVALID_OFFLINE_VIEW",
        ),
        (
            "unknown reason",
            with_bad(&|e| e["purposeOfEvent"][0]["coding"][0]["code"] = json!("curiosity")),
            "value",
            "INVALID_OFFLINE_VIEW",
        ),
        (
            "no id",
            with_bad(&|e| e["entity"][0]["detail"] = json!([e["entity"][0]["detail"][1]])),
            "required",
            "INVALID_OFFLINE_VIEW",
        ),
        (
            "short id",
            with_bad(&|e| e["entity"][0]["detail"][0]["valueString"] = json!("abc123")),
            "value",
            "INVALID_OFFLINE_VIEW",
        ),
        (
            "1001 views",
            bytes(&bundle(&many)),
            "too-long",
            "TOO_MANY_ENTRIES",
        ),
    ];
    for (name, body, issue, code) in cases {
        let (status, outcome) = post(spine, Some(&doctor), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{name}");
        assert_eq!(outcome["issue"][0]["code"], issue, "{name}: {outcome}");
        assert_eq!(error_code(&outcome), code, "{name}: {outcome}");
        let text = outcome["issue"][0]["details"]["text"]
            .as_str()
            .unwrap_or("");
        assert!(text.starts_with("Nothing was recorded"), "{name}: {text}");
        if name != "1001 views" && !name.starts_with("not") && name != "a transaction" {
            assert!(
                text.contains("Bundle.entry[1]"),
                "{name} names the entry: {text}"
            );
        }
    }
    let (status, _) = post(spine, Some(&doctor), vec![b' '; 5 * 1024 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Nothing recorded as a view; every refusal is in the trail as a refusal (the
    // anonymous ones counted together, once the tally is written).
    spine.running.audit.flush().await.expect("flush");
    let records = offline_records(spine).await;
    assert!(
        records
            .iter()
            .all(|r| r.entry.outcome != AuditOutcome::Success
                && r.entry.offline.is_none()
                && r.entry.patient.is_none()),
        "{records:?}"
    );
    assert!(records.len() >= 14, "{}", records.len());
    // The good view is still accepted afterwards.
    assert_eq!(post_views(spine, &doctor, &[good]).await, (1, 0));
    chain_is_intact(spine).await;
}

/// A store made before offline views existed (schema 1, entries already chained) gains the
/// columns on the next start, and its chain still verifies.
async fn a_trail_from_before_offline_views_is_upgraded_intact(spine: &TestSpine) {
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let _ = spine
        .summary(&nhs.as_digits(), &doctor, Some("emergency"))
        .await;
    // Back to schema 1.
    let pool = spine.store().write_pool();
    for sql in [
        "DROP INDEX audit_offline_view",
        "ALTER TABLE audit DROP COLUMN view_id",
        "ALTER TABLE audit DROP COLUMN viewed_at",
        "ALTER TABLE audit DROP COLUMN fetched_at",
        "DELETE FROM schema_version WHERE version = 2",
    ] {
        sqlx::query(sql).execute(pool).await.expect(sql);
    }
    let config =
        scr_spine::setup::config_for(spine.data(), spine.database.clone()).expect("config");
    let reopened = scr_spine::store::Store::open(&config.database_url(spine.data()), 2)
        .await
        .expect("reopen and migrate");
    let report = verify_chain(&reopened).await.expect("verify");
    assert!(
        matches!(report, ChainReport::Intact { entries } if entries >= 3),
        "{report:?}"
    );
    reopened.close().await;
    // The running spine records offline views into the upgraded table.
    assert_eq!(
        post_views(spine, &doctor, &[view(1, nhs, "emergency")]).await,
        (1, 0)
    );
    chain_is_intact(spine).await;
}

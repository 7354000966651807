//! The spine under attack and misuse: revoked cards, anonymous floods, a shortened or
//! reordered trail, late and oversized uploads, LIKE metacharacters, idle connections.

use std::process::Command;

use reqwest::{Method, StatusCode};
use scr_model::fhir::{summary_document, SummaryDocumentInput, Upload};
use scr_model::{Coding, Medication, MedicationKind, MedicationStatus};
use sqlx::Row;

use crate::audit_chain::verify_cli;
use crate::backend_tests;
use crate::harness::{error_code, Backend, TestSpine};
use crate::upload::{patient_at_a81001, post, summary_with_allergy};

backend_tests!(
    revoking_a_card_ends_its_live_sessions,
    anonymous_refusals_are_counted_not_chained,
    a_shortened_or_reordered_trail_is_named,
    late_and_unservable_uploads_are_refused,
    like_metacharacters_match_only_themselves,
    offline_view_reports_are_checked,
    certificates_are_told_apart_by_issuer,
);

/// Runs `scr-spine ARGS --data DIR [--database URL]`: exit status and stdout + stderr.
pub(crate) fn cli(spine: &TestSpine, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scr-spine"));
    cmd.args(args).arg("--data").arg(spine.data());
    if let Some(db) = &spine.database {
        cmd.args(["--database", db]);
    }
    let out = cmd.output().expect("run scr-spine");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn audit_rows(spine: &TestSpine) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM audit")
        .fetch_one(spine.store().read_pool())
        .await
        .expect("count")
        .try_get::<i64, _>("n")
        .expect("n")
}

async fn revoking_a_card_ends_its_live_sessions(spine: &TestSpine) {
    let doctor = spine.identity("doctor");
    let token = spine.sign_in(&doctor, None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let path = format!("/FHIR/R4/Patient/{}", nhs.as_digits());
    assert_eq!(spine.get(&path, &token).await.0, StatusCode::OK);

    let serial = spine
        .store()
        .certificates()
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.user_id == doctor.profile.user_id && c.live_sessions == 1)
        .expect("the doctor's card with its live session")
        .id
        .serial_hex;
    let (code, out) = cli(
        spine,
        &[
            "card",
            "revoke",
            "--serial",
            &serial,
            "--reason",
            "card reported stolen",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 live session(s) ended"), "{out}");

    // The very next request with the stolen card's token is refused.
    let (status, body) = spine.get(&path, &token).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "SESSION_ENDED")
    );
    let (code, out) = cli(spine, &["card", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(&serial) && l.contains("revoked")),
        "{out}"
    );
    let revocations = spine
        .store()
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(scr_model::AuditAction::CardRevoke),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(revocations.len(), 1);
    let detail = revocations[0].entry.detail.clone().unwrap_or_default();
    assert!(
        detail.contains(&serial) && detail.contains("card reported stolen"),
        "{detail}"
    );
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 0, "{out}");
    // An unknown serial revokes nothing and says so.
    let (code, out) = cli(
        spine,
        &["card", "revoke", "--serial", "00ff", "--reason", "x"],
    );
    assert_eq!(code, 1, "{out}");
}

/// Two CAs may issue the same serial (RFC 5280 makes it unique only per issuer): each card
/// must sign in as its own holder, and revoking one must leave the other working.
async fn certificates_are_told_apart_by_issuer(spine: &TestSpine) {
    use scr_spine::pki::CertificateId;
    use scr_spine::store::StaffIdentity;
    let serial = "4a01020304050607".to_string();
    let first = CertificateId {
        issuer: "aa".repeat(32),
        serial_hex: serial.clone(),
    };
    let second = CertificateId {
        issuer: "bb".repeat(32),
        serial_hex: serial.clone(),
    };
    for (user, cert) in [("first-holder", &first), ("second-holder", &second)] {
        spine
            .store()
            .insert_identity(
                &StaffIdentity {
                    user_id: user.into(),
                    name: user.into(),
                    revoked: false,
                },
                cert,
                &[],
            )
            .await
            .expect("register");
    }
    let holder = |c: &CertificateId| {
        let c = c.clone();
        async move {
            spine
                .store()
                .identity_for_certificate(&c)
                .await
                .expect("look up")
                .expect("registered")
        }
    };
    assert_eq!(holder(&first).await.user_id, "first-holder");
    assert_eq!(holder(&second).await.user_id, "second-holder");

    // The serial alone is ambiguous: the operator is asked which, and nothing is revoked.
    let (code, out) = cli(
        spine,
        &["card", "revoke", "--serial", &serial, "--reason", "stolen"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--issuer"), "{out}");
    assert!(!holder(&first).await.revoked && !holder(&second).await.revoked);
    let (code, out) = cli(
        spine,
        &[
            "card", "revoke", "--serial", &serial, "--issuer", "aaaa", "--reason", "stolen",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(holder(&first).await.revoked);
    assert!(
        !holder(&second).await.revoked,
        "the other issuer's card was revoked too"
    );
}

async fn anonymous_refusals_are_counted_not_chained(spine: &TestSpine) {
    spine.running.audit.flush().await.expect("flush");
    let before = audit_rows(spine).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    for i in 0..150 {
        let token = format!("junk-{i}");
        let (status, _) = spine
            .summary(&nhs.as_digits(), &token, Some("emergency"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..50 {
        let (status, _) = spine
            .call(
                Method::GET,
                "/FHIR/R4/Patient?family=SMITH",
                None,
                &[],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Nothing chained per request…
    assert_eq!(audit_rows(spine).await, before);
    // …and the tally reaches the trail: one entry per kind, with its count.
    spine.running.audit.flush().await.expect("flush");
    let added = audit_rows(spine).await - before;
    assert_eq!(added, 2, "one entry for each kind of refusal");
    let records = spine
        .store()
        .audit_records(&scr_spine::store::AuditFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("audit");
    let details: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.entry.action.code(),
                r.entry.detail.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("summary-read UNAUTHENTICATED count=150 ")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("patient-trace UNAUTHENTICATED count=50 ")),
        "{details:?}"
    );
}

/// What the database's owner (not the spine) can do: drop the append-only triggers.
pub(crate) async fn drop_triggers(spine: &TestSpine) {
    let statements: &[&str] = match spine.backend {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_no_update",
            "DROP TRIGGER audit_no_delete",
            "DROP TRIGGER audit_head_forward_only",
        ],
        Backend::Postgres => &[
            "DROP TRIGGER audit_no_change ON audit",
            "DROP TRIGGER audit_head_forward_only ON audit_head",
        ],
    };
    for s in statements {
        sqlx::query(s)
            .execute(spine.store().write_pool())
            .await
            .expect("drop trigger");
    }
}

async fn a_shortened_or_reordered_trail_is_named(spine: &TestSpine) {
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    for n in spine
        .store()
        .sample_patients(true, 6)
        .await
        .expect("sample")
    {
        let _ = spine
            .summary(&n.as_digits(), &doctor, Some("permission-to-view"))
            .await;
    }
    // A checkpoint of the head as it is now.
    spine.running.audit.flush().await.expect("flush");
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signed checkpoint"), "{out}");
    let last: i64 = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(spine.store().read_pool())
        .await
        .expect("head")
        .try_get("seq")
        .expect("seq");

    // The spine's own SQL cannot edit, delete or roll the head back.
    let pool = spine.store().write_pool();
    for refused in [
        "UPDATE audit SET outcome = 'refused' WHERE seq = 2",
        "DELETE FROM audit WHERE seq = 2",
        "UPDATE audit_head SET seq = 1 WHERE id = 1",
    ] {
        assert!(
            sqlx::query(refused).execute(pool).await.is_err(),
            "{refused} should be refused"
        );
    }
    drop_triggers(spine).await;

    // Reordering: two whole entries swap places.
    for s in [
        "UPDATE audit SET seq = -1 WHERE seq = 3",
        "UPDATE audit SET seq = 3 WHERE seq = 4",
        "UPDATE audit SET seq = 4 WHERE seq = -1",
    ] {
        sqlx::query(s).execute(pool).await.expect("swap");
    }
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entries reordered"), "{out}");
    for s in [
        "UPDATE audit SET seq = -1 WHERE seq = 4",
        "UPDATE audit SET seq = 4 WHERE seq = 3",
        "UPDATE audit SET seq = 3 WHERE seq = -1",
    ] {
        sqlx::query(s).execute(pool).await.expect("swap back");
    }
    assert_eq!(verify_cli(spine).0, 0);

    // Truncation of the newest two entries, head left alone: the head says so.
    let (at, prev): (i64, String) = {
        let r = sqlx::query("SELECT seq, prev_hash FROM audit WHERE seq = $1")
            .bind(last - 1)
            .fetch_one(spine.store().read_pool())
            .await
            .expect("row");
        (
            r.try_get("seq").expect("seq"),
            r.try_get("prev_hash").expect("prev"),
        )
    };
    sqlx::query("DELETE FROM audit WHERE seq >= $1")
        .bind(at)
        .execute(pool)
        .await
        .expect("truncate");
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trail truncated"), "{out}");

    // And with the head rewritten to match (two SQL statements, no hashing): the chain is
    // consistent in itself; only the signed checkpoint outside the database shows the cut.
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(at - 1)
        .bind(prev)
        .execute(pool)
        .await
        .expect("rewrite head");
    let plain = scr_spine::audit::verify_chain(spine.store())
        .await
        .expect("verify");
    assert!(
        matches!(plain, scr_spine::audit::ChainReport::Intact { .. }),
        "without checkpoints the cut is invisible: {plain:?}"
    );
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trail truncated"), "{out}");
    assert!(
        out.contains(&format!("entries {at} to {last} were removed")),
        "{out}"
    );
}

fn medications(n: usize) -> Vec<Medication> {
    (0..n)
        .map(|i| Medication {
            medicine: Coding {
                system: Some(scr_model::systems::DMD.into()),
                code: Some(format!("{}", 320000 + i)),
                display: format!("paracetamol 500mg tablets, batch {i:06} with a long description of the product"),
            },
            kind: MedicationKind::Repeat,
            status: MedicationStatus::Active,
            dosage: None,
            quantity: Some("100 tablet".into()),
            started: None,
            last_issued: None,
            discontinued: None,
            reason: None,
        })
        .collect()
}

/// The upload Bundle without any `text` (narratives, CodeableConcept text): what a terse
/// sender may send.
fn compact_body(upload: &Upload) -> Vec<u8> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("text");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut bundle = scr_model::fhir::upload_bundle(upload);
    strip(&mut bundle);
    serde_json::to_vec(&bundle).expect("json")
}

fn served_size(upload: &Upload) -> usize {
    let summary = upload.summary.as_ref().expect("summary");
    let doc = summary_document(&SummaryDocumentInput {
        patient: &upload.patient,
        summary,
        document_id: "0123456789abcdef0123456789abcdef",
        generated_at: chrono::Utc::now(),
    });
    serde_json::to_vec(&doc).expect("json").len()
}

async fn late_and_unservable_uploads_are_refused(spine: &TestSpine) {
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let patient = patient_at_a81001(spine, false).await;
    let nhs = patient.nhs_number.as_digits();

    // Composed 3 Nov, then a late upload composed 1 Oct arrives: the newer list stays.
    let newer = Upload {
        bundle_id: "order-newer".into(),
        patient: patient.clone(),
        summary: Some(summary_with_allergy("Penicillin")),
        consent: None,
        care: Vec::new(),
    };
    assert_eq!(post(spine, &gp, &newer).await.0, StatusCode::OK);
    let mut late_summary = summary_with_allergy("Latex");
    late_summary.provenance.last_updated =
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 10, 1, 9, 0, 0).single();
    let late = Upload {
        bundle_id: "order-older".into(),
        patient: patient.clone(),
        summary: Some(late_summary),
        consent: None,
        care: Vec::new(),
    };
    let (status, body) = post(spine, &gp, &late).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "OLDER_THAN_HELD")
    );
    let (_, doc) = spine
        .summary(&nhs, &doctor, Some("permission-to-view"))
        .await;
    assert!(doc.to_string().contains("Penicillin") && !doc.to_string().contains("Latex"));

    // The largest summary that can be served: find the count of medicines that renders
    // just under the limit, and one more that renders over it.
    let limit = scr_spine::api::SERVED_SUMMARY_LIMIT;
    let at = |n: usize, id: &str| {
        let mut s = summary_with_allergy("Penicillin");
        s.medications = medications(n);
        s.provenance.last_updated =
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 20, 9, 0, 0).single();
        Upload {
            bundle_id: id.into(),
            patient: patient.clone(),
            summary: Some(s),
            consent: None,
            care: Vec::new(),
        }
    };
    let (mut lo, mut hi) = (1usize, 20_000usize);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if served_size(&at(mid, "probe")) <= limit - 4096 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // A GP system may send a compact Bundle (no narratives, no repeated display text) that
    // the spine's served document then spells out in full.
    let fits = at(lo, "largest-servable");
    let body = compact_body(&fits);
    assert!(
        body.len() < scr_model::fhir::MAX_DOCUMENT_BYTES,
        "upload body {}",
        body.len()
    );
    let parsed_upload = scr_model::fhir::parse_upload(&body).expect("compact upload parses");
    assert_eq!(parsed_upload.summary.map(|s| s.medications.len()), Some(lo));
    let (status, body) = spine
        .call(Method::POST, "/FHIR/R4", Some(&gp), &[], Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resp = spine
        .http
        .get(format!("{}/FHIR/R4/Patient/{nhs}/$summary", spine.base))
        .bearer_auth(&doctor)
        .header("X-Access-Reason", "permission-to-view")
        .send()
        .await
        .expect("summary");
    assert_eq!(resp.status(), StatusCode::OK);
    let raw = resp.bytes().await.expect("body");
    let parsed =
        scr_model::fhir::parse_document(&raw).expect("the viewer opens the largest summary");
    assert_eq!(parsed.summary.medications.len(), lo);

    let too_big = compact_body(&at(lo + 60, "too-large-to-serve"));
    assert!(too_big.len() < scr_model::fhir::MAX_DOCUMENT_BYTES);
    let (status, body) = spine
        .call(Method::POST, "/FHIR/R4", Some(&gp), &[], Some(too_big))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "SUMMARY_TOO_LARGE")
    );
}

async fn like_metacharacters_match_only_themselves(spine: &TestSpine) {
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(false, 1)
        .await
        .expect("sample")[0];
    let patient = spine
        .store()
        .patient(nhs)
        .await
        .expect("read")
        .expect("patient");
    let born = patient.birth_date.format("%Y-%m-%d").to_string();
    // `%%*` is two "leading characters" and a wildcard; as SQL LIKE it would match every
    // family name of everyone born that day.
    let (status, body) = spine
        .get(
            &format!("/FHIR/R4/Patient?family=%25%25*&birthdate=eq{born}"),
            &doctor,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"].as_i64().unwrap_or(-1), 0, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_no_store_and_readiness_writes_through_the_audit_writer() {
    let spine = TestSpine::start(Backend::Sqlite).await;
    let resp = spine
        .http
        .get(format!("{}/readyz", spine.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert!(
        body["last_audit_commit_age_ms"].as_i64().is_some(),
        "{body}"
    );
    spine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_capped_and_closed_while_clinicians_read() {
    use tokio::io::AsyncReadExt;
    let spine = TestSpine::start_configured(Backend::Sqlite, |c| {
        c.idle_connection_secs = 2;
        c.max_connections_per_address = 20;
    })
    .await
    .expect("spine");
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let target = spine.running.addr;

    // 60 silent connections from another loopback address (bounded; loopback only).
    let mut idle = Vec::new();
    for _ in 0..60 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().expect("addr"))
            .expect("bind");
        if let Ok(s) = socket.connect(target).await {
            idle.push(s);
        }
    }
    // The clinician's reads go on while the flood sits there.
    for _ in 0..20 {
        let (status, _) = spine
            .summary(&nhs.as_digits(), &doctor, Some("permission-to-view"))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert!(
        spine.running.connections.open() <= 20 + 2,
        "the per-address cap holds: {} open",
        spine.running.connections.open()
    );
    // Every silent connection is closed by the spine (over the cap at once, the rest when
    // idle), so reading gives end-of-stream or an error, never a hang.
    for mut s in idle {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(std::time::Duration::from_secs(20), s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "an idle connection was left open: {read:?}"
        );
    }
    spine.stop().await;
}

async fn offline_view_reports_are_checked(spine: &TestSpine) {
    use scr_model::fhir::{offline_views_bundle, parse_offline_views_outcome};
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 1)
        .await
        .expect("sample")[0];
    let (status, _) = spine
        .summary(&nhs.as_digits(), &doctor, Some("permission-to-view"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let now = chrono::Utc::now();
    let view =
        |n: u32, fetched: chrono::DateTime<chrono::Utc>, viewed: chrono::DateTime<chrono::Utc>| {
            scr_model::OfflineView {
                id: format!("{:032x}", 0xfeed00 + n),
                nhs_number: nhs,
                reason: "permission-to-view".into(),
                viewed_at: viewed,
                fetched_at: fetched,
            }
        };
    let send = |views: Vec<scr_model::OfflineView>| {
        let body = serde_json::to_vec(&offline_views_bundle(&views)).expect("json");
        let doctor = doctor.clone();
        async move {
            spine
                .call(
                    Method::POST,
                    "/FHIR/R4/AuditEvent",
                    Some(&doctor),
                    &[],
                    Some(body),
                )
                .await
        }
    };
    // A copy fetched just now, viewed an hour later: it matches the read, so no alert.
    let real = view(1, now, now + chrono::Duration::seconds(1));
    let (status, outcome) = send(vec![real.clone()]).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(parse_offline_views_outcome(&outcome), Ok((1, 0)));
    let recorded = spine
        .store()
        .audit_records(&scr_spine::store::AuditFilter {
            action: Some(scr_model::AuditAction::OfflineView),
            limit: 5,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(recorded[0].entry.detail.as_deref(), Some("CLIENT_REPORTED"));
    assert!(!recorded[0].entry.alert);

    // Viewed before it was fetched, viewed in the future, kept past any retention: refused
    // whole, nothing recorded.
    let hour = chrono::Duration::hours(1);
    for bad in [
        view(2, now, now - hour),
        view(3, now, now + hour),
        view(4, now - chrono::Duration::hours(24 * 8), now),
    ] {
        let (status, body) = send(vec![bad]).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::BAD_REQUEST, "INVALID_OFFLINE_VIEW"),
            "{body}"
        );
    }
}

/// An authorised caller who sends too much hears a 413, not a reset connection: the spine
/// reads (and drops) a bounded overrun before answering, so the answer is not destroyed by
/// the kernel resetting a connection with unread data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_answered_413_not_reset() {
    let spine = TestSpine::start(Backend::Sqlite).await;
    let gp = spine.sign_in(&spine.identity("gp-system"), None).await;
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let upload_overrun = vec![b' '; scr_model::fhir::MAX_DOCUMENT_BYTES + 2 * 1024 * 1024];
    let views_overrun = vec![b' '; 5 * 1024 * 1024];
    for round in 0..10 {
        for (path, token, body) in [
            ("/FHIR/R4", &gp, &upload_overrun),
            ("/FHIR/R4/AuditEvent", &doctor, &views_overrun),
        ] {
            let sent = spine
                .http
                .post(format!("{}{}", spine.base, path))
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .body(body.clone())
                .send()
                .await;
            let status = sent.map(|r| r.status()).map_err(|e| format!("{e:?}"));
            assert_eq!(
                status,
                Ok(StatusCode::PAYLOAD_TOO_LARGE),
                "round {round}, {path}"
            );
        }
    }
    spine.stop().await;
}

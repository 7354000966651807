//! The audit trail is a hash chain: `scr-spine audit verify` names the first altered entry.

use std::process::Command;

use scr_spine::audit::{verify_chain, ChainReport};

use crate::backend_tests;
use crate::harness::TestSpine;

backend_tests!(tampering_is_detected_and_named);

pub(crate) fn verify_cli(spine: &TestSpine) -> (i32, String) {
    verify_data(spine.data(), spine.database.as_deref())
}

/// `scr-spine audit verify` on a data folder (and its PostgreSQL database, if any).
pub(crate) fn verify_data(data: &std::path::Path, database: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scr-spine"));
    cmd.args(["audit", "verify", "--data"]).arg(data);
    if let Some(db) = database {
        cmd.args(["--database", db]);
    }
    let out = cmd.output().expect("run scr-spine");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn tampering_is_detected_and_named(spine: &TestSpine) {
    // Some traffic: sign-ins, reads, a refusal.
    let doctor = spine.sign_in(&spine.identity("doctor"), None).await;
    let nhs = spine
        .store()
        .sample_patients(true, 3)
        .await
        .expect("sample");
    for n in &nhs {
        let _ = spine
            .summary(&n.as_digits(), &doctor, Some("permission-to-view"))
            .await;
    }
    let _ = spine.summary(&nhs[0].as_digits(), &doctor, None).await;

    let report = verify_chain(spine.store()).await.expect("verify");
    let ChainReport::Intact { entries } = report else {
        panic!("fresh chain should be intact: {report:?}")
    };
    assert!(
        entries >= 6,
        "every sign-in, role choice, read and refusal is audited: {entries}"
    );
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");

    // The spine's SQL cannot edit the trail; the database's owner can drop the triggers and
    // then edit one entry's content.
    crate::hardening::drop_triggers(spine).await;
    sqlx::query("UPDATE audit SET outcome = 'refused' WHERE seq = 4")
        .execute(spine.store().write_pool())
        .await
        .expect("tamper");
    assert!(matches!(
        verify_chain(spine.store()).await.expect("verify"),
        ChainReport::Broken { seq: 4, .. }
    ));
    let (code, out) = verify_cli(spine);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 4"), "{out}");

    // Put it back, then remove an entry instead.
    sqlx::query("UPDATE audit SET outcome = 'success' WHERE seq = 4")
        .execute(spine.store().write_pool())
        .await
        .expect("restore");
    let restored = verify_chain(spine.store()).await.expect("verify");
    assert!(
        matches!(restored, ChainReport::Intact { .. }),
        "{restored:?}"
    );
    sqlx::query("DELETE FROM audit WHERE seq = 2")
        .execute(spine.store().write_pool())
        .await
        .expect("delete");
    assert!(matches!(
        verify_chain(spine.store()).await.expect("verify"),
        ChainReport::Broken { seq: 2, .. }
    ));

    // Truncation, with and without a rewrite of the head, is in hardening.rs: there the
    // newest entries are cut from an otherwise intact chain, so only the head or a signed
    // checkpoint can decide.
}

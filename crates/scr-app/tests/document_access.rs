//! Who may open a document from a file, and what opening one leaves behind: the viewer with
//! the real parts (a seeded spine over HTTPS, virtual cards through pcscd, the OS keyring).
//! Only a clinical role in force in an online session opens one; it is never kept in the
//! offline cache and the spine hears nothing of it. Skipped without pcscd or a keyring
//! unless `SCR_REQUIRE_PCSC` / `SCR_REQUIRE_KEYRING`.

use std::time::Duration;

use scr_app::{AppConfig, Viewer};
use scr_spine::store::AuditFilter;
use scr_testkit::{ready, wait_readers_empty};

const SAMPLE: &str = "validated_samples__IPS_IG-bundle-01.json";

fn sample() -> Vec<u8> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/interop/ips");
    std::fs::read(dir.join(SAMPLE)).expect("the interop sample")
}

async fn entries_of(store: &scr_spine::store::Store, user_id: &str) -> usize {
    store
        .audit_records(&AuditFilter {
            user_id: Some(user_id.into()),
            limit: 10_000,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_clinical_role_opens_a_document_and_it_is_neither_cached_nor_sent() {
    let keyring =
        scr_cache::DeviceKeyring::new(&format!("scr-viewer-test-doc-{}", std::process::id()));
    if !ready(&keyring, "Virtual PCD 00 00") {
        return;
    }
    wait_readers_empty().await;
    let data = tempfile::tempdir().expect("dir");
    let dir = data.path();
    let spine = scr_demo::setup::start_seeded(dir, 20, 5)
        .await
        .expect("spine");
    let config = AppConfig {
        spine_url: format!("https://localhost:{}", spine.addr.port()),
        ca_file: dir.join("ca/ca.pem"),
        data_dir: dir.join("viewer"),
        offline_max_age_hours: 48,
        offline_max_entries: 100,
        export_dir: None,
    };
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let (viewer, _events) =
        Viewer::with_keyring(&config, keyring.clone(), scr_app::offline::system_clock())
            .expect("viewer");
    let _watcher = viewer.session().watch_cards().expect("watch cards");

    // Nobody signed in: nothing is opened.
    let e = viewer
        .open_document(SAMPLE, sample())
        .await
        .expect_err("no session");
    assert_eq!(e.code(), "SESSION_ENDED");

    // The receptionist's role does not view clinical records.
    let card = scr_vcard::insert(&scr_vcard::CardConfig::new(
        dir.join("identities/receptionist"),
        0,
    ))
    .expect("insert card");
    viewer
        .session()
        .wait_for_card(Some("Virtual PCD 00 00"), Duration::from_secs(5))
        .await
        .expect("card seen");
    let signed = viewer.sign_in("135790".into()).await.expect("sign in");
    let e = viewer
        .open_document(SAMPLE, sample())
        .await
        .expect_err("no role");
    assert_eq!(e.code(), "CLINICAL_ROLE_REQUIRED");
    viewer.select_role(&signed.roles[0].id).await.expect("role");
    let e = viewer
        .open_document(SAMPLE, sample())
        .await
        .expect_err("reception");
    assert_eq!(e.code(), "CLINICAL_ROLE_REQUIRED");
    assert!(e.message.contains("does not view clinical records"), "{e}");
    viewer.sign_out();
    drop(card);
    wait_readers_empty().await;

    // The doctor opens it; the spine's trail has nothing more of her, and the offline
    // records hold nothing new.
    let _card = scr_vcard::insert(&scr_vcard::CardConfig::new(
        dir.join("identities/doctor"),
        0,
    ))
    .expect("insert card");
    viewer
        .session()
        .wait_for_card(Some("Virtual PCD 00 00"), Duration::from_secs(5))
        .await
        .expect("card seen");
    let signed = viewer.sign_in("246810".into()).await.expect("sign in");
    viewer.select_role(&signed.roles[0].id).await.expect("role");
    // The spine writes entries on its own writer: let it settle before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = entries_of(&spine.store, &signed.user_id).await;
    let shown = viewer
        .open_document(SAMPLE, sample())
        .await
        .expect("opened");
    assert_eq!(shown.source.file_name, SAMPLE);
    assert!(!shown.summary.offline_copy);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(entries_of(&spine.store, &signed.user_id).await, before);
    assert!(viewer.offline_records().await.expect("records").is_empty());

    // A refusal is a plain reason, and the session carries on.
    let e = viewer
        .open_document("notes.txt", b"Seen in clinic today.".to_vec())
        .await
        .expect_err("not a document");
    assert_eq!(e.code(), "DOCUMENT_REFUSED");
    viewer.keep_alive().await.expect("still signed in");
    viewer.sign_out();
}

//! The viewer's offline cache with the real parts: a seeded spine over HTTPS, the doctor's
//! virtual card through pcscd, the OS keyring (gnome-keyring under `dbus-run-session`, as
//! `scripts/test` starts it) and the cache file, with the clock injected to check expiry.
//! Skipped without pcscd or a keyring unless `SCR_REQUIRE_PCSC` / `SCR_REQUIRE_KEYRING`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use scr_app::{AccessReason, AccessRequest, AppConfig, CacheStatus, Viewer};
use scr_model::{ConsentRecord, NhsNumber, SharingPreference};

use scr_testkit::{ready, wait_readers_empty};

const HOUR_MS: i64 = 3_600_000;

/// The practice records the patient's dissent (Read 9Ndo), as a GP upload would.
async fn record_dissent(store: &scr_spine::store::Store, nhs: NhsNumber) {
    let (patient, _, _) = store
        .summary_view(nhs)
        .await
        .expect("view")
        .expect("patient");
    let ods = patient.gp_ods.clone().expect("registered practice");
    let job = scr_spine::upload::UploadJob {
        upload: scr_model::fhir::Upload {
            bundle_id: format!("dissent-{}", nhs.as_digits()),
            patient,
            summary: None,
            consent: Some(ConsentRecord {
                preference: SharingPreference::Dissent,
                code: "9Ndo".into(),
                recorded: Utc::now().date_naive(),
                recorded_by_ods: Some(ods.clone()),
            }),
            care: Vec::new(),
        },
        body_sha256: "0".repeat(64),
        uploader_ods: ods,
        uploader_name: "The Surgery".into(),
        gp_system: true,
    };
    let mut conn = store.write_pool().acquire().await.expect("connection");
    let outcome = scr_spine::upload::apply(&mut conn, &job)
        .await
        .expect("upload");
    assert_eq!(outcome, scr_spine::upload::UploadOutcome::DissentRecorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_copies_expire_leave_when_refused_and_open_only_for_their_session() {
    let keyring =
        scr_cache::DeviceKeyring::new(&format!("scr-viewer-test-app-{}", std::process::id()));
    if !ready(&keyring, "Virtual PCD 00 00") {
        return;
    }
    wait_readers_empty().await;
    let data = tempfile::tempdir().expect("dir");
    let dir = data.path();
    let spine = scr_demo::setup::start_seeded(dir, 60, 5)
        .await
        .expect("spine");
    let mut patients = Vec::new();
    for nhs in spine.store.sample_patients(true, 60).await.expect("sample") {
        if let Some((_, Some(_), consent)) = spine.store.summary_view(nhs).await.expect("view") {
            if !consent.is_some_and(|c| c.preference.is_dissent()) && patients.len() < 3 {
                patients.push(nhs);
            }
        }
    }
    assert_eq!(patients.len(), 3, "three patients with summaries");

    let config = AppConfig {
        spine_url: format!("https://localhost:{}", spine.addr.port()),
        ca_file: dir.join("ca/ca.pem"),
        data_dir: dir.join("viewer"),
        offline_max_age_hours: 48,
        offline_max_entries: 100,
        export_dir: None,
    };
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let offset = Arc::new(AtomicI64::new(0));
    let clock_offset = offset.clone();
    let clock: scr_app::offline::Clock = Arc::new(move || {
        Utc::now() + chrono::Duration::milliseconds(clock_offset.load(Ordering::SeqCst))
    });
    let (viewer, _events) = Viewer::with_keyring(&config, keyring.clone(), clock).expect("viewer");
    let _watcher = viewer.session().watch_cards().expect("watch cards");
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

    // Offline before any online sign-in on this computer: nothing to open.
    let none = viewer.sign_in_offline("246810".into()).await.err();
    assert_eq!(
        none.map(|e| e.code()).as_deref(),
        Some("OFFLINE_NOT_SET_UP")
    );

    let signed = viewer.sign_in("246810".into()).await.expect("sign in");
    assert_eq!(signed.cache, CacheStatus::On { max_age_hours: 48 });
    viewer.select_role(&signed.roles[0].id).await.expect("role");
    for nhs in &patients {
        let shown = viewer
            .summary(
                &nhs.as_digits(),
                &AccessRequest::new(AccessReason::PermissionToView),
            )
            .await
            .expect("summary");
        assert!(!shown.offline_copy);
        assert!(shown.warnings.is_empty(), "{:?}", shown.warnings);
    }
    // The third patient opts out; the next online look-up drops their copy.
    record_dissent(&spine.store, patients[2]).await;
    let refused = viewer
        .summary(
            &patients[2].as_digits(),
            &AccessRequest::new(AccessReason::PermissionToView),
        )
        .await
        .err()
        .map(|e| e.code());
    assert_eq!(refused.as_deref(), Some("PATIENT_DISSENTED"));
    viewer.sign_out();
    assert_eq!(
        viewer
            .offline_records()
            .await
            .err()
            .map(|e| e.code())
            .as_deref(),
        Some("SESSION_ENDED"),
        "the key went with the session"
    );

    // Offline: a wrong passcode costs a try and opens nothing; the right one opens the two.
    let wrong = viewer
        .sign_in_offline("111111".into())
        .await
        .expect_err("refused");
    assert_eq!(
        (wrong.code().as_str(), wrong.tries_left()),
        ("WRONG_PASSCODE", Some(2))
    );
    let offline = viewer
        .sign_in_offline("246810".into())
        .await
        .expect("offline sign-in");
    let mut listed: Vec<String> = offline
        .entries
        .iter()
        .map(|e| e.nhs_number.clone())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = patients[..2].iter().map(|n| n.as_digits()).collect();
    expected.sort();
    assert_eq!(listed, expected, "the opted-out patient's copy is gone");
    assert!(offline.entries.iter().all(|e| e.patient.is_some()));
    let copy = viewer
        .offline_summary(&patients[0].as_digits())
        .expect("offline copy");
    assert!(copy.offline_copy);
    assert_eq!(copy.patient.nhs_number, Some(patients[0].as_digits()));
    assert_eq!(
        viewer
            .offline_summary(&patients[2].as_digits())
            .err()
            .map(|e| e.code())
            .as_deref(),
        Some("OFFLINE_RECORD_GONE")
    );

    // 47 hours on: still there. 49 hours on: expired, listed nowhere, opened never.
    offset.store(47 * HOUR_MS, Ordering::SeqCst);
    assert_eq!(viewer.offline_records().await.expect("list").len(), 2);
    offset.store(49 * HOUR_MS, Ordering::SeqCst);
    assert!(viewer.offline_records().await.expect("list").is_empty());
    assert_eq!(
        viewer
            .offline_summary(&patients[1].as_digits())
            .err()
            .map(|e| e.code())
            .as_deref(),
        Some("OFFLINE_RECORD_GONE")
    );
    viewer.sign_out();

    // Someone with this OS account (so the keyring) makes their own header from the card's
    // public 9D certificate, hoping the user's next sign-in keys the cache with it.
    let km_certificate = {
        let (_ctx, mut connection) = scr_card::reader::open("Virtual PCD 00 00").expect("card");
        let c = connection
            .with_piv(|piv| piv.read_certificate(scr_card::Slot::KeyManagement))
            .expect("9D certificate, no passcode needed");
        connection.close_leaving();
        c
    };
    let km_public =
        p256::PublicKey::from(scr_card::piv::certificate_public_key(&km_certificate).expect("key"));
    let device = keyring
        .get(&signed.user_id)
        .expect("keyring")
        .expect("device secret");
    let (forged, _attacker_knows) =
        scr_cache::UserHeader::create(&signed.user_id, &km_public, &device);
    let cache_file = config.data_dir.join(scr_app::offline::CACHE_FILE);
    {
        let mut raw = scr_cache::CacheStore::open(&cache_file, scr_cache::Retention::default())
            .expect("cache file");
        let mut user = raw.user(&signed.user_id).expect("read").expect("user");
        user.header = forged.clone();
        let fingerprint = scr_card::certificate_fingerprint(&user.auth_certificate);
        raw.replace_user(&user, &fingerprint).expect("forge");
    }
    // The card never vouched for it: offline it opens nothing ...
    let refused = viewer.sign_in_offline("246810".into()).await.err();
    assert_eq!(
        refused.map(|e| e.code()).as_deref(),
        Some("OFFLINE_NOT_SET_UP")
    );
    // ... and online it is replaced by one the card signs, not used.
    let again = viewer.sign_in("246810".into()).await.expect("sign in");
    assert_eq!(again.cache, CacheStatus::On { max_age_hours: 48 });
    let raw = scr_cache::CacheStore::open(&cache_file, scr_cache::Retention::default())
        .expect("cache file");
    let now = raw.user(&signed.user_id).expect("read").expect("user");
    assert_ne!(now.header.ephemeral_public, forged.ephemeral_public);
    assert!(!now.header.card_binding.is_empty());
    viewer.sign_out();
    let _ = keyring.delete(&signed.user_id);
    let _ = spine.shutdown().await;
}

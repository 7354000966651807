//! Offline review in the real window: three summaries viewed online, the spine stopped,
//! offline sign-in with the card, exactly those three with the offline banner; another
//! user's card opens nothing; pulling the card locks; "Remove my offline records" leaves
//! nothing on disk that opens; the offline view reaches the spine's audit trail once the
//! spine is back.

use scr_e2e::*;

fn keyring_ready() -> bool {
    scr_testkit::keyring_ready(&scr_cache::DeviceKeyring::default())
}

async fn sign_in_online(app: &App) {
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
}

async fn view(app: &App, nhs: &str) {
    app.type_into("#nhs-number", nhs).await;
    app.click("#find-by-number").await;
    app.click("#reason-permission").await;
    app.click("#view-summary").await;
    app.wait("#allergies", 20).await;
    app.click("#find-another").await;
    app.wait("#nhs-number", 10).await;
}

async fn offline_rows(app: &App) -> Vec<String> {
    let rows = app
        .eval("return [...document.querySelectorAll('#offline-records tr.offline-record')].map(r => r.dataset.nhs);")
        .await;
    rows.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewed_records_are_reviewed_offline_with_the_card_and_removed_for_good() {
    if !keyring_ready() {
        return;
    }
    let Some(mut rig) = Rig::start("offline").await else {
        return;
    };
    let port = rig.spine_port();
    let viewed = [
        rig.patients.known_allergies.clone(),
        rig.patients.no_known_allergies.clone(),
        rig.patients.not_recorded.clone(),
    ];
    let app = rig.launch().await;
    let card = rig.insert("doctor", 0);
    sign_in_online(&app).await;
    assert!(
        app.eval("return document.getElementById('cache-off-notice') === null;")
            .await
            == serde_json::json!(true),
        "the cache is on: no 'offline records are off' notice"
    );
    for nhs in &viewed {
        view(&app, nhs).await;
    }
    card.remove();
    app.wait_text("h1", "Insert your smartcard", 5).await;

    // The network goes: the spine stops.
    rig.stop_spine().await;

    // Another user's card opens nothing of the doctor's.
    let other = rig.insert("receptionist", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", RECEPTIONIST_PASSCODE).await;
    app.click("#sign-in").await;
    let refused = app
        .wait_text("#passcode-error", "offline records", 30)
        .await;
    assert!(refused.contains("cannot be reached"), "{refused}");
    assert_eq!(
        app.eval("return document.getElementById('offline-records') === null;")
            .await,
        serde_json::json!(true)
    );
    app.screenshot("offline-other-card-refused").await;
    other.remove();
    app.wait_text("h1", "Insert your smartcard", 5).await;

    // The doctor's card and passcode: offline, exactly the three viewed.
    let card = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait_text("#offline-heading", "Offline", 30).await;
    let notice = app.text("#offline-fallback-notice").await;
    assert!(notice.contains("cannot be reached"), "{notice}");
    let mut rows = offline_rows(&app).await;
    rows.sort();
    let mut expected = viewed.to_vec();
    expected.sort();
    assert_eq!(rows, expected, "exactly the three records viewed online");
    let list_text = app.text("#offline-records").await;
    assert!(list_text.contains("Fetched"), "{list_text}");
    app.screenshot("11-offline-records").await;

    // One opened: the banner says it is an offline copy and when it was fetched.
    let first = rig.patients.known_allergies.clone();
    app.click(&format!(
        "#offline-records tr.offline-record[data-nhs='{first}'] button.open-offline"
    ))
    .await;
    let banner = app.text("#offline-banner").await;
    assert!(
        banner.starts_with("Offline copy fetched ") && banner.ends_with("— may be out of date"),
        "{banner}"
    );
    let allergies = app.text("#allergies[data-state='known']").await;
    assert!(
        allergies.contains(&rig.patients.first_allergy),
        "{allergies}"
    );
    app.screenshot("12-offline-summary").await;
    let banner_in_view = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const b = document.getElementById('offline-banner').getBoundingClientRect(); const a = document.getElementById('allergies').getBoundingClientRect(); return b.top >= 0 && b.bottom <= window.innerHeight && a.top < window.innerHeight;")
        .await;
    assert_eq!(
        banner_in_view,
        serde_json::json!(true),
        "banner and allergies stay in view"
    );
    app.screenshot("12-offline-summary-scrolled").await;

    // Pulling the card locks the offline session as it does an online one.
    card.remove();
    app.wait_text("h1", "Insert your smartcard", 5).await;
    let leftovers = app
        .eval("return document.getElementById('offline-banner') !== null || document.getElementById('allergies') !== null || document.getElementById('offline-records') !== null;")
        .await;
    assert_eq!(
        leftovers,
        serde_json::json!(false),
        "records left on screen"
    );

    // Back in, offline: remove them all.
    let card = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#work-offline").await;
    app.wait("#offline-records", 30).await;
    app.click("#remove-offline").await;
    app.click("#confirm-remove-offline").await;
    let removed = app.text("#offline-removed").await;
    assert!(removed.contains('3'), "{removed}");
    app.wait("#offline-empty", 10).await;
    app.screenshot("offline-removed").await;
    card.remove();
    app.wait_text("h1", "Insert your smartcard", 5).await;

    // Nothing left on disk that opens: no entry rows, no NHS number in clear.
    let store = scr_cache::CacheStore::open(&rig.cache_file(), scr_cache::Retention::default())
        .expect("cache file");
    let entries: i64 = store
        .connection()
        .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    assert_eq!(entries, 0);
    drop(store);
    let mut raw = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = rig.cache_file().into_os_string();
        p.push(suffix);
        raw.extend(std::fs::read(p).unwrap_or_default());
    }
    for nhs in &viewed {
        assert!(
            !raw.windows(10).any(|w| w == nhs.as_bytes()),
            "{nhs} in clear on disk"
        );
    }

    // The spine is back: the next online sign-in sends the offline view to the audit trail.
    rig.restart_spine(port).await;
    let _card = rig.insert("doctor", 0);
    sign_in_online(&app).await;
    app.close().await;
    let officer = rig.privacy_officer().await;
    // The queue is sent in the background right after sign-in: allow it a moment.
    let mut offline_views = 0;
    for _ in 0..50 {
        let events = officer.get(&format!("AuditEvent?patient={first}")).await;
        offline_views = events["entry"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e.to_string().contains("offline"))
                    .count()
            })
            .unwrap_or(0);
        if offline_views > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        offline_views, 1,
        "the one offline view is in the audit trail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_keyring_the_cache_is_off_said_once_and_the_app_works_online() {
    let Some(rig) = Rig::start("no-keyring").await else {
        return;
    };
    let app = rig.launch_without_keyring().await;
    let _card = rig.insert("doctor", 0);
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    let notice = app.text("#cache-off-notice").await;
    assert!(
        notice.contains("Offline records are off on this computer")
            && notice.contains("works online"),
        "{notice}"
    );
    app.screenshot("cache-off-notice").await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
    view(&app, &rig.patients.known_allergies).await;
    // Said once per run: a second sign-in does not repeat it.
    app.click("#sign-out").await;
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    assert_eq!(
        app.eval("return document.getElementById('cache-off-notice') === null;")
            .await,
        serde_json::json!(true)
    );
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
    app.click("#sign-out").await;
    // Working offline is refused with the reason, never served from anywhere else.
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#work-offline").await;
    let refused = app
        .wait_text("#passcode-error", "Offline records are off", 20)
        .await;
    assert!(!refused.is_empty());
    app.close().await;
    // Nothing was sealed: no entry of any user in the cache file.
    if let Ok(store) =
        scr_cache::CacheStore::open(&rig.cache_file(), scr_cache::Retention::default())
    {
        let entries: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
            .expect("count");
        assert_eq!(entries, 0);
    }
}

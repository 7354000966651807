//! Issue 14: a patient summary document from another system, opened from a file in the real
//! window. The doctor opens a real-world IPS document (MEDITECH's, from the interop set) and
//! sees it in the summary's layout under the banner that says it is not the SCR, with its
//! allergies first and the parser's warnings; nothing of it is kept in the offline cache.

use std::path::PathBuf;

use fantoccini::Locator;
use scr_e2e::*;

const SAMPLE: &str = "connectathon_Sept2024__US_MEDITECH_ips_2.json";

fn sample() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/interop/ips")
        .join(SAMPLE)
}

/// Card in, passcode, the first (clinical) role: lands on "Find a patient".
async fn sign_in_doctor(app: &App) {
    app.wait("#passcode", 20).await;
    app.type_into("#passcode", DOCTOR_PASSCODE).await;
    app.click("#sign-in").await;
    app.wait("#roles", 20).await;
    app.click("#roles .nhsuk-radios__item:nth-child(1) input")
        .await;
    app.click("#choose-role").await;
    app.wait("#nhs-number", 20).await;
}

/// Whether the document screen is up within `secs`.
async fn document_shown(app: &App, secs: u64) -> bool {
    app.client()
        .wait()
        .at_most(std::time::Duration::from_secs(secs))
        .for_element(Locator::Css("#document-banner"))
        .await
        .is_ok()
}

/// Opens the file as the user does, through the `<input type=file>` (WebDriver's Element
/// Send Keys with the file's path, which WebKitWebDriver turns into the chosen file; it does,
/// on Debian 12's webkit2gtk-driver). Should a driver not support that, the file is dropped
/// on the window instead: the page's own drop handler, the same `openDocument` path, with a
/// File made in the page from the same bytes (a real drag from the desktop cannot be driven
/// over WebDriver). The test prints which path it took.
async fn open_the_file(app: &App, path: &std::path::Path) -> &'static str {
    let input = app.wait("#open-document", 10).await;
    let sent = input.send_keys(&path.display().to_string()).await.is_ok();
    if sent && document_shown(app, 15).await {
        return "file input";
    }
    let body = std::fs::read_to_string(path).expect("sample");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    app.client()
        .execute(
            "const [text, name] = arguments; \
             const dt = new DataTransfer(); \
             dt.items.add(new File([text], name, { type: 'application/fhir+json' })); \
             window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); \
             return true;",
            vec![serde_json::json!(body), serde_json::json!(name)],
        )
        .await
        .expect("drop the file");
    assert!(
        document_shown(app, 20).await,
        "the dropped document was not shown"
    );
    "drop"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_opens_a_document_from_a_file_and_it_is_never_taken_for_the_scr() {
    let Some(rig) = Rig::start("document").await else {
        return;
    };
    let app = rig.launch().await;
    let _card = rig.insert("doctor", 0);
    sign_in_doctor(&app).await;

    let how = open_the_file(&app, &sample()).await;
    eprintln!("document opened through the {how}");
    let banner = app.text("#document-banner").await;
    assert!(
        banner.contains("Document from a file — not from the Summary Care Record"),
        "{banner}"
    );
    let source = app.text("#document-source").await;
    assert!(source.contains(&format!("File: {SAMPLE}")), "{source}");
    assert!(
        source.contains("Author: ") && source.contains("Dated: "),
        "{source}"
    );
    // The allergies as the document codes them, first and in the sticky block with the banner.
    let allergies = app.wait("#allergies[data-state='known']", 10).await;
    let heading = allergies.text().await.expect("allergy text");
    assert!(heading.contains("(2)"), "{heading}");
    let together = app
        .eval("const s = document.getElementById('summary-sticky'); return s.firstElementChild.id === 'document-banner' && s.contains(document.getElementById('allergies')) && !!(document.getElementById('allergies').compareDocumentPosition(document.getElementById('repeat-medication') || document.getElementById('medication')) & Node.DOCUMENT_POSITION_FOLLOWING);")
        .await;
    assert_eq!(together, serde_json::json!(true));
    // Every warning listed: this one is a search result read as a document.
    let warnings = app.text("#warnings").await;
    assert!(warnings.contains("searchset"), "{warnings}");
    app.screenshot("01-document-from-file").await;

    // Scrolled to the end, the banner is still in view, below the session strip.
    let in_view = app
        .eval("window.scrollTo(0, document.body.scrollHeight); const r = document.getElementById('document-banner').getBoundingClientRect(); const bar = document.getElementById('status-bar').getBoundingClientRect(); return r.top >= bar.bottom - 1 && r.bottom < window.innerHeight;")
        .await;
    assert_eq!(in_view, serde_json::json!(true));
    app.screenshot("02-document-scrolled").await;

    // Closing it returns to Find a patient; nothing was kept for offline use.
    app.click("#close-document").await;
    app.wait("#nhs-number", 10).await;
    app.close().await;
    if let Ok(store) =
        scr_cache::CacheStore::open(&rig.cache_file(), scr_cache::Retention::default())
    {
        let entries: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
            .expect("count");
        assert_eq!(
            entries, 0,
            "a document from a file was kept in the offline cache"
        );
    }
}

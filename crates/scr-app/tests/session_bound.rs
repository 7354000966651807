//! A slow answer belongs to the session that asked for it. The doctor opens a summary over
//! a deliberately slow link to the spine (a proxy in this test holds the spine's reply);
//! while it is held the doctor pulls the card and the receptionist signs in with theirs.
//! When the doctor's answer lands, the viewer drops it: the call fails with
//! `SESSION_ENDED` and the receptionist's offline cache has no copy of the patient. The
//! same with a slow role choice: the doctor's role is not given to the receptionist.
//! Real parts as in `offline.rs`: a seeded spine over HTTPS, virtual cards through pcscd,
//! the OS keyring. Skipped without pcscd or a keyring unless `SCR_REQUIRE_PCSC` /
//! `SCR_REQUIRE_KEYRING`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use scr_app::{AccessReason, AccessRequest, AppConfig, CacheStatus, SignedInView, Viewer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Mutex, Notify};

use scr_testkit::{ready, wait_readers_empty};

/// The two virtual readers are shared: one story at a time.
static READERS: Mutex<()> = Mutex::const_new(());

/// A TCP proxy in front of the spine (TLS passes through it untouched). Once armed, the
/// next connection to send a request has the spine's reply held back until `release`;
/// every other connection flows freely.
struct SlowLink {
    port: u16,
    armed: Arc<AtomicBool>,
    holding: Arc<Notify>,
    release: watch::Sender<bool>,
}

impl SlowLink {
    /// Relays connections made to `listener` (bound first, so the spine can be told the
    /// origin the viewer reaches it at) to the spine at `spine`.
    fn start(listener: TcpListener, spine: std::net::SocketAddr) -> SlowLink {
        let port = listener.local_addr().expect("addr").port();
        let armed = Arc::new(AtomicBool::new(false));
        let holding = Arc::new(Notify::new());
        let (release, released) = watch::channel(false);
        let (a, h) = (armed.clone(), holding.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(spine).await.expect("spine");
                tokio::spawn(relay(
                    client,
                    server,
                    a.clone(),
                    h.clone(),
                    released.clone(),
                ));
            }
        });
        SlowLink {
            port,
            armed,
            holding,
            release,
        }
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    holding: Arc<Notify>,
    mut released: watch::Receiver<bool>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let held = Arc::new(AtomicBool::new(false));
    let held_here = held.clone();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if armed.swap(false, Ordering::SeqCst) {
                held_here.store(true, Ordering::SeqCst);
                holding.notify_one();
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if held.load(Ordering::SeqCst) {
            let _ = released.wait_for(|r| *r).await;
        }
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = client_write.shutdown().await;
    let _ = up.await;
}

/// A seeded spine behind a slow link, and a viewer with the doctor signed in on reader 0.
struct Scene {
    data: tempfile::TempDir,
    spine: scr_spine::server::RunningSpine,
    link: SlowLink,
    keyring: scr_cache::DeviceKeyring,
    viewer: Viewer,
    doctor: SignedInView,
    /// Taken out when the doctor pulls it.
    doctor_card: Option<scr_vcard::InsertedCard>,
    _watcher: scr_card::ReaderWatcher,
    _events: tokio::sync::mpsc::UnboundedReceiver<scr_client::SessionEvent>,
}

async fn doctor_signed_in(keyring: scr_cache::DeviceKeyring) -> Scene {
    wait_readers_empty().await;
    let data = tempfile::tempdir().expect("dir");
    let dir = data.path();
    // The viewer reaches the spine through the link, as through a proxy: the spine is told
    // that origin, which the card's sign-in signature names.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy");
    let link_port = listener.local_addr().expect("addr").port();
    scr_spine::setup::init(dir, &["localhost".into()], None)
        .await
        .expect("init");
    scr_demo::setup::seed(dir, 40, 11, None)
        .await
        .expect("seed");
    let mut spine_config = scr_spine::setup::config_for(dir, None).expect("config");
    spine_config.listen = "127.0.0.1:0".into();
    spine_config.origins = vec![format!("https://localhost:{link_port}")];
    let spine = scr_spine::server::start(dir, spine_config)
        .await
        .expect("spine");
    let link = SlowLink::start(listener, spine.addr);
    let config = AppConfig {
        spine_url: format!("https://localhost:{}", link.port),
        ca_file: dir.join("ca/ca.pem"),
        data_dir: dir.join("viewer"),
        offline_max_age_hours: 48,
        offline_max_entries: 100,
        export_dir: None,
    };
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let (viewer, events) =
        Viewer::with_keyring(&config, keyring.clone(), scr_app::offline::system_clock())
            .expect("viewer");
    let watcher = viewer.session().watch_cards().expect("watch cards");
    let doctor_card = scr_vcard::insert(&scr_vcard::CardConfig::new(
        dir.join("identities/doctor"),
        0,
    ))
    .expect("insert doctor's card");
    viewer
        .session()
        .wait_for_card(Some("Virtual PCD 00 00"), Duration::from_secs(5))
        .await
        .expect("card seen");
    let doctor = viewer
        .sign_in("246810".into())
        .await
        .expect("doctor signs in");
    assert_eq!(doctor.cache, CacheStatus::On { max_age_hours: 48 });
    Scene {
        data,
        spine,
        link,
        keyring,
        viewer,
        doctor,
        doctor_card: Some(doctor_card),
        _watcher: watcher,
        _events: events,
    }
}

/// Once the armed request is held: the doctor pulls the card, the receptionist signs in
/// on reader 1 with their own cache key, and only then does the held reply go on.
async fn receptionist_meanwhile(
    link: &SlowLink,
    viewer: &Viewer,
    doctor_card: scr_vcard::InsertedCard,
    dir: &std::path::Path,
) -> (scr_vcard::InsertedCard, SignedInView) {
    link.holding.notified().await;
    doctor_card.remove();
    for _ in 0..50 {
        if viewer.session().session_serial().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(viewer.session().session_serial(), None, "doctor signed out");
    let card = scr_vcard::insert(&scr_vcard::CardConfig::new(
        dir.join("identities/receptionist"),
        1,
    ))
    .expect("insert receptionist's card");
    viewer
        .session()
        .wait_for_card(Some("Virtual PCD 00 01"), Duration::from_secs(5))
        .await
        .expect("card seen");
    let receptionist = viewer
        .sign_in("135790".into())
        .await
        .expect("receptionist signs in");
    assert_eq!(receptionist.cache, CacheStatus::On { max_age_hours: 48 });
    link.release.send(true).expect("release");
    (card, receptionist)
}

impl Scene {
    async fn end(self, receptionist_card: scr_vcard::InsertedCard, receptionist: &SignedInView) {
        self.viewer.sign_out();
        receptionist_card.remove();
        let _ = self.keyring.delete(&self.doctor.user_id);
        let _ = self.keyring.delete(&receptionist.user_id);
        let _ = self.spine.shutdown().await;
        drop(self.data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_summary_is_dropped_when_another_user_signs_in_meanwhile() {
    let keyring =
        scr_cache::DeviceKeyring::new(&format!("scr-viewer-test-bound-{}", std::process::id()));
    if !ready(&keyring, "Virtual PCD 00 01") {
        return;
    }
    let _readers = READERS.lock().await;
    let mut scene = doctor_signed_in(keyring).await;
    let doctor_card = scene.doctor_card.take().expect("card");
    let viewer = &scene.viewer;
    let mut patient = None;
    for nhs in scene
        .spine
        .store
        .sample_patients(true, 40)
        .await
        .expect("sample")
    {
        let view = scene.spine.store.summary_view(nhs).await.expect("view");
        if let Some((_, Some(_), consent)) = view {
            if !consent.is_some_and(|c| c.preference.is_dissent()) {
                patient = Some(nhs);
                break;
            }
        }
    }
    let patient = patient.expect("a patient with a summary").as_digits();
    viewer
        .select_role(&scene.doctor.roles[0].id)
        .await
        .expect("doctor's role");
    // Let the role's background report of queued views (none here) settle first.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The doctor opens the summary; its answer is held on the way back.
    scene.link.armed.store(true, Ordering::SeqCst);
    let asked = AccessRequest::new(AccessReason::PermissionToView);
    let (answer, (receptionist_card, receptionist)) = tokio::join!(
        viewer.summary(&patient, &asked),
        receptionist_meanwhile(&scene.link, viewer, doctor_card, scene.data.path())
    );
    assert!(
        viewer.session().session_serial().is_some(),
        "the receptionist's session goes on"
    );
    let theirs = viewer
        .offline_records()
        .await
        .expect("the receptionist's records");
    assert!(
        theirs.iter().all(|e| e.nhs_number != patient),
        "the doctor's patient was sealed into the receptionist's cache"
    );
    assert!(theirs.is_empty(), "{theirs:?}");
    let refused = answer.expect_err("the doctor's answer is dropped");
    assert_eq!(refused.code(), "SESSION_ENDED", "{}", refused.message);
    assert_eq!(
        viewer
            .offline_summary(&patient)
            .err()
            .map(|e| e.code())
            .as_deref(),
        Some("OFFLINE_RECORD_GONE"),
        "the receptionist cannot open it offline"
    );

    scene.end(receptionist_card, &receptionist).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_role_choice_is_not_given_to_the_next_user() {
    let keyring =
        scr_cache::DeviceKeyring::new(&format!("scr-viewer-test-role-{}", std::process::id()));
    if !ready(&keyring, "Virtual PCD 00 01") {
        return;
    }
    let _readers = READERS.lock().await;
    let mut scene = doctor_signed_in(keyring).await;
    let doctor_card = scene.doctor_card.take().expect("card");
    let viewer = &scene.viewer;

    // The doctor chooses the emergency-department role; the spine's answer is held.
    scene.link.armed.store(true, Ordering::SeqCst);
    let (answer, (receptionist_card, receptionist)) = tokio::join!(
        viewer.select_role(&scene.doctor.roles[0].id),
        receptionist_meanwhile(&scene.link, viewer, doctor_card, scene.data.path())
    );

    assert!(
        viewer.session().session_serial().is_some(),
        "the receptionist's session goes on"
    );
    assert_eq!(
        viewer.session().role().map(|r| r.id),
        None,
        "the doctor's role was given to the receptionist's session"
    );
    let refused = answer.expect_err("the doctor's role answer is dropped");
    assert_eq!(refused.code(), "SESSION_ENDED", "{}", refused.message);
    scene.end(receptionist_card, &receptionist).await;
}

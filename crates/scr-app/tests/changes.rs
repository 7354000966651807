//! "Changes since you last looked" with the real parts: a seeded spine over HTTPS, virtual
//! cards through pcscd, the OS keyring and the offline cache. The comparison is with this
//! user's own copy on this computer, read with their own key: a first look, another user's
//! look and an offline copy carry no changes. Skipped without pcscd or a keyring unless
//! `SCR_REQUIRE_PCSC` / `SCR_REQUIRE_KEYRING`.

use std::time::Duration;

use chrono::Utc;
use scr_app::{AccessReason, AccessRequest, AppConfig, ChangeMark, ChangeSection, Viewer};
use scr_model::{
    systems, Allergy, AllergyState, Coding, Medication, MedicationKind, MedicationStatus,
    NhsNumber, Summary, Verification,
};
use scr_testkit::{ready, wait_readers_empty};

const READER: &str = "Virtual PCD 00 00";

/// The practice uploads `summary` for the patient, composed now, as its GP system would.
async fn practice_uploads(store: &scr_spine::store::Store, nhs: NhsNumber, summary: Summary) {
    let (patient, _, _) = store
        .summary_view(nhs)
        .await
        .expect("view")
        .expect("patient");
    let ods = patient.gp_ods.clone().expect("registered practice");
    let mut summary = summary;
    summary.provenance.last_updated = Some(Utc::now());
    let job = scr_spine::upload::UploadJob {
        upload: scr_model::fhir::Upload {
            summary: Some(summary),
            ..scr_model::fhir::Upload::new(format!("changes-{}", nhs.as_digits()), patient)
        },
        body_sha256: "0".repeat(64),
        uploader_ods: ods,
        uploader_name: "The Surgery".into(),
        gp_system: true,
    };
    let mut conn = store.write_pool().acquire().await.expect("connection");
    scr_spine::upload::apply(&mut conn, &job)
        .await
        .expect("upload");
}

/// The practice of the demo's GP (the `gp` identity).
fn gp_practice(dir: &std::path::Path) -> String {
    let profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("identities/gp/profile.json")).expect("profile"),
    )
    .expect("profile JSON");
    profile["role_profiles"][0]["org_ods"]
        .as_str()
        .expect("the GP's practice")
        .to_string()
}

async fn sign_in(viewer: &Viewer, passcode: &str) {
    viewer
        .session()
        .wait_for_card(Some(READER), Duration::from_secs(5))
        .await
        .expect("card seen");
    let signed = viewer.sign_in(passcode.into()).await.expect("sign in");
    viewer.select_role(&signed.roles[0].id).await.expect("role");
}

async fn look(viewer: &Viewer, nhs: NhsNumber) -> scr_app::SummaryView {
    viewer
        .summary(
            &nhs.as_digits(),
            &AccessRequest::new(AccessReason::PermissionToView),
        )
        .await
        .expect("summary")
}

/// An RFC 3339 time to the millisecond (as the cache keeps it).
fn millis(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t)
        .expect("RFC 3339")
        .timestamp_millis()
}

fn coded(system: &str, code: &str, display: &str) -> Coding {
    Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_look_shows_what_changed_and_no_other_look_does() {
    let keyring =
        scr_cache::DeviceKeyring::new(&format!("scr-viewer-test-changes-{}", std::process::id()));
    if !ready(&keyring, READER) {
        return;
    }
    wait_readers_empty().await;
    let data = tempfile::tempdir().expect("dir");
    let dir = data.path();
    let spine = scr_demo::setup::start_seeded(dir, 60, 7)
        .await
        .expect("spine");
    // A patient of the GP's practice whose summary opens straight away.
    let practice = gp_practice(dir);
    let mut found = None;
    for nhs in spine.store.sample_patients(true, 60).await.expect("sample") {
        if let Some((p, Some(s), consent)) = spine.store.summary_view(nhs).await.expect("view") {
            if p.gp_ods.as_deref() == Some(practice.as_str())
                && !consent.is_some_and(|c| c.preference.is_dissent())
                && !p.restricted
                && p.deceased.is_none()
                && s.flags.is_empty()
            {
                found = Some((nhs, s));
                break;
            }
        }
    }
    let (nhs, held) = found.expect("a plain patient at the GP's practice");

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
    let doctor = scr_vcard::insert(&scr_vcard::CardConfig::new(
        dir.join("identities/doctor"),
        0,
    ))
    .expect("insert card");
    sign_in(&viewer, "246810").await;

    // The first look on this computer: nothing to compare with.
    let first = look(&viewer, nhs).await;
    assert_eq!(first.changes, None);

    // The practice adds an allergy and starts a medicine.
    let mut changed = held.clone();
    let latex = Allergy {
        substance: coded(systems::SNOMED, "111088007", "Latex"),
        reaction: Some("Contact dermatitis".into()),
        severity: None,
        criticality: None,
        verification: Verification::Confirmed,
        recorded: None,
    };
    changed.allergies = match changed.allergies {
        AllergyState::Known { mut allergies } => {
            allergies.push(latex);
            AllergyState::Known { allergies }
        }
        _ => AllergyState::Known {
            allergies: vec![latex],
        },
    };
    changed.medications.push(Medication {
        medicine: coded(systems::DMD, "325278007", "Metformin 500mg tablets"),
        kind: MedicationKind::Repeat,
        status: MedicationStatus::Active,
        dosage: Some("One tablet twice a day".into()),
        quantity: Some("56 tablet".into()),
        started: None,
        last_issued: None,
        discontinued: None,
        reason: None,
    });
    practice_uploads(&spine.store, nhs, changed).await;

    let second = look(&viewer, nhs).await;
    let changes = second.changes.expect("changes since the first look");
    assert_eq!(
        millis(&changes.since),
        millis(&first.fetched_at),
        "the first look's time"
    );
    let said: Vec<(ChangeMark, ChangeSection, &str, &str)> = changes
        .items
        .iter()
        .filter(|c| c.label != "Changed" || c.what != "Allergy status")
        .map(|c| (c.mark, c.section, c.label.as_str(), c.what.as_str()))
        .collect();
    assert_eq!(
        said,
        vec![
            (
                ChangeMark::Added,
                ChangeSection::Allergies,
                "Added",
                "Latex"
            ),
            (
                ChangeMark::Added,
                ChangeSection::Medication,
                "Started",
                "Metformin 500mg tablets"
            ),
        ],
        "{:?}",
        changes.items
    );

    // Looked at again straight away: a copy to compare with, and nothing changed.
    let third = look(&viewer, nhs).await;
    let unchanged = third.changes.expect("compared with the second look");
    assert!(unchanged.items.is_empty(), "{:?}", unchanged.items);
    assert_eq!(millis(&unchanged.since), millis(&second.fetched_at));
    viewer.sign_out();

    // An offline copy compares with nothing.
    let _ = viewer
        .sign_in_offline("246810".into())
        .await
        .expect("offline sign-in");
    let offline = viewer
        .offline_summary(&nhs.as_digits())
        .expect("offline copy");
    assert!(offline.offline_copy);
    assert_eq!(offline.changes, None);
    viewer.sign_out();

    // Another user on this computer: the doctor's copy is sealed under the doctor's key and
    // is not this GP's last look.
    doctor.remove();
    wait_readers_empty().await;
    let _gp = scr_vcard::insert(&scr_vcard::CardConfig::new(dir.join("identities/gp"), 0))
        .expect("insert card");
    sign_in(&viewer, "314159").await;
    let theirs = look(&viewer, nhs).await;
    assert_eq!(
        theirs.changes, None,
        "another user's copy was compared with"
    );
    viewer.sign_out();

    for user in ["555000000101", "555000000505"] {
        let _ = keyring.delete(user);
    }
    let _ = spine.shutdown().await;
}

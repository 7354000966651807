//! The virtual card loads the card folder the spine's registration authority writes
//! (`scr-spine card issue` and the demo identities both use `write_card_folder`).

use scr_spine::pki::CertificateAuthority;
use scr_spine::registration::{write_card_folder, IdentityProfile};
use scr_vcard::CardIdentity;

#[test]
fn a_card_folder_written_by_the_registration_authority_loads_as_a_card() {
    let ca = CertificateAuthority::create("Card Folder Test CA").expect("CA");
    let now = chrono::Utc::now();
    let auth = ca
        .issue_identity(
            "Jo Bloggs",
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .expect("identity");
    let km = ca.issue_key_management("Jo Bloggs").expect("km");
    let dir = tempfile::tempdir().expect("temp dir");
    let card = dir.path().join("jo");
    let profile = IdentityProfile {
        name: "Jo Bloggs".into(),
        user_id: "555000000777".into(),
        passcode: "482915".into(),
        role_profiles: Vec::new(),
    };
    write_card_folder(&card, &auth, &km, &profile).expect("write the folder");

    let loaded = CardIdentity::load(&card).expect("the virtual card loads it");
    assert_eq!(loaded.authentication_certificate, auth.cert_der);
    assert_eq!(loaded.key_management_certificate, km.cert_der);
    assert_eq!(loaded.passcode.as_str(), "482915");
}

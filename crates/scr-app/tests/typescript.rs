//! The UI's TypeScript types must be exactly what the Rust types generate.

#[test]
fn generated_typescript_matches_the_committed_file() {
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let path = std::path::Path::new(&dir).join("../../ui/src/generated/types.ts");
    let generated = scr_app::typescript_declarations();
    if std::env::var("SCR_UPDATE_TS").is_ok() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &generated).expect("write");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/generated/types.ts is out of date with the Rust types; run SCR_UPDATE_TS=1 cargo test -p scr-app --test typescript"
    );
}

/// The hand-written `AccessRequest` declaration names exactly the fields serde writes and
/// reads (scr-model has no ts-rs).
#[test]
fn the_access_request_declaration_is_its_serde_form() {
    use scr_app::{AccessReason, AccessRequest};
    let request = AccessRequest::emergency("Unconscious on arrival").self_claimed();
    let json = serde_json::to_value(&request).expect("json");
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["justification", "reason", "selfClaimedRelationship"]);
    assert_eq!(json["reason"], "emergency");
    let declared = scr_app::typescript_declarations();
    assert!(declared.contains(
        "export type AccessRequest = { reason: AccessReason; justification: string | null; selfClaimedRelationship: boolean };"
    ));
    // What the window sends reads back as the request.
    let sent = serde_json::json!({ "reason": "permission-refused", "justification": null, "selfClaimedRelationship": false });
    let read: AccessRequest = serde_json::from_value(sent).expect("reads");
    assert_eq!(read, AccessRequest::new(AccessReason::PermissionRefused));
}

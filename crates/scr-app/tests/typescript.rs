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

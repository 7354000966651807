/// The app's own commands. Declaring them makes Tauri generate one `allow-<command>`
/// permission each, so the capability file can grant exactly these and nothing else.
const COMMANDS: &[&str] = &[
    "startup_status",
    "card_status",
    "sign_in",
    "select_role",
    "find_patient",
    "trace_patients",
    "open_summary",
    "sharing_status",
    "sign_out",
    "lock_idle",
    "sign_in_offline",
    "offline_records",
    "open_offline_summary",
    "remove_offline_records",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}

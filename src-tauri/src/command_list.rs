// The app's commands, written once. This file is included twice with different
// definitions of `app_commands!`: by build.rs, which declares them to Tauri (one
// `allow-<command>` permission each, so the capability file grants exactly these), and by
// lib.rs, which registers the handlers and keeps the names for the test that checks the
// capability file and ui/src/ipc.ts against this list.
app_commands!(
    startup_status,
    card_status,
    sign_in,
    select_role,
    find_patient,
    trace_patients,
    open_summary,
    sharing_status,
    sign_out,
    lock_idle,
    sign_in_offline,
    offline_records,
    open_offline_summary,
    remove_offline_records,
    keep_alive,
    list_alerts,
    review_alert,
    trail_for_patient,
    trail_around,
    record_cp_attendance,
    print_summary,
    open_document,
    registration_overview,
    register_user,
    add_role_profile,
    remove_role_profile,
    revoke_card
);

//! The Tauri commands: each converts its arguments, calls `scr_app::Viewer`, and returns
//! the result or an `AppError` (`{code, message}`, scr-app's error.rs). No logic lives here.

use scr_app::{
    AccessRequest, AlertFilter, AlertView, AppError, AppErrorKind, CardRevocationInput,
    CardRevokedView, CardStatus, DocumentView, NewRoleProfileInput, NewUserInput, OfflineEntryView,
    OfflineSignedInView, PatientView, PrintedView, RegisteredUserView, RegistrationView,
    RoleProfileView, RoleView, SharingView, SignedInView, StartupStatus, SummaryView, TraceQuery,
    TrailEntryView,
};
use tauri::{Manager, State};

use crate::state::AppState;

fn viewer(state: &AppState) -> Result<&scr_app::Viewer, AppError> {
    state.viewer.as_ref().ok_or_else(|| {
        AppError::new(
            AppErrorKind::Config,
            state
                .config_error
                .clone()
                .unwrap_or_else(|| "The app is not configured.".into()),
        )
    })
}

#[tauri::command]
pub fn startup_status(state: State<'_, AppState>) -> StartupStatus {
    StartupStatus {
        config_error: state.config_error.clone(),
        spine_url: state.spine_url.clone(),
    }
}

#[tauri::command(async)]
pub async fn card_status(state: State<'_, AppState>) -> Result<CardStatus, AppError> {
    Ok(scr_app::Viewer::card_status_probed(viewer(&state)?.session()).await)
}

#[tauri::command(async)]
pub async fn sign_in(
    state: State<'_, AppState>,
    passcode: String,
) -> Result<SignedInView, AppError> {
    viewer(&state)?.sign_in(passcode).await
}

#[tauri::command(async)]
pub async fn select_role(
    state: State<'_, AppState>,
    role_id: String,
) -> Result<RoleView, AppError> {
    viewer(&state)?.select_role(&role_id).await
}

#[tauri::command(async)]
pub async fn find_patient(
    state: State<'_, AppState>,
    nhs_number: String,
) -> Result<PatientView, AppError> {
    viewer(&state)?.find_patient(&nhs_number).await
}

#[tauri::command(async)]
pub async fn trace_patients(
    state: State<'_, AppState>,
    query: TraceQuery,
) -> Result<Vec<PatientView>, AppError> {
    viewer(&state)?.trace(&query).await
}

#[tauri::command(async)]
pub async fn open_summary(
    state: State<'_, AppState>,
    nhs_number: String,
    access: AccessRequest,
) -> Result<SummaryView, AppError> {
    viewer(&state)?.summary(&nhs_number, &access).await
}

#[tauri::command(async)]
pub async fn sharing_status(
    state: State<'_, AppState>,
    nhs_number: String,
) -> Result<SharingView, AppError> {
    viewer(&state)?.sharing(&nhs_number).await
}

#[tauri::command]
pub fn sign_out(state: State<'_, AppState>) -> Result<(), AppError> {
    viewer(&state)?.sign_out();
    Ok(())
}

#[tauri::command]
pub fn lock_idle(state: State<'_, AppState>) -> Result<(), AppError> {
    viewer(&state)?.lock_idle();
    Ok(())
}

#[tauri::command(async)]
pub async fn sign_in_offline(
    state: State<'_, AppState>,
    passcode: String,
) -> Result<OfflineSignedInView, AppError> {
    viewer(&state)?.sign_in_offline(passcode).await
}

/// Async, like every command that touches the cache: run on the main thread, a list of
/// many entries froze the window.
#[tauri::command(async)]
pub async fn offline_records(
    state: State<'_, AppState>,
) -> Result<Vec<OfflineEntryView>, AppError> {
    viewer(&state)?.offline_records().await
}

#[tauri::command(async)]
pub fn open_offline_summary(
    state: State<'_, AppState>,
    nhs_number: String,
) -> Result<SummaryView, AppError> {
    viewer(&state)?.offline_summary(&nhs_number)
}

#[tauri::command(async)]
pub async fn remove_offline_records(state: State<'_, AppState>) -> Result<u32, AppError> {
    viewer(&state)?.remove_offline_records().await
}

/// "Stay signed in" and the heartbeat while the user is active: the spine's idle clock
/// starts again (nothing to do offline).
#[tauri::command(async)]
pub async fn keep_alive(state: State<'_, AppState>) -> Result<(), AppError> {
    viewer(&state)?.keep_alive().await
}

#[tauri::command(async)]
pub async fn list_alerts(
    state: State<'_, AppState>,
    filter: AlertFilter,
) -> Result<Vec<AlertView>, AppError> {
    viewer(&state)?.alerts(&filter).await
}

#[tauri::command(async)]
pub async fn review_alert(
    state: State<'_, AppState>,
    id: String,
    note: String,
) -> Result<(), AppError> {
    viewer(&state)?.review_alert(&id, &note).await
}

#[tauri::command(async)]
pub async fn trail_for_patient(
    state: State<'_, AppState>,
    nhs_number: String,
) -> Result<Vec<TrailEntryView>, AppError> {
    viewer(&state)?.trail_for_patient(&nhs_number).await
}

#[tauri::command(async)]
pub async fn trail_around(
    state: State<'_, AppState>,
    user_id: String,
    at: String,
) -> Result<Vec<TrailEntryView>, AppError> {
    viewer(&state)?.trail_around(&user_id, &at).await
}

/// "Yes, the child is attending an unscheduled care setting": recorded by the spine.
#[tauri::command(async)]
pub async fn record_cp_attendance(
    state: State<'_, AppState>,
    nhs_number: String,
) -> Result<(), AppError> {
    viewer(&state)?.record_cp_attendance(&nhs_number).await
}

/// "Print or save as PDF" (`to_pdf` false: the print dialog) and "Save as PDF" (`to_pdf`:
/// an A4 PDF in the export folder). The spine records the printing first; nothing is
/// printed if it cannot.
#[tauri::command(async)]
pub async fn print_summary(
    window: tauri::WebviewWindow,
    state: State<'_, AppState>,
    nhs_number: String,
    to_pdf: bool,
) -> Result<PrintedView, AppError> {
    let viewer = viewer(&state)?;
    viewer.record_print(&nhs_number).await?;
    if !to_pdf {
        crate::print::print_dialog(&window)?;
        return Ok(PrintedView { saved_to: None });
    }
    let folder = scr_app::export::export_folder(
        state.export_dir.as_deref(),
        window.path().document_dir().ok(),
        window.path().home_dir().ok(),
    )
    .ok_or_else(|| {
        AppError::new(
            AppErrorKind::PrintFailed,
            "The printing was recorded, but there is no folder to save the PDF in: set export_dir in the settings.",
        )
    })?;
    let file = scr_app::export::pdf_path(&folder, &nhs_number)?;
    let saved = crate::print::save_pdf(&window, &file).await?;
    Ok(PrintedView {
        saved_to: Some(saved.display().to_string()),
    })
}

/// "Open a document…" or a file dropped on the window: the page read the file (checking its
/// size first) and sends its text; the viewer checks the role, the size again, and reads it.
/// Nothing is sent to the spine or kept.
#[tauri::command(async)]
pub async fn open_document(
    state: State<'_, AppState>,
    file_name: String,
    text: String,
) -> Result<DocumentView, AppError> {
    viewer(&state)?
        .open_document(&file_name, text.into_bytes())
        .await
}

// The registration authority's "Users and cards" (roles with RA-MANAGE; the spine refuses
// every other role). Cards are issued at the spine's console only.

#[tauri::command(async)]
pub async fn registration_overview(
    state: State<'_, AppState>,
) -> Result<RegistrationView, AppError> {
    viewer(&state)?.registration().await
}

#[tauri::command(async)]
pub async fn register_user(
    state: State<'_, AppState>,
    user: NewUserInput,
) -> Result<RegisteredUserView, AppError> {
    viewer(&state)?.register_user(&user).await
}

#[tauri::command(async)]
pub async fn add_role_profile(
    state: State<'_, AppState>,
    user_id: String,
    profile: NewRoleProfileInput,
) -> Result<RoleProfileView, AppError> {
    viewer(&state)?.add_role_profile(&user_id, &profile).await
}

#[tauri::command(async)]
pub async fn remove_role_profile(
    state: State<'_, AppState>,
    user_id: String,
    profile_id: String,
) -> Result<u32, AppError> {
    viewer(&state)?
        .remove_role_profile(&user_id, &profile_id)
        .await
}

#[tauri::command(async)]
pub async fn revoke_card(
    state: State<'_, AppState>,
    revocation: CardRevocationInput,
) -> Result<CardRevokedView, AppError> {
    viewer(&state)?.revoke_card(&revocation).await
}

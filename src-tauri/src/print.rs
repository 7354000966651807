//! Printing the summary on screen: the spine records it first (`Viewer::record_print`), then
//! the webview prints the page as it is, under its print stylesheet (ui/styles/app.scss,
//! `@media print`: A4, the page header with NHS number, user and time on every page).
//!
//! "Print or save as PDF" opens the desktop's print dialog (which offers printers and
//! "Print to File" as PDF). "Save as PDF" writes an A4 PDF straight into the export folder
//! with WebKitGTK's own print operation aimed at GTK's file printer, so the PDF is exactly
//! what the engine prints. Only Linux builds have that path; elsewhere it says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use scr_app::{AppError, AppErrorKind};

/// How long the print operation may take before the user is told it did not finish.
const PRINT_TIMEOUT: Duration = Duration::from_secs(60);

fn failed(why: impl std::fmt::Display) -> AppError {
    AppError::new(
        AppErrorKind::PrintFailed,
        format!("The printing was recorded, but the summary could not be printed: {why}."),
    )
}

/// Opens the print dialog for the page on screen.
pub fn print_dialog(window: &tauri::WebviewWindow) -> Result<(), AppError> {
    window.print().map_err(failed)
}

/// Writes the page on screen to `file` as an A4 PDF and waits until it is written.
pub async fn save_pdf(window: &tauri::WebviewWindow, file: &Path) -> Result<PathBuf, AppError> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            failed(format_args!(
                "the folder {} cannot be made ({e})",
                dir.display()
            ))
        })?;
    }
    let (done, finished) = tokio::sync::oneshot::channel::<Result<(), String>>();
    start_pdf(window, file.to_path_buf(), done)?;
    match tokio::time::timeout(PRINT_TIMEOUT, finished).await {
        Err(_) => Err(failed("the print operation did not finish within a minute")),
        Ok(Err(_)) => Err(failed("the print operation stopped without saying why")),
        Ok(Ok(Err(why))) => Err(failed(why)),
        Ok(Ok(Ok(()))) => match std::fs::metadata(file) {
            Ok(m) if m.len() > 0 => Ok(file.to_path_buf()),
            _ => Err(failed("no PDF was written")),
        },
    }
}

#[cfg(target_os = "linux")]
fn start_pdf(
    window: &tauri::WebviewWindow,
    file: PathBuf,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
) -> Result<(), AppError> {
    use std::sync::{Arc, Mutex};
    use webkit2gtk::PrintOperationExt;

    // Both "finished" and "failed" may fire (failed, then finished): the first answer wins.
    let done = Arc::new(Mutex::new(Some(done)));
    let answer = move |result: Result<(), String>| {
        if let Some(tx) = done.lock().ok().and_then(|mut d| d.take()) {
            let _ = tx.send(result);
        }
    };
    let uri = format!("file://{}", file.display());
    window
        .with_webview(move |webview| {
            let operation = webkit2gtk::PrintOperation::new(&webview.inner());
            let settings = gtk::PrintSettings::new();
            // GTK's file printer: no dialog, no system printer, the PDF where we say.
            settings.set_printer("Print to File");
            settings.set("output-file-format", Some("pdf"));
            settings.set("output-uri", Some(&uri));
            let page = gtk::PageSetup::new();
            page.set_paper_size_and_default_margins(&gtk::PaperSize::new(Some("iso_a4")));
            page.set_orientation(gtk::PageOrientation::Portrait);
            operation.set_print_settings(&settings);
            operation.set_page_setup(&page);
            let on_failed = answer.clone();
            operation.connect_failed(move |_, e| on_failed(Err(e.to_string())));
            operation.connect_finished(move |_| answer(Ok(())));
            operation.print();
        })
        .map_err(failed)
}

#[cfg(not(target_os = "linux"))]
fn start_pdf(
    _window: &tauri::WebviewWindow,
    _file: PathBuf,
    _done: tokio::sync::oneshot::Sender<Result<(), String>>,
) -> Result<(), AppError> {
    Err(failed(
        "saving straight to PDF is built for Linux only; use Print and choose a PDF printer",
    ))
}

//! Printing and "Save as PDF": where a saved copy goes and what it is called. The printing
//! itself is the webview's (src-tauri/src/print.rs); the spine records it first
//! (`Viewer::record_print`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use scr_model::NhsNumber;

/// `SCR-summary-9434765919-20261203-091502.pdf`: the patient and the moment, so two saves
/// never overwrite each other and a folder of them sorts by patient, then time. No name or
/// other identifying text beyond the NHS number goes into the file name (file names end up
/// in recent-file lists and backups).
pub fn pdf_file_name(nhs: NhsNumber, at: DateTime<Utc>) -> String {
    format!(
        "SCR-summary-{}-{}.pdf",
        nhs.as_digits(),
        at.format("%Y%m%d-%H%M%S")
    )
}

/// Where "Save as PDF" writes the summary of `nhs_number` now: `folder`/[`pdf_file_name`].
pub fn pdf_path(folder: &Path, nhs_number: &str) -> Result<PathBuf, crate::AppError> {
    let nhs = crate::viewer::parse_nhs(nhs_number)?;
    Ok(folder.join(pdf_file_name(nhs, Utc::now())))
}

/// The folder a PDF is saved in: the configured one, else the desktop's documents folder,
/// else the home folder.
pub fn export_folder(
    configured: Option<&Path>,
    documents: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    configured.map(Path::to_path_buf).or(documents).or(home)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_saved_copy_is_named_by_nhs_number_and_time_only() {
        let nhs = NhsNumber::nth_test_number(3).unwrap_or_else(|| panic!("a test number"));
        let at = Utc
            .with_ymd_and_hms(2026, 12, 3, 9, 15, 2)
            .single()
            .unwrap_or_else(|| panic!("a time"));
        let name = pdf_file_name(nhs, at);
        assert_eq!(
            name,
            format!("SCR-summary-{}-20261203-091502.pdf", nhs.as_digits())
        );
        assert!(!name.contains(' '));
    }

    #[test]
    fn the_configured_folder_wins_then_documents_then_home() {
        let cfg = PathBuf::from("/srv/exports");
        let docs = PathBuf::from("/home/a/Documents");
        let home = PathBuf::from("/home/a");
        assert_eq!(
            export_folder(Some(&cfg), Some(docs.clone()), Some(home.clone())),
            Some(cfg)
        );
        assert_eq!(
            export_folder(None, Some(docs.clone()), Some(home.clone())),
            Some(docs)
        );
        assert_eq!(export_folder(None, None, Some(home.clone())), Some(home));
        assert_eq!(export_folder(None, None, None), None);
    }
}

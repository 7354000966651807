//! A patient summary document opened from a file (an IPS / FHIR document Bundle another
//! system sent): read by the same tolerant parser as the spine's `$summary`, shaped into the
//! same summary view, with where it came from by its own account, every parser warning, and
//! the sections the viewer cannot read kept as the document's own text.
//!
//! Nothing here touches the spine or the offline cache: a document from a file is shown,
//! never kept and never sent. Who may open one is [`crate::Viewer::open_document`]'s check;
//! this module is the part that needs no session, shared with the `scr-doc` command line.

use chrono::{DateTime, Utc};
use scr_model::fhir::{parse_document, FhirError, PatientSummaryDocument, MAX_DOCUMENT_BYTES};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{capitalised, AppError, AppErrorKind};
use crate::view::{DocumentText, SummaryView};

/// The longest file name kept for the banner; longer ones are cut (and say so).
const MAX_FILE_NAME_CHARS: usize = 120;

/// Why a file was not opened, as the window (and `scr-doc`) branch on it; the error's
/// message says it in words.
#[derive(Clone, Copy, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DocumentRefusal {
    /// Larger than `MAX_DOCUMENT_BYTES`.
    TooLarge,
    Empty,
    /// Not JSON at all (a PDF, a CDA XML document, a text file).
    NotJson,
    /// JSON, but not a FHIR Bundle (a lone Patient, an OperationOutcome, any JSON).
    NotABundle,
    /// A Bundle that is not a patient summary document (a transaction, no Composition).
    NotADocument,
    /// The document does not say which patient it is about, or its patient is not in it.
    NoPatient,
    /// The document gives its patient an NHS number that is not valid.
    InvalidNhsNumber,
}

/// Where the document came from, by its own account. It is only the document's word:
/// nothing about it was checked with the Summary Care Record.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentSourceView {
    /// The file's name as the user chose it (the last path component only).
    pub file_name: String,
    /// `Composition.title`.
    pub title: Option<String>,
    /// `Composition.author`: people and organisations, by name.
    pub authors: Vec<String>,
    /// `Composition.custodian`: the organisation that keeps the document.
    pub custodian: Option<String>,
    /// `Composition.date` as FHIR text (the UI shows `12-Mar-1970` or `12-Mar-1970 14:02`).
    pub date: Option<String>,
    /// When it was opened here (RFC 3339).
    pub opened_at: String,
}

/// A section the viewer cannot read as entries, shown as the document's own text.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OtherSectionView {
    /// The section's title (or its code's words); none when the document gave neither.
    pub title: Option<String>,
    /// Its text as plain-text blocks; none when the section sent no text.
    pub text: Option<DocumentText>,
    /// How many entries it listed, none of which is shown as coded data.
    pub entries: u32,
}

/// The document screen: the same banner and summary as the spine's (`summary`, whose
/// `warnings` are the parser's and whose `fetchedAt` is when the file was opened), where it
/// came from, and the sections shown only as text.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub source: DocumentSourceView,
    pub summary: SummaryView,
    pub other_sections: Vec<OtherSectionView>,
}

/// The last path component of what the window or the command line gave, trimmed and cut to
/// a length a banner can hold. It is shown as text only.
fn file_name_of(given: &str) -> String {
    let last = given
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(given)
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    if last.is_empty() {
        return "(a file without a name)".into();
    }
    if last.chars().count() > MAX_FILE_NAME_CHARS {
        let cut: String = last.chars().take(MAX_FILE_NAME_CHARS).collect();
        return format!("{cut}…");
    }
    last
}

fn megabytes(bytes: usize) -> String {
    // Shown to one decimal place, so 4 MiB reads "4.0 MB" and a near miss is not rounded
    // down onto the limit.
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

fn refused(reason: DocumentRefusal, message: impl Into<String>) -> AppError {
    AppError::new(AppErrorKind::DocumentRefused { reason }, message)
}

/// The parser's refusal in plain words, with its kind.
pub fn refusal(e: &FhirError) -> AppError {
    use DocumentRefusal as R;
    match e {
        FhirError::TooLarge { size, limit } => refused(
            R::TooLarge,
            format!(
                "The file is {}; the largest document the viewer opens is {}.",
                megabytes(*size),
                megabytes(*limit)
            ),
        ),
        FhirError::NotJson(why) => refused(
            R::NotJson,
            format!("The file is not a FHIR document in JSON, so it cannot be opened ({why})."),
        ),
        FhirError::WrongResourceType { expected, found } if expected == "Bundle" => {
            let what = if found == "no resourceType" {
                "JSON that is not a FHIR resource".to_string()
            } else {
                format!("a FHIR {found}")
            };
            refused(
                R::NotABundle,
                format!("The file holds {what}, not a patient summary document (a FHIR document Bundle)."),
            )
        }
        FhirError::WrongResourceType { found, .. } => refused(
            R::NoPatient,
            format!("The document is about a {found}, not a patient, so it is not shown."),
        ),
        FhirError::Missing(what) if what == "Composition.subject" => refused(
            R::NoPatient,
            "The document does not say which patient it is about, so it is not shown.",
        ),
        FhirError::UnresolvedReference(r) => refused(
            R::NoPatient,
            format!("The document's patient ({r}) is not in the file, so it is not shown."),
        ),
        FhirError::Missing(what) if what == "the document's Composition" => refused(
            R::NotADocument,
            "The Bundle has no Composition, so it is not a patient summary document.",
        ),
        FhirError::InvalidNhsNumber(why) => refused(
            R::InvalidNhsNumber,
            format!(
                "The document gives its patient an NHS number that is not valid ({why}); it is not shown, so it cannot be taken for another patient's record."
            ),
        ),
        FhirError::MissingNhsNumber => refused(
            R::NoPatient,
            "The document names its patient by an NHS number without a value, so it is not shown.",
        ),
        other => refused(
            R::NotADocument,
            format!(
                "{} It is not a patient summary document the viewer can show.",
                capitalised(&other.to_string())
            ),
        ),
    }
}

impl DocumentView {
    /// Shapes a parsed document for the document screen, opened at `now`.
    pub fn from_document(
        doc: &PatientSummaryDocument,
        file_name: &str,
        now: DateTime<Utc>,
    ) -> DocumentView {
        let summary = SummaryView::from_document(doc, now, false, now);
        DocumentView {
            source: DocumentSourceView {
                file_name: file_name_of(file_name),
                title: doc.title.clone(),
                authors: doc.source.authors.clone(),
                custodian: doc.source.custodian.clone(),
                date: doc.date.as_ref().map(|d| d.to_fhir()),
                opened_at: now.to_rfc3339(),
            },
            summary,
            other_sections: doc
                .other_sections
                .iter()
                .map(|s| OtherSectionView {
                    title: s.title.clone(),
                    text: s.text.clone().map(DocumentText::from_narrative),
                    entries: u32::try_from(s.entries).unwrap_or(u32::MAX),
                })
                .collect(),
        }
    }
}

/// Reads a document file's bytes into the document screen's data, or refuses it with a
/// plain reason. The size is checked before anything is parsed (the window checked it too,
/// before reading the file).
pub fn read_document(
    bytes: &[u8],
    file_name: &str,
    now: DateTime<Utc>,
) -> Result<DocumentView, AppError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(refusal(&FhirError::TooLarge {
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        }));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(refused(DocumentRefusal::Empty, "The file is empty."));
    }
    let doc = parse_document(bytes).map_err(|e| refusal(&e))?;
    Ok(DocumentView::from_document(&doc, file_name, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: &AppError) -> Option<DocumentRefusal> {
        match e.kind {
            AppErrorKind::DocumentRefused { reason } => Some(reason),
            _ => None,
        }
    }

    fn refused_for(json: &str) -> AppError {
        read_document(json.as_bytes(), "x.json", Utc::now()).expect_err("refused")
    }

    #[test]
    fn each_refusal_has_its_kind_and_plain_words() {
        let cases: &[(&str, DocumentRefusal, &str)] = &[
            ("", DocumentRefusal::Empty, "empty"),
            (
                "%PDF-1.7",
                DocumentRefusal::NotJson,
                "not a FHIR document in JSON",
            ),
            (
                "{\"a\": 1}",
                DocumentRefusal::NotABundle,
                "not a FHIR resource",
            ),
            (
                "{\"resourceType\": \"Patient\"}",
                DocumentRefusal::NotABundle,
                "a FHIR Patient, not a patient summary document",
            ),
            (
                "{\"resourceType\": \"Bundle\", \"type\": \"transaction\"}",
                DocumentRefusal::NotADocument,
                "not a patient summary document",
            ),
            (
                "{\"resourceType\": \"Bundle\", \"type\": \"document\", \"entry\": []}",
                DocumentRefusal::NotADocument,
                "no Composition",
            ),
            (
                r#"{"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Composition"}}]}"#,
                DocumentRefusal::NoPatient,
                "does not say which patient",
            ),
            (
                r#"{"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Composition", "subject": {"reference": "Patient/gone"}}}]}"#,
                DocumentRefusal::NoPatient,
                "is not in the file",
            ),
            (
                r#"{"resourceType": "Bundle", "type": "document", "entry": [
                    {"fullUrl": "urn:uuid:c", "resource": {"resourceType": "Composition", "subject": {"reference": "urn:uuid:p"}}},
                    {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765918"}]}}]}"#,
                DocumentRefusal::InvalidNhsNumber,
                "not valid",
            ),
        ];
        for (json, kind, words) in cases {
            let e = refused_for(json);
            assert_eq!(reason(&e), Some(*kind), "{json}: {e}");
            assert_eq!(e.code(), "DOCUMENT_REFUSED");
            assert!(e.message.contains(words), "{json}: {}", e.message);
            assert!(e.message.ends_with('.'), "{}", e.message);
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_parsed() {
        // Not JSON at all: were it parsed first, it would be refused as that instead.
        let big = vec![b'x'; MAX_DOCUMENT_BYTES + 1];
        let e = read_document(&big, "big.json", Utc::now()).expect_err("refused");
        assert_eq!(reason(&e), Some(DocumentRefusal::TooLarge));
        assert!(e.message.contains("4.0 MB"), "{}", e.message);
    }

    #[test]
    fn the_file_name_is_its_last_component_and_bounded() {
        assert_eq!(file_name_of("/home/me/ips.json"), "ips.json");
        assert_eq!(file_name_of("C:\\Users\\me\\ips.json"), "ips.json");
        assert_eq!(file_name_of("  "), "(a file without a name)");
        assert_eq!(file_name_of("a\u{7}b.json"), "ab.json");
        let long = "a".repeat(500);
        assert_eq!(file_name_of(&long).chars().count(), MAX_FILE_NAME_CHARS + 1);
    }
}

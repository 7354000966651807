//! The SCR Viewer's logic without a window: settings, the data each screen shows (with its
//! generated TypeScript mirror), and the operations behind the Tauri commands. `src-tauri`
//! only converts arguments and calls in here, so all of this tests with plain `cargo test`.

pub mod changes;
pub mod config;
pub mod document;
pub mod error;
pub mod events;
pub mod export;
pub mod offline;
pub mod view;
pub mod viewer;

pub use changes::{ChangeMark, ChangeSection, ChangeView, ChangesView};
pub use config::{AppConfig, ConfigError};
pub use document::{
    read_document, DocumentRefusal, DocumentSourceView, DocumentView, OtherSectionView,
};
pub use error::{AppError, AppErrorKind};
pub use events::{forward_session_events, AppEvent, EventSink, SessionEndReason, SessionEnded};
pub use scr_model::{AccessReason, AccessRequest};
pub use view::*;
pub use viewer::{
    around, AlertFilter, AlertFilterStatus, CardRevocationInput, NewRoleProfileInput, NewUserInput,
    TraceQuery, Viewer, AROUND_AN_ALERT,
};

/// The TypeScript declarations of every type the UI receives or sends, in one file.
pub fn typescript_declarations() -> String {
    use ts_rs::TS;
    let decls = [
        AppError::decl(),
        CardStatus::decl(),
        RoleView::decl(),
        SignedInView::decl(),
        CacheStatus::decl(),
        OfflineEntryView::decl(),
        OfflineSignedInView::decl(),
        PatientView::decl(),
        DeceasedView::decl(),
        FlagsView::decl(),
        ReasonableAdjustmentView::decl(),
        ChildProtectionView::decl(),
        OtherFlagView::decl(),
        AllergyView::decl(),
        AllergySection::decl(),
        AdditionalItemView::decl(),
        AdditionalSectionView::decl(),
        AdditionalView::decl(),
        PrintedView::decl(),
        TextBlockView::decl(),
        DocumentText::decl(),
        DocumentTexts::decl(),
        MedicationView::decl(),
        ProblemView::decl(),
        ProvenanceView::decl(),
        SummaryView::decl(),
        ChangeMark::decl(),
        ChangeSection::decl(),
        ChangeView::decl(),
        ChangesView::decl(),
        DocumentRefusal::decl(),
        DocumentSourceView::decl(),
        OtherSectionView::decl(),
        DocumentView::decl(),
        SharingView::decl(),
        TraceQuery::decl(),
        AlertKindView::decl(),
        TrailEntryView::decl(),
        AlertStatusView::decl(),
        ReviewView::decl(),
        AlertView::decl(),
        AlertFilterStatus::decl(),
        AlertFilter::decl(),
        ActivityView::decl(),
        RoleProfileView::decl(),
        RegisteredCardView::decl(),
        RegisteredUserView::decl(),
        RegistrationView::decl(),
        CardRevokedView::decl(),
        NewUserInput::decl(),
        NewRoleProfileInput::decl(),
        CardRevocationInput::decl(),
        StartupStatus::decl(),
        SessionEndReason::decl(),
        SessionEnded::decl(),
        AppEvent::decl(),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/scr-app (error.rs, view.rs, changes.rs, viewer.rs, events.rs) and\n\
         // scr_model::ErrorCode. Do not edit:\n\
         // run `SCR_UPDATE_TS=1 cargo test -p scr-app --test typescript` after changing them.\n\n",
    );
    out.push_str(&error_code_declaration());
    out.push_str("\n\n");
    out.push_str(&access_reason_declaration());
    out.push_str("\n\n");
    out.push_str(ACCESS_REQUEST_DECLARATION);
    out.push_str("\n\n");
    out.push_str(&format!(
        "/**\n * The largest document file the viewer opens (scr_model::fhir::MAX_DOCUMENT_BYTES): the page checks a file's size\n * before reading it, and the Rust side checks again.\n */\nexport const MAX_DOCUMENT_BYTES = {};\n\n",
        scr_model::fhir::MAX_DOCUMENT_BYTES
    ));
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.trim_end().to_string() + "\n"
}

/// The spine's codes as a TypeScript union (scr-model has no ts-rs): one member per
/// `ErrorCode::ALL`, each with its status and meaning, so the UI's switches over
/// `AppError["code"]` must name every code the spine can send.
fn error_code_declaration() -> String {
    let mut out = String::from(
        "/**\n * The spine's error codes (scr_model::ErrorCode): the code of an AppError that the spine refused with.\n */\nexport type ErrorCode =",
    );
    for code in scr_model::ErrorCode::ALL {
        out.push_str(&format!(
            "\n  /** {} {} */\n  | \"{}\"",
            code.http_status(),
            code.meaning(),
            code.as_str()
        ));
    }
    out.push(';');
    out
}

/// What the user says when they open a record (`scr_model::AccessRequest`, whose serde form
/// this is; scr-model has no ts-rs, and a test checks the fields against serde's).
const ACCESS_REQUEST_DECLARATION: &str = "/**\n * What the user says when they open a record (scr_model::AccessRequest): the answer to the permission question,\n * the reason in words (required for an emergency, at most 500 characters), and whether they claim a relationship\n * with the patient that the spine has no record of (recorded, and an alert for the privacy officer).\n */\nexport type AccessRequest = { reason: AccessReason; justification: string | null; selfClaimedRelationship: boolean };";

/// Why the user is opening a record, as the UI sends it: the `X-Access-Reason` values of
/// `scr_model::AccessReason` (one enum for the UI, the app, the audit and the spine).
fn access_reason_declaration() -> String {
    let members: Vec<String> = scr_model::AccessReason::ALL
        .iter()
        .map(|r| format!("\"{}\"", r.header_value()))
        .collect();
    format!(
        "/**\n * Why the user is opening the record (scr_model::AccessReason; sent as X-Access-Reason).\n */\nexport type AccessReason = {};",
        members.join(" | ")
    )
}

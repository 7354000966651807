//! The SCR Viewer's logic without a window: settings, the data each screen shows (with its
//! generated TypeScript mirror), and the operations behind the Tauri commands. `src-tauri`
//! only converts arguments and calls in here, so all of this tests with plain `cargo test`.

pub mod config;
pub mod events;
pub mod offline;
pub mod view;
pub mod viewer;

pub use config::{AppConfig, ConfigError};
pub use events::{forward_session_events, EventSink, SessionEnded};
pub use view::*;
pub use viewer::{AccessReason, TraceQuery, Viewer};

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
        AllergyView::decl(),
        AllergySection::decl(),
        TextBlockView::decl(),
        DocumentText::decl(),
        DocumentTexts::decl(),
        MedicationView::decl(),
        ProblemView::decl(),
        ProvenanceView::decl(),
        SummaryView::decl(),
        SharingView::decl(),
        AccessReason::decl(),
        TraceQuery::decl(),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/scr-app (view.rs, viewer.rs). Do not edit:\n\
         // run `SCR_UPDATE_TS=1 cargo test -p scr-app --test typescript` after changing them.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.trim_end().to_string() + "\n"
}

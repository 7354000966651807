//! `scr-spine`: the central Summary Care Record service.
//!
//! HTTPS (rustls) FHIR R4 API over SQLite or PostgreSQL: smartcard sign-in, role-based
//! access, consent, GP upload and a hash-chained audit trail. See docs/ARCHITECTURE.md.

pub mod api;
pub mod audit;
pub mod auth;
pub mod chain;
pub mod checkpoint;
pub mod config;
pub mod connections;
pub mod error;
pub mod limits;
pub mod metadata;
pub mod pki;
pub mod privacy;
pub mod ra;
pub mod registration;
pub mod routes;
pub mod server;
pub mod setup;
pub mod state;
pub mod store;
pub mod trace;
pub mod upload;

pub use routes::router;
pub use state::AppState;

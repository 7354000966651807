//! The offline cache's cryptography: per-user keys that need both the user's card (ECDH with
//! its key-management key) and this machine's device secret, and entries sealed with their
//! identity as associated data. Storage, retention and the keyring come next (issue 5).

pub mod entry;
pub mod error;
pub mod keys;

pub use entry::{open, seal, EntryIdentity, FORMAT_VERSION};
pub use error::CacheError;
pub use keys::{Secret, UserHeader, UserKey};

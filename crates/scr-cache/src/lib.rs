//! The offline cache's cryptography: per-user keys that need both the user's card (ECDH with
//! its key-management key) and this machine's device secret, and entries sealed with their
//! identity as associated data, in a local SQLite file with retention, and the device
//! secret kept in the OS keyring. The app's offline mode (crates/scr-app) drives it.

pub mod device;
pub mod entry;
pub mod error;
pub mod keys;
pub mod store;

pub use device::{DeviceKeyring, KEYRING_SERVICE};
pub use entry::{open, seal, EntryIdentity, FORMAT_VERSION};
pub use error::CacheError;
pub use keys::{Secret, UserHeader, UserKey};
pub use store::{
    CacheStore, CacheUser, CachedSummary, Listing, NewEntry, Retention, HOUR_MS, MAX_AGE_LIMIT_MS,
};

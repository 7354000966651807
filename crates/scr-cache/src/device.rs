//! The device half of each user's key: 256 random bits in this machine's OS keyring
//! (Secret Service on Linux), one per user, under the service name `scr-viewer`. Never in a
//! file and never a fallback: with no keyring the cache is off.

use crate::error::CacheError;
use crate::keys::Secret;

/// The keyring service every SCR Viewer secret is filed under.
pub const KEYRING_SERVICE: &str = "scr-viewer";

/// Access to the OS keyring for one service name (tests use their own).
#[derive(Clone, Debug)]
pub struct DeviceKeyring {
    service: String,
}

impl Default for DeviceKeyring {
    fn default() -> Self {
        DeviceKeyring::new(KEYRING_SERVICE)
    }
}

fn unavailable(e: keyring::Error) -> CacheError {
    use keyring::Error as K;
    let why = match e {
        K::NoStorageAccess(_) => "the OS keyring is locked or refuses access".to_string(),
        K::PlatformFailure(_) => "no OS keyring (Secret Service) is running".to_string(),
        other => format!("the OS keyring failed: {other}"),
    };
    CacheError::KeyringUnavailable(why)
}

impl DeviceKeyring {
    pub fn new(service: &str) -> DeviceKeyring {
        DeviceKeyring {
            service: service.to_string(),
        }
    }

    fn entry(&self, user_id: &str) -> Result<keyring::Entry, CacheError> {
        keyring::Entry::new(
            &self.service,
            &format!("offline-cache-device-secret/{user_id}"),
        )
        .map_err(unavailable)
    }

    /// Checks that the keyring answers (a look-up of a name that need not exist).
    pub fn probe(&self) -> Result<(), CacheError> {
        match self.entry("probe")?.get_secret() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The user's device secret, if this machine has one.
    pub fn get(&self, user_id: &str) -> Result<Option<Secret>, CacheError> {
        match self.entry(user_id)?.get_secret() {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                Secret::from_bytes(&bytes).map(Some)
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The user's device secret, made and stored now if there is none.
    pub fn get_or_create(&self, user_id: &str) -> Result<Secret, CacheError> {
        if let Some(secret) = self.get(user_id)? {
            return Ok(secret);
        }
        let secret = Secret::random();
        self.entry(user_id)?
            .set_secret(secret.expose())
            .map_err(unavailable)?;
        Ok(secret)
    }

    /// Deletes the user's device secret (nothing sealed under it opens again).
    pub fn delete(&self, user_id: &str) -> Result<(), CacheError> {
        match self.entry(user_id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

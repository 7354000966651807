//! Every way opening the cache can fail closed, each with its own name.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    #[error("this card does not open this user's offline records")]
    WrongCard,
    #[error("this machine's device secret does not open these offline records")]
    WrongDeviceSecret,
    #[error("the offline record belongs to another user")]
    WrongUser,
    #[error("the offline record has been altered or moved, and was not shown")]
    Tampered,
    #[error("the offline record is not in a format this version reads")]
    UnknownFormat,
    #[error("malformed cache data: {0}")]
    Malformed(String),
    #[error("offline records are off on this computer: {0}")]
    KeyringUnavailable(String),
    #[error("the offline cache file cannot be used: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for CacheError {
    fn from(e: rusqlite::Error) -> Self {
        CacheError::Storage(e.to_string())
    }
}

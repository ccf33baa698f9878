//! The store's one error type.
//!
//! Database errors are wrapped without exposing the drivers' types, so callers (the daemon,
//! the server) never depend on rusqlite or postgres; both backends report through the same
//! variants.

use crate::lease::LeaseInfo;

/// Everything that can go wrong in the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file or its folder cannot be opened or created.
    Open {
        /// The location that failed.
        location: String,
        /// Why.
        message: String,
    },
    /// The database was written by a newer gvpie (its schema version is above ours).
    NewerSchema {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A database statement failed (locked past the busy timeout, constraint...).
    Database(String),
    /// The database cannot be written: its file (or folder) is read-only, or it was opened
    /// read-only. Reads still work.
    ReadOnly(String),
    /// The disk, or the database's size limit, is full. Reads still work.
    Full(String),
    /// Another writer holds the daemon lease.
    LeaseHeld(Box<LeaseInfo>),
    /// This process's lease was taken over (it had stopped renewing it); nothing was written.
    LeaseLost,
    /// An agent's claim on a piece of work (named) is no longer its own (it went stale and
    /// another agent took it over, or the work was committed already); nothing was written.
    ClaimLost(String),
    /// A requested row does not exist.
    NotFound(String),
    /// The caller's input is invalid (empty name, bad hash, duplicate name...).
    Invalid(String),
    /// The location names a backend or a feature this build does not have.
    Unsupported(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Open { location, message } => write!(f, "cannot open the database {location}: {message}"),
            StoreError::NewerSchema { found, known } => write!(
                f,
                "the database has schema version {found} but this gvpie knows only up to {known}; use a newer gvpie"
            ),
            StoreError::Database(message) => write!(f, "database error: {message}"),
            StoreError::ReadOnly(message) => write!(f, "the database is read-only: {message}"),
            StoreError::Full(message) => write!(f, "the database or its disk is full: {message}"),
            StoreError::LeaseHeld(info) => write!(f, "{}", info.held_message()),
            StoreError::ClaimLost(work) => write!(
                f,
                "this agent's claim on {work} was lost (its heartbeat went stale and another agent took the work \
                 over); the cycle was rolled back"
            ),
            StoreError::LeaseLost => {
                write!(
                    f,
                    "this daemon's lease was taken over by another process (it had stopped renewing it, or a newer \
                     process took its agent name)"
                )
            }
            StoreError::NotFound(what) => write!(f, "{what} not found"),
            StoreError::Invalid(message) => f.write_str(message),
            StoreError::Unsupported(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        crate::db::DbError::from(err).into()
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn unwritable_databases_are_classified() {
        let sqlite = |code: i32| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(StoreError::from(sqlite(rusqlite::ffi::SQLITE_READONLY)), StoreError::ReadOnly(_)));
        assert!(matches!(StoreError::from(sqlite(rusqlite::ffi::SQLITE_FULL)), StoreError::Full(_)));
        assert!(matches!(StoreError::from(sqlite(rusqlite::ffi::SQLITE_BUSY)), StoreError::Database(_)));
    }
}

//! Store errors: the distinction callers act on is "unavailable" (retry later, 503)
//! versus everything else.

/// Result alias for the store crate.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is shutting down; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Migrations failed to apply.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded (corruption or a bug).
    #[error("corrupt stored value in {column}: {message}")]
    Corrupt {
        /// Column with the bad value.
        column: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// An error of the SQLite writer's direct connection.
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{
            CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, SystemIoFailure,
        };
        match e {
            // The file system or a lock, not the request: the caller may retry.
            rusqlite::Error::SqliteFailure(ref f, _)
                if matches!(
                    f.code,
                    CannotOpen | DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure
                ) =>
            {
                Self::Unavailable(e.to_string())
            }
            other => Self::Sqlite(other),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e.to_string()),
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| is_outage(&c)) => {
                Self::Unavailable(e.to_string())
            }
            other => Self::Database(other),
        }
    }
}

/// PostgreSQL SQLSTATEs that mean "the server is not there right now", not "bad request":
/// class 08 (connection exception), 57P01–57P03 (shutdown, crash, cannot connect now),
/// 53300 (too many connections) and 3D000 (the database we run on was dropped).
fn is_outage(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "3D000")
}

#[cfg(test)]
mod tests {
    use super::is_outage;

    #[test]
    fn outages_are_told_apart_from_bad_requests() {
        for code in [
            "08000", "08006", "57P01", "57P02", "57P03", "53300", "3D000",
        ] {
            assert!(is_outage(code), "{code}");
        }
        // Unique violation, syntax error, invalid text, serialization failure: not outages.
        for code in ["23505", "42601", "22P02", "40001"] {
            assert!(!is_outage(code), "{code}");
        }
    }
}

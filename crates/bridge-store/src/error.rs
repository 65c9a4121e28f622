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
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e.to_string()),
            other => Self::Database(other),
        }
    }
}

//! Store errors: the distinction callers act on is "unavailable" (retry later, 503)
//! versus everything else.

/// Result alias for the store crate.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is shutting down; the caller may retry. Only outages
    /// go here: this variant drives the circuit breaker and answers 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The store is configured wrongly (a bad URL, a data dir that cannot be made, a file
    /// system without WAL): retrying will not help.
    #[error("store configuration: {0}")]
    Config(String),
    /// A value could not be encoded for the database (a bug, not an outage).
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        message: String,
    },
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
    /// Any other database error. (Not a `#[source]`: the message already holds it, and a
    /// cause chain would print it twice, or three times with the driver's own source.)
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// An error of the SQLite writer's direct connection.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(ref f, _) if is_sqlite_outage(f.extended_code) => {
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
            sqlx::Error::Database(ref db) if is_db_outage(db.as_ref()) => {
                Self::Unavailable(e.to_string())
            }
            other => Self::Database(other),
        }
    }
}

/// Whether a database's error is an outage: SQLite result codes (sqlx reports them as
/// digits) or PostgreSQL SQLSTATEs.
fn is_db_outage(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse().is_ok_and(is_sqlite_outage)
    } else {
        is_pg_outage(&code)
    }
}

/// PostgreSQL SQLSTATEs that mean "the server is not there right now", not "bad request":
/// class 08 (connection exception), 57P01–57P03 (shutdown, crash, cannot connect now),
/// 53300 (too many connections) and 3D000 (the database we run on was dropped).
fn is_pg_outage(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "3D000")
}

/// SQLite result codes (extended or primary) of the file system or a lock, not the request:
/// BUSY, LOCKED, IOERR, FULL, CANTOPEN. One rule for the writer's two connections.
fn is_sqlite_outage(code: i32) -> bool {
    use rusqlite::ffi;
    matches!(
        code & 0xff,
        ffi::SQLITE_BUSY
            | ffi::SQLITE_LOCKED
            | ffi::SQLITE_IOERR
            | ffi::SQLITE_FULL
            | ffi::SQLITE_CANTOPEN
    )
}

#[cfg(test)]
mod tests {
    use super::{is_pg_outage, is_sqlite_outage, StoreError};

    #[test]
    fn outages_are_told_apart_from_bad_requests() {
        for code in [
            "08000", "08006", "57P01", "57P02", "57P03", "53300", "3D000",
        ] {
            assert!(is_pg_outage(code), "{code}");
        }
        // Unique violation, syntax error, invalid text, serialization failure: not outages.
        for code in ["23505", "42601", "22P02", "40001"] {
            assert!(!is_pg_outage(code), "{code}");
        }
    }

    #[test]
    fn sqlite_outages_are_the_same_on_both_connections() {
        // BUSY, BUSY_SNAPSHOT (extended), LOCKED, IOERR_FSYNC, FULL, CANTOPEN.
        for code in [5, 517, 6, 1034, 13, 14] {
            assert!(is_sqlite_outage(code), "{code}");
        }
        // CONSTRAINT_UNIQUE, CONSTRAINT (primary), ERROR, MISMATCH: the request's fault.
        for code in [2067, 19, 1, 20] {
            assert!(!is_sqlite_outage(code), "{code}");
        }
    }

    /// A locked SQLite database is an outage through either connection of the writer.
    #[tokio::test]
    async fn a_locked_sqlite_database_is_unavailable_through_sqlx_and_rusqlite() {
        use sqlx::{ConnectOptions, Executor};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder
            .execute_batch("CREATE TABLE t (a); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
            .unwrap();

        let other = rusqlite::Connection::open(&path).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let e = other.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));

        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::ZERO)
            .connect()
            .await
            .unwrap();
        let e = conn.execute("INSERT INTO t VALUES (3)").await.unwrap_err();
        assert!(
            matches!(StoreError::from(e), StoreError::Unavailable(_)),
            "sqlx"
        );
        // Bad SQL stays the request's fault.
        drop(holder);
        let e = conn
            .execute("INSERT INTO nowhere VALUES (3)")
            .await
            .unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Database(_)));
    }
}

//! Decoding SQLite rows into records. Ids and times are stored as text (UUID, RFC 3339).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::{Result, StampRecord, StoreError};

fn uuid(row: &SqliteRow, column: &'static str) -> Result<Uuid> {
    let s: String = row.try_get(column)?;
    Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt {
        column,
        message: e.to_string(),
    })
}

fn time(row: &SqliteRow, column: &'static str) -> Result<DateTime<Utc>> {
    let s: String = row.try_get(column)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            column,
            message: e.to_string(),
        })
}

pub(super) fn stamp_from_row(row: &SqliteRow) -> Result<StampRecord> {
    let metadata: Option<String> = row.try_get("metadata")?;
    let metadata = metadata
        .map(|m| serde_json::from_str(&m))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            column: "metadata",
            message: e.to_string(),
        })?;
    let workflow_id: Option<String> = row.try_get("workflow_id")?;
    Ok(StampRecord {
        stamp_id: uuid(row, "stamp_id")?,
        namespace: row.try_get("namespace")?,
        file_hash: row.try_get("file_hash")?,
        content_type: row.try_get("content_type")?,
        file_size: row.try_get("file_size")?,
        file_path: row.try_get("file_path")?,
        stamp_type: row.try_get("stamp_type")?,
        sidecar: row.try_get::<i64, _>("sidecar")? != 0,
        stamp: row.try_get("stamp")?,
        metadata,
        op_id: row.try_get("op_id")?,
        workflow_id: workflow_id
            .map(|w| Uuid::parse_str(&w))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                column: "workflow_id",
                message: e.to_string(),
            })?,
        correlation_id: uuid(row, "correlation_id")?,
        created_at: time(row, "created_at")?,
    })
}

/// Text form of times in the database.
pub(super) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

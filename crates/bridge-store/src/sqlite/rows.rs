//! Decoding SQLite rows into records. Ids and times are stored as text (UUID, RFC 3339).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::{Result, StampRecord, StepRecord, StoreError, TransitionRecord, WorkflowRecord};

fn uuid(row: &SqliteRow, column: &'static str) -> Result<Uuid> {
    let s: String = row.try_get(column)?;
    Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt {
        column,
        message: e.to_string(),
    })
}

pub(super) fn time(row: &SqliteRow, column: &'static str) -> Result<DateTime<Utc>> {
    let s: String = row.try_get(column)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            column,
            message: e.to_string(),
        })
}

/// A stamp read as [`stamp_from_row`] decodes it: its row, and its log index from the log's
/// entries (`WHERE` clauses name the stamp table `s`).
macro_rules! stamp_select {
    () => {
        "SELECT s.*, e.idx AS log_index FROM metadata_stamps s \
         LEFT JOIN log_entries e ON e.stamp_id = s.stamp_id"
    };
}
pub(super) use stamp_select;

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
        signing_key: row.try_get("signing_key")?,
        signature: row.try_get("signature")?,
        log_index: row.try_get("log_index")?,
        log_proof: None,
    })
}

fn opt_uuid(row: &SqliteRow, column: &'static str) -> Result<Option<Uuid>> {
    let s: Option<String> = row.try_get(column)?;
    s.map(|s| Uuid::parse_str(&s))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            column,
            message: e.to_string(),
        })
}

pub(super) fn workflow_from_rows(
    exec: &SqliteRow,
    steps: &[SqliteRow],
    transitions: &[SqliteRow],
) -> Result<WorkflowRecord> {
    let intelligence: Option<String> = exec.try_get("intelligence")?;
    let completed_at: Option<String> = exec.try_get("completed_at")?;
    Ok(WorkflowRecord {
        workflow_id: uuid(exec, "workflow_id")?,
        correlation_id: uuid(exec, "correlation_id")?,
        namespace: exec.try_get("namespace")?,
        state: exec.try_get("state")?,
        stamp_id: opt_uuid(exec, "stamp_id")?,
        error: exec.try_get("error")?,
        intelligence: intelligence
            .map(|v| serde_json::from_str(&v))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                column: "intelligence",
                message: e.to_string(),
            })?,
        started_at: time(exec, "started_at")?,
        completed_at: match completed_at {
            Some(_) => Some(time(exec, "completed_at")?),
            None => None,
        },
        duration_ms: exec
            .try_get::<Option<f64>, _>("duration_ms")?
            .unwrap_or_default(),
        steps: steps
            .iter()
            .map(|r| {
                Ok(StepRecord {
                    step_index: r.try_get("step_index")?,
                    step_name: r.try_get("step_name")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get("attempts")?,
                    duration_ms: r.try_get("duration_ms")?,
                    error: r.try_get("error")?,
                })
            })
            .collect::<Result<_>>()?,
        transitions: transitions
            .iter()
            .map(|r| {
                Ok(TransitionRecord {
                    from_state: r.try_get("from_state")?,
                    to_state: r.try_get("to_state")?,
                    reason: r.try_get("reason")?,
                    created_at: time(r, "created_at")?,
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// Text form of times in the database.
pub(super) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

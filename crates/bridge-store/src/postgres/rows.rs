//! Decoding PostgreSQL rows into records, and the column lists that match.

use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::{
    NamespaceState, Result, StampRecord, StepRecord, StoreError, TransitionRecord, WorkflowRecord,
};

fn json(row: &PgRow, column: &'static str) -> Result<Option<serde_json::Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            column,
            message: e.to_string(),
        })
}

pub(super) fn stamp_from_row(row: &PgRow) -> Result<StampRecord> {
    Ok(StampRecord {
        stamp_id: row.try_get("stamp_id")?,
        namespace: row.try_get("namespace")?,
        file_hash: row.try_get("file_hash")?,
        content_type: row.try_get("content_type")?,
        file_size: row.try_get("file_size")?,
        file_path: row.try_get("file_path")?,
        stamp_type: row.try_get("stamp_type")?,
        sidecar: row.try_get("sidecar")?,
        stamp: row.try_get("stamp")?,
        metadata: json(row, "metadata")?,
        op_id: row.try_get("op_id")?,
        workflow_id: row.try_get("workflow_id")?,
        correlation_id: row.try_get("correlation_id")?,
        created_at: row.try_get("created_at")?,
        signing_key: row.try_get("signing_key")?,
        signature: row.try_get("signature")?,
        log_index: row.try_get("log_index")?,
        log_proof: None,
    })
}

pub(super) fn workflow_from_rows(
    exec: &PgRow,
    steps: &[PgRow],
    transitions: &[PgRow],
) -> Result<WorkflowRecord> {
    Ok(WorkflowRecord {
        workflow_id: exec.try_get("workflow_id")?,
        correlation_id: exec.try_get("correlation_id")?,
        namespace: exec.try_get("namespace")?,
        state: exec.try_get("state")?,
        stamp_id: exec.try_get("stamp_id")?,
        error: exec.try_get("error")?,
        intelligence: json(exec, "intelligence")?,
        started_at: exec.try_get("started_at")?,
        completed_at: exec.try_get("completed_at")?,
        duration_ms: exec
            .try_get::<Option<f64>, _>("duration_ms")?
            .unwrap_or_default(),
        steps: steps
            .iter()
            .map(|r| {
                Ok(StepRecord {
                    step_index: r.try_get::<i32, _>("step_index")?.into(),
                    step_name: r.try_get("step_name")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get::<i32, _>("attempts")?.into(),
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
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_>>()?,
    })
}

pub(super) fn state_from_row(row: &PgRow) -> Result<NamespaceState> {
    let file_types: String = row.try_get("file_types")?;
    Ok(NamespaceState {
        namespace: row.try_get("namespace")?,
        total_stamps: row.try_get("total_stamps")?,
        total_size_bytes: row.try_get("total_size_bytes")?,
        file_types: serde_json::from_str(&file_types).map_err(|e| StoreError::Corrupt {
            column: "file_types",
            message: e.to_string(),
        })?,
        workflow_count: row.try_get("workflow_count")?,
        first_stamp_at: row.try_get("first_stamp_at")?,
        last_stamp_at: row.try_get("last_stamp_at")?,
        last_event_seq: row.try_get("last_event_seq")?,
        version: row.try_get("version")?,
        updated_at: row.try_get("updated_at")?,
    })
}

//! The multi-row INSERT statements of the write path (one per table). Public for the store
//! benchmark, whose raw anchor writes the same rows with the same statements.

use sqlx::sqlite::Sqlite;
use sqlx::QueryBuilder;

use super::rows::time_text;
use crate::{EventRow, StampRecord, StepRecord, TransitionRecord, WorkflowRecord};

/// `workflow_executions` rows.
pub fn insert_workflows<'a>(rows: &'a [&'a WorkflowRecord]) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO workflow_executions (workflow_id, correlation_id, namespace, state, stamp_id, \
         error, intelligence, started_at, completed_at, duration_ms) ",
    );
    q.push_values(rows, |mut b, w| {
        b.push_bind(w.workflow_id.to_string())
            .push_bind(w.correlation_id.to_string())
            .push_bind(&w.namespace)
            .push_bind(&w.state)
            .push_bind(w.stamp_id.map(|s| s.to_string()))
            .push_bind(&w.error)
            .push_bind(w.intelligence.as_ref().map(|v| v.to_string()))
            .push_bind(time_text(&w.started_at))
            .push_bind(w.completed_at.as_ref().map(time_text))
            .push_bind(w.duration_ms);
    });
    q
}

/// `workflow_steps` rows, each with its workflow.
pub fn insert_steps<'a>(
    rows: &'a [&'a (&'a WorkflowRecord, &'a StepRecord)],
) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO workflow_steps (workflow_id, step_index, step_name, status, attempts, duration_ms, error) ",
    );
    q.push_values(rows, |mut b, (w, s)| {
        b.push_bind(w.workflow_id.to_string())
            .push_bind(s.step_index)
            .push_bind(&s.step_name)
            .push_bind(&s.status)
            .push_bind(s.attempts)
            .push_bind(s.duration_ms)
            .push_bind(&s.error);
    });
    q
}

/// `fsm_transitions` rows, each with its workflow.
pub fn insert_transitions<'a>(
    rows: &'a [&'a (&'a WorkflowRecord, &'a TransitionRecord)],
) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO fsm_transitions (workflow_id, position, from_state, to_state, reason, created_at) ",
    );
    q.push_values(rows, |mut b, (w, t)| {
        // The position of `t` in its workflow (two or three entries: a scan is cheapest).
        let position = w
            .transitions
            .iter()
            .position(|x| std::ptr::eq(x, *t))
            .unwrap_or(0) as i64;
        b.push_bind(w.workflow_id.to_string())
            .push_bind(position)
            .push_bind(&t.from_state)
            .push_bind(&t.to_state)
            .push_bind(&t.reason)
            .push_bind(time_text(&t.created_at));
    });
    q
}

/// `metadata_stamps` rows; a row whose `(file_hash, namespace)` exists is skipped.
pub fn insert_stamps<'a>(rows: &'a [&'a StampRecord]) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO metadata_stamps (stamp_id, namespace, file_hash, content_type, file_size, \
         file_path, stamp_type, sidecar, stamp, metadata, op_id, workflow_id, correlation_id, created_at) ",
    );
    q.push_values(rows, |mut b, s| {
        b.push_bind(s.stamp_id.to_string())
            .push_bind(&s.namespace)
            .push_bind(&s.file_hash)
            .push_bind(&s.content_type)
            .push_bind(s.file_size)
            .push_bind(&s.file_path)
            .push_bind(&s.stamp_type)
            .push_bind(i64::from(s.sidecar))
            .push_bind(&s.stamp)
            .push_bind(s.metadata.as_ref().map(|m| m.to_string()))
            .push_bind(&s.op_id)
            .push_bind(s.workflow_id.map(|w| w.to_string()))
            .push_bind(s.correlation_id.to_string())
            .push_bind(time_text(&s.created_at));
    });
    q.push(" ON CONFLICT (file_hash, namespace) DO NOTHING");
    q
}

/// `event_logs` rows, all pending.
pub fn insert_events<'a>(rows: &'a [&'a EventRow]) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO event_logs (event_id, event_type, topic, message_key, correlation_id, \
         workflow_id, namespace, payload, status, attempts, created_at) ",
    );
    q.push_values(rows, |mut b, e| {
        b.push_bind(e.event_id.to_string())
            .push_bind(&e.event_type)
            .push_bind(&e.topic)
            .push_bind(&e.message_key)
            .push_bind(e.correlation_id.to_string())
            .push_bind(e.workflow_id.map(|w| w.to_string()))
            .push_bind(&e.namespace)
            .push_bind(&e.payload)
            .push_bind("pending")
            .push_bind(0i64)
            .push_bind(time_text(&e.created_at));
    });
    q
}

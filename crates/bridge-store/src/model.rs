//! Rows the store reads and writes, independent of the backend.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A stored stamp (`metadata_stamps`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StampRecord {
    /// Stamp id (UUIDv7).
    pub stamp_id: Uuid,
    /// Tenant namespace.
    pub namespace: String,
    /// BLAKE3 of the original content (64 hex).
    pub file_hash: String,
    /// Detected MIME type.
    pub content_type: String,
    /// Size of the original content.
    pub file_size: i64,
    /// Client's relative path.
    pub file_path: Option<String>,
    /// `rich` or `lightweight`.
    pub stamp_type: String,
    /// Whether the stamp is a sidecar (binary types, JSON).
    pub sidecar: bool,
    /// The stamp text as written.
    pub stamp: String,
    /// Client metadata (a JSON object).
    pub metadata: Option<serde_json::Value>,
    /// Client operation id.
    pub op_id: Option<String>,
    /// Workflow that created it.
    pub workflow_id: Option<Uuid>,
    /// Correlation id of the creating request.
    pub correlation_id: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An event for the log/outbox (`event_logs`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Envelope `event_id`.
    pub event_id: Uuid,
    /// Envelope `event_type`.
    pub event_type: String,
    /// Destination topic, if known at write time.
    pub topic: Option<String>,
    /// Kafka message key.
    pub message_key: String,
    /// Correlation id.
    pub correlation_id: Uuid,
    /// Workflow, if any.
    pub workflow_id: Option<Uuid>,
    /// Namespace, if any.
    pub namespace: Option<String>,
    /// The envelope JSON.
    pub payload: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// One unit of work: a new stamp and the events to write only if it is new.
#[derive(Clone, Debug)]
pub struct StampWrite {
    /// The stamp to insert.
    pub stamp: StampRecord,
    /// Events written in the same transaction when the stamp is new.
    pub events: Vec<EventRow>,
}

/// Result of `record_stamp`.
#[derive(Clone, Debug, PartialEq)]
pub enum StampOutcome {
    /// The stamp was new and is now durable.
    Created(StampRecord),
    /// The same `(namespace, file_hash)` existed: this is the first stamp.
    Existing(StampRecord),
}

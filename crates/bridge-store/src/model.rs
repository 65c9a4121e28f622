//! Rows the store reads and writes, independent of the backend.

use bridge_core::EventType;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A stored stamp (`metadata_stamps`).
#[derive(Clone, Debug, PartialEq)]
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
    /// Id (`SHA256:…`) of the key that signed the stamp's statement; `None` for stamps made
    /// before signing (UNSIGNED).
    pub signing_key: Option<String>,
    /// The SSHSIG blob over the statement, base64.
    pub signature: Option<String>,
    /// Index of the stamp's entry in the transparency log; `None` for unsigned stamps and
    /// stores without a log. Set by the store.
    pub log_index: Option<i64>,
    /// For a stamp logged by this very write: the group commit's checkpoint and the entry's
    /// inclusion proof against it, computed by the writer from the hashes it just wrote (no
    /// read). Never stored: `None` when read back.
    pub log_proof: Option<LogProof>,
}

/// An entry's inclusion proof against a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct LogProof {
    /// The signed checkpoint note (shared by the stamps of one group commit).
    pub checkpoint: std::sync::Arc<str>,
    /// Hashes from the leaf's sibling up to the root's child.
    pub path: Vec<bridge_core::tlog::Hash>,
}

/// An event for the log/outbox (`event_logs`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Envelope `event_id`.
    pub event_id: Uuid,
    /// Envelope `event_type`.
    pub event_type: EventType,
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

/// One unit of work: a new stamp, and the workflow and events to write only if it is new.
#[derive(Clone, Debug)]
pub struct StampWrite {
    /// The stamp to insert.
    pub stamp: StampRecord,
    /// The workflow that made it, written in the same transaction when the stamp is new.
    pub workflow: Option<WorkflowRecord>,
    /// Events written in the same transaction when the stamp is new.
    pub events: Vec<EventRow>,
    /// The stamp's log entry (statement and signature line), appended in the same
    /// transaction when the stamp is new and the store keeps a log.
    pub entry: Option<Vec<u8>>,
}

/// The log's newest checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCheckpoint {
    /// Tree size.
    pub size: u64,
    /// The signed note.
    pub note: String,
    /// When it was signed.
    pub created_at: DateTime<Utc>,
}

/// What the log knows of one witness (SPEC §13): the size it last cosigned, or said it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessSize {
    /// The witness's vkey.
    pub witness: String,
    /// Tree size.
    pub size: u64,
}

/// A witness's cosignature line kept for one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's vkey.
    pub witness: String,
    /// The note signature line, newline included.
    pub line: String,
}

/// What the log learned from its witnesses since the last write, written in one transaction
/// (SPEC §13): a round's answers cost the writer one commit, not one per answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WitnessingWrite {
    /// Sizes the witnesses now have (a cosignature's size, or a 409's).
    pub sizes: Vec<WitnessSize>,
    /// Cosignature lines, by the checkpoint size they cosign.
    pub cosignatures: Vec<(u64, Cosignature)>,
    /// A new witnessed checkpoint (size, note): stored if larger than the stored one, or of
    /// the same size with more cosignatures.
    pub witnessed: Option<(u64, String)>,
}

impl WitnessingWrite {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty() && self.cosignatures.is_empty() && self.witnessed.is_none()
    }
}

/// An answer of a witness that may be evidence of a fork (a 422, a 409 naming another root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The witness's vkey.
    pub witness: String,
    /// The HTTP status it answered.
    pub status: u16,
    /// The add-checkpoint body we sent.
    pub request: String,
    /// Its answer.
    pub answer: String,
}

/// Result of `record_stamp`.
#[derive(Clone, Debug, PartialEq)]
pub enum StampOutcome {
    /// The stamp was new and is now durable.
    Created(StampRecord),
    /// The same `(namespace, file_hash)` existed: this is the first stamp.
    Existing(StampRecord),
}

/// A workflow execution with its steps and FSM transitions (`workflow_executions`,
/// `workflow_steps`, `fsm_transitions`).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowRecord {
    /// Workflow id (UUIDv7).
    pub workflow_id: Uuid,
    /// Correlation id of the request.
    pub correlation_id: Uuid,
    /// Namespace of the request.
    pub namespace: String,
    /// Final state: `COMPLETED` or `FAILED`.
    pub state: String,
    /// The stamp it created.
    pub stamp_id: Option<Uuid>,
    /// Why it failed.
    pub error: Option<String>,
    /// Result of the optional intelligence step.
    pub intelligence: Option<serde_json::Value>,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub completed_at: Option<DateTime<Utc>>,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// Every step's outcome, in order.
    pub steps: Vec<StepRecord>,
    /// Every FSM transition, in order.
    pub transitions: Vec<TransitionRecord>,
}

/// One step's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    /// Position in the contract.
    pub step_index: i64,
    /// Contract name of the step.
    pub step_name: String,
    /// `COMPLETED`, `FAILED` or `SKIPPED`.
    pub status: String,
    /// Tries made.
    pub attempts: i64,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// Last failure.
    pub error: Option<String>,
}

/// One FSM transition.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionRecord {
    /// From state.
    pub from_state: String,
    /// To state.
    pub to_state: String,
    /// Why (step name or error).
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Per-namespace aggregates of the reducer (`bridge_states`), with its optimistic-lock
/// version.
#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceState {
    /// The namespace.
    pub namespace: String,
    /// Stamps counted.
    pub total_stamps: i64,
    /// Sum of their sizes.
    pub total_size_bytes: i64,
    /// Distinct content types, sorted.
    pub file_types: Vec<String>,
    /// Workflows counted.
    pub workflow_count: i64,
    /// Earliest stamp counted.
    pub first_stamp_at: Option<DateTime<Utc>>,
    /// Latest stamp counted.
    pub last_stamp_at: Option<DateTime<Utc>>,
    /// The last event applied (the reducer's cursor: replays never double-count).
    pub last_event_seq: i64,
    /// Incremented by every successful save; 0 before the first.
    pub version: i64,
    /// Time of the last save.
    pub updated_at: DateTime<Utc>,
}

impl NamespaceState {
    /// Nothing counted yet (version 0: not stored).
    pub fn empty(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            total_stamps: 0,
            total_size_bytes: 0,
            file_types: Vec::new(),
            workflow_count: 0,
            first_stamp_at: None,
            last_stamp_at: None,
            last_event_seq: 0,
            version: 0,
            updated_at: Utc::now(),
        }
    }
}

/// A pending outbox row claimed by the relay.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    /// Position in the log (relay order).
    pub seq: i64,
    /// Envelope `event_id`.
    pub event_id: Uuid,
    /// Envelope `event_type`.
    pub event_type: String,
    /// Destination topic (from the contract at write time).
    pub topic: Option<String>,
    /// Kafka message key.
    pub message_key: String,
    /// The envelope JSON.
    pub payload: String,
    /// Claims so far, this one included.
    pub attempts: i64,
}

/// What the relay did with a claimed row.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// Delivery confirmed by the broker.
    Sent,
    /// Not delivered; the row goes back to pending (lease released) with the error.
    Retry(String),
    /// Given up (moved to the dead-letter topic); the row is `failed` with the reason.
    Failed(String),
}

/// A position in an ordered event stream: `(txid, seq)` compared in that order. On the local
/// event log `seq` is `event_logs.seq` and `txid` the writing transaction (0 on SQLite, whose
/// single writer commits in `seq` order); on a Kafka partition `seq` is the offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    /// Writing transaction (PostgreSQL), else 0.
    pub txid: i64,
    /// Sequence number or partition offset.
    pub seq: i64,
}

impl Position {
    /// A position on a stream ordered by `seq` alone (SQLite, a Kafka partition).
    pub fn at(seq: i64) -> Self {
        Self { txid: 0, seq }
    }
}

/// A `STAMP_CREATED` event read from the local event log.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEvent {
    /// Where it is in the log.
    pub position: Position,
    /// The envelope JSON.
    pub payload: String,
}

/// A reducer cursor moving over the events a window folded in.
#[derive(Clone, Debug, PartialEq)]
pub struct CursorMove {
    /// `event_logs` or `kafka:<topic>:<partition>`.
    pub name: String,
    /// Where the window found it (`None`: never saved); the move fails if it moved since.
    pub from: Option<Position>,
    /// The last event the window folded in.
    pub to: Position,
}

/// One closed reducer window: namespace states (each carrying the version it was computed
/// from) and the cursor moves that cover its events, saved together or not at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reduction {
    /// Cursor compare-and-sets.
    pub cursors: Vec<CursorMove>,
    /// Optimistic-lock saves, as in [`crate::Store::save_namespace_state`].
    pub states: Vec<NamespaceState>,
}

/// What became of a [`Reduction`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReductionOutcome {
    /// Everything was saved.
    Applied,
    /// A cursor is no longer where the window found it: another reducer applied (some of)
    /// these events. Nothing was saved; the window must be dropped and the stream re-read.
    CursorMoved(String),
    /// These namespaces' versions changed since they were read. Nothing was saved; the
    /// caller re-reads them and retries.
    Conflict(Vec<String>),
}

/// A node of the registry (`node_registrations`).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRecord {
    /// Unique id chosen by the node.
    pub node_id: String,
    /// `effect`, `compute`, `reducer` or `orchestrator`.
    pub node_type: String,
    /// The node's version.
    pub version: String,
    /// What it can do.
    pub capabilities: Vec<String>,
    /// Where to reach it (a JSON object).
    pub endpoints: serde_json::Value,
    /// Anything else (a JSON object).
    pub metadata: serde_json::Value,
    /// `HEALTHY` or `UNHEALTHY`.
    pub health_status: String,
    /// Last heartbeat (or registration).
    pub last_heartbeat: DateTime<Utc>,
    /// First registration.
    pub registered_at: DateTime<Utc>,
    /// Last change: the optimistic-lock token of [`crate::Store::save_node`].
    pub updated_at: DateTime<Utc>,
}

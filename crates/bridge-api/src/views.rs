//! What the API answers with, apart from what the store keeps: each view is built from its
//! row by `From`, so a column can be added, renamed or retyped without changing the wire
//! format (the snapshot tests of `tests/` pin that format). Store rows are not `Serialize`.

use bridge_store::{
    NamespaceState, NodeRecord, StampRecord, StepRecord, TransitionRecord, WorkflowRecord,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// `GET /stamp/{file_hash}`: the stored stamp.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StampView {
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
    /// Client metadata.
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

impl From<StampRecord> for StampView {
    fn from(r: StampRecord) -> Self {
        Self {
            stamp_id: r.stamp_id,
            namespace: r.namespace,
            file_hash: r.file_hash,
            content_type: r.content_type,
            file_size: r.file_size,
            file_path: r.file_path,
            stamp_type: r.stamp_type,
            sidecar: r.sidecar,
            stamp: r.stamp,
            metadata: r.metadata,
            op_id: r.op_id,
            workflow_id: r.workflow_id,
            correlation_id: r.correlation_id,
            created_at: r.created_at,
        }
    }
}

/// `GET /workflows/{id}`: an execution with its steps and transitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowView {
    /// Workflow id.
    pub workflow_id: Uuid,
    /// Correlation id of the request.
    pub correlation_id: Uuid,
    /// Namespace of the request.
    pub namespace: String,
    /// `COMPLETED` or `FAILED`.
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
    pub steps: Vec<StepView>,
    /// Every FSM transition, in order.
    pub transitions: Vec<TransitionView>,
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionView {
    /// From state.
    pub from_state: String,
    /// To state.
    pub to_state: String,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<StepRecord> for StepView {
    fn from(s: StepRecord) -> Self {
        Self {
            step_index: s.step_index,
            step_name: s.step_name,
            status: s.status,
            attempts: s.attempts,
            duration_ms: s.duration_ms,
            error: s.error,
        }
    }
}

impl From<TransitionRecord> for TransitionView {
    fn from(t: TransitionRecord) -> Self {
        Self {
            from_state: t.from_state,
            to_state: t.to_state,
            reason: t.reason,
            created_at: t.created_at,
        }
    }
}

impl From<WorkflowRecord> for WorkflowView {
    fn from(w: WorkflowRecord) -> Self {
        Self {
            workflow_id: w.workflow_id,
            correlation_id: w.correlation_id,
            namespace: w.namespace,
            state: w.state,
            stamp_id: w.stamp_id,
            error: w.error,
            intelligence: w.intelligence,
            started_at: w.started_at,
            completed_at: w.completed_at,
            duration_ms: w.duration_ms,
            steps: w.steps.into_iter().map(Into::into).collect(),
            transitions: w.transitions.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /namespaces/{ns}/stats` and each entry of `GET /namespaces`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespaceStatsView {
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
    /// The last event applied.
    pub last_event_seq: i64,
    /// Saves so far (the optimistic-lock version).
    pub version: i64,
    /// Time of the last save.
    pub updated_at: DateTime<Utc>,
}

impl From<NamespaceState> for NamespaceStatsView {
    fn from(s: NamespaceState) -> Self {
        Self {
            namespace: s.namespace,
            total_stamps: s.total_stamps,
            total_size_bytes: s.total_size_bytes,
            file_types: s.file_types,
            workflow_count: s.workflow_count,
            first_stamp_at: s.first_stamp_at,
            last_stamp_at: s.last_stamp_at,
            last_event_seq: s.last_event_seq,
            version: s.version,
            updated_at: s.updated_at,
        }
    }
}

/// A registered node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeView {
    /// Unique id chosen by the node.
    pub node_id: String,
    /// `effect`, `compute`, `reducer` or `orchestrator`.
    pub node_type: String,
    /// The node's version.
    pub version: String,
    /// What it can do.
    pub capabilities: Vec<String>,
    /// Where to reach it.
    pub endpoints: serde_json::Value,
    /// Anything else.
    pub metadata: serde_json::Value,
    /// `HEALTHY` or `UNHEALTHY`.
    pub health_status: String,
    /// Last heartbeat (or registration).
    pub last_heartbeat: DateTime<Utc>,
    /// First registration.
    pub registered_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<NodeRecord> for NodeView {
    fn from(n: NodeRecord) -> Self {
        Self {
            node_id: n.node_id,
            node_type: n.node_type,
            version: n.version,
            capabilities: n.capabilities,
            endpoints: n.endpoints,
            metadata: n.metadata,
            health_status: n.health_status,
            last_heartbeat: n.last_heartbeat,
            registered_at: n.registered_at,
            updated_at: n.updated_at,
        }
    }
}

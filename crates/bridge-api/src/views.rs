//! What the API answers with, apart from what the store keeps: each view is built from its
//! row by `From`, so a column can be added, renamed or retyped without changing the wire
//! format (the snapshot tests of `tests/app` pin that format). Store rows are not `Serialize`.
//! Each view names its fields once; their meaning is the row's (see `bridge_store`'s docs).

use bridge_store::{
    NamespaceState, NodeRecord, StampRecord, StepRecord, TransitionRecord, WorkflowRecord,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// Declares a view with the listed fields of its row, in wire order, and `From<row>` moving
/// each over (converted with `Into`, so nested rows become nested views).
macro_rules! view {
    ($(#[$doc:meta])* $view:ident from $row:ty { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct $view {
            $(pub $field: $ty,)*
        }

        impl From<$row> for $view {
            fn from(r: $row) -> Self {
                Self {
                    $($field: Convert::convert(r.$field),)*
                }
            }
        }
    };
}

/// A row's field as its view's: itself, or each element converted.
trait Convert<T> {
    fn convert(self) -> T;
}

impl<T> Convert<T> for T {
    fn convert(self) -> T {
        self
    }
}

impl Convert<Vec<StepView>> for Vec<StepRecord> {
    fn convert(self) -> Vec<StepView> {
        self.into_iter().map(Into::into).collect()
    }
}

impl Convert<Vec<TransitionView>> for Vec<TransitionRecord> {
    fn convert(self) -> Vec<TransitionView> {
        self.into_iter().map(Into::into).collect()
    }
}

view! {
    /// `GET /stamp/{file_hash}`: the stored stamp.
    StampView from StampRecord {
        stamp_id: Uuid, namespace: String, file_hash: String, content_type: String,
        file_size: i64, file_path: Option<String>, stamp_type: String, sidecar: bool,
        stamp: String, metadata: Option<Value>, op_id: Option<String>,
        workflow_id: Option<Uuid>, correlation_id: Uuid, created_at: DateTime<Utc>,
        signing_key: Option<String>, signature: Option<String>, log_index: Option<i64>,
    }
}

view! {
    /// `GET /workflows/{id}`: an execution with its steps and transitions.
    WorkflowView from WorkflowRecord {
        workflow_id: Uuid, correlation_id: Uuid, namespace: String, state: String,
        stamp_id: Option<Uuid>, error: Option<String>, intelligence: Option<Value>,
        started_at: DateTime<Utc>, completed_at: Option<DateTime<Utc>>, duration_ms: f64,
        steps: Vec<StepView>, transitions: Vec<TransitionView>,
    }
}

view! {
    /// One step's outcome.
    StepView from StepRecord {
        step_index: i64, step_name: String, status: String, attempts: i64,
        duration_ms: f64, error: Option<String>,
    }
}

view! {
    /// One FSM transition.
    TransitionView from TransitionRecord {
        from_state: String, to_state: String, reason: Option<String>, created_at: DateTime<Utc>,
    }
}

view! {
    /// `GET /namespaces/{ns}/stats` and each entry of `GET /namespaces`.
    NamespaceStatsView from NamespaceState {
        namespace: String, total_stamps: i64, total_size_bytes: i64, file_types: Vec<String>,
        workflow_count: i64, first_stamp_at: Option<DateTime<Utc>>,
        last_stamp_at: Option<DateTime<Utc>>, last_event_seq: i64, version: i64,
        updated_at: DateTime<Utc>,
    }
}

view! {
    /// A registered node.
    NodeView from NodeRecord {
        node_id: String, node_type: String, version: String, capabilities: Vec<String>,
        endpoints: Value, metadata: Value, health_status: String,
        last_heartbeat: DateTime<Utc>, registered_at: DateTime<Utc>, updated_at: DateTime<Utc>,
    }
}

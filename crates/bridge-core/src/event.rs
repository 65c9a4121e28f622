//! The event catalogue: every event type the bridge writes to its outbox, and the payload each
//! one carries. The orchestrator and the registry serialise these structs; the reducer decodes
//! the same structs (through [`crate::envelope`]). A field renamed on one side is renamed on the
//! other, and the wire spelling is pinned by the golden payloads in the tests below, so a change
//! that would break consumers already in the world fails a test.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::fsm::WorkflowState;

/// The wire name of `STAMP_CREATED` as a literal, for `concat!` into SQL text: the reducer's
/// partial index on `event_logs` is only used when the query spells the literal (a bound
/// parameter would not match the index predicate). [`EventType::as_str`] uses it too.
#[macro_export]
macro_rules! stamp_created_literal {
    () => {
        "STAMP_CREATED"
    };
}

/// Every event type the bridge emits (SPEC §4, §6, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A workflow began.
    WorkflowStarted,
    /// The workflow FSM moved.
    StateTransition,
    /// A step finished successfully.
    StepCompleted,
    /// The intelligence service was asked.
    IntelligenceRequested,
    /// The intelligence service answered.
    IntelligenceReceived,
    /// The content was hashed.
    HashGenerated,
    /// A new stamp was stored (the reducer's input).
    StampCreated,
    /// A workflow ended in COMPLETED.
    WorkflowCompleted,
    /// A workflow ended in FAILED.
    WorkflowFailed,
    /// A node registered (or re-registered).
    NodeRegistered,
    /// A node turned HEALTHY or UNHEALTHY.
    NodeHealthChanged,
    /// A node left or was evicted.
    NodeDeregistered,
    /// The DLQ monitor's alert (published straight to `omninode_system_alerts`).
    DlqThresholdExceeded,
}

impl EventType {
    /// The events of a workflow: every orchestrator contract routes each of them.
    pub const WORKFLOW: [EventType; 9] = [
        Self::WorkflowStarted,
        Self::StateTransition,
        Self::StepCompleted,
        Self::IntelligenceRequested,
        Self::IntelligenceReceived,
        Self::HashGenerated,
        Self::StampCreated,
        Self::WorkflowCompleted,
        Self::WorkflowFailed,
    ];

    /// The registry's events: every registry contract routes each of them.
    pub const REGISTRY: [EventType; 3] = [
        Self::NodeRegistered,
        Self::NodeHealthChanged,
        Self::NodeDeregistered,
    ];

    /// Every type: the workflow's, the registry's, then the DLQ alert.
    pub const ALL: [EventType; 13] = {
        let mut all = [Self::DlqThresholdExceeded; 13];
        let mut i = 0;
        while i < Self::WORKFLOW.len() {
            all[i] = Self::WORKFLOW[i];
            i += 1;
        }
        while i < Self::WORKFLOW.len() + Self::REGISTRY.len() {
            all[i] = Self::REGISTRY[i - Self::WORKFLOW.len()];
            i += 1;
        }
        all
    };

    /// The wire spelling (`STAMP_CREATED`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::WorkflowStarted => "WORKFLOW_STARTED",
            Self::StateTransition => "STATE_TRANSITION",
            Self::StepCompleted => "STEP_COMPLETED",
            Self::IntelligenceRequested => "INTELLIGENCE_REQUESTED",
            Self::IntelligenceReceived => "INTELLIGENCE_RECEIVED",
            Self::HashGenerated => "HASH_GENERATED",
            Self::StampCreated => stamp_created_literal!(),
            Self::WorkflowCompleted => "WORKFLOW_COMPLETED",
            Self::WorkflowFailed => "WORKFLOW_FAILED",
            Self::NodeRegistered => "NODE_REGISTERED",
            Self::NodeHealthChanged => "NODE_HEALTH_CHANGED",
            Self::NodeDeregistered => "NODE_DEREGISTERED",
            Self::DlqThresholdExceeded => "DLQ_THRESHOLD_EXCEEDED",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0}")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// Event type → topic, with `{env}` replaced: what the relay publishes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTopics(BTreeMap<EventType, String>);

impl EventTopics {
    /// The contract's mapping for one `--env`; the only place `{env}` is substituted. Keys
    /// that are not event types are left out (the contract loader refuses them first).
    pub fn for_env(topics: &BTreeMap<String, String>, env: &str) -> Self {
        Self(
            topics
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.replace("{env}", env))))
                .collect(),
        )
    }

    /// The topic of `ty`, if mapped.
    pub fn get(&self, ty: EventType) -> Option<&str> {
        self.0.get(&ty).map(String::as_str)
    }

    /// Every mapping.
    pub fn iter(&self) -> impl Iterator<Item = (EventType, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// Both mappings together (orchestrator and registry).
    pub fn merged(mut self, other: &EventTopics) -> Self {
        self.0.extend(other.0.iter().map(|(k, v)| (*k, v.clone())));
        self
    }
}

/// A payload of the catalogue: its struct knows its event type.
pub trait Payload: Serialize + DeserializeOwned {
    /// The event type it travels under.
    const TYPE: EventType;
}

macro_rules! payloads {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl Payload for $ty { const TYPE: EventType = EventType::$variant; })*
    };
}

payloads! {
    WorkflowStarted => WorkflowStarted,
    StateTransition => StateTransition,
    StepCompleted => StepCompleted,
    IntelligenceRequested => IntelligenceRequested,
    IntelligenceReceived => IntelligenceReceived,
    HashGenerated => HashGenerated,
    StampCreated => StampCreated,
    WorkflowCompleted => WorkflowCompleted,
    WorkflowFailed => WorkflowFailed,
    NodeRegistered => NodeRegistered,
    NodeHealthChanged => NodeHealthChanged,
    NodeDeregistered => NodeDeregistered,
    DlqThresholdExceeded => DlqThresholdExceeded,
}

/// `WORKFLOW_STARTED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowStarted {
    /// The workflow.
    pub workflow_id: Uuid,
    /// Its namespace.
    pub namespace: String,
    /// Bytes of content received.
    pub content_size: u64,
}

/// `STATE_TRANSITION`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateTransition {
    /// The workflow.
    pub workflow_id: Uuid,
    /// From state (`PENDING`, …).
    pub from: WorkflowState,
    /// To state.
    pub to: WorkflowState,
    /// Why.
    pub reason: String,
}

/// `STEP_COMPLETED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCompleted {
    /// The workflow.
    pub workflow_id: Uuid,
    /// Step name of the contract.
    pub step: String,
    /// Attempts it took.
    pub attempts: u32,
    /// Its duration.
    pub duration_ms: f64,
}

/// `INTELLIGENCE_REQUESTED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelligenceRequested {
    /// The workflow.
    pub workflow_id: Uuid,
}

/// `INTELLIGENCE_RECEIVED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelligenceReceived {
    /// The workflow.
    pub workflow_id: Uuid,
    /// The service's answer, as it came.
    pub result: serde_json::Value,
}

/// `HASH_GENERATED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashGenerated {
    /// The workflow.
    pub workflow_id: Uuid,
    /// BLAKE3 of the original content.
    pub file_hash: String,
    /// Its size.
    pub file_size: u64,
}

/// `STAMP_CREATED`: the reducer aggregates these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StampCreated {
    /// The stamp.
    pub stamp_id: Uuid,
    /// Its namespace.
    pub namespace: String,
    /// BLAKE3 of the original content.
    pub file_hash: String,
    /// Detected MIME type.
    pub content_type: String,
    /// Size of the original content.
    pub file_size: u64,
    /// Client's relative path.
    pub file_path: Option<String>,
    /// `rich` or `lightweight`.
    pub stamp_type: String,
    /// The workflow that made it (absent for stamps made outside a workflow).
    #[serde(default)]
    pub workflow_id: Option<Uuid>,
}

/// `WORKFLOW_COMPLETED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowCompleted {
    /// The workflow.
    pub workflow_id: Uuid,
    /// The stamp it made.
    pub stamp_id: Uuid,
}

/// `WORKFLOW_FAILED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowFailed {
    /// The workflow.
    pub workflow_id: Uuid,
    /// The step that failed.
    pub step: String,
    /// What went wrong.
    pub error: String,
}

/// `NODE_REGISTERED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRegistered {
    /// The node.
    pub node_id: String,
    /// Its type.
    pub node_type: String,
    /// Its version.
    pub version: String,
    /// What it can do.
    pub capabilities: Vec<String>,
    /// Where it is reached.
    pub endpoints: serde_json::Value,
    /// Whether it was known before.
    pub re_registration: bool,
}

/// `NODE_HEALTH_CHANGED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeHealthChanged {
    /// The node.
    pub node_id: String,
    /// Health before.
    pub from: String,
    /// Health now.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// `NODE_DEREGISTERED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeDeregistered {
    /// The node.
    pub node_id: String,
    /// `deregistered`, `shutdown` or `evicted`.
    pub reason: String,
}

/// `DLQ_THRESHOLD_EXCEEDED`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DlqThresholdExceeded {
    /// Always `DLQ_THRESHOLD_EXCEEDED` (kept for consumers of the original).
    pub alert: String,
    /// The environment.
    pub env: String,
    /// The configured threshold.
    pub threshold: u64,
    /// Dead letters counted.
    pub total: u64,
    /// Dead letters per topic.
    pub per_topic: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serde_agrees_with_as_str() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(
            "STAMP_MADE".parse::<EventType>().unwrap_err().to_string(),
            "unknown event type STAMP_MADE"
        );
    }

    #[test]
    fn env_is_substituted_once_and_unknown_keys_dropped() {
        let map: BTreeMap<String, String> =
            [("STAMP_CREATED", "{env}.stamps.v1"), ("NOT_AN_EVENT", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let t = EventTopics::for_env(&map, "prod");
        assert_eq!(t.get(EventType::StampCreated), Some("prod.stamps.v1"));
        assert_eq!(t.iter().count(), 1);
    }

    /// The wire form of `STAMP_CREATED` as stored in event logs and topics today. A renamed
    /// or retyped field makes one of these two assertions fail.
    #[test]
    fn stamp_created_keeps_its_wire_spelling() {
        let golden = serde_json::json!({
            "stamp_id": "0190d6f8-0000-7000-8000-000000000001",
            "namespace": "ns",
            "file_hash": "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
            "content_type": "text/plain",
            "file_size": 12,
            "file_path": "a/b.txt",
            "stamp_type": "rich",
            "workflow_id": "0190d6f8-0000-7000-8000-000000000003"
        });
        let p: StampCreated = serde_json::from_value(golden.clone()).unwrap();
        assert_eq!(p.file_size, 12);
        assert_eq!(serde_json::to_value(&p).unwrap(), golden);
    }

    /// States travel in their contract spelling, as they did when they were strings.
    #[test]
    fn state_transition_keeps_its_wire_spelling() {
        let p = StateTransition {
            workflow_id: Uuid::nil(),
            from: WorkflowState::Pending,
            to: WorkflowState::Processing,
            reason: "input accepted".into(),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"workflow_id": Uuid::nil(), "from": "PENDING",
                               "to": "PROCESSING", "reason": "input accepted"})
        );
    }
}

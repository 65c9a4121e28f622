//! The typed form of the contracts, and the rules serde alone cannot check.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::ContractError;
use super::resolve::Resolved;
use crate::event::{EventTopics, EventType};
use crate::fsm::FsmSpec;

/// The three node contracts.
#[derive(Debug, Clone, Serialize)]
pub struct Contracts {
    /// Stamping workflow.
    pub orchestrator: OrchestratorContract,
    /// Namespace aggregation.
    pub reducer: ReducerContract,
    /// Node registry.
    pub registry: RegistryContract,
}

/// The orchestrator contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrchestratorContract {
    /// Contract name.
    pub name: String,
    /// Always `orchestrator`.
    pub node_type: String,
    /// Contract version.
    pub version: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The steps.
    pub workflow: WorkflowSpec,
    /// The workflow state machine.
    pub fsm: FsmSpec,
    /// External services.
    pub routing: RoutingSpec,
    /// Event type → topic.
    pub events: EventsSpec,
}

/// Steps of the workflow, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// The steps.
    pub steps: Vec<StepSpec>,
}

/// One step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Which implementation runs (unknown names are rejected at load).
    pub name: StepName,
    /// Bound on one attempt.
    pub timeout_ms: u64,
    /// A failing optional step is skipped.
    #[serde(default)]
    pub optional: bool,
    /// Attempts and backoff.
    #[serde(default)]
    pub retry: RetrySpec,
}

/// The step implementations the orchestrator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// Check the request.
    ValidateInput,
    /// Ask the optional intelligence service.
    OnextreeIntelligence,
    /// BLAKE3 of the content.
    HashGeneration,
    /// Render and insert the stamp.
    StampCreation,
    /// Record the workflow's events.
    EventPublishing,
}

impl StepName {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidateInput => "validate_input",
            Self::OnextreeIntelligence => "onextree_intelligence",
            Self::HashGeneration => "hash_generation",
            Self::StampCreation => "stamp_creation",
            Self::EventPublishing => "event_publishing",
        }
    }
}

/// Retry policy of a step.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Total tries (≥ 1).
    pub attempts: u32,
    /// Wait before the second try; doubles after each.
    pub backoff_ms: u64,
}

impl Default for RetrySpec {
    fn default() -> Self {
        Self {
            attempts: 1,
            backoff_ms: 0,
        }
    }
}

/// External services.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    /// The services.
    pub services: ServicesSpec,
}

/// The services the orchestrator may call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesSpec {
    /// The intelligence service.
    pub onextree: OnextreeSpec,
}

/// How to call the intelligence service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnextreeSpec {
    /// Path under `--onextree-url`.
    pub path: String,
    /// `analysis_type` sent with the content.
    pub analysis_type: String,
    /// Per-attempt timeout.
    pub timeout_ms: u64,
    /// Attempts per call.
    pub attempts: u32,
    /// Backoff before the second attempt (doubles).
    pub backoff_ms: u64,
    /// Circuit breaker.
    pub circuit_breaker: BreakerSpec,
}

/// Circuit breaker settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Consecutive failures that open it.
    pub failure_threshold: u32,
    /// How long it stays open.
    pub open_ms: u64,
    /// Trial calls allowed while half-open.
    pub half_open_max_calls: u32,
}

/// Event type → topic (`{env}` is replaced by `--env`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSpec {
    /// The mapping.
    pub topics: BTreeMap<String, String>,
}

impl EventsSpec {
    /// The topics for one `--env`.
    pub fn for_env(&self, env: &str) -> EventTopics {
        EventTopics::for_env(&self.topics, env)
    }
}

/// The reducer contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReducerContract {
    /// Contract name.
    pub name: String,
    /// Always `reducer`.
    pub node_type: String,
    /// Contract version.
    pub version: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Windowing.
    pub aggregation: AggregationSpec,
    /// Read cache of `GET /namespaces/{ns}/stats`.
    pub cache: CacheSpec,
    /// IDLE → AGGREGATING → PERSISTING → IDLE.
    pub fsm: FsmSpec,
}

/// Windowing of the reducer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregationSpec {
    /// Only `NAMESPACE_GROUPING`.
    pub strategy: AggregationStrategy,
    /// Window length.
    pub window_ms: u64,
    /// Items per batch.
    pub batch_size: u32,
    /// Optimistic-lock retries before giving up a window.
    pub max_version_retries: u32,
}

/// How events are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AggregationStrategy {
    /// One aggregate per namespace.
    NamespaceGrouping,
}

/// A bounded TTL cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Entry lifetime.
    pub ttl_ms: u64,
    /// Most entries.
    pub max_entries: u32,
}

/// The registry contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryContract {
    /// Contract name.
    pub name: String,
    /// Node type of the registry itself.
    pub node_type: String,
    /// Contract version.
    pub version: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Heartbeat rules.
    pub health: HealthSpec,
    /// Node types that may register.
    pub node_types: Vec<String>,
    /// Registry event → topic.
    pub events: EventsSpec,
}

/// Heartbeat rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    /// Expected interval between heartbeats.
    pub heartbeat_interval_ms: u64,
    /// Missed intervals before UNHEALTHY.
    pub missed_heartbeats: u32,
    /// Time after which an unhealthy node is removed.
    pub eviction_ms: u64,
}

/// Rules beyond types, checked after deserialisation.
pub(crate) trait Validate {
    /// `Err((key path, message))` for the first broken rule.
    fn validate(&self) -> Result<(), (String, String)>;
}

/// Deserialises a resolved tree into `T` and checks its rules; errors name file and key.
pub(crate) fn typed<T: DeserializeOwned + Validate>(
    resolved: &Resolved,
) -> Result<T, ContractError> {
    let parsed: T = serde_path_to_error::deserialize(&resolved.value).map_err(|e| {
        let key = e.path().to_string();
        ContractError::Invalid {
            file: resolved.file_of(&key).to_owned(),
            key,
            message: e.into_inner().to_string(),
        }
    })?;
    parsed
        .validate()
        .map_err(|(key, message)| ContractError::Invalid {
            file: resolved.file_of(&key).to_owned(),
            key,
            message,
        })?;
    Ok(parsed)
}

fn check(
    ok: bool,
    key: impl Into<String>,
    message: impl Into<String>,
) -> Result<(), (String, String)> {
    if ok {
        Ok(())
    } else {
        Err((key.into(), message.into()))
    }
}

impl Validate for OrchestratorContract {
    fn validate(&self) -> Result<(), (String, String)> {
        check(
            self.node_type == "orchestrator",
            "node_type",
            "must be 'orchestrator'",
        )?;
        let steps = &self.workflow.steps;
        check(
            !steps.is_empty(),
            "workflow.steps",
            "at least one step is needed",
        )?;
        for (i, s) in steps.iter().enumerate() {
            let key = |f: &str| format!("workflow.steps[{i}].{f}");
            check(
                (1..=600_000).contains(&s.timeout_ms),
                key("timeout_ms"),
                "must be 1..=600000",
            )?;
            check(
                (1..=10).contains(&s.retry.attempts),
                key("retry.attempts"),
                "must be 1..=10",
            )?;
            check(
                s.retry.backoff_ms <= 60_000,
                key("retry.backoff_ms"),
                "must be at most 60000",
            )?;
            check(
                steps[..i].iter().all(|o| o.name != s.name),
                key("name"),
                format!("step '{}' appears twice", s.name.as_str()),
            )?;
            let essential = matches!(s.name, StepName::HashGeneration | StepName::StampCreation);
            check(
                !(essential && s.optional),
                key("optional"),
                format!("step '{}' cannot be optional", s.name.as_str()),
            )?;
        }
        for needed in [StepName::HashGeneration, StepName::StampCreation] {
            check(
                steps.iter().any(|s| s.name == needed),
                "workflow.steps",
                format!("step '{}' is required", needed.as_str()),
            )?;
        }
        let pos = |n: StepName| steps.iter().position(|s| s.name == n);
        check(
            pos(StepName::HashGeneration) < pos(StepName::StampCreation),
            "workflow.steps",
            "hash_generation must come before stamp_creation",
        )?;
        crate::fsm::Fsm::from_spec(&self.fsm).map_err(|m| ("fsm".to_owned(), m.to_string()))?;
        let o = &self.routing.services.onextree;
        check(
            o.path.starts_with('/'),
            "routing.services.onextree.path",
            "must start with '/'",
        )?;
        check(
            (1..=60_000).contains(&o.timeout_ms),
            "routing.services.onextree.timeout_ms",
            "must be 1..=60000",
        )?;
        check(
            (1..=10).contains(&o.attempts),
            "routing.services.onextree.attempts",
            "must be 1..=10",
        )?;
        check(
            o.circuit_breaker.failure_threshold >= 1,
            "routing.services.onextree.circuit_breaker.failure_threshold",
            "must be at least 1",
        )?;
        check(
            o.circuit_breaker.half_open_max_calls >= 1,
            "routing.services.onextree.circuit_breaker.half_open_max_calls",
            "must be at least 1",
        )?;
        for ty in EventType::WORKFLOW {
            check(
                self.events.topics.contains_key(ty.as_str()),
                "events.topics",
                format!("no topic for {ty}"),
            )?;
        }
        for (ty, topic) in &self.events.topics {
            let key = format!("events.topics.{ty}");
            check(
                ty.parse().is_ok_and(|t| EventType::WORKFLOW.contains(&t)),
                key.clone(),
                format!("unknown event type {ty}"),
            )?;
            let legal = !topic.is_empty()
                && topic.len() <= 249
                && topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-{}".contains(c));
            check(legal, key, format!("invalid topic name {topic:?}"))?;
        }
        Ok(())
    }
}

fn check_states(fsm: &FsmSpec, expected: &[&str]) -> Result<(), (String, String)> {
    for s in &fsm.states {
        check(
            expected.contains(&s.as_str()),
            "fsm.states",
            format!("unknown state {s}"),
        )?;
    }
    for t in &fsm.transitions {
        for s in [&t.from, &t.to] {
            check(
                fsm.states.contains(s),
                "fsm.transitions",
                format!("transition uses undeclared state {s}"),
            )?;
        }
    }
    check(
        fsm.states.contains(&fsm.initial),
        "fsm.initial",
        "not a declared state",
    )
}

impl Validate for ReducerContract {
    fn validate(&self) -> Result<(), (String, String)> {
        check(
            self.node_type == "reducer",
            "node_type",
            "must be 'reducer'",
        )?;
        let a = &self.aggregation;
        check(
            (1..=3_600_000).contains(&a.window_ms),
            "aggregation.window_ms",
            "must be 1..=3600000",
        )?;
        check(
            (1..=100_000).contains(&a.batch_size),
            "aggregation.batch_size",
            "must be 1..=100000",
        )?;
        check(
            a.max_version_retries >= 1,
            "aggregation.max_version_retries",
            "must be at least 1",
        )?;
        check(
            self.cache.max_entries >= 1,
            "cache.max_entries",
            "must be at least 1",
        )?;
        check_states(&self.fsm, &["IDLE", "AGGREGATING", "PERSISTING"])?;
        // The reducer's cycle: refused here, so `contracts check` says so, not `serve`.
        for (from, to) in [
            ("IDLE", "AGGREGATING"),
            ("AGGREGATING", "PERSISTING"),
            ("PERSISTING", "IDLE"),
        ] {
            check(
                self.fsm
                    .transitions
                    .iter()
                    .any(|t| t.from == from && t.to == to),
                "fsm.transitions",
                format!("must allow {from} -> {to}"),
            )?;
        }
        Ok(())
    }
}

impl Validate for RegistryContract {
    fn validate(&self) -> Result<(), (String, String)> {
        let h = &self.health;
        check(
            h.heartbeat_interval_ms >= 100,
            "health.heartbeat_interval_ms",
            "must be at least 100",
        )?;
        check(
            h.missed_heartbeats >= 1,
            "health.missed_heartbeats",
            "must be at least 1",
        )?;
        check(
            h.eviction_ms >= h.heartbeat_interval_ms,
            "health.eviction_ms",
            "must be at least heartbeat_interval_ms",
        )?;
        for t in &self.node_types {
            check(
                ["effect", "compute", "reducer", "orchestrator"].contains(&t.as_str()),
                "node_types",
                format!("unknown node type {t}"),
            )?;
        }
        for e in EventType::REGISTRY {
            check(
                self.events.topics.contains_key(e.as_str()),
                format!("events.topics.{e}"),
                "missing: every registry event needs a topic",
            )?;
        }
        for k in self.events.topics.keys() {
            check(
                k.parse().is_ok_and(|t| EventType::REGISTRY.contains(&t)),
                format!("events.topics.{k}"),
                "not a registry event",
            )?;
        }
        Ok(())
    }
}

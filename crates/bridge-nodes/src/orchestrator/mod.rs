//! The contract-driven orchestrator: runs the steps the orchestrator contract names, in
//! order, under their timeouts and retry policies, drives the workflow FSM, and writes the
//! stamp, the workflow (execution, steps, transitions) and its events in one transaction.

pub use bridge_core::breaker;
mod run;
pub mod step;

pub use run::stamp_created;

use std::sync::Arc;
use std::time::Duration;

use bridge_core::contract::OrchestratorContract;
use bridge_core::fsm::Fsm;
use bridge_core::signature::StampSigner;
use bridge_core::stamp::{Original, StampRequest, Stamped};
use bridge_core::{EventTopics, Namespace, RelativePath, StampType};
use bridge_store::{StampRecord, Store, WorkflowRecord};
use uuid::Uuid;

pub use crate::intelligence::{Intelligence, IntelligenceError, IntelligenceStatus};
use crate::Result;

/// A validated stamping request.
#[derive(Clone, Debug)]
pub struct StampInput {
    /// Raw content (after base64 decoding, if any).
    pub content: Vec<u8>,
    /// Tenant namespace.
    pub namespace: Namespace,
    /// Client's relative path.
    pub file_path: Option<RelativePath>,
    /// Rich or lightweight.
    pub stamp_type: StampType,
    /// Client metadata (a JSON object).
    pub metadata: Option<serde_json::Value>,
    /// Client operation id.
    pub op_id: Option<String>,
    /// Correlation id of the request.
    pub correlation_id: Uuid,
}

impl StampInput {
    /// The stamp to make for this input.
    pub fn stamp_request<'a>(
        &'a self,
        stamp_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
        signer: Option<&'a StampSigner>,
    ) -> StampRequest<'a> {
        StampRequest {
            namespace: self.namespace.as_str(),
            file_path: self.file_path.as_ref().map(RelativePath::as_str),
            stamp_type: self.stamp_type,
            stamp_id,
            now,
            signer,
        }
    }

    /// The log entry of a signed stamp: its statement and `signature` line (SPEC §11).
    pub fn log_entry(made: &Stamped) -> Option<Vec<u8>> {
        let sig = made.fields.signature.as_ref()?;
        let statement = made.statement.as_deref()?;
        Some(bridge_core::tlog::entry(statement, &sig.signature))
    }

    /// The `metadata_stamps` row of a stamp made for this input.
    pub fn stamp_record(
        &self,
        original: &Original<'_>,
        made: &Stamped,
        workflow_id: Uuid,
    ) -> StampRecord {
        StampRecord {
            stamp_id: made.fields.stamp_id,
            namespace: self.namespace.as_str().to_owned(),
            file_hash: original.hash.to_string(),
            content_type: made.kind.content_type.clone(),
            file_size: made.fields.file_size as i64,
            file_path: made.fields.file_path.clone(),
            stamp_type: self.stamp_type.as_str().to_owned(),
            sidecar: made.stamped.is_none(),
            stamp: made.stamp_text.clone(),
            metadata: self.metadata.clone(),
            op_id: self.op_id.clone(),
            workflow_id: Some(workflow_id),
            correlation_id: self.correlation_id,
            created_at: made.fields.created_at,
            signing_key: made
                .fields
                .signature
                .as_ref()
                .map(|s| s.key.as_str().to_owned()),
            signature: made.fields.signature.as_ref().map(|s| s.signature.clone()),
            log_index: None,
            log_proof: None,
        }
    }
}

/// What a workflow produced.
#[derive(Clone, Debug)]
pub struct StampResult {
    /// The stored stamp (the first one, if deduplicated).
    pub record: StampRecord,
    /// True when the stamp already existed (no new workflow was recorded).
    pub deduplicated: bool,
    /// The stamped content; `None` for sidecar types.
    pub stamped_content: Option<Vec<u8>>,
    /// Time spent hashing (for `hash_generation_duration_seconds`).
    pub hash_time: Duration,
}

/// Called with every finished workflow (for metrics).
pub type Observer = Arc<dyn Fn(&WorkflowRecord) + Send + Sync>;

/// Runs workflows as the orchestrator contract says.
#[derive(Clone)]
pub struct Orchestrator {
    store: Arc<dyn Store>,
    contract: Arc<OrchestratorContract>,
    fsm: Fsm,
    /// Event type → topic, `{env}` already replaced.
    topics: Arc<EventTopics>,
    intelligence: Option<Arc<dyn Intelligence>>,
    observer: Option<Observer>,
    /// Signs every new stamp; `None` makes unsigned stamps (the benchmark's anchor).
    signer: Option<Arc<StampSigner>>,
}

impl Orchestrator {
    /// An orchestrator over `store` following `contract`; `env` prefixes topic names.
    pub fn new(store: Arc<dyn Store>, contract: OrchestratorContract, env: &str) -> Result<Self> {
        let fsm = Fsm::from_spec(&contract.fsm)?;
        let topics = contract.events.for_env(env);
        Ok(Self {
            store,
            contract: Arc::new(contract),
            fsm,
            topics: Arc::new(topics),
            intelligence: None,
            observer: None,
            signer: None,
        })
    }

    /// Uses an intelligence service for the `onextree_intelligence` step.
    pub fn with_intelligence(mut self, client: Arc<dyn Intelligence>) -> Self {
        self.intelligence = Some(client);
        self
    }

    /// Signs every new stamp with `signer`.
    pub fn with_signer(mut self, signer: Arc<StampSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The key new stamps are signed with, if any.
    pub fn signer(&self) -> Option<&StampSigner> {
        self.signer.as_deref()
    }

    /// Calls `observer` with every finished workflow.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The store behind this orchestrator.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The intelligence service's status, if one is configured.
    pub fn intelligence_status(&self) -> Option<IntelligenceStatus> {
        self.intelligence.as_ref().map(|i| i.status())
    }

    /// The contract it follows.
    pub fn contract(&self) -> &OrchestratorContract {
        &self.contract
    }

    /// Runs one stamping workflow.
    pub async fn stamp(&self, input: StampInput) -> Result<StampResult> {
        run::Run::new(self, &input).execute().await
    }
}

#[cfg(test)]
mod tests;

//! A `Store` decorator that times every operation for `database_query_duration_seconds`,
//! whatever the backend: the backends stay free of metrics code.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bridge_core::breaker::BreakerState;
use bridge_core::Blake3Hex;

use crate::{
    Delivery, EventRow, LoggedEvent, NamespaceState, NodeRecord, OutboxRow, PoolStatus, Position,
    Reduction, ReductionOutcome, Result, StampOutcome, StampRecord, StampWrite, Store,
    WorkflowRecord,
};

/// Receives the store's measurements (the API implements it with Prometheus metrics).
pub trait StoreObserver: Send + Sync + 'static {
    /// One store operation finished after `seconds`; `ok` is false if it failed.
    fn operation(&self, operation: &'static str, seconds: f64, ok: bool);

    /// A new stamp's write, log entry and checkpoint included, was durable after `seconds`.
    fn logged(&self, seconds: f64) {
        let _ = seconds;
    }
}

/// `inner` with every operation reported to `observer`.
pub struct Observed {
    inner: Arc<dyn Store>,
    observer: Arc<dyn StoreObserver>,
}

impl Observed {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, observer: Arc<dyn StoreObserver>) -> Self {
        Self { inner, observer }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        f: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = f.await;
        self.observer
            .operation(operation, started.elapsed().as_secs_f64(), result.is_ok());
        result
    }
}

#[async_trait]
impl Store for Observed {
    async fn record_stamp(&self, write: StampWrite) -> Result<StampOutcome> {
        let started = Instant::now();
        let result = self
            .timed("record_stamp", self.inner.record_stamp(write))
            .await;
        if let Ok(StampOutcome::Created(r)) = &result {
            if r.log_index.is_some() {
                self.observer.logged(started.elapsed().as_secs_f64());
            }
        }
        result
    }

    async fn record_failed_workflow(
        &self,
        workflow: WorkflowRecord,
        events: Vec<EventRow>,
    ) -> Result<()> {
        self.timed(
            "record_failed_workflow",
            self.inner.record_failed_workflow(workflow, events),
        )
        .await
    }

    async fn get_workflow(&self, workflow_id: uuid::Uuid) -> Result<Option<WorkflowRecord>> {
        self.timed("get_workflow", self.inner.get_workflow(workflow_id))
            .await
    }

    async fn get_stamp(
        &self,
        namespace: Option<&str>,
        file_hash: &Blake3Hex,
    ) -> Result<Option<StampRecord>> {
        self.timed("get_stamp", self.inner.get_stamp(namespace, file_hash))
            .await
    }

    async fn get_namespace_state(&self, namespace: &str) -> Result<Option<NamespaceState>> {
        self.timed(
            "get_namespace_state",
            self.inner.get_namespace_state(namespace),
        )
        .await
    }

    async fn log_checkpoint(&self) -> Result<Option<crate::LogCheckpoint>> {
        self.timed("log_checkpoint", self.inner.log_checkpoint())
            .await
    }

    async fn log_checkpoint_at(&self, size: u64) -> Result<Option<crate::LogCheckpoint>> {
        self.timed("log_checkpoint_at", self.inner.log_checkpoint_at(size))
            .await
    }

    async fn witness_sizes(&self) -> Result<Vec<crate::WitnessSize>> {
        self.timed("witness_sizes", self.inner.witness_sizes())
            .await
    }

    async fn record_witnessing(&self, write: &crate::WitnessingWrite) -> Result<()> {
        self.timed("record_witnessing", self.inner.record_witnessing(write))
            .await
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<crate::Cosignature>> {
        self.timed("cosignatures", self.inner.cosignatures(size))
            .await
    }

    async fn witnessed_checkpoint(&self) -> Result<Option<crate::LogCheckpoint>> {
        self.timed("witnessed_checkpoint", self.inner.witnessed_checkpoint())
            .await
    }

    async fn keep_evidence(&self, evidence: &crate::Evidence) -> Result<()> {
        self.timed("keep_evidence", self.inner.keep_evidence(evidence))
            .await
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: uuid::Uuid,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        self.timed("take_lease", self.inner.take_lease(name, holder, ttl))
            .await
    }

    async fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<bridge_core::tlog::Hash>> {
        self.timed("log_hashes", self.inner.log_hashes(indexes))
            .await
    }

    async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        self.timed("log_entries", self.inner.log_entries(start, end))
            .await
    }

    async fn namespace_log(
        &self,
        namespace: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<crate::StampRecord>> {
        self.timed(
            "namespace_log",
            self.inner.namespace_log(namespace, after, limit),
        )
        .await
    }

    async fn log_index_of(&self, stamp_id: uuid::Uuid) -> Result<Option<u64>> {
        self.timed("log_index_of", self.inner.log_index_of(stamp_id))
            .await
    }

    async fn save_namespace_state(&self, state: &NamespaceState) -> Result<bool> {
        self.timed(
            "save_namespace_state",
            self.inner.save_namespace_state(state),
        )
        .await
    }

    async fn list_namespace_states(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NamespaceState>> {
        self.timed(
            "list_namespace_states",
            self.inner.list_namespace_states(after, limit),
        )
        .await
    }

    async fn get_namespace_states(&self, namespaces: &[String]) -> Result<Vec<NamespaceState>> {
        self.timed(
            "get_namespace_states",
            self.inner.get_namespace_states(namespaces),
        )
        .await
    }

    async fn apply_reduction(&self, reduction: &Reduction) -> Result<ReductionOutcome> {
        self.timed("apply_reduction", self.inner.apply_reduction(reduction))
            .await
    }

    async fn get_cursor(&self, name: &str) -> Result<Option<Position>> {
        self.timed("get_cursor", self.inner.get_cursor(name)).await
    }

    async fn read_stamp_events(&self, after: Position, limit: u32) -> Result<Vec<LoggedEvent>> {
        self.timed(
            "read_stamp_events",
            self.inner.read_stamp_events(after, limit),
        )
        .await
    }

    async fn count_stamp_events(&self, after: Position, cap: u32) -> Result<u64> {
        self.timed(
            "count_stamp_events",
            self.inner.count_stamp_events(after, cap),
        )
        .await
    }

    async fn get_node(&self, node_id: &str) -> Result<Option<NodeRecord>> {
        self.timed("get_node", self.inner.get_node(node_id)).await
    }

    async fn list_nodes(
        &self,
        node_type: Option<&str>,
        health_status: Option<&str>,
    ) -> Result<Vec<NodeRecord>> {
        self.timed(
            "list_nodes",
            self.inner.list_nodes(node_type, health_status),
        )
        .await
    }

    async fn save_node(
        &self,
        node_id: &str,
        expected: Option<chrono::DateTime<chrono::Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> Result<bool> {
        self.timed(
            "save_node",
            self.inner.save_node(node_id, expected, next, events),
        )
        .await
    }

    async fn claim_outbox(&self, limit: u32, lease: std::time::Duration) -> Result<Vec<OutboxRow>> {
        self.timed("claim_outbox", self.inner.claim_outbox(limit, lease))
            .await
    }

    async fn settle_outbox(&self, outcomes: &[(i64, Delivery)]) -> Result<()> {
        self.timed("settle_outbox", self.inner.settle_outbox(outcomes))
            .await
    }

    async fn pending_events(&self) -> Result<u64> {
        self.timed("pending_events", self.inner.pending_events())
            .await
    }

    async fn ping(&self) -> Result<()> {
        self.timed("ping", self.inner.ping()).await
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        self.inner.pool_status()
    }

    fn breaker_state(&self) -> Option<BreakerState> {
        self.inner.breaker_state()
    }
}

//! Persistence of OmniNode Bridge behind one `Store` trait.
//!
//! Handlers and nodes never see SQL: they hand the store a unit of work (a stamp and its
//! outbox events) and get typed records back. The embedded backend is SQLite in WAL mode
//! with a single writer task that group-commits concurrent units of work; PostgreSQL (pooled,
//! behind a circuit breaker) implements the same trait with the same behaviour.

mod batch;
mod database_url;
mod error;
pub mod log;
mod model;
mod observed;
pub mod postgres;
mod reduction;
pub mod sqlite;
pub mod witness;

use async_trait::async_trait;
use bridge_core::Blake3Hex;

pub use database_url::DatabaseUrl;
pub use error::{Result, StoreError};
pub use model::{
    Cosignature, CursorMove, Delivery, EventRow, Evidence, LogCheckpoint, LogProof, LoggedEvent,
    NamespaceState, NodeRecord, OutboxRow, Position, Reduction, ReductionOutcome, StampOutcome,
    StampRecord, StampWrite, StepRecord, TransitionRecord, WitnessSize, WitnessingWrite,
    WorkflowRecord,
};
pub use observed::{Observed, StoreObserver};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::SqliteStore;
pub use witness::{WitnessStore, WitnessedLog};

/// The database's connection pool, for metrics and health (PostgreSQL only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections checked out.
    pub active: u32,
    /// Connections open and idle.
    pub idle: u32,
    /// The pool's maximum.
    pub max: u32,
    /// Times utilisation was seen above 90 % (monotonic).
    pub exhaustion_warnings: u64,
}

/// The persistence boundary. Implementations are cheap to clone behind an `Arc`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes a stamp and its events in one transaction, unless `(namespace, file_hash)`
    /// already exists, in which case nothing is written and the existing stamp is returned.
    async fn record_stamp(&self, write: StampWrite) -> Result<StampOutcome>;

    /// Records a workflow that failed (no stamp) with its events, in one transaction.
    async fn record_failed_workflow(
        &self,
        workflow: WorkflowRecord,
        events: Vec<EventRow>,
    ) -> Result<()>;

    /// A workflow with its steps and transitions.
    async fn get_workflow(&self, workflow_id: uuid::Uuid) -> Result<Option<WorkflowRecord>>;

    /// Looks a stamp up by hash, within a namespace or (if `None`) the oldest in any.
    async fn get_stamp(
        &self,
        namespace: Option<&str>,
        file_hash: &Blake3Hex,
    ) -> Result<Option<StampRecord>>;

    /// A namespace's aggregates, if any were saved.
    async fn get_namespace_state(&self, namespace: &str) -> Result<Option<NamespaceState>>;

    /// The log's newest checkpoint; `None` before the first entry (or without a log).
    async fn log_checkpoint(&self) -> Result<Option<LogCheckpoint>> {
        Ok(None)
    }

    /// The log's stored hashes at `indexes` (in that order); an index not stored is an error.
    async fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<bridge_core::tlog::Hash>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        Err(StoreError::Config("this store keeps no log".into()))
    }

    /// The log's entries `start..end`, in index order.
    async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let _ = (start, end);
        Ok(Vec::new())
    }

    /// A namespace's logged stamps in log order, after index `after` (exclusive), at most
    /// `limit`; each with its `log_index`.
    async fn namespace_log(
        &self,
        namespace: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StampRecord>> {
        let _ = (namespace, after, limit);
        Ok(Vec::new())
    }

    /// The log index of a stamp, if it has an entry.
    async fn log_index_of(&self, stamp_id: uuid::Uuid) -> Result<Option<u64>> {
        let _ = stamp_id;
        Ok(None)
    }

    /// The log-signed checkpoint of the tree of `size` entries, if one was signed.
    async fn log_checkpoint_at(&self, size: u64) -> Result<Option<LogCheckpoint>>;

    /// What the log knows of each witness it asked (SPEC §13).
    async fn witness_sizes(&self) -> Result<Vec<WitnessSize>>;

    /// Records what the witnesses answered, in one transaction: their sizes, their
    /// cosignature lines, and a new witnessed checkpoint.
    async fn record_witnessing(&self, write: &WitnessingWrite) -> Result<()>;

    /// The cosignatures kept for the checkpoint of `size`.
    async fn cosignatures(&self, size: u64) -> Result<Vec<Cosignature>>;

    /// The newest checkpoint whose cosignatures met the quorum, with them.
    async fn witnessed_checkpoint(&self) -> Result<Option<LogCheckpoint>>;

    /// Keeps a witness's answer that may be evidence of a fork.
    async fn keep_evidence(&self, evidence: &Evidence) -> Result<()>;

    /// Takes (or renews) the lease `name` for `holder` until `ttl` from now, if it is free,
    /// expired or already `holder`'s; whether `holder` holds it.
    async fn take_lease(
        &self,
        name: &str,
        holder: uuid::Uuid,
        ttl: std::time::Duration,
    ) -> Result<bool>;

    /// Optimistic-lock save: stores `state` with version `state.version + 1` if the stored
    /// version is still `state.version` (0: no row yet). `false` on a conflict (another
    /// writer saved first): nothing is written and the caller retries from a fresh read.
    async fn save_namespace_state(&self, state: &NamespaceState) -> Result<bool>;

    /// Namespace states whose names sort after `after`, in name order, at most `limit`.
    async fn list_namespace_states(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NamespaceState>>;

    /// The stored states of `namespaces` (those that have one).
    async fn get_namespace_states(&self, namespaces: &[String]) -> Result<Vec<NamespaceState>>;

    /// Saves a reducer window atomically: every cursor move and every state, or nothing.
    async fn apply_reduction(&self, reduction: &Reduction) -> Result<ReductionOutcome>;

    /// A reducer cursor, if saved.
    async fn get_cursor(&self, name: &str) -> Result<Option<Position>>;

    /// Up to `limit` `STAMP_CREATED` events of the local log after `after`, in log order. Only
    /// events whose position can no longer be overtaken by a later commit are returned.
    async fn read_stamp_events(&self, after: Position, limit: u32) -> Result<Vec<LoggedEvent>>;

    /// How many `STAMP_CREATED` events follow `after` (the reducer's lag), counting at most
    /// `cap`.
    async fn count_stamp_events(&self, after: Position, cap: u32) -> Result<u64>;

    /// A registered node.
    async fn get_node(&self, node_id: &str) -> Result<Option<NodeRecord>>;

    /// Registered nodes in id order, optionally of one type and/or one health status.
    async fn list_nodes(
        &self,
        node_type: Option<&str>,
        health_status: Option<&str>,
    ) -> Result<Vec<NodeRecord>>;

    /// Optimistic-lock write of one node with its events, in one transaction: `expected` is
    /// the `updated_at` the caller read (`None`: the node must not exist); `next` the new row
    /// (`None`: delete it). `false` if the node changed meanwhile: nothing is written.
    async fn save_node(
        &self,
        node_id: &str,
        expected: Option<chrono::DateTime<chrono::Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> Result<bool>;

    /// Claims up to `limit` pending outbox rows, oldest first, for `lease`: other relays skip
    /// them until it expires (`FOR UPDATE SKIP LOCKED` on PostgreSQL). Counts an attempt.
    async fn claim_outbox(&self, limit: u32, lease: std::time::Duration) -> Result<Vec<OutboxRow>>;

    /// Records what the relay did with claimed rows (by `seq`).
    async fn settle_outbox(&self, outcomes: &[(i64, Delivery)]) -> Result<()>;

    /// Number of events not yet delivered (the outbox depth).
    async fn pending_events(&self) -> Result<u64>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Backend name for health output (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// The connection pool, where the backend has one.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    /// The database circuit breaker's state, where the backend has one.
    fn breaker_state(&self) -> Option<bridge_core::breaker::BreakerState> {
        None
    }
}

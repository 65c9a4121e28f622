//! The production backend: PostgreSQL through a pool (min/max connections), with the same
//! behaviour as the embedded store. A circuit breaker in front of every operation turns a
//! database outage into fast `Unavailable` errors (503) instead of requests queueing behind
//! connection timeouts; half-open probes close it again once the database answers.

#[macro_use]
mod columns;
mod nodes;
mod rows;
mod state;
mod witness;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::breaker::{BreakerState, CircuitBreaker};
use bridge_core::contract::BreakerSpec;
use bridge_core::Blake3Hex;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Row};
use tokio::sync::mpsc;

use crate::batch::Queue;
use crate::DatabaseUrl;
use crate::{
    Delivery, EventRow, LoggedEvent, NamespaceState, NodeRecord, OutboxRow, PoolStatus, Position,
    Reduction, ReductionOutcome, Result, StampOutcome, StampRecord, StampWrite, Store, StoreError,
    WorkflowRecord,
};
use rows::{stamp_from_row, state_from_row, workflow_from_rows};

/// How to reach PostgreSQL and size the pool.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://user@host:port/db` (its password never prints).
    pub url: DatabaseUrl,
    /// Connections kept open.
    pub min_connections: u32,
    /// Most connections open at once.
    pub max_connections: u32,
    /// Longest wait for a connection before the request fails with 503.
    pub acquire_timeout: Duration,
    /// The database circuit breaker.
    pub breaker: BreakerSpec,
    /// Appends every new signed stamp to the log whose checkpoints this signs; `None`: no log.
    pub log: Option<Arc<bridge_core::tlog::LogSigner>>,
}

impl PgOptions {
    /// Connections kept open (SPEC §7).
    pub const DEFAULT_MIN_CONNECTIONS: u32 = 10;
    /// Most connections open at once (SPEC §7).
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 50;
    /// Longest wait for a pooled connection (ms).
    pub const DEFAULT_ACQUIRE_TIMEOUT_MS: u64 = 3_000;
    /// How long the breaker stays open before probing (ms).
    pub const DEFAULT_BREAKER_OPEN_MS: u64 = 2_000;

    /// SPEC §7 defaults: pool 10–50, breaker opening after 5 consecutive failures.
    pub fn new(url: impl Into<DatabaseUrl>) -> Self {
        Self {
            url: url.into(),
            min_connections: Self::DEFAULT_MIN_CONNECTIONS,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Duration::from_millis(Self::DEFAULT_ACQUIRE_TIMEOUT_MS),
            breaker: BreakerSpec {
                failure_threshold: 5,
                open_ms: Self::DEFAULT_BREAKER_OPEN_MS,
                half_open_max_calls: 3,
            },
            log: None,
        }
    }
}

/// PostgreSQL store. Cloning shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    writer: Queue,
    guard: Arc<Guard>,
}

/// The breaker and the pool-utilisation watch, consulted around every operation.
struct Guard {
    breaker: CircuitBreaker,
    max_connections: u32,
    exhaustion_warnings: AtomicU64,
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| StoreError::Config(format!("bad database URL: {e}")))?;
    Ok(options
        .application_name("omninode-bridge")
        .log_statements(tracing::log::LevelFilter::Trace))
}

impl PgStore {
    /// Connects, applies pending migrations, and starts the writer.
    pub async fn connect(options: PgOptions) -> Result<Self> {
        Self::migrate(options.url.expose()).await?;
        let pool = PgPoolOptions::new()
            .min_connections(options.min_connections.min(options.max_connections))
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect_options(options.url.expose())?)
            .await?;
        let (tx, rx) = mpsc::channel(writer::QUEUE_DEPTH);
        tokio::spawn(writer::run(pool.clone(), rx, options.log.clone()));
        Ok(Self {
            pool,
            writer: Queue(tx),
            guard: Arc::new(Guard {
                breaker: CircuitBreaker::new(options.breaker),
                max_connections: options.max_connections,
                exhaustion_warnings: AtomicU64::new(0),
            }),
        })
    }

    /// Applies pending migrations (the `migrate` command; also run by `connect`).
    pub async fn migrate(url: &str) -> Result<()> {
        let mut conn = connect_options(url)?.connect().await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&mut conn)
            .await?;
        sqlx::Connection::close(conn).await?;
        Ok(())
    }

    /// Runs `op` behind the breaker: fails fast while it is open, and counts only outages
    /// (not, say, a constraint violation) as failures.
    async fn guarded<T>(&self, op: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.guard.breaker.try_acquire().map_err(|r| {
            StoreError::Unavailable(format!("database {r} after repeated failures"))
        })?;
        self.watch_pool();
        let result = op.await;
        match &result {
            Err(StoreError::Unavailable(_)) => self.guard.breaker.on_failure(),
            _ => self.guard.breaker.on_success(),
        }
        result
    }

    fn watch_pool(&self) {
        let status = self.status();
        if status.active * 10 > status.max * 9 {
            let n = self
                .guard
                .exhaustion_warnings
                .fetch_add(1, Ordering::Relaxed);
            // One line per 100 sightings: under sustained pressure the log would drown.
            if n % 100 == 0 {
                tracing::warn!(
                    active = status.active,
                    max = status.max,
                    "database pool above 90% utilisation"
                );
            }
        }
    }

    /// Creates an empty database named `t_<random>` next to `admin_url`'s and returns its
    /// URL: one per test, so tests run in parallel against one cluster.
    #[doc(hidden)]
    pub async fn scratch_database(admin_url: &str) -> Result<String> {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = connect_options(admin_url)?.connect().await?;
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str()).await?;
        sqlx::Connection::close(conn).await?;
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| StoreError::Config(format!("bad database URL: {e}")))?;
        url.set_path(&name);
        Ok(url.to_string())
    }

    fn status(&self) -> PoolStatus {
        let size = self.pool.size();
        let idle = self.pool.num_idle() as u32;
        PoolStatus {
            active: size.saturating_sub(idle),
            idle,
            max: self.guard.max_connections,
            exhaustion_warnings: self.guard.exhaustion_warnings.load(Ordering::Relaxed),
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn record_stamp(&self, write: StampWrite) -> Result<StampOutcome> {
        self.guarded(self.writer.stamp(write)).await
    }

    async fn record_failed_workflow(
        &self,
        workflow: WorkflowRecord,
        events: Vec<EventRow>,
    ) -> Result<()> {
        self.guarded(self.writer.failed(workflow, events)).await
    }

    async fn get_workflow(&self, workflow_id: uuid::Uuid) -> Result<Option<WorkflowRecord>> {
        self.guarded(async {
            let Some(exec) = sqlx::query(concat!(
                "SELECT ",
                workflow_columns!(),
                " FROM workflow_executions WHERE workflow_id = $1"
            ))
            .bind(workflow_id)
            .fetch_optional(&self.pool)
            .await?
            else {
                return Ok(None);
            };
            let steps = sqlx::query(
                "SELECT * FROM workflow_steps WHERE workflow_id = $1 ORDER BY step_index",
            )
            .bind(workflow_id)
            .fetch_all(&self.pool)
            .await?;
            let transitions = sqlx::query(
                "SELECT * FROM fsm_transitions WHERE workflow_id = $1 ORDER BY position",
            )
            .bind(workflow_id)
            .fetch_all(&self.pool)
            .await?;
            workflow_from_rows(&exec, &steps, &transitions).map(Some)
        })
        .await
    }

    async fn get_stamp(
        &self,
        namespace: Option<&str>,
        file_hash: &Blake3Hex,
    ) -> Result<Option<StampRecord>> {
        self.guarded(async {
            let row = match namespace {
                Some(ns) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        stamp_columns!(),
                        stamp_from!(),
                        " WHERE s.file_hash = $1 AND s.namespace = $2"
                    ))
                    .bind(file_hash.as_str())
                    .bind(ns)
                    .fetch_optional(&self.pool)
                    .await?
                }
                None => {
                    sqlx::query(concat!(
                        "SELECT ",
                        stamp_columns!(),
                        stamp_from!(),
                        " WHERE s.file_hash = $1 ORDER BY s.id LIMIT 1"
                    ))
                    .bind(file_hash.as_str())
                    .fetch_optional(&self.pool)
                    .await?
                }
            };
            row.as_ref().map(stamp_from_row).transpose()
        })
        .await
    }

    async fn log_checkpoint(&self) -> Result<Option<crate::LogCheckpoint>> {
        self.guarded(async {
            let row: Option<(i64, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                "SELECT size, note, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(|(size, note, created_at)| crate::LogCheckpoint {
                size: u64::try_from(size).unwrap_or(0),
                note,
                created_at,
            }))
        })
        .await
    }

    async fn log_checkpoint_at(&self, size: u64) -> Result<Option<crate::LogCheckpoint>> {
        self.checkpoint_at(size).await
    }

    async fn witness_sizes(&self) -> Result<Vec<crate::WitnessSize>> {
        self.sizes_of_witnesses().await
    }

    async fn record_witnessing(&self, write: &crate::WitnessingWrite) -> Result<()> {
        self.witnessing_write(write).await
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<crate::Cosignature>> {
        self.cosignatures_of(size).await
    }

    async fn witnessed_checkpoint(&self) -> Result<Option<crate::LogCheckpoint>> {
        self.witnessed_latest().await
    }

    async fn keep_evidence(&self, evidence: &crate::Evidence) -> Result<()> {
        self.evidence(evidence).await
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: uuid::Uuid,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        self.lease(name, holder, ttl).await
    }

    async fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<bridge_core::tlog::Hash>> {
        self.guarded(writer::read_hashes(&self.pool, indexes)).await
    }

    async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        self.guarded(async {
            let rows: Vec<Vec<u8>> = sqlx::query_scalar(
                "SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(i64::try_from(start).unwrap_or(i64::MAX))
            .bind(i64::try_from(end).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows)
        })
        .await
    }

    async fn namespace_log(
        &self,
        namespace: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StampRecord>> {
        self.guarded(async {
            let rows = sqlx::query(concat!(
                "SELECT ",
                stamp_columns!(),
                " FROM log_entries e JOIN metadata_stamps s ON s.stamp_id = e.stamp_id \
                 WHERE e.namespace = $1 AND e.idx > $2 ORDER BY e.idx LIMIT $3"
            ))
            .bind(namespace)
            .bind(after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX)))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(stamp_from_row).collect()
        })
        .await
    }

    async fn log_index_of(&self, stamp_id: uuid::Uuid) -> Result<Option<u64>> {
        self.guarded(async {
            let idx: Option<i64> =
                sqlx::query_scalar("SELECT idx FROM log_entries WHERE stamp_id = $1")
                    .bind(stamp_id)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(idx.and_then(|i| u64::try_from(i).ok()))
        })
        .await
    }

    async fn get_namespace_state(&self, namespace: &str) -> Result<Option<NamespaceState>> {
        self.guarded(async {
            let row = sqlx::query(concat!(
                "SELECT ",
                state_columns!(),
                " FROM bridge_states WHERE namespace = $1"
            ))
            .bind(namespace)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(state_from_row).transpose()
        })
        .await
    }

    async fn save_namespace_state(&self, s: &NamespaceState) -> Result<bool> {
        self.guarded(async {
            let mut conn = self.pool.acquire().await?;
            state::save(&mut conn, s).await
        })
        .await
    }

    async fn list_namespace_states(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NamespaceState>> {
        self.guarded(async {
            let rows = sqlx::query(concat!(
                "SELECT ",
                state_columns!(),
                " FROM bridge_states WHERE namespace > $1 ORDER BY namespace LIMIT $2"
            ))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(state_from_row).collect()
        })
        .await
    }

    async fn get_namespace_states(&self, namespaces: &[String]) -> Result<Vec<NamespaceState>> {
        self.guarded(async {
            let rows = sqlx::query(concat!(
                "SELECT ",
                state_columns!(),
                " FROM bridge_states WHERE namespace = ANY($1)"
            ))
            .bind(namespaces)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(state_from_row).collect()
        })
        .await
    }

    async fn apply_reduction(&self, reduction: &Reduction) -> Result<ReductionOutcome> {
        self.guarded(state::apply(&self.pool, reduction)).await
    }

    async fn get_cursor(&self, name: &str) -> Result<Option<Position>> {
        self.guarded(async {
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT txid, seq FROM reducer_cursors WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(row.map(|(txid, seq)| Position { txid, seq }))
        })
        .await
    }

    async fn read_stamp_events(&self, after: Position, limit: u32) -> Result<Vec<LoggedEvent>> {
        self.guarded(async {
            // Only rows of transactions older than the snapshot's xmin: those have all ended,
            // so no row can later appear before the last one read (see migration 0003).
            let rows: Vec<(i64, i64, String)> = sqlx::query_as(concat!(
                "SELECT txid, seq, payload FROM event_logs WHERE event_type = '",
                bridge_core::stamp_created_literal!(),
                "' AND (txid, seq) > ($1, $2) \
                   AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                 ORDER BY txid, seq LIMIT $3"
            ))
            .bind(after.txid)
            .bind(after.seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(txid, seq, payload)| LoggedEvent {
                    position: Position { txid, seq },
                    payload,
                })
                .collect())
        })
        .await
    }

    async fn count_stamp_events(&self, after: Position, cap: u32) -> Result<u64> {
        self.guarded(async {
            let n: i64 = sqlx::query_scalar(concat!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM event_logs WHERE event_type = '",
                bridge_core::stamp_created_literal!(),
                "' AND (txid, seq) > ($1, $2) LIMIT $3) AS lag"
            ))
            .bind(after.txid)
            .bind(after.seq)
            .bind(i64::from(cap))
            .fetch_one(&self.pool)
            .await?;
            Ok(n as u64)
        })
        .await
    }

    async fn get_node(&self, node_id: &str) -> Result<Option<NodeRecord>> {
        self.guarded(async {
            let row = sqlx::query(concat!(
                "SELECT ",
                node_columns!(),
                " FROM node_registrations WHERE node_id = $1"
            ))
            .bind(node_id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(nodes::node_from_row).transpose()
        })
        .await
    }

    async fn list_nodes(
        &self,
        node_type: Option<&str>,
        health_status: Option<&str>,
    ) -> Result<Vec<NodeRecord>> {
        self.guarded(async {
            let rows = sqlx::query(concat!("SELECT ", node_columns!(), " FROM node_registrations WHERE ($1::text IS NULL OR node_type = $1) AND ($2::text IS NULL OR health_status = $2) ORDER BY node_id"))
            .bind(node_type)
            .bind(health_status)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(nodes::node_from_row).collect()
        })
        .await
    }

    async fn save_node(
        &self,
        node_id: &str,
        expected: Option<chrono::DateTime<chrono::Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> Result<bool> {
        self.guarded(nodes::save(&self.pool, node_id, expected, next, &events))
            .await
    }

    async fn claim_outbox(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxRow>> {
        self.guarded(async {
            // SKIP LOCKED: concurrent relays claim disjoint rows without waiting on each other;
            // the lease keeps them disjoint after this statement commits.
            let rows = sqlx::query(include_str!("../../sql/postgres/claim_outbox.sql"))
                .bind(i64::from(limit))
                .bind(lease.as_secs_f64())
                .fetch_all(&self.pool)
                .await?;
            let mut out = rows
                .iter()
                .map(|r| {
                    Ok(OutboxRow {
                        seq: r.try_get("seq")?,
                        event_id: r.try_get("event_id")?,
                        event_type: r.try_get("event_type")?,
                        topic: r.try_get("topic")?,
                        message_key: r.try_get("message_key")?,
                        payload: r.try_get("payload")?,
                        attempts: r.try_get::<i32, _>("attempts")?.into(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            // RETURNING does not promise an order.
            out.sort_by_key(|r| r.seq);
            Ok(out)
        })
        .await
    }

    async fn settle_outbox(&self, outcomes: &[(i64, Delivery)]) -> Result<()> {
        self.guarded(async {
            let mut seqs = Vec::with_capacity(outcomes.len());
            let mut statuses = Vec::with_capacity(outcomes.len());
            let mut errors = Vec::with_capacity(outcomes.len());
            for (seq, d) in outcomes {
                let (status, error) = match d {
                    Delivery::Sent => ("sent", None),
                    Delivery::Retry(e) => ("pending", Some(e.as_str())),
                    Delivery::Failed(e) => ("failed", Some(e.as_str())),
                };
                seqs.push(*seq);
                statuses.push(status);
                errors.push(error);
            }
            sqlx::query(include_str!("../../sql/postgres/settle_outbox.sql"))
                .bind(seqs)
                .bind(statuses)
                .bind(errors)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn pending_events(&self) -> Result<u64> {
        self.guarded(async {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM event_logs WHERE status = 'pending'")
                    .fetch_one(&self.pool)
                    .await?;
            Ok(n as u64)
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        // Not behind the breaker's fast-fail: health checks must see the database itself.
        // Their outcome feeds the breaker, so a monitor's probe can close it after an outage.
        let result = sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::from);
        match &result {
            Ok(()) => self.guard.breaker.on_success(),
            Err(StoreError::Unavailable(_)) => self.guard.breaker.on_failure(),
            Err(_) => {}
        }
        if self.writer.is_closed() {
            return Err(StoreError::Unavailable("writer stopped".into()));
        }
        result
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        Some(self.status())
    }

    fn breaker_state(&self) -> Option<BreakerState> {
        Some(self.guard.breaker.state())
    }
}

//! The embedded backend: SQLite in WAL mode, `synchronous=FULL` (every commit durable), a
//! pool of read connections, one writer task that group-commits (see `writer`), and a thread
//! that copies the WAL back into the database beside it (see `checkpointer`).

mod checkpointer;
mod nodes;
mod outbox;
mod rows;
#[doc(hidden)]
pub mod sql;
mod state;
mod statements;
mod witness;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::Blake3Hex;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::mpsc;

use crate::batch::Queue;

use crate::{
    Delivery, EventRow, LoggedEvent, NamespaceState, NodeRecord, OutboxRow, Position, Reduction,
    ReductionOutcome, Result, StampOutcome, StampRecord, StampWrite, Store, StoreError,
    WorkflowRecord,
};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "omninode-bridge.sqlite3";

/// Embedded SQLite store. Cloning shares the same database.
#[derive(Clone)]
pub struct SqliteStore {
    /// Read-only connections; WAL lets them run beside the writer.
    readers: SqlitePool,
    /// Queue of the writer thread; every write goes through it.
    writer: Queue<writer::Work>,
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::from_str("sqlite://")
        .expect("static URL parses")
        .filename(path)
        .create_if_missing(true)
        // 4 KiB pages (new databases only; an existing one keeps its size). A commit writes
        // every page it touched whole into the WAL, and at a steady load each commit carries
        // only a few stamps, so most of what it writes is the last, partly filled leaf of each
        // table and index, again. With 16 KiB pages that was 160-220 KiB written to disk per
        // stamp at 2,000/s (WAL and checkpoint), with 4 KiB 98 KiB, and the in-commit
        // checkpoint copies 4 MiB instead of 16: p99 at 3,000/s fell from 106-434 ms to 32-64
        // ms (docs/benchmarks.md, issue 20). 16 KiB was ~12 % faster only for full 256-stamp
        // batches.
        .page_size(4096)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// The writer's direct connection, with the settings of [`options`].
fn direct(path: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!(
            "{} cannot use WAL (journal mode {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    /// Keeps no transparency log (see [`SqliteStore::open_logged`]).
    pub async fn open(data_dir: &Path) -> Result<Self> {
        Self::open_logged(data_dir, None).await
    }

    /// [`SqliteStore::open`], appending every new signed stamp to the log whose checkpoints
    /// `log` signs.
    pub async fn open_logged(
        data_dir: &Path,
        log: Option<std::sync::Arc<bridge_core::tlog::LogSigner>>,
    ) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Config(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = options(&path).connect().await?;
        sqlx::migrate!("./migrations/sqlite").run(&mut conn).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options(&path).read_only(true))
            .await?;
        let (tx, rx) = mpsc::channel(writer::QUEUE_DEPTH);
        checkpointer::spawn(&path, tx.downgrade())?;
        writer::spawn(
            writer::Connections {
                direct: direct(&path)?,
                sqlx: conn,
                log,
            },
            rx,
        )?;
        Ok(Self {
            readers,
            writer: Queue(tx),
        })
    }

    /// Applies migrations and closes (the `migrate` command).
    pub async fn migrate(data_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Config(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        let mut conn = options(&data_dir.join(DB_FILE)).connect().await?;
        sqlx::migrate!("./migrations/sqlite").run(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }
}

impl SqliteStore {
    /// Queues exclusive work for the writer and waits for its reply.
    async fn exclusive<T>(
        &self,
        work: Box<dyn writer::Exclusive>,
        rx: tokio::sync::oneshot::Receiver<Result<T>>,
    ) -> Result<T> {
        let stopped = || StoreError::Unavailable("writer stopped".into());
        self.writer
            .0
            .send(writer::Work::Exclusive(work))
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn record_stamp(&self, write: StampWrite) -> Result<StampOutcome> {
        self.writer.stamp(write).await
    }

    async fn record_failed_workflow(
        &self,
        workflow: WorkflowRecord,
        events: Vec<EventRow>,
    ) -> Result<()> {
        self.writer.failed(workflow, events).await
    }

    async fn get_workflow(&self, workflow_id: uuid::Uuid) -> Result<Option<WorkflowRecord>> {
        let id = workflow_id.to_string();
        let Some(exec) = sqlx::query("SELECT * FROM workflow_executions WHERE workflow_id = ?")
            .bind(&id)
            .fetch_optional(&self.readers)
            .await?
        else {
            return Ok(None);
        };
        let steps =
            sqlx::query("SELECT * FROM workflow_steps WHERE workflow_id = ? ORDER BY step_index")
                .bind(&id)
                .fetch_all(&self.readers)
                .await?;
        let transitions =
            sqlx::query("SELECT * FROM fsm_transitions WHERE workflow_id = ? ORDER BY position")
                .bind(&id)
                .fetch_all(&self.readers)
                .await?;
        rows::workflow_from_rows(&exec, &steps, &transitions).map(Some)
    }

    async fn get_stamp(
        &self,
        namespace: Option<&str>,
        file_hash: &Blake3Hex,
    ) -> Result<Option<StampRecord>> {
        let row = match namespace {
            Some(ns) => {
                sqlx::query(concat!(
                    rows::stamp_select!(),
                    " WHERE s.namespace = ? AND s.file_hash = ?"
                ))
                .bind(ns)
                .bind(file_hash.as_str())
                .fetch_optional(&self.readers)
                .await?
            }
            None => {
                sqlx::query(concat!(
                    rows::stamp_select!(),
                    " WHERE s.file_hash = ? ORDER BY s.id LIMIT 1"
                ))
                .bind(file_hash.as_str())
                .fetch_optional(&self.readers)
                .await?
            }
        };
        row.as_ref().map(rows::stamp_from_row).transpose()
    }

    async fn log_checkpoint(&self) -> Result<Option<crate::LogCheckpoint>> {
        let row = sqlx::query(
            "SELECT size, note, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1",
        )
        .fetch_optional(&self.readers)
        .await?;
        row.map(|r| {
            Ok(crate::LogCheckpoint {
                size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
                note: r.try_get("note")?,
                created_at: rows::time(&r, "created_at")?,
            })
        })
        .transpose()
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

    async fn take_lease(&self, name: &str, holder: uuid::Uuid, ttl: Duration) -> Result<bool> {
        self.lease(name, holder, ttl).await
    }

    async fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<bridge_core::tlog::Hash>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all of them (a proof reads ~log2 n, a tile 256): the ids as a
        // JSON array, expanded by SQLite's json_each.
        let ids = serde_json::to_string(indexes).expect("numbers serialise");
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(crate::log::SQLITE_SELECT)
            .bind(ids)
            .fetch_all(&self.readers)
            .await?;
        crate::log::in_order(indexes, rows)
    }

    async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
        )
        .bind(i64::try_from(start).unwrap_or(i64::MAX))
        .bind(i64::try_from(end).unwrap_or(i64::MAX))
        .fetch_all(&self.readers)
        .await?;
        Ok(rows)
    }

    async fn namespace_log(
        &self,
        namespace: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StampRecord>> {
        // Through the log's own (namespace, idx) index: log order, never the stamp table's.
        let rows = sqlx::query(
            "SELECT s.*, e.idx AS log_index FROM log_entries e \
             JOIN metadata_stamps s ON s.stamp_id = e.stamp_id \
             WHERE e.namespace = ? AND e.idx > ? ORDER BY e.idx LIMIT ?",
        )
        .bind(namespace)
        .bind(after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX)))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::stamp_from_row).collect()
    }

    async fn log_index_of(&self, stamp_id: uuid::Uuid) -> Result<Option<u64>> {
        let idx: Option<i64> = sqlx::query_scalar("SELECT idx FROM log_entries WHERE stamp_id = ?")
            .bind(stamp_id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        Ok(idx.and_then(|i| u64::try_from(i).ok()))
    }

    async fn get_namespace_state(&self, namespace: &str) -> Result<Option<NamespaceState>> {
        let row = sqlx::query("SELECT * FROM bridge_states WHERE namespace = ?")
            .bind(namespace)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(state::state_from_row).transpose()
    }

    async fn save_namespace_state(&self, state: &NamespaceState) -> Result<bool> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = state::Save {
            state: state.clone(),
            reply,
        };
        self.exclusive(Box::new(work), rx).await
    }

    async fn list_namespace_states(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NamespaceState>> {
        let rows = sqlx::query(
            "SELECT * FROM bridge_states WHERE namespace > ? ORDER BY namespace LIMIT ?",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(state::state_from_row).collect()
    }

    async fn get_namespace_states(&self, namespaces: &[String]) -> Result<Vec<NamespaceState>> {
        // One bound JSON array instead of a statement per namespace or per list length.
        let names = serde_json::to_string(namespaces).expect("strings encode");
        let rows = sqlx::query(
            "SELECT * FROM bridge_states WHERE namespace IN (SELECT value FROM json_each(?))",
        )
        .bind(names)
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(state::state_from_row).collect()
    }

    async fn apply_reduction(&self, reduction: &Reduction) -> Result<ReductionOutcome> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = state::Apply {
            reduction: reduction.clone(),
            reply,
        };
        self.exclusive(Box::new(work), rx).await
    }

    async fn get_cursor(&self, name: &str) -> Result<Option<Position>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT txid, seq FROM reducer_cursors WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.readers)
                .await?;
        Ok(row.map(|(txid, seq)| Position { txid, seq }))
    }

    async fn read_stamp_events(&self, after: Position, limit: u32) -> Result<Vec<LoggedEvent>> {
        // The single writer commits in `seq` order: nothing can appear behind a visible row.
        let rows: Vec<(i64, String)> = sqlx::query_as(concat!(
            "SELECT seq, payload FROM event_logs WHERE seq > ? AND event_type = '",
            bridge_core::stamp_created_literal!(),
            "' ORDER BY seq LIMIT ?"
        ))
        .bind(after.seq)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, payload)| LoggedEvent {
                position: Position::at(seq),
                payload,
            })
            .collect())
    }

    async fn count_stamp_events(&self, after: Position, cap: u32) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM event_logs WHERE seq > ? AND event_type = '",
            bridge_core::stamp_created_literal!(),
            "' LIMIT ?)"
        ))
        .bind(after.seq)
        .bind(i64::from(cap))
        .fetch_one(&self.readers)
        .await?;
        Ok(n as u64)
    }

    async fn get_node(&self, node_id: &str) -> Result<Option<NodeRecord>> {
        let row = sqlx::query("SELECT * FROM node_registrations WHERE node_id = ?")
            .bind(node_id)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(nodes::node_from_row).transpose()
    }

    async fn list_nodes(
        &self,
        node_type: Option<&str>,
        health_status: Option<&str>,
    ) -> Result<Vec<NodeRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM node_registrations WHERE (?1 IS NULL OR node_type = ?1) \
             AND (?2 IS NULL OR health_status = ?2) ORDER BY node_id",
        )
        .bind(node_type)
        .bind(health_status)
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(nodes::node_from_row).collect()
    }

    async fn save_node(
        &self,
        node_id: &str,
        expected: Option<chrono::DateTime<chrono::Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> Result<bool> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = nodes::Save {
            node_id: node_id.to_owned(),
            expected,
            next: next.cloned(),
            events,
            reply,
        };
        self.exclusive(Box::new(work), rx).await
    }

    async fn claim_outbox(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxRow>> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = outbox::Claim {
            limit,
            lease,
            reply,
        };
        self.exclusive(Box::new(work), rx).await
    }

    async fn settle_outbox(&self, outcomes: &[(i64, Delivery)]) -> Result<()> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = outbox::Settle {
            outcomes: outcomes.to_vec(),
            reply,
        };
        self.exclusive(Box::new(work), rx).await
    }

    async fn pending_events(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_logs WHERE status = 'pending'")
            .fetch_one(&self.readers)
            .await?;
        Ok(n as u64)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        if self.writer.is_closed() {
            return Err(StoreError::Unavailable("writer stopped".into()));
        }
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

//! Store throughput, side by side in one run: stamps through `Store::record_stamp` from 64
//! concurrent writers (group commit, every commit fsync'd) against the raw batched insert
//! rate of the same rows (one direct connection, one transaction per 128 stamps, with the
//! write path's own prepared statements). The rows are those of a whole workflow: stamp,
//! execution, 5 steps, 2 transitions and 10 events. Also the cost of one sqlx round trip,
//! which is why the writer's group commits bypass sqlx. And the raw insert of the bare stamp
//! path's rows (stamp + 1 event) beside the workflow's 19: the floor under the workflow
//! benchmark's cost ratio (issue 3).
//! Prints rows/s and the ratio (SPEC §9: ≥ 50 %).

use std::sync::Arc;
use std::time::Instant;

use bridge_core::hash::hash_bytes;
use bridge_store::sqlite::sql;
use bridge_store::{
    EventRow, SqliteStore, StampRecord, StampWrite, StepRecord, Store, TransitionRecord,
    WorkflowRecord,
};
use chrono::Utc;
use sqlx::{ConnectOptions, Executor};
use uuid::Uuid;

const STAMPS: usize = 10_000;
const WRITERS: usize = 64;

fn write(i: usize) -> StampWrite {
    let content = format!("print({i})  # bench\n");
    let correlation_id = Uuid::new_v4();
    let stamp = StampRecord {
        stamp_id: Uuid::now_v7(),
        namespace: "bench".into(),
        file_hash: hash_bytes(content.as_bytes()).to_string(),
        content_type: "text/x-python".into(),
        file_size: content.len() as i64,
        file_path: Some(format!("bench/f{i}.py")),
        stamp_type: "rich".into(),
        sidecar: false,
        stamp: "# ---BEGIN ONEX STAMP---\n".repeat(11),
        metadata: None,
        op_id: None,
        workflow_id: Some(Uuid::now_v7()),
        correlation_id,
        created_at: Utc::now(),
        // A signature of realistic length (an SSHSIG blob is 188 bytes, 252 in base64).
        signing_key: Some(format!("SHA256:{}", "k".repeat(43))),
        signature: Some("s".repeat(252)),
        log_index: None,
        log_proof: None,
    };
    let event = EventRow {
        event_id: Uuid::now_v7(),
        event_type: bridge_core::EventType::StampCreated,
        topic: None,
        message_key: "bench".into(),
        correlation_id,
        workflow_id: stamp.workflow_id,
        namespace: Some("bench".into()),
        payload: "{\"envelope_version\":\"1.0\"}".repeat(12),
        created_at: Utc::now(),
    };
    // The rows of one workflow: 10 events, 5 steps, 2 transitions (as the orchestrator writes).
    let events = (0..10)
        .map(|_| EventRow {
            event_id: Uuid::now_v7(),
            ..event.clone()
        })
        .collect();
    let workflow = WorkflowRecord {
        workflow_id: stamp.workflow_id.unwrap(),
        correlation_id,
        namespace: "bench".into(),
        state: "COMPLETED".into(),
        stamp_id: Some(stamp.stamp_id),
        error: None,
        intelligence: None,
        started_at: Utc::now(),
        completed_at: Some(Utc::now()),
        duration_ms: 0.2,
        steps: (0..5)
            .map(|i| StepRecord {
                step_index: i,
                step_name: "hash_generation".into(),
                status: "COMPLETED".into(),
                attempts: 1,
                duration_ms: 0.01,
                error: None,
            })
            .collect(),
        transitions: (0..2)
            .map(|_| TransitionRecord {
                from_state: "PENDING".into(),
                to_state: "PROCESSING".into(),
                reason: Some("input accepted".into()),
                created_at: Utc::now(),
            })
            .collect(),
    };
    StampWrite {
        stamp,
        workflow: Some(workflow),
        events,
        entry: None,
    }
}

/// The rows of the bare stamp path (before workflows): the stamp and its STAMP_CREATED.
fn bare_rows(i: usize) -> StampWrite {
    let mut w = write(i);
    w.workflow = None;
    w.events.truncate(1);
    w
}

async fn through_store(writes: Vec<StampWrite>) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let queue = Arc::new(std::sync::Mutex::new(writes));
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            let queue = queue.clone();
            tokio::spawn(async move {
                loop {
                    let Some(w) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    store.record_stamp(w).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    STAMPS as f64 / started.elapsed().as_secs_f64()
}

/// The anchor: the same rows with the write path's own statements on one direct connection,
/// one transaction per 128 stamps, nothing else (no queue, no replies, no duplicate checks).
async fn raw_batched(writes: Vec<StampWrite>) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::migrate(dir.path()).await.unwrap();
    let mut conn =
        rusqlite::Connection::open(dir.path().join(bridge_store::sqlite::DB_FILE)).unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    let started = Instant::now();
    for chunk in writes.chunks(128) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        for w in chunk {
            assert!(sql::insert_stamp(&tx, &w.stamp).unwrap());
        }
        for w in chunk.iter().filter_map(|w| w.workflow.as_ref()) {
            sql::insert_workflow(&tx, w).unwrap();
        }
        sql::insert_events(&tx, chunk.iter().flat_map(|w| w.events.iter())).unwrap();
        tx.commit().unwrap();
    }
    STAMPS as f64 / started.elapsed().as_secs_f64()
}

async fn trivial(n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("t.db"))
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    conn.execute("CREATE TABLE t (a INTEGER)").await.unwrap();
    conn.execute("BEGIN").await.unwrap();
    let started = Instant::now();
    for i in 0..n {
        sqlx::query("INSERT INTO t (a) VALUES (?)")
            .bind(i as i64)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    conn.execute("COMMIT").await.unwrap();
    rate
}

fn main() {
    let rt0 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "sqlx/sqlite single-row statements   {:>10.0} /s (one round trip each)",
        rt0.block_on(trivial(20000))
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let raw = rt.block_on(raw_batched((0..STAMPS).map(write).collect()));
    let store = rt.block_on(through_store((0..STAMPS).map(write).collect()));
    let bare = rt.block_on(raw_batched((0..STAMPS).map(bare_rows).collect()));
    println!("store/sqlite raw_batched_insert   {raw:>10.0} stamps/s (19 rows each: stamp, execution, 5 steps, 2 transitions, 10 events)");
    println!("store/sqlite record_stamp x{WRITERS:<3}   {store:>10.0} stamps/s");
    println!(
        "store/sqlite raw bare rows        {bare:>10.0} stamps/s (2 rows each: stamp, 1 event)"
    );
    println!(
        "store/sqlite rows cost            {:>10.2} x  (workflow rows vs bare rows, raw)",
        bare / raw
    );
    println!(
        "store/sqlite ratio                {:>10.1} %  (goal >= 50 %)",
        100.0 * store / raw
    );
}

//! In-memory aggregation throughput of the namespace reducer (persistence excluded). Goal
//! (issue 6): ≥ 200,000 events/s aggregated. The Python design's 1,100 items/s (and 1,000
//! items in < 100 ms) is its published figure, quoted as a constant: nothing here runs it.
//!
//! 1,000,000 STAMP_CREATED envelopes, JSON as the orchestrator writes them to the event log
//! (over 1,000 namespaces and 5 content types), each decoded with the reducer's own
//! `StampEvent::from_envelope` and folded in windows of 100 (the contract's batch size), each
//! window closed and its deltas applied to in-memory states, as the reducer does before
//! saving. (`scripts/bench` section 4 reports first what matters more: the reducer's lag at the
//! end of the HTTP stamp load and how long it took to drain.)
//!
//! End to end with persistence: 50,000 stamps (each with its STAMP_CREATED event) are written
//! to a SQLite store by 64 concurrent callers — that write rate is the anchor, the fastest the
//! stamp path can produce events — then the real reducer (log source, 1 s windows, saves by
//! optimistic lock with the cursor) reads them all from the start; events/s until the last is
//! saved. Goal: persistence keeps up with the stamp rate (ratio ≥ 1). With
//! `OMNINODE_BENCH_PG_URL` (an admin URL) the same runs on a scratch PostgreSQL database.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_core::contract::{builtin::Builtin, load};
use bridge_nodes::reducer::{Aggregator, LogSource, Reducer, StampEvent};
use bridge_store::{
    EventRow, NamespaceState, PgOptions, PgStore, SqliteStore, StampRecord, StampWrite, Store,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

const EVENTS: usize = 1_000_000;
const NAMESPACES: usize = 1_000;
const BATCH: usize = 100;

/// The envelopes, as the event log holds them.
fn events() -> Vec<String> {
    let types = [
        "text/plain",
        "text/x-python",
        "image/png",
        "application/json",
        "text/markdown",
    ];
    let base = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    (0..EVENTS)
        .map(|i| {
            let mut w = write(i);
            w.stamp.namespace = format!("ns{}", (i * 7919) % NAMESPACES);
            w.stamp.content_type = types[i % types.len()].to_owned();
            w.stamp.created_at = base + chrono::Duration::milliseconds(i as i64);
            bridge_core::envelope::Envelope::of(
                bridge_nodes::orchestrator::stamp_created(&w.stamp),
                w.stamp.correlation_id,
                "orchestrator",
                w.stamp.created_at,
            )
            .to_json()
        })
        .collect()
}

fn run(events: &[String]) -> (f64, HashMap<String, NamespaceState>) {
    let mut states: HashMap<String, NamespaceState> = HashMap::new();
    let mut agg = Aggregator::new();
    let started = Instant::now();
    for (c, chunk) in events.chunks(BATCH).enumerate() {
        for (i, json) in chunk.iter().enumerate() {
            let seq = (c * BATCH + i) as i64 + 1;
            let e = StampEvent::from_envelope(seq, json.as_bytes()).expect("a valid envelope");
            agg.add(&e);
        }
        for (ns, d) in agg.take() {
            let s = states
                .entry(ns)
                .or_insert_with_key(|ns| NamespaceState::empty(ns.clone()));
            *s = d.apply(s);
        }
    }
    (started.elapsed().as_secs_f64(), states)
}

const E2E_STAMPS: usize = 50_000;
const CALLERS: usize = 64;

fn write(i: usize) -> StampWrite {
    let ns = format!("ns{}", i % 100);
    let now = Utc::now();
    let correlation_id = Uuid::new_v4();
    let record = StampRecord {
        stamp_id: Uuid::now_v7(),
        namespace: ns.clone(),
        file_hash: bridge_core::hash::hash_bytes(format!("e2e {i}").as_bytes()).to_string(),
        content_type: ["text/plain", "text/x-python", "application/json"][i % 3].into(),
        file_size: (i % 4096) as i64,
        file_path: None,
        stamp_type: "rich".into(),
        sidecar: false,
        stamp: "# stamp".into(),
        metadata: None,
        op_id: None,
        workflow_id: Some(Uuid::now_v7()),
        correlation_id,
        created_at: now,
        signing_key: None,
        signature: None,
        log_index: None,
        log_proof: None,
    };
    let env = bridge_core::envelope::Envelope::of(
        bridge_nodes::orchestrator::stamp_created(&record),
        correlation_id,
        "orchestrator",
        now,
    );
    let event = EventRow {
        event_id: env.event_id,
        event_type: bridge_core::EventType::StampCreated,
        topic: None,
        message_key: ns.clone(),
        correlation_id,
        workflow_id: record.workflow_id,
        namespace: Some(ns),
        payload: env.to_json(),
        created_at: now,
    };
    StampWrite {
        stamp: record,
        workflow: None,
        events: vec![event],
        entry: None,
    }
}

/// Writes the stamps from CALLERS tasks; stamps per second.
async fn prefill(store: &Arc<dyn Store>) -> f64 {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (store, next) = (store.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    if i >= E2E_STAMPS {
                        break;
                    }
                    store.record_stamp(write(i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    E2E_STAMPS as f64 / started.elapsed().as_secs_f64()
}

/// The reducer from an empty cursor until every event is saved; events per second.
async fn reduce(store: &Arc<dyn Store>) -> f64 {
    let mut contract = load(&Builtin).unwrap().reducer;
    contract.aggregation.window_ms = 1_000;
    let reducer = Reducer::new(store.clone(), contract).unwrap();
    let status = reducer.status();
    let stop = tokio_util::sync::CancellationToken::new();
    let rx = stop.clone();
    let source = LogSource::new(store.clone()).await.unwrap();
    let started = Instant::now();
    let task = tokio::spawn(reducer.run(source, rx));
    while status.items.load(Relaxed) < E2E_STAMPS as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    stop.cancel();
    task.await.unwrap();
    let total: i64 = store
        .list_namespace_states(None, 1000)
        .await
        .unwrap()
        .iter()
        .map(|s| s.total_stamps)
        .sum();
    assert_eq!(total as usize, E2E_STAMPS, "every event counted once");
    E2E_STAMPS as f64 / secs
}

async fn end_to_end(label: &str, store: Arc<dyn Store>) {
    let stamp_rate = prefill(&store).await;
    let rate = reduce(&store).await;
    println!("reducer/e2e {label:<8} stamps in  {stamp_rate:>10.0} stamps/s (anchor: {E2E_STAMPS} stamps, {CALLERS} callers)");
    println!("reducer/e2e {label:<8} saved     {rate:>10.0} events/s ({:.1}x the stamp rate, the anchor of this run)", rate / stamp_rate);
    println!(
        "reducer/e2e {label:<8} goal       {:>10} (keeps up with the stamp rate)",
        if rate >= stamp_rate { "met" } else { "NOT met" }
    );
}

fn main() {
    aggregate();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        end_to_end("sqlite", sqlite).await;
        if let Ok(admin) = std::env::var("OMNINODE_BENCH_PG_URL") {
            let url = PgStore::scratch_database(&admin).await.unwrap();
            let pg: Arc<dyn Store> = Arc::new(PgStore::connect(PgOptions::new(url)).await.unwrap());
            end_to_end("postgres", pg).await;
        }
    });
}

fn aggregate() {
    let all = events();
    // Warm-up, then three timed runs; the best is reported (the machine is shared).
    run(&all[..100_000]);
    let mut best = f64::MAX;
    let mut states = HashMap::new();
    for _ in 0..3 {
        let (secs, s) = run(&all);
        best = best.min(secs);
        states = s;
    }
    let total: i64 = states.values().map(|s| s.total_stamps).sum();
    assert_eq!(total as usize, EVENTS, "every event counted once");
    let rate = EVENTS as f64 / best;
    let (thousand, _) = run(&all[..1_000]);
    println!("reducer/aggregate              {rate:>10.0} events/s ({EVENTS} envelopes decoded and folded, {NAMESPACES} namespaces, windows of {BATCH})");
    println!(
        "reducer/vs python design       {:>10.0} x (its published 1,100 items/s, a constant: not run here)",
        rate / 1_100.0
    );
    println!(
        "reducer/1,000 items            {:>10.3} ms (python design: < 100 ms)",
        thousand * 1000.0
    );
    println!(
        "reducer/goal                   {:>10} (>= 200,000 events/s)",
        if rate >= 200_000.0 { "met" } else { "NOT met" }
    );
}

//! Reducer engine tests over a real SQLite store: the events come from real workflows (the
//! orchestrator writing `event_logs`), or, for races between reducers, from in-process sources
//! with cursors of their own.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::contract::{builtin::Builtin, load, ReducerContract};
use bridge_core::{Blake3Hex, Namespace, StampType};
use bridge_store::{
    CursorMove, Delivery, EventRow, LoggedEvent, NamespaceState, NodeRecord, OutboxRow, Position,
    Reduction, ReductionOutcome, SqliteStore, StampOutcome, StampRecord, StampWrite, Store,
    WorkflowRecord,
};
use chrono::DateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::*;
use crate::{Orchestrator, StampInput};

fn contract(window_ms: u64) -> ReducerContract {
    let mut c = load(&Builtin).unwrap().reducer;
    c.aggregation.window_ms = window_ms;
    c
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Deterministic pseudo-random numbers (no dependency, reproducible failures).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// What a direct recount of the created stamps gives per namespace.
#[derive(Debug, Default, PartialEq)]
struct Recount {
    stamps: i64,
    bytes: i64,
    types: BTreeSet<String>,
}

/// Stamps a random mix (4 namespaces, 4 kinds of content, repeats that deduplicate) and
/// returns the recount of what was created.
async fn stamp_mix(o: &Orchestrator, n: usize, seed: u64) -> HashMap<String, Recount> {
    let mut rng = Lcg(seed);
    let mut want: HashMap<String, Recount> = HashMap::new();
    for _ in 0..n {
        let ns = ["alpha", "beta", "gamma", "delta"][rng.next(4) as usize];
        let k = rng.next(40);
        let (content, path) = match rng.next(4) {
            0 => (format!("print({k})\n").into_bytes(), "a.py"),
            1 => (format!("{{\"k\": {k}}}").into_bytes(), "a.json"),
            2 => (
                format!("line {k}\n").repeat(k as usize + 1).into_bytes(),
                "a.txt",
            ),
            _ => {
                let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
                png.extend(std::iter::repeat_n(k as u8, k as usize));
                (png, "a.png")
            }
        };
        let r = o
            .stamp(StampInput {
                content,
                namespace: Namespace::parse(ns).unwrap(),
                file_path: Some(bridge_core::RelativePath::parse(path).unwrap()),
                stamp_type: StampType::Rich,
                metadata: None,
                op_id: None,
                correlation_id: Uuid::new_v4(),
            })
            .await
            .unwrap();
        if !r.deduplicated {
            let w = want.entry(ns.into()).or_default();
            w.stamps += 1;
            w.bytes += r.record.file_size;
            w.types.insert(r.record.content_type.clone());
        }
    }
    want
}

async fn counted(store: &dyn Store, ns: &str) -> Recount {
    let s = store
        .get_namespace_state(ns)
        .await
        .unwrap()
        .unwrap_or_else(|| NamespaceState::empty(ns));
    assert_eq!(
        s.workflow_count, s.total_stamps,
        "every stamp came from a workflow"
    );
    assert!(s.first_stamp_at <= s.last_stamp_at);
    Recount {
        stamps: s.total_stamps,
        bytes: s.total_size_bytes,
        types: s.file_types.into_iter().collect(),
    }
}

async fn setup() -> (tempfile::TempDir, Arc<dyn Store>, Orchestrator) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let o = Orchestrator::new(store.clone(), load(&Builtin).unwrap().orchestrator, "test").unwrap();
    (dir, store, o)
}

fn start(
    store: &Arc<dyn Store>,
    window_ms: u64,
) -> (
    Arc<ReducerStatus>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let r = Reducer::new(store.clone(), contract(window_ms)).unwrap();
    let status = r.status();
    let stop = CancellationToken::new();
    let rx = stop.clone();
    let store = store.clone();
    let task = tokio::spawn(async move {
        let source = LogSource::new(store).await.unwrap();
        r.run(source, rx).await
    });
    (status, stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_equal_a_recount_after_a_random_mix() {
    let (_d, store, o) = setup().await;
    let want = stamp_mix(&o, 300, 7).await;
    let created: i64 = want.values().map(|w| w.stamps).sum();
    assert!(
        created > 100 && created < 300,
        "the mix has repeats: {created}"
    );
    let (status, stop, task) = start(&store, 50);
    until("every event saved", || {
        status.items.load(Relaxed) == created as u64 && status.lag.load(Relaxed) == 0
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    for (ns, w) in &want {
        assert_eq!(&counted(&*store, ns).await, w, "namespace {ns}");
    }
    assert_eq!(status.state(), ReducerState::Idle);
    assert_eq!(status.malformed.load(Relaxed), 0);
    assert!(status.windows.load(Relaxed) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reducer_killed_mid_window_restarts_without_double_counting() {
    let (_d, store, o) = setup().await;
    let mut want = stamp_mix(&o, 120, 11).await;
    let first: i64 = want.values().map(|w| w.stamps).sum();
    let (dead, _stop, task) = start(&store, 30);
    until("first batch saved", || {
        dead.items.load(Relaxed) == first as u64
    })
    .await;
    // More events, and the reducer dies while its window holds some of them.
    let more = stamp_mix(&o, 120, 12).await;
    until("a window open", || {
        dead.state() == ReducerState::Aggregating
    })
    .await;
    task.abort();
    let _ = task.await;
    for (ns, w) in more {
        let e = want.entry(ns).or_default();
        e.stamps += w.stamps;
        e.bytes += w.bytes;
        e.types.extend(w.types);
    }
    let total: i64 = want.values().map(|w| w.stamps).sum();
    // A fresh reducer resumes from the saved cursor: what the dead window held is read again,
    // what was saved is not.
    let (status, stop, task) = start(&store, 30);
    until("the rest saved", || {
        status.lag.load(Relaxed) == 0 && status.items.load(Relaxed) > 0
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    for (ns, w) in &want {
        assert_eq!(&counted(&*store, ns).await, w, "namespace {ns}");
    }
    // Each event's effect was saved by exactly one of the two lives.
    assert_eq!(
        dead.items.load(Relaxed) + status.items.load(Relaxed),
        total as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_saves_the_open_window() {
    let (_d, store, o) = setup().await;
    let want = stamp_mix(&o, 40, 3).await;
    // A window far longer than the test: only the shutdown save can land these.
    let (status, stop, task) = start(&store, 600_000);
    until("a window open", || {
        status.state() == ReducerState::Aggregating
    })
    .await;
    until("all read", || status.lag.load(Relaxed) > 0).await;
    stop.cancel();
    task.await.unwrap();
    for (ns, w) in &want {
        assert_eq!(&counted(&*store, ns).await, w, "namespace {ns}");
    }
    assert!(
        store.get_cursor(LOG_CURSOR).await.unwrap().is_some(),
        "the cursor moved with the states"
    );
}

/// An in-process source: `events` in order, on a cursor of its own.
struct VecSource {
    cursor: String,
    events: Vec<StampEvent>,
    next: usize,
    saved: Option<Position>,
}

impl VecSource {
    fn new(cursor: &str, ns: &str, n: usize) -> Self {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Self {
            cursor: cursor.into(),
            events: (0..n)
                .map(|i| StampEvent {
                    seq: i as i64,
                    namespace: ns.into(),
                    content_type: "text/plain".into(),
                    file_size: 10,
                    has_workflow: true,
                    created_at: t,
                })
                .collect(),
            next: 0,
            saved: None,
        }
    }
}

#[async_trait]
impl Source for VecSource {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Sourced>, SourceError> {
        // A few events at a time, so that racing reducers interleave many small windows.
        let end = (self.next + max.min(7)).min(self.events.len());
        if self.next == end {
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        let out = self.events[self.next..end]
            .iter()
            .map(|e| Sourced {
                cursor: self.cursor.clone(),
                saved: self.saved,
                position: Position::at(e.seq),
                event: Ok(e.clone()),
            })
            .collect();
        self.next = end;
        Ok(out)
    }

    async fn saved(&mut self, moves: &[CursorMove]) {
        for m in moves.iter().filter(|m| m.name == self.cursor) {
            self.saved = Some(m.to);
        }
    }

    async fn rewind(&mut self) -> Result<(), SourceError> {
        self.next = self.saved.map_or(0, |p| p.seq as usize + 1);
        Ok(())
    }

    async fn lag(&mut self) -> Option<u64> {
        Some((self.events.len() - self.saved.map_or(0, |p| p.seq as usize + 1)) as u64)
    }

    fn owned(&self) -> Vec<String> {
        vec![self.cursor.clone()]
    }
}

/// A store where another writer saves the namespace between the reducer's read and its
/// save, once: the reducer must see the conflict, re-read and land.
struct Interfering {
    inner: SqliteStore,
    armed: AtomicBool,
}

#[async_trait]
impl Store for Interfering {
    async fn apply_reduction(&self, r: &Reduction) -> bridge_store::Result<ReductionOutcome> {
        if self.armed.swap(false, Relaxed) {
            let ns = &r.states[0].namespace;
            let mut rival = self
                .inner
                .get_namespace_state(ns)
                .await?
                .unwrap_or_else(|| NamespaceState::empty(ns.clone()));
            rival.total_stamps += 1000;
            assert!(self.inner.save_namespace_state(&rival).await?);
        }
        self.inner.apply_reduction(r).await
    }
    async fn record_stamp(&self, w: StampWrite) -> bridge_store::Result<StampOutcome> {
        self.inner.record_stamp(w).await
    }
    async fn record_failed_workflow(
        &self,
        w: WorkflowRecord,
        e: Vec<EventRow>,
    ) -> bridge_store::Result<()> {
        self.inner.record_failed_workflow(w, e).await
    }
    async fn get_workflow(&self, id: Uuid) -> bridge_store::Result<Option<WorkflowRecord>> {
        self.inner.get_workflow(id).await
    }
    async fn get_stamp(
        &self,
        ns: Option<&str>,
        h: &Blake3Hex,
    ) -> bridge_store::Result<Option<StampRecord>> {
        self.inner.get_stamp(ns, h).await
    }
    async fn get_namespace_state(&self, ns: &str) -> bridge_store::Result<Option<NamespaceState>> {
        self.inner.get_namespace_state(ns).await
    }
    async fn save_namespace_state(&self, s: &NamespaceState) -> bridge_store::Result<bool> {
        self.inner.save_namespace_state(s).await
    }
    async fn list_namespace_states(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> bridge_store::Result<Vec<NamespaceState>> {
        self.inner.list_namespace_states(after, limit).await
    }
    async fn get_namespace_states(
        &self,
        ns: &[String],
    ) -> bridge_store::Result<Vec<NamespaceState>> {
        self.inner.get_namespace_states(ns).await
    }
    async fn get_cursor(&self, name: &str) -> bridge_store::Result<Option<Position>> {
        self.inner.get_cursor(name).await
    }
    async fn read_stamp_events(
        &self,
        after: Position,
        limit: u32,
    ) -> bridge_store::Result<Vec<LoggedEvent>> {
        self.inner.read_stamp_events(after, limit).await
    }
    async fn count_stamp_events(&self, after: Position, cap: u32) -> bridge_store::Result<u64> {
        self.inner.count_stamp_events(after, cap).await
    }
    async fn get_node(&self, id: &str) -> bridge_store::Result<Option<NodeRecord>> {
        self.inner.get_node(id).await
    }
    async fn list_nodes(
        &self,
        t: Option<&str>,
        h: Option<&str>,
    ) -> bridge_store::Result<Vec<NodeRecord>> {
        self.inner.list_nodes(t, h).await
    }
    async fn save_node(
        &self,
        id: &str,
        expected: Option<DateTime<chrono::Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> bridge_store::Result<bool> {
        self.inner.save_node(id, expected, next, events).await
    }
    async fn claim_outbox(
        &self,
        limit: u32,
        lease: Duration,
    ) -> bridge_store::Result<Vec<OutboxRow>> {
        self.inner.claim_outbox(limit, lease).await
    }
    async fn settle_outbox(&self, o: &[(i64, Delivery)]) -> bridge_store::Result<()> {
        self.inner.settle_outbox(o).await
    }
    async fn pending_events(&self) -> bridge_store::Result<u64> {
        self.inner.pending_events().await
    }
    async fn log_checkpoint_at(
        &self,
        size: u64,
    ) -> bridge_store::Result<Option<bridge_store::LogCheckpoint>> {
        self.inner.log_checkpoint_at(size).await
    }
    async fn witness_sizes(&self) -> bridge_store::Result<Vec<bridge_store::WitnessSize>> {
        self.inner.witness_sizes().await
    }
    async fn record_witnessing(
        &self,
        write: &bridge_store::WitnessingWrite,
    ) -> bridge_store::Result<()> {
        self.inner.record_witnessing(write).await
    }
    async fn cosignatures(
        &self,
        size: u64,
    ) -> bridge_store::Result<Vec<bridge_store::Cosignature>> {
        self.inner.cosignatures(size).await
    }
    async fn witnessed_checkpoint(
        &self,
    ) -> bridge_store::Result<Option<bridge_store::LogCheckpoint>> {
        self.inner.witnessed_checkpoint().await
    }
    async fn keep_evidence(&self, e: &bridge_store::Evidence) -> bridge_store::Result<()> {
        self.inner.keep_evidence(e).await
    }
    async fn take_lease(
        &self,
        name: &str,
        holder: Uuid,
        ttl: std::time::Duration,
    ) -> bridge_store::Result<bool> {
        self.inner.take_lease(name, holder, ttl).await
    }
    async fn ping(&self) -> bridge_store::Result<()> {
        self.inner.ping().await
    }
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

async fn run_source(
    store: Arc<dyn Store>,
    source: VecSource,
    window_ms: u64,
) -> (
    Arc<ReducerStatus>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let r = Reducer::new(store, contract(window_ms)).unwrap();
    let status = r.status();
    let stop = CancellationToken::new();
    let rx = stop.clone();
    (status, stop, tokio::spawn(r.run(source, rx)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_conflict_is_retried_from_fresh_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Interfering {
        inner: SqliteStore::open(dir.path()).await.unwrap(),
        armed: AtomicBool::new(true),
    });
    let (status, stop, task) =
        run_source(store.clone(), VecSource::new("test:a", "shared", 5), 10).await;
    until("saved", || status.items.load(Relaxed) == 5).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(status.conflicts.load(Relaxed), 1);
    let s = store.get_namespace_state("shared").await.unwrap().unwrap();
    assert_eq!(
        s.total_stamps, 1005,
        "the rival's save and the window both landed"
    );
    assert_eq!(
        store.get_cursor("test:a").await.unwrap(),
        Some(Position::at(4))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reducers_racing_on_one_namespace_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let (a, stop_a, task_a) =
        run_source(store.clone(), VecSource::new("test:a", "shared", 700), 1).await;
    let (b, stop_b, task_b) =
        run_source(store.clone(), VecSource::new("test:b", "shared", 500), 1).await;
    until("both saved", || {
        a.items.load(Relaxed) == 700 && b.items.load(Relaxed) == 500
    })
    .await;
    stop_a.cancel();
    stop_b.cancel();
    task_a.await.unwrap();
    task_b.await.unwrap();
    let s = store.get_namespace_state("shared").await.unwrap().unwrap();
    assert_eq!((s.total_stamps, s.total_size_bytes), (1200, 12_000));
    // Each save bumped the version once; conflicts were retried, never counted twice.
    let windows = a.windows.load(Relaxed) + b.windows.load(Relaxed);
    assert_eq!(s.version, windows as i64);
}

/// The two ends of `STAMP_CREATED`: what the orchestrator writes to the log is what the
/// reducer decodes, field for field. Both use `bridge_core::event::StampCreated`; the wire
/// spelling itself is pinned in `bridge_core::event`'s golden test, so a renamed field fails
/// one of the two.
#[tokio::test]
async fn the_orchestrators_stamp_created_decodes_in_the_reducer() {
    let (_d, store, o) = setup().await;
    let made = o
        .stamp(StampInput {
            content: b"print(1)\n".to_vec(),
            namespace: Namespace::parse("ends").unwrap(),
            file_path: Some(bridge_core::RelativePath::parse("src/a.py").unwrap()),
            stamp_type: StampType::Rich,
            metadata: None,
            op_id: None,
            correlation_id: Uuid::new_v4(),
        })
        .await
        .unwrap()
        .record;
    let logged = store
        .read_stamp_events(Position::default(), 10)
        .await
        .unwrap();
    assert_eq!(logged.len(), 1, "one STAMP_CREATED per new stamp");
    let e = StampEvent::from_envelope(logged[0].position.seq, logged[0].payload.as_bytes())
        .expect("the reducer decodes the orchestrator's event");
    assert_eq!(
        (e.namespace.as_str(), e.content_type.as_str(), e.file_size),
        ("ends", made.content_type.as_str(), made.file_size)
    );
    assert!(e.has_workflow);
    // The full payload, through the catalogue's own type.
    let env = bridge_core::envelope::Envelope::<bridge_core::event::StampCreated>::decode(
        logged[0].payload.as_bytes(),
    )
    .unwrap();
    assert_eq!(env.payload, crate::orchestrator::stamp_created(&made));
    assert_eq!(env.payload.file_path.as_deref(), Some("src/a.py"));
}

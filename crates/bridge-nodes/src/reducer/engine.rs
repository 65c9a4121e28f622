//! The reducer's loop: read a source into windows, and save each closed window — namespace
//! states by optimistic lock, with the cursors covering its events, in one transaction.
//!
//! FSM (reducer contract): IDLE → AGGREGATING (a window opens) → PERSISTING (it closes after
//! `window_ms`) → IDLE. A version conflict re-reads the conflicting namespaces and retries
//! (up to `max_version_retries`); a cursor conflict means another reducer saved these events,
//! so the window is dropped and the source re-read from the saved cursors; a store error keeps
//! the window and retries with backoff. An unsaved window is never lost: the source still has
//! its events after the saved cursor.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bridge_core::contract::ReducerContract;
use bridge_store::{CursorMove, NamespaceState, Reduction, ReductionOutcome, Store};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::status::{ReducerState, ReducerStatus};
use super::{Aggregator, StatsCache};
use super::{Source, Sourced};

/// Longest wait for events before checking the window and the stop signal again.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// How often the lag is recounted while events flow.
const LAG_EVERY: Duration = Duration::from_secs(1);
/// Backoff after a failed read or save (doubling).
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A reducer contract the engine cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReducerError {
    /// The contract's FSM lacks a move of the reducer's cycle.
    #[error("reducer contract: fsm must allow {from} -> {to}")]
    MissingTransition {
        /// From state.
        from: &'static str,
        /// To state.
        to: &'static str,
    },
}

/// The namespace reducer node.
pub struct Reducer {
    store: Arc<dyn Store>,
    contract: ReducerContract,
    status: Arc<ReducerStatus>,
    cache: Arc<StatsCache>,
}

/// The open window.
#[derive(Default)]
struct Window {
    agg: Aggregator,
    moves: BTreeMap<String, CursorMove>,
    events: u64,
    closes_at: Option<Instant>,
}

impl Window {
    fn add(&mut self, s: Sourced, window: Duration, status: &ReducerStatus) {
        if self.closes_at.is_none() {
            self.closes_at = Some(Instant::now() + window);
            status.set_state(ReducerState::Aggregating);
        }
        match &s.event {
            Ok(e) => self.agg.add(e),
            Err(why) => {
                // Skipped, not retried: the same bytes would fail again forever.
                status.malformed.fetch_add(1, Relaxed);
                tracing::warn!(cursor = %s.cursor, seq = s.position.seq, error = %why, "reducer skipped a malformed event");
            }
        }
        self.events += 1;
        self.moves
            .entry(s.cursor.clone())
            .and_modify(|m| m.to = m.to.max(s.position))
            .or_insert(CursorMove {
                name: s.cursor,
                from: s.saved,
                to: s.position,
            });
    }

    fn is_open(&self) -> bool {
        self.closes_at.is_some()
    }
}

/// How a window's save ended.
enum Saved {
    /// Saved, with the cursors it moved.
    Applied(Vec<CursorMove>),
    /// Dropped; the source must re-read from the saved cursors.
    Dropped,
    /// Not saved because the reducer is stopping (the events stay after the saved cursor).
    Abandoned,
}

impl Reducer {
    /// A reducer over `store` as `contract` says; refuses a contract whose FSM does not allow
    /// the reducer's cycle.
    pub fn new(store: Arc<dyn Store>, contract: ReducerContract) -> Result<Self, ReducerError> {
        for (from, to) in [
            ("IDLE", "AGGREGATING"),
            ("AGGREGATING", "PERSISTING"),
            ("PERSISTING", "IDLE"),
        ] {
            if !contract
                .fsm
                .transitions
                .iter()
                .any(|t| t.from == from && t.to == to)
            {
                return Err(ReducerError::MissingTransition { from, to });
            }
        }
        let cache = Arc::new(StatsCache::new(store.clone(), &contract.cache));
        Ok(Self {
            store,
            contract,
            status: Arc::new(ReducerStatus::default()),
            cache,
        })
    }

    /// Its counters and state, for health and metrics.
    pub fn status(&self) -> Arc<ReducerStatus> {
        self.status.clone()
    }

    /// The stats read cache, which this reducer invalidates as it saves.
    pub fn cache(&self) -> Arc<StatsCache> {
        self.cache.clone()
    }

    /// Runs until `stop` turns true, then saves the open window once and returns.
    pub async fn run<S: Source>(self, mut source: S, stop: CancellationToken) {
        let spec = &self.contract.aggregation;
        let window_len = Duration::from_millis(spec.window_ms);
        let batch = spec.batch_size as usize;
        let mut window = Window::default();
        let mut backoff = BACKOFF_MIN;
        let mut lag_at = Instant::now();
        self.update_lag(&mut source).await;
        while !stop.is_cancelled() {
            let wait = window
                .closes_at
                .map_or(IDLE_POLL, |t| t.saturating_duration_since(Instant::now()))
                .min(IDLE_POLL);
            let polled = tokio::select! {
                r = source.poll(batch, wait) => r,
                () = stop.cancelled() => break,
            };
            match polled {
                Ok(events) => {
                    backoff = BACKOFF_MIN;
                    for e in events {
                        window.add(e, window_len, &self.status);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reducer cannot read its source; retrying");
                    self.status.set_error(Some(format!("read: {e}")));
                    sleep_or_stop(backoff, &stop).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            }
            if window.closes_at.is_some_and(|t| Instant::now() >= t) {
                let w = std::mem::take(&mut window);
                self.close(w, &mut source, &stop).await;
                lag_at = Instant::now();
            } else if lag_at.elapsed() >= LAG_EVERY {
                self.update_lag(&mut source).await;
                lag_at = Instant::now();
            }
        }
        if window.is_open() {
            // Shutdown: one try at saving the open window (its events are re-read otherwise).
            self.close(window, &mut source, &stop).await;
        }
        self.status.set_state(ReducerState::Idle);
    }

    /// Saves a closed window and reports the result.
    async fn close<S: Source>(&self, w: Window, source: &mut S, stop: &CancellationToken) {
        self.status.set_state(ReducerState::Persisting);
        let events = w.events;
        match self.save(w, stop).await {
            Saved::Applied(moves) => {
                source.saved(&moves).await;
                self.status.items.fetch_add(events, Relaxed);
                self.status.windows.fetch_add(1, Relaxed);
                self.status.set_error(None);
            }
            Saved::Dropped => {
                self.status.replays.fetch_add(1, Relaxed);
                if let Err(e) = source.rewind().await {
                    self.status.set_error(Some(format!("rewind: {e}")));
                }
            }
            Saved::Abandoned => {}
        }
        self.status.set_state(ReducerState::Idle);
        self.update_lag(source).await;
    }

    /// The save loop of one window.
    async fn save(&self, mut w: Window, stop: &CancellationToken) -> Saved {
        let deltas = w.agg.take();
        let cursors: Vec<CursorMove> = std::mem::take(&mut w.moves).into_values().collect();
        let names: Vec<String> = deltas.iter().map(|(ns, _)| ns.clone()).collect();
        let mut known: HashMap<String, NamespaceState> = HashMap::new();
        let mut stale = names.clone();
        let mut conflicts = 0u32;
        let mut backoff = BACKOFF_MIN;
        loop {
            let outcome = async {
                if !stale.is_empty() {
                    for s in self.store.get_namespace_states(&stale).await? {
                        known.insert(s.namespace.clone(), s);
                    }
                }
                let states = deltas
                    .iter()
                    .map(|(ns, d)| match known.get(ns) {
                        Some(s) => d.apply(s),
                        None => d.apply(&NamespaceState::empty(ns.clone())),
                    })
                    .collect();
                self.store
                    .apply_reduction(&Reduction {
                        cursors: cursors.clone(),
                        states,
                    })
                    .await
            }
            .await;
            match outcome {
                Ok(ReductionOutcome::Applied) => {
                    self.cache.invalidate(names.iter().map(String::as_str));
                    return Saved::Applied(cursors);
                }
                Ok(ReductionOutcome::CursorMoved(cursor)) => {
                    tracing::info!(%cursor, "another reducer saved these events first; re-reading");
                    return Saved::Dropped;
                }
                Ok(ReductionOutcome::Conflict(namespaces)) => {
                    self.status.conflicts.fetch_add(1, Relaxed);
                    conflicts += 1;
                    if conflicts > self.contract.aggregation.max_version_retries {
                        tracing::warn!(
                            ?namespaces,
                            conflicts,
                            "version conflicts exhausted the retries; re-reading the window"
                        );
                        return Saved::Dropped;
                    }
                    for ns in &namespaces {
                        known.remove(ns);
                    }
                    stale = namespaces;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reducer cannot save its window; retrying");
                    self.status.set_error(Some(format!("save: {e}")));
                    if stop.is_cancelled() {
                        return Saved::Abandoned;
                    }
                    sleep_or_stop(backoff, stop).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    // What is stored may have changed meanwhile.
                    known.clear();
                    stale = names.clone();
                }
            }
        }
    }

    async fn update_lag<S: Source>(&self, source: &mut S) {
        if let Some(lag) = source.lag().await {
            self.status.lag.store(lag, Relaxed);
        }
        self.status.set_cursors(source.owned());
    }
}

async fn sleep_or_stop(d: Duration, stop: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        () = stop.cancelled() => {}
    }
}

//! What the reducer reports to `/health` and `/metrics`, shared with the API.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;

use serde::Serialize;

/// The reducer's FSM states (contract `fsm`): IDLE → AGGREGATING → PERSISTING → IDLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReducerState {
    /// No open window.
    Idle,
    /// A window is open and folding events in.
    Aggregating,
    /// The window is being saved.
    Persisting,
}

impl ReducerState {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "IDLE",
            Self::Aggregating => "AGGREGATING",
            Self::Persisting => "PERSISTING",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Aggregating,
            2 => Self::Persisting,
            _ => Self::Idle,
        }
    }
}

/// Counters and state of a running reducer (lock-free reads for scrapes).
#[derive(Debug, Default)]
pub struct ReducerStatus {
    state: AtomicU8,
    /// Events whose effect was saved (`reducer_items_total`).
    pub items: AtomicU64,
    /// Events in the stream not yet saved into the aggregates (`reducer_lag_events`).
    pub lag: AtomicU64,
    /// Windows saved.
    pub windows: AtomicU64,
    /// Optimistic-lock conflicts retried.
    pub conflicts: AtomicU64,
    /// Windows dropped because another reducer had moved the cursor (re-read, not lost).
    pub replays: AtomicU64,
    /// Events that were not valid `STAMP_CREATED` envelopes (skipped, logged).
    pub malformed: AtomicU64,
    last_error: Mutex<Option<String>>,
    cursors: Mutex<Vec<String>>,
}

impl ReducerStatus {
    /// Current FSM state.
    pub fn state(&self) -> ReducerState {
        ReducerState::from_u8(self.state.load(Relaxed))
    }

    pub(super) fn set_state(&self, s: ReducerState) {
        self.state.store(s as u8, Relaxed);
    }

    /// Why the last save or read failed, until one succeeds.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("not poisoned").clone()
    }

    /// The cursors (streams, partitions) this reducer reads.
    pub fn cursors(&self) -> Vec<String> {
        self.cursors.lock().expect("not poisoned").clone()
    }

    pub(super) fn set_cursors(&self, c: Vec<String>) {
        *self.cursors.lock().expect("not poisoned") = c;
    }

    pub(super) fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().expect("not poisoned") = e;
    }
}

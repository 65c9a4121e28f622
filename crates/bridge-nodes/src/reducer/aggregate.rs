//! Windowed `NAMESPACE_GROUPING` aggregation. Events are folded into one [`Delta`] per
//! namespace; a delta is merged into the stored [`NamespaceState`] when the window closes.
//!
//! Exactly-once effect is the engine's job, not this module's: a window's states are saved in
//! the same transaction as the stream cursor that covers its events, so a replay starts just
//! after the last saved window and an unsaved window is simply read again.

use std::collections::{BTreeSet, HashMap};

use bridge_store::NamespaceState;
use chrono::{DateTime, Utc};

pub use bridge_events::source::StampEvent;

/// What one window adds to a namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Stamps.
    pub stamps: i64,
    /// Their total size.
    pub size_bytes: i64,
    /// Content types seen.
    pub file_types: BTreeSet<String>,
    /// Stamps made by a workflow.
    pub workflows: i64,
    /// Earliest stamp time.
    pub first: Option<DateTime<Utc>>,
    /// Latest stamp time.
    pub last: Option<DateTime<Utc>>,
    /// Highest `seq` folded in.
    pub last_seq: i64,
}

impl Delta {
    fn add(&mut self, e: &StampEvent) {
        self.stamps += 1;
        self.size_bytes += e.file_size;
        // Most events repeat a known type: look before allocating.
        if !self.file_types.contains(&e.content_type) {
            self.file_types.insert(e.content_type.clone());
        }
        self.workflows += i64::from(e.has_workflow);
        self.first = Some(self.first.map_or(e.created_at, |f| f.min(e.created_at)));
        self.last = Some(self.last.map_or(e.created_at, |l| l.max(e.created_at)));
        self.last_seq = self.last_seq.max(e.seq);
    }

    /// `state` with this delta applied (the version is left to the optimistic-lock save).
    pub fn apply(&self, state: &NamespaceState) -> NamespaceState {
        let mut next = state.clone();
        next.total_stamps += self.stamps;
        next.total_size_bytes += self.size_bytes;
        let mut types: BTreeSet<String> = next.file_types.into_iter().collect();
        types.extend(self.file_types.iter().cloned());
        next.file_types = types.into_iter().collect();
        next.workflow_count += self.workflows;
        next.first_stamp_at = min_opt(next.first_stamp_at, self.first);
        next.last_stamp_at = max_opt(next.last_stamp_at, self.last);
        next.last_event_seq = next.last_event_seq.max(self.last_seq);
        next.updated_at = Utc::now();
        next
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The open window: one delta per namespace.
#[derive(Debug, Default)]
pub struct Aggregator {
    deltas: HashMap<String, Delta>,
    items: usize,
}

impl Aggregator {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds `e` in.
    pub fn add(&mut self, e: &StampEvent) {
        match self.deltas.get_mut(&e.namespace) {
            Some(d) => d.add(e),
            None => {
                let mut d = Delta::default();
                d.add(e);
                self.deltas.insert(e.namespace.clone(), d);
            }
        }
        self.items += 1;
    }

    /// Events folded into the open window.
    pub fn len(&self) -> usize {
        self.items
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Closes the window: its deltas, sorted by namespace (a stable order for the saves).
    pub fn take(&mut self) -> Vec<(String, Delta)> {
        self.items = 0;
        let mut out: Vec<(String, Delta)> = self.deltas.drain().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(seq: i64, ns: &str, ty: &str, size: i64, t: i64) -> StampEvent {
        StampEvent {
            seq,
            namespace: ns.into(),
            content_type: ty.into(),
            file_size: size,
            has_workflow: seq % 3 != 0,
            created_at: DateTime::from_timestamp(1_700_000_000 + t, 0).unwrap(),
        }
    }

    /// The totals a direct recount of `events` gives for `ns`.
    fn recount(events: &[StampEvent], ns: &str) -> (i64, i64, Vec<String>, i64, i64) {
        let mine: Vec<_> = events.iter().filter(|e| e.namespace == ns).collect();
        let mut types: Vec<String> = mine.iter().map(|e| e.content_type.clone()).collect();
        types.sort();
        types.dedup();
        (
            mine.len() as i64,
            mine.iter().map(|e| e.file_size).sum(),
            types,
            mine.iter().filter(|e| e.has_workflow).count() as i64,
            mine.iter().map(|e| e.seq).max().unwrap_or(0),
        )
    }

    fn stream() -> impl Strategy<Value = Vec<StampEvent>> {
        prop::collection::vec((0..4usize, 0..3usize, 0..10_000i64, 0..100_000i64), 0..300).prop_map(
            |raw| {
                raw.into_iter()
                    .enumerate()
                    .map(|(i, (ns, ty, size, t))| {
                        event(
                            i as i64 + 1,
                            ["a", "b", "c", "d"][ns],
                            ["text/plain", "image/png", "text/x-python"][ty],
                            size,
                            t,
                        )
                    })
                    .collect()
            },
        )
    }

    proptest! {
        /// Windows of any size saved with their cursor, a crash that loses the open window,
        /// and a restart from the saved cursor: the states equal a direct recount.
        #[test]
        fn windows_and_replays_equal_a_recount(events in stream(), window in 1..50usize, crash_at in 0..300usize) {
            let mut states: HashMap<String, NamespaceState> = HashMap::new();
            // The cursor: events before it are in `states` (saved together with them).
            let mut cursor = 0usize;
            let persist = |agg: &mut Aggregator, upto: usize, states: &mut HashMap<String, NamespaceState>, cursor: &mut usize| {
                for (ns, d) in agg.take() {
                    let s = states.entry(ns.clone()).or_insert_with(|| NamespaceState::empty(ns.clone()));
                    *s = d.apply(s);
                }
                *cursor = upto;
            };
            let mut agg = Aggregator::new();
            for (i, e) in events.iter().enumerate().take(crash_at.min(events.len())) {
                agg.add(e);
                if (i + 1) % window == 0 {
                    persist(&mut agg, i + 1, &mut states, &mut cursor);
                }
            }
            // Restart: the open window is gone; read again from the saved cursor.
            let resume = cursor;
            let mut agg = Aggregator::new();
            for (i, e) in events.iter().enumerate().skip(resume) {
                agg.add(e);
                if (i + 1) % window == 0 {
                    persist(&mut agg, i + 1, &mut states, &mut cursor);
                }
            }
            persist(&mut agg, events.len(), &mut states, &mut cursor);
            for ns in ["a", "b", "c", "d"] {
                let want = recount(&events, ns);
                let got = states.get(ns).map(|s| (s.total_stamps, s.total_size_bytes, s.file_types.clone(), s.workflow_count, s.last_event_seq)).unwrap_or((0, 0, vec![], 0, 0));
                prop_assert_eq!(got, want, "namespace {}", ns);
            }
        }
    }

    #[test]
    fn first_and_last_times() {
        let mut agg = Aggregator::new();
        agg.add(&event(3, "a", "text/plain", 5, 30));
        agg.add(&event(4, "a", "image/png", 7, 90));
        assert_eq!(agg.len(), 2);
        let deltas = agg.take();
        assert!(agg.is_empty());
        let (_, d) = &deltas[0];
        let s = d.apply(&NamespaceState::empty("a"));
        assert_eq!(
            (s.total_stamps, s.total_size_bytes, s.last_event_seq),
            (2, 12, 4)
        );
        assert_eq!(s.first_stamp_at.unwrap().timestamp(), 1_700_000_030);
        assert_eq!(s.last_stamp_at.unwrap().timestamp(), 1_700_000_090);
        assert_eq!(s.file_types, vec!["image/png", "text/plain"]);
        // Applied again on top, the counts add up and the types stay distinct.
        let twice = d.apply(&s);
        assert_eq!((twice.total_stamps, twice.file_types.len()), (4, 2));
    }
}

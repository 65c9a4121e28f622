//! In-memory aggregation throughput of the namespace reducer (persistence excluded), against
//! the Python design's figures: 1,100 items/s, and 1,000 items in < 100 ms. Goal (issue 6):
//! ≥ 200,000 events/s aggregated.
//!
//! 1,000,000 STAMP_CREATED events over 1,000 namespaces and 5 content types, folded in
//! windows of 100 (the contract's batch size), each window closed and its deltas applied to
//! in-memory states, as the reducer does before saving.

use std::collections::HashMap;
use std::time::Instant;

use bridge_nodes::reducer::{Aggregator, StampEvent};
use bridge_store::NamespaceState;
use chrono::{DateTime, Utc};

const EVENTS: usize = 1_000_000;
const NAMESPACES: usize = 1_000;
const BATCH: usize = 100;

fn events() -> Vec<StampEvent> {
    let types = [
        "text/plain",
        "text/x-python",
        "image/png",
        "application/json",
        "text/markdown",
    ];
    let base = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    (0..EVENTS)
        .map(|i| StampEvent {
            seq: i as i64 + 1,
            namespace: format!("ns{}", (i * 7919) % NAMESPACES),
            content_type: types[i % types.len()].to_owned(),
            file_size: (i % 4096) as i64,
            has_workflow: true,
            created_at: base + chrono::Duration::milliseconds(i as i64),
        })
        .collect()
}

fn run(events: &[StampEvent]) -> (f64, HashMap<String, NamespaceState>) {
    let mut states: HashMap<String, NamespaceState> = HashMap::new();
    let mut agg = Aggregator::new();
    let started = Instant::now();
    for chunk in events.chunks(BATCH) {
        for e in chunk {
            agg.add(e);
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

fn main() {
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
    println!("reducer/aggregate              {rate:>10.0} events/s ({EVENTS} events, {NAMESPACES} namespaces, windows of {BATCH})");
    println!(
        "reducer/vs python design       {:>10.0} x (1,100 items/s)",
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

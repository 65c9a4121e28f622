//! Outbox-to-broker throughput against a raw rdkafka producer sending the same events, side
//! by side in one run (issue: ≥ 50 % of the raw producer). Needs a broker:
//! `OMNINODE_BENCH_KAFKA=host:port` (`scripts/bench` starts one with `scripts/kafka`).
//!
//! relay: 2,000 stamps' 20,000 events committed in the outbox (SQLite, not timed), then the
//!        relay claims, sends, awaits confirmation and marks them sent; timed until the outbox
//!        is empty.
//! raw:   an idempotent acks=all producer sends the same 20,000 payloads with the same keys,
//!        all at once, timed until every delivery is confirmed.
//!
//! Five rounds, alternating which of the two runs first; the median ratio is reported.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_core::topics::TopicSpec;
use bridge_events::admin::ensure_topics;
use bridge_events::{KafkaConnection, Relay, RelayConfig};
use bridge_store::{EventRow, SqliteStore, StampRecord, StampWrite, Store};
use chrono::Utc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

const STAMPS: usize = 2_000;
const EVENTS_PER_STAMP: usize = 10;
/// Rounds of raw and relay runs (odd: the median is one of them).
const ROUNDS: usize = 5;

fn payload(i: usize) -> String {
    // About the size of a workflow event envelope.
    format!(
        "{{\"envelope_version\":\"1.0\",\"event_id\":\"{}\",\"event_type\":\"STEP_COMPLETED\",\
         \"correlation_id\":\"{}\",\"source\":{{\"service\":\"omninode-bridge\",\"node_id\":\"orchestrator\",\
         \"version\":\"0.1.0\"}},\"timestamp\":\"2026-11-26T12:34:56.789Z\",\"payload\":{{\"step\":\"hash_generation\",\
         \"index\":{i},\"duration_ms\":0.012}}}}",
        Uuid::now_v7(),
        Uuid::new_v4()
    )
}

fn writes(topic: &str) -> Vec<StampWrite> {
    (0..STAMPS)
        .map(|i| {
            let correlation_id = Uuid::new_v4();
            let stamp = StampRecord {
                stamp_id: Uuid::now_v7(),
                namespace: "bench".into(),
                file_hash: format!("{i:064x}"),
                content_type: "text/plain".into(),
                file_size: 10,
                file_path: None,
                stamp_type: "rich".into(),
                sidecar: false,
                stamp: "# stamp".into(),
                metadata: None,
                op_id: None,
                workflow_id: None,
                correlation_id,
                created_at: Utc::now(),
                signing_key: None,
                signature: None,
                log_index: None,
                log_proof: None,
            };
            let events = (0..EVENTS_PER_STAMP)
                .map(|j| EventRow {
                    event_id: Uuid::now_v7(),
                    event_type: bridge_core::EventType::StepCompleted,
                    topic: Some(topic.to_owned()),
                    message_key: correlation_id.to_string(),
                    correlation_id,
                    workflow_id: None,
                    namespace: Some("bench".into()),
                    payload: payload(i * EVENTS_PER_STAMP + j),
                    created_at: Utc::now(),
                })
                .collect();
            StampWrite {
                stamp,
                workflow: None,
                events,
                entry: None,
            }
        })
        .collect()
}

fn spec(name: &str) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions: 3,
        replication_factor: 1,
        retention_ms: 3_600_000,
    }
}

async fn relay_rate(kafka: &KafkaConnection, topic: &str) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    for w in writes(topic) {
        store.record_stamp(w).await.unwrap();
    }
    let total = store.pending_events().await.unwrap();
    assert_eq!(total as usize, STAMPS * EVENTS_PER_STAMP);
    let topics = vec![spec(topic), spec(&format!("{topic}.dlq"))];
    ensure_topics(kafka, &topics).await.unwrap();
    let relay = Relay::new(store.clone(), RelayConfig::new(kafka.clone()), topics);
    let stop = tokio_util::sync::CancellationToken::new();
    let stop_rx = stop.clone();
    let started = Instant::now();
    let task = tokio::spawn(relay.run(stop_rx));
    while store.pending_events().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    task.await.unwrap();
    rate
}

async fn raw_rate(kafka: &KafkaConnection, topic: &str) -> f64 {
    ensure_topics(kafka, &[spec(topic)]).await.unwrap();
    let mut c = kafka.client_config();
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2");
    let producer: FutureProducer = c.create().unwrap();
    let rows: Vec<(String, String)> = writes(topic)
        .into_iter()
        .flat_map(|w| w.events)
        .map(|e| (e.message_key, e.payload))
        .collect();
    let started = Instant::now();
    let deliveries: Vec<_> = rows
        .iter()
        .map(|(key, payload)| {
            producer
                .send_result(FutureRecord::to(topic).key(key).payload(payload))
                .map_err(|(e, _)| e)
                .unwrap()
        })
        .collect();
    for d in deliveries {
        d.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    rows.len() as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let Ok(brokers) = std::env::var("OMNINODE_BENCH_KAFKA") else {
        eprintln!("relay bench: set OMNINODE_BENCH_KAFKA=host:port (scripts/bench does)");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let brokers = KafkaConnection::plaintext(brokers);
    rt.block_on(async {
        // Rounds alternate which goes first (a neighbour's burst then hits both alike); each
        // ratio is of the two runs of one round, and the median is reported.
        let mut ratios = Vec::new();
        for round in 0..ROUNDS {
            let run = Uuid::new_v4().simple().to_string();
            let (raw, relay) = if round % 2 == 0 {
                let raw = raw_rate(&brokers, &format!("bench-raw-{run}")).await;
                (raw, relay_rate(&brokers, &format!("bench-relay-{run}")).await)
            } else {
                let relay = relay_rate(&brokers, &format!("bench-relay-{run}")).await;
                (raw_rate(&brokers, &format!("bench-raw-{run}")).await, relay)
            };
            println!(
                "relay/round {} raw {raw:>8.0} events/s, relay {relay:>8.0} events/s: {:5.1} %",
                round + 1,
                100.0 * relay / raw
            );
            ratios.push(relay / raw);
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "relay/ratio                    {:>10.1} %  (median of {ROUNDS} alternating rounds; goal >= 50 %)",
            100.0 * ratios[ROUNDS / 2]
        );
    });
}

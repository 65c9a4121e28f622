//! Event delivery to a real Kafka-protocol broker (Tansu, started by `scripts/test` through
//! `scripts/kafka`), read back with a real librdkafka consumer.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::Value;

use crate::helpers::{stamp_body, Server, OWN_NODES_KAFKA};

/// The broker `scripts/test` started. Not optional: a Kafka test that skipped itself would
/// pass with delivery missing.
pub(crate) fn brokers() -> String {
    std::env::var("OMNINODE_TEST_KAFKA")
        .expect("OMNINODE_TEST_KAFKA is not set: run ./scripts/test, which starts the broker")
}

/// A topic prefix of this test's own, so tests sharing the broker never read each other.
pub(crate) fn unique_env() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// One consumed message.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: String,
    pub(crate) event_id_header: String,
    pub(crate) envelope: Value,
}

/// The workflow event topics of `env` (as the shipped contract names them).
pub(crate) fn workflow_topics(env: &str) -> Vec<String> {
    [
        "workflow-started",
        "state-transition",
        "step-completed",
        "intelligence-requested",
        "intelligence-received",
        "hash-generated",
        "stamp-created",
        "workflow-completed",
        "workflow-failed",
    ]
    .iter()
    .map(|slug| format!("{env}.omninode_bridge.onex.evt.{slug}.v1"))
    .collect()
}

/// Reads `topics` from the beginning until `want` messages arrived or `timeout` passed.
pub(crate) async fn consume(topics: &[String], want: usize, timeout: Duration) -> Vec<Received> {
    consume_until(&brokers(), topics, timeout, |got| got.len() >= want).await
}

/// Reads `topics` on `brokers` from the beginning until `done` says so or `timeout` passed.
pub(crate) async fn consume_until(
    brokers: &str,
    topics: &[String],
    timeout: Duration,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names).unwrap();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while !done(&out) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(next) = tokio::time::timeout(left, consumer.recv()).await else {
            break;
        };
        let m = next.unwrap();
        let header = m
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "event_id"))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        out.push(Received {
            topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
            event_id_header: header,
            envelope: serde_json::from_slice(m.payload().unwrap_or_default()).unwrap(),
        });
    }
    out
}

/// Polls `/metrics` until it has `line`.
pub(crate) async fn wait_metric(s: &Server, line: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let m = s.metrics().await;
        if m.lines().any(|l| l == line) {
            return m;
        }
        assert!(Instant::now() < deadline, "no {line:?} in:\n{m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `/metrics` until the outbox is empty.
pub(crate) async fn wait_outbox_empty(s: &Server, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let m = s.metrics().await;
        if m.lines().any(|l| l == "events_pending 0") {
            return;
        }
        assert!(Instant::now() < deadline, "outbox not drained:\n{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stamps_events_arrive_on_their_topics_in_order_with_their_keys() {
    let env = unique_env();
    let b = brokers();
    let s = Server::start(&["--kafka-brokers", &b, "--env", &env]);
    let mut correlations = Vec::new();
    for i in 0..3 {
        correlations.push(s.stamp_new(&format!("kafka {i}\n")).await);
    }
    wait_outbox_empty(&s, Duration::from_secs(30)).await;
    let got = consume(&workflow_topics(&env), 30, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 30, "10 events per stamp");

    let mut per_workflow: HashMap<&str, Vec<&Received>> = HashMap::new();
    for m in &got {
        let e = &m.envelope;
        assert_eq!(e["envelope_version"], "1.0");
        assert_eq!(e["event_id"].as_str().unwrap(), m.event_id_header);
        // SPEC §7: workflow events are keyed by correlation id; STAMP_CREATED, the reducer's
        // input, by namespace (reducer instances split the namespaces by partition).
        if e["event_type"] == "STAMP_CREATED" {
            assert_eq!(m.key, "ns");
        } else {
            assert_eq!(e["correlation_id"].as_str().unwrap(), m.key);
        }
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(e["source"]["service"].is_string());
        // The topic is the event type's, per the contract.
        let slug = e["event_type"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .replace('_', "-");
        assert_eq!(m.topic, format!("{env}.omninode_bridge.onex.evt.{slug}.v1"));
        per_workflow
            .entry(e["correlation_id"].as_str().unwrap())
            .or_default()
            .push(m);
    }
    assert_eq!(per_workflow.len(), 3);
    for c in &correlations {
        let events = &per_workflow[c.as_str()];
        assert_eq!(events.len(), 10, "{c}");
        let types: BTreeMap<&str, usize> = events.iter().fold(BTreeMap::new(), |mut acc, m| {
            *acc.entry(m.envelope["event_type"].as_str().unwrap())
                .or_default() += 1;
            acc
        });
        assert_eq!(types["STAMP_CREATED"], 1);
        assert_eq!(types["WORKFLOW_COMPLETED"], 1);
        // In order within each topic: offsets follow the events' own times.
        let mut by_topic: HashMap<&str, Vec<&Received>> = HashMap::new();
        for m in events {
            by_topic.entry(m.topic.as_str()).or_default().push(m);
        }
        for (topic, mut ms) in by_topic {
            assert!(
                ms.windows(2).all(|w| w[0].partition == w[1].partition),
                "{topic}: one partition per key"
            );
            ms.sort_by_key(|m| m.offset);
            let times: Vec<&str> = ms
                .iter()
                .map(|m| m.envelope["timestamp"].as_str().unwrap())
                .collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "{topic}: {times:?}");
        }
    }
    let metrics = s.metrics().await;
    // 30 workflow events and the server's own node registrations.
    let published = format!("events_published_total {}", 30 + OWN_NODES_KAFKA);
    assert!(metrics.contains(&published), "{metrics}");
    let h = s.get("/health").await;
    assert_eq!(
        h.body["data"]["components"]["kafka"]["status"], "healthy",
        "{}",
        h.body
    );
}

#[test]
fn topics_create_is_idempotent_and_list_shows_partitions() {
    let env = unique_env();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(crate::helpers::bin())
            .args(args)
            .args(["--kafka-brokers", &brokers(), "--env", &env])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let first = run(&["topics", "create"]);
    let stamp_created = format!("{env}.omninode_bridge.onex.evt.stamp-created.v1");
    assert!(
        first.contains(&format!("created\t{stamp_created}\t3 partitions")),
        "{first}"
    );
    assert!(first.contains(&format!("created\t{stamp_created}.dlq\t1 partitions")));
    let second = run(&["topics", "create"]);
    assert!(!second.contains("created\t"), "{second}");
    assert_eq!(second.lines().count(), first.lines().count());
    let listed = run(&["topics", "list"]);
    assert!(
        listed.lines().any(|l| l == format!("{stamp_created}\t3")),
        "{listed}"
    );
    assert!(listed
        .lines()
        .any(|l| l == "omninode_codegen_status_session_v1\t6"));
    assert!(listed.lines().any(|l| l == "omninode_system_alerts\t1"));
}

/// A Kafka-mode server whose events over 2,000 bytes go to their dead-letter topics.
fn small_message_server(brokers: &str, env: &str, extra: &[&str]) -> Server {
    let flags = [
        "--kafka-brokers",
        brokers,
        "--env",
        env,
        "--kafka-max-message-bytes",
        "2000",
    ];
    Server::start(&[&flags[..], extra].concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_event_goes_to_its_dead_letter_topic_with_the_reason() {
    let env = unique_env();
    let b = brokers();
    let s = small_message_server(&b, &env, &[]);
    let small = s.post("/stamp", &stamp_body("small\n", "ns")).await;
    assert_eq!(small.status, 201);
    // STAMP_CREATED carries the file path: 3,000 bytes of it push that event over the limit.
    let long_path = format!("{}.txt", "p".repeat(3000));
    let big = s
        .post(
            "/stamp",
            &serde_json::json!({"content": "big\n", "namespace": "ns", "file_path": long_path}),
        )
        .await;
    assert_eq!(big.status, 201, "{}", big.body);
    wait_outbox_empty(&s, Duration::from_secs(30)).await;

    let topic = format!("{env}.omninode_bridge.onex.evt.stamp-created.v1");
    let letters = consume(&[format!("{topic}.dlq")], 1, Duration::from_secs(20)).await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0].envelope;
    assert!(
        letter["reason"]
            .as_str()
            .unwrap()
            .contains("message too large"),
        "{letter}"
    );
    assert_eq!(letter["topic"], topic.as_str());
    assert_eq!(letter["event_type"], "STAMP_CREATED");
    assert_eq!(
        letters[0].event_id_header,
        letter["event_id"].as_str().unwrap()
    );
    // The small stamp's STAMP_CREATED went to the topic itself; the big one's did not.
    // (Waits for a second message that must not come.)
    let delivered = consume(std::slice::from_ref(&topic), 2, Duration::from_secs(5)).await;
    assert_eq!(delivered.len(), 1);
    assert_ne!(
        delivered[0].envelope["event_id"], letter["event_id"],
        "the oversized event must not be on the topic"
    );
    let metrics = s.metrics().await;
    let published = format!("events_published_total {}", 19 + OWN_NODES_KAFKA);
    assert!(metrics.contains(&published), "{metrics}");
    // The DLQ monitor counts the letter on its topic.
    let line = format!("dlq_messages_total{{topic=\"{topic}.dlq\"}} 1");
    wait_metric(&s, &line, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossing_the_dlq_threshold_publishes_exactly_one_alert() {
    let env = unique_env();
    let b = brokers();
    let s = small_message_server(&b, &env, &["--dlq-alert-threshold", "3"]);
    for i in 0..5 {
        let path = format!("{}{i}.txt", "q".repeat(3000));
        let r = s
            .post(
                "/stamp",
                &serde_json::json!({"content": format!("dlq {i}\n"), "namespace": "ns", "file_path": path}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let dlq = format!("{env}.omninode_bridge.onex.evt.stamp-created.v1.dlq");
    wait_metric(
        &s,
        &format!("dlq_messages_total{{topic=\"{dlq}\"}} 5"),
        Duration::from_secs(60),
    )
    .await;
    // Alerts of every test share the topic: ours carry our env as key. Wait for a second
    // one that must not come.
    let alerts = consume_until(
        &b,
        &["omninode_system_alerts".to_owned()],
        Duration::from_secs(5),
        |got| got.iter().filter(|m| m.key == env).count() >= 2,
    )
    .await;
    let ours: Vec<_> = alerts.iter().filter(|m| m.key == env).collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    let a = &ours[0].envelope;
    assert_eq!(a["event_type"], "DLQ_THRESHOLD_EXCEEDED");
    assert_eq!(a["payload"]["threshold"], 3);
    assert!(a["payload"]["total"].as_u64().unwrap() >= 3);
    let h = s.get("/health").await;
    assert_eq!(
        h.body["data"]["components"]["kafka"]["info"]["dlq_alerts"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_publish_sends_valid_payloads_and_dead_letters_invalid_ones() {
    let b = brokers();
    let dir = tempfile::tempdir().unwrap();
    let marker = uuid::Uuid::new_v4().to_string();
    let run = |file: &str, body: String| {
        let path = dir.path().join(file);
        std::fs::write(&path, body).unwrap();
        std::process::Command::new(crate::helpers::bin())
            .args([
                "events",
                "publish",
                "--topic",
                "omninode_codegen_request_pattern_v1",
            ])
            .arg(&path)
            .args(["--kafka-brokers", &b])
            .output()
            .unwrap()
    };
    let valid = run(
        "ok.json",
        serde_json::json!({"correlation_id": marker, "session_id": uuid::Uuid::new_v4(),
                           "node_description": "a cache", "node_type": "effect", "limit": 3})
        .to_string(),
    );
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    let out = String::from_utf8(valid.stdout).unwrap();
    let fields: Vec<&str> = out.trim().split('\t').collect();
    assert_eq!(fields[..2], ["sent", "omninode_codegen_request_pattern_v1"]);
    let event_id = fields[4].to_owned();

    let invalid = run(
        "bad.json",
        serde_json::json!({"correlation_id": marker, "session_id": uuid::Uuid::new_v4(),
                           "node_description": "a cache", "node_type": "effect", "limit": 99})
        .to_string(),
    );
    assert_eq!(invalid.status.code(), Some(1));
    let out = String::from_utf8(invalid.stdout).unwrap();
    assert!(
        out.starts_with("dead-lettered\tomninode_codegen_dlq_pattern_v1\tlimit"),
        "{out}"
    );

    let got = consume_until(
        &b,
        &[
            "omninode_codegen_request_pattern_v1".to_owned(),
            "omninode_codegen_dlq_pattern_v1".to_owned(),
        ],
        Duration::from_secs(20),
        |got| {
            got.iter()
                .filter(|m| {
                    m.key == marker
                        || m.envelope["payload"]
                            .as_str()
                            .is_some_and(|p| p.contains(&marker))
                })
                .count()
                >= 2
        },
    )
    .await;
    let sent = got
        .iter()
        .find(|m| m.topic == "omninode_codegen_request_pattern_v1" && m.key == marker)
        .expect("the valid event on its topic, keyed by correlation id");
    assert_eq!(sent.envelope["event_id"], event_id.as_str());
    assert_eq!(sent.envelope["event_type"], "CODEGEN_PATTERN_REQUEST");
    assert_eq!(sent.envelope["payload"]["limit"], 3);
    assert!(sent.envelope["session_id"].is_string());
    let letter = got
        .iter()
        .find(|m| {
            m.topic == "omninode_codegen_dlq_pattern_v1"
                && m.envelope["payload"]
                    .as_str()
                    .is_some_and(|p| p.contains(&marker))
        })
        .expect("the invalid event in the DLQ");
    assert!(letter.envelope["reason"]
        .as_str()
        .unwrap()
        .contains("limit: 99 is outside 1-20"));
    // Unknown topic or unreadable file: bad input, nothing sent.
    let o = std::process::Command::new(crate::helpers::bin())
        .args([
            "events",
            "publish",
            "--topic",
            "nope",
            "missing.json",
            "--kafka-brokers",
            &b,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

//! Delivery under faults: the network to the broker cut for longer than the producer's
//! message timeout, and the service killed between publishing and marking rows sent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{kafka_script, stamp_body, Server};
use crate::kafka::{
    brokers, consume_until, unique_env, wait_outbox_empty, workflow_topics, Received,
};

/// A TCP proxy in front of a broker that can cut every connection and refuse new ones.
struct Proxy {
    port: u16,
    cut: Arc<watch::Sender<bool>>,
}

impl Proxy {
    async fn start(listener: TcpListener, target: String) -> Proxy {
        let port = listener.local_addr().unwrap().port();
        let (cut, _) = watch::channel(false);
        let cut = Arc::new(cut);
        let rx = cut.subscribe();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if *rx.borrow() {
                    drop(inbound); // refused while cut
                    continue;
                }
                let target = target.clone();
                let mut cut_rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Proxy { port, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

/// A broker of this test's own behind the proxy (advertised as the proxy's address).
struct Broker {
    dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        kafka_script(&["stop", self.dir.path().to_str().unwrap()], &[]);
    }
}

async fn broker_behind_proxy() -> (Broker, Proxy) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let direct = kafka_script(&["start", dir.path().to_str().unwrap(), &proxy_port], &[]);
    let proxy = Proxy::start(listener, direct).await;
    (Broker { dir }, proxy)
}

fn distinct_ids(got: &[Received]) -> HashSet<String> {
    got.iter()
        .map(|m| m.envelope["event_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_kafka_status(s: &Server, want: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let h = s.get("/health").await;
        if h.body["data"]["components"]["kafka"]["status"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "kafka never {want}: {}", h.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_cut_longer_than_the_message_timeout_loses_nothing() {
    let (_broker, proxy) = broker_behind_proxy().await;
    let via_proxy = format!("127.0.0.1:{}", proxy.port);
    let env = unique_env();
    let s = Server::start(&[
        "--kafka-brokers",
        &via_proxy,
        "--env",
        &env,
        "--kafka-message-timeout-ms",
        "1500",
    ]);
    let mut correlations = Vec::new();
    for i in 0..2 {
        correlations.push(s.stamp_new(&format!("before cut {i}\n")).await);
    }
    wait_outbox_empty(&s, Duration::from_secs(30)).await;

    proxy.set_cut(true);
    let cut_at = Instant::now();
    for i in 0..5 {
        let started = Instant::now();
        let r = s
            .post("/stamp", &stamp_body(&format!("during cut {i}\n"), "ns"))
            .await;
        assert_eq!(
            r.status, 201,
            "stamping must not wait for Kafka: {}",
            r.body
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        correlations.push(
            r.body["metadata"]["correlation_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    wait_kafka_status(&s, "degraded", Duration::from_secs(20)).await;
    // Longer than the producer's message timeout: queued sends have failed by now.
    let cut_for = Duration::from_secs(5);
    tokio::time::sleep(cut_for.saturating_sub(cut_at.elapsed())).await;
    proxy.set_cut(false);

    wait_outbox_empty(&s, Duration::from_secs(60)).await;
    wait_kafka_status(&s, "healthy", Duration::from_secs(20)).await;
    let got = consume_until(
        &via_proxy,
        &workflow_topics(&env),
        Duration::from_secs(30),
        |got| distinct_ids(got).len() >= 70,
    )
    .await;
    // At least once: every event of every stamp, the cut's included.
    assert_eq!(distinct_ids(&got).len(), 70);
    let mut per_workflow: HashMap<&str, HashSet<&str>> = HashMap::new();
    for m in &got {
        per_workflow
            .entry(m.envelope["correlation_id"].as_str().unwrap())
            .or_default()
            .insert(m.envelope["event_id"].as_str().unwrap());
    }
    for c in &correlations {
        assert_eq!(per_workflow[c.as_str()].len(), 10, "workflow {c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_publish_and_marking_sent_resends_and_ids_deduplicate() {
    let data = tempfile::tempdir().unwrap();
    let env = unique_env();
    let b = brokers();
    let flags = [
        "--kafka-brokers",
        &b,
        "--env",
        &env,
        "--relay-lease-ms",
        "500",
    ];
    let mut crashing = Server::start_in(
        data.path(),
        // The stamp's batch, not the server's own node registrations published first.
        &[&flags[..], &["--fault-exit-after-publish", "STAMP_CREATED"]].concat(),
    );
    let correlation = crashing.stamp_new("crash me\n").await;
    // The relay publishes the stamp's events, then the process dies before marking them.
    assert_eq!(crashing.wait_exit(Duration::from_secs(30)), Some(70));
    drop(crashing);

    let s = Server::start_in(data.path(), &flags);
    wait_outbox_empty(&s, Duration::from_secs(30)).await;
    let got = consume_until(&b, &workflow_topics(&env), Duration::from_secs(30), |got| {
        got.len() >= 20
    })
    .await;
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for m in &got {
        assert_eq!(m.envelope["correlation_id"], correlation.as_str());
        *copies
            .entry(m.envelope["event_id"].as_str().unwrap())
            .or_default() += 1;
    }
    // Each of the 10 events was sent before the crash and again after it; the consumer keeps
    // one per event_id.
    assert_eq!(copies.len(), 10, "{copies:?}");
    assert!(copies.values().all(|&n| n == 2), "{copies:?}");
}

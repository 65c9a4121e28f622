//! The node registry through the API, the bridge's own nodes, health aggregation, and a
//! graceful shutdown under load.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{edited_contracts_many, stamp_body, Server};

fn node(id: &str) -> Value {
    json!({"node_id": id, "node_type": "effect", "version": "1.0.0",
           "capabilities": ["hash"], "endpoints": {"http": "http://10.0.0.7:9000"},
           "metadata": {"zone": "eu-1"}})
}

fn ids(r: &crate::helpers::Reply) -> Vec<String> {
    r.data()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_register_heartbeat_list_and_deregister() {
    let s = Server::start(&[]);
    let r = s.post("/registry/nodes", &node("ext-1")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.data()["health_status"], "HEALTHY");
    assert_eq!(r.data()["metadata"]["zone"], "eu-1");
    // Re-registration updates in place.
    let mut again = node("ext-1");
    again["version"] = json!("1.1.0");
    let r2 = s.post("/registry/nodes", &again).await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.data()["version"], "1.1.0");
    assert_eq!(r2.data()["registered_at"], r.data()["registered_at"]);

    // The bridge's own nodes are there too.
    let all = s.get("/registry/nodes").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let listed = ids(&all);
    assert!(listed.contains(&"ext-1".to_owned()), "{listed:?}");
    let own_reducer = ids(&s.get("/registry/nodes?type=reducer").await);
    assert_eq!(own_reducer.len(), 1, "{own_reducer:?}");
    assert!(own_reducer[0].starts_with("omninode-bridge.reducer."));
    assert_eq!(
        ids(&s.get("/registry/nodes?type=effect&healthy=true").await),
        vec!["ext-1"]
    );
    assert!(ids(&s.get("/registry/nodes?healthy=false").await).is_empty());

    let hb = s.post("/registry/nodes/ext-1/heartbeat", &json!({})).await;
    assert_eq!(hb.status, 200, "{}", hb.body);
    assert!(hb.data()["last_heartbeat"].as_str() > r2.data()["last_heartbeat"].as_str());
    let gone = s.delete("/registry/nodes/ext-1").await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    s.post("/registry/nodes/ext-1/heartbeat", &json!({}))
        .await
        .assert_error(404, "NODE_NOT_FOUND");
    s.delete("/registry/nodes/ext-1")
        .await
        .assert_error(404, "NODE_NOT_FOUND");
}

#[tokio::test]
async fn bad_registrations_are_refused_naming_the_field() {
    let s = Server::start(&[
        "--api-key",
        "key-all-0123",
        "--api-key",
        "key-scoped-01=team_a",
    ]);
    let post = |body: Value| {
        let s = &s;
        async move {
            s.post_with("/registry/nodes", &body, Some("key-all-0123"))
                .await
        }
    };
    let mut missing = node("n1");
    missing.as_object_mut().unwrap().remove("version");
    post(missing).await.assert_error(400, "MISSING_FIELD");
    let mut unknown = node("n1");
    unknown["colour"] = json!("red");
    post(unknown).await.assert_error(400, "UNKNOWN_FIELD");
    for (field, value) in [
        ("node_id", json!("a b")),
        ("node_id", json!("x".repeat(200))),
        ("node_type", json!("gateway")),
        ("version", json!("")),
        ("capabilities", json!(["ok", "bad\u{7}"])),
        ("endpoints", json!({"http": "relative/path"})),
        ("endpoints", json!(["http://x"])),
        ("metadata", json!([1, 2])),
        ("metadata", json!({"big": "x".repeat(17_000)})),
    ] {
        let mut body = node("n1");
        body[field] = value;
        let r = post(body).await;
        r.assert_error(400, "INVALID_FIELD");
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    let r = s
        .client
        .post(s.url("/registry/nodes"))
        .header("x-api-key", "key-all-0123")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    s.get_with("/registry/nodes?type=gateway", Some("key-all-0123"))
        .await
        .assert_error(400, "INVALID_QUERY");
    s.get_with("/registry/nodes?healthy=maybe", Some("key-all-0123"))
        .await
        .assert_error(400, "INVALID_QUERY");
    s.get_with("/registry/nodes?colour=red", Some("key-all-0123"))
        .await
        .assert_error(400, "INVALID_QUERY");
    let bad_id = s
        .client
        .post(s.url("/registry/nodes/a%20b/heartbeat"))
        .header("x-api-key", "key-all-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status().as_u16(), 400);
    // Namespace-scoped keys do not manage the deployment's nodes; no key at all is 401.
    s.post_with("/registry/nodes", &node("n1"), Some("key-scoped-01"))
        .await
        .assert_error(403, "REGISTRY_FORBIDDEN");
    s.post("/registry/nodes", &node("n1"))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_degrades_health_then_is_evicted() {
    // Heartbeats every 200 ms, 3 missed → UNHEALTHY after 600 ms, evicted 1 s later.
    let contracts = edited_contracts_many(&[
        (
            "registry/health.yaml",
            "heartbeat_interval_ms: 10000",
            "heartbeat_interval_ms: 200",
        ),
        (
            "registry/health.yaml",
            "eviction_ms: 300000",
            "eviction_ms: 1000",
        ),
    ]);
    let s = Server::start(&["--contracts", contracts.path().to_str().unwrap()]);
    assert_eq!(s.post("/registry/nodes", &node("quiet")).await.status, 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    let degraded = loop {
        let h = s.get("/health").await;
        if h.data()["components"]["registry"]["status"] == "degraded" {
            break h;
        }
        assert!(Instant::now() < deadline, "never degraded: {}", h.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(degraded.status, 200, "degraded still answers 200");
    assert_eq!(degraded.data()["status"], "degraded");
    assert_eq!(
        degraded.data()["components"]["registry"]["info"]["unhealthy"],
        json!(["quiet"])
    );
    assert!(degraded.data()["reasons"][0]
        .as_str()
        .unwrap()
        .contains("quiet"));
    // The bridge's own nodes keep heartbeating: only the silent one is unhealthy.
    assert_eq!(
        ids(&s.get("/registry/nodes?healthy=false").await),
        vec!["quiet"]
    );
    loop {
        if !ids(&s.get("/registry/nodes").await).contains(&"quiet".to_owned()) {
            break;
        }
        assert!(Instant::now() < deadline, "never evicted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let h = s.get("/health").await;
    assert_eq!(h.data()["status"], "healthy", "{}", h.body);
    assert_eq!(h.data()["reasons"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_loses_no_accepted_stamp() {
    let data = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(data.path(), &[]);
    let own_before = ids(&s.get("/registry/nodes").await);
    assert_eq!(own_before.len(), 2, "{own_before:?}");
    // 300 distinct stamps from 32 concurrent clients; SIGTERM lands in the middle.
    let client = s.client.clone();
    let url = s.url("/stamp");
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let (client, url, sent) = (client.clone(), url.clone(), sent.clone());
            tokio::spawn(async move {
                let mut accepted = Vec::new();
                for i in 0..10 {
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let body = stamp_body(&format!("burst {t} {i}\n"), "burst");
                    let Ok(r) = client.post(&url).json(&body).send().await else {
                        continue; // refused once the listener closed: never accepted
                    };
                    if r.status() == 201 {
                        let v: Value = r.json().await.unwrap();
                        accepted.push(v["data"]["file_hash"].as_str().unwrap().to_owned());
                    }
                }
                accepted
            })
        })
        .collect();
    while sent.load(std::sync::atomic::Ordering::Relaxed) < 60 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let started = Instant::now();
    assert_eq!(s.terminate(Duration::from_secs(30)), Some(0), "exit 0");
    assert!(started.elapsed() < Duration::from_secs(20));
    let mut accepted = Vec::new();
    for t in tasks {
        accepted.extend(t.await.unwrap());
    }
    // The signal came mid-burst: some stamps were accepted, the rest refused.
    assert!(
        !accepted.is_empty() && accepted.len() < 320,
        "{}",
        accepted.len()
    );
    drop(s);

    // Every 201 is durable, and its STAMP_CREATED event is in the log (the reducer, reading
    // only the log, counts exactly the accepted stamps).
    let contracts = crate::reducer::short_window(100);
    let s = Server::start_in(
        data.path(),
        &["--contracts", contracts.path().to_str().unwrap()],
    );
    for h in &accepted {
        let r = s.get(&format!("/stamp/{h}?namespace=burst")).await;
        assert_eq!(r.status, 200, "accepted stamp {h} lost: {}", r.body);
    }
    crate::reducer::wait_stats(&s, "burst", accepted.len() as i64).await;
    // The first life's nodes left the registry at shutdown; the second registered its own.
    let now = ids(&s.get("/registry/nodes").await);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().all(|n| !own_before.contains(n)), "{now:?}");
}

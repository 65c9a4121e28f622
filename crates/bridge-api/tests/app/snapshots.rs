//! The wire format of every route, success and error, pinned as insta snapshots (ids, times
//! and durations filtered; hashes kept, since they pin the hash rule too). A change to an
//! envelope, a field name or an error code shows up as a snapshot diff to review.

use axum::body::Body;
use axum::http::Method;
use bridge_api::ApiConfig;
use bridge_store::NamespaceState;
use serde_json::{json, Value};

use crate::helpers::{on_postgres, stable, Reply, TestApp};

/// The status and the body, as one document.
fn shown(r: &Reply) -> Value {
    json!({"status": r.status, "body": r.body})
}

macro_rules! snap {
    ($name:expr, $reply:expr) => {{
        let v = shown(&$reply);
        stable().bind(|| insta::assert_json_snapshot!($name, v));
    }};
}

fn stamp_body(content: &str) -> Value {
    json!({"content": content, "namespace": "snap", "file_path": "src/app.py"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamp_routes() {
    let app = TestApp::new().await;
    let created = app.post("/stamp", &stamp_body("print('hi')\n")).await;
    snap!("stamp_201_rich", created);
    let posts = [
        ("stamp_200_deduplicated", stamp_body("print('hi')\n")),
        (
            "stamp_201_lightweight",
            json!({"content": "x = 1\n", "namespace": "snap", "file_path": "a.py", "stamp_type": "lightweight"}),
        ),
        (
            "stamp_201_sidecar_json",
            json!({"content": "{\"a\": 1}", "namespace": "snap", "file_path": "a.json"}),
        ),
        (
            "stamp_400_invalid_namespace",
            json!({"content": "x", "namespace": "no spaces"}),
        ),
        (
            "stamp_400_unknown_field",
            json!({"content": "x", "namespace": "snap", "colour": 1}),
        ),
        (
            "stamp_400_empty_content",
            json!({"content": "", "namespace": "snap"}),
        ),
    ];
    for (name, body) in posts {
        snap!(name, app.post("/stamp", &body).await);
    }
    snap!(
        "stamp_415_wrong_media_type",
        app.request(Method::POST, "/stamp", Some("text/plain"), "x", None)
            .await
    );
    snap!(
        "stamp_prefixed_alias",
        app.post(
            "/api/v1/metadata-stamping/stamp",
            &stamp_body("print('hi')\n")
        )
        .await
    );

    // GET /stamp/{hash} and GET /workflows/{id}.
    let hash = created.data()["file_hash"].as_str().unwrap().to_owned();
    snap!(
        "lookup_200",
        app.get(&format!("/stamp/{hash}?namespace=snap")).await
    );
    snap!("lookup_400_bad_hash", app.get("/stamp/not-a-hash").await);
    snap!(
        "lookup_404",
        app.get(&format!("/stamp/{}", "0".repeat(64))).await
    );
    let wf = created.data()["workflow_id"].as_str().unwrap().to_owned();
    snap!("workflow_200", app.get(&format!("/workflows/{wf}")).await);
    snap!("workflow_400", app.get("/workflows/nope").await);
    snap!(
        "workflow_404",
        app.get("/workflows/0190d6f8-0000-7000-8000-000000000000")
            .await
    );

    let events = app.run_pending_outbox().await;
    assert_eq!(
        events.iter().filter(|e| *e == "STAMP_CREATED").count(),
        3,
        "one per new stamp: {events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_validate_and_hash_routes() {
    let app = TestApp::new().await;
    snap!(
        "batch_207_partial",
        app.post(
            "/stamp/batch",
            &json!({"items": [
                {"id": "ok", "content": "a\n", "namespace": "snap", "file_path": "a.txt"},
                {"id": "bad", "content": "b\n", "namespace": "bad ns"}
            ]})
        )
        .await
    );
    snap!(
        "batch_200_alias",
        app.post(
            "/batch",
            &json!({"items": [{"id": "one", "content": "c\n", "namespace": "snap", "file_path": "c.txt"}]})
        )
        .await
    );
    snap!(
        "batch_400_empty",
        app.post("/stamp/batch", &json!({"items": []})).await
    );

    let stamped = app
        .post("/stamp", &stamp_body("def f():\n    return 1\n"))
        .await;
    let content = stamped.data()["stamped_content"].as_str().unwrap();
    snap!(
        "validate_200_valid",
        app.post("/validate", &json!({"content": content})).await
    );
    snap!(
        "validate_200_no_stamp",
        app.post("/validate", &json!({"content": "plain\n"})).await
    );
    snap!(
        "validate_200_hash_mismatch",
        app.post(
            "/validate",
            &json!({"content": content.replace("return 1", "return 2")})
        )
        .await
    );
    snap!(
        "validate_400_bad_encoding",
        app.post(
            "/validate",
            &json!({"content": "***", "content_encoding": "base64"})
        )
        .await
    );

    snap!(
        "hash_200_raw",
        app.request(
            Method::POST,
            "/hash",
            Some("application/octet-stream"),
            "hello",
            None
        )
        .await
    );
    snap!(
        "hash_200_json",
        app.post("/hash", &json!({"content": "hello"})).await
    );
    let multipart =
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.txt\"\r\n\
                     Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    snap!(
        "hash_200_multipart",
        app.request(
            Method::POST,
            "/hash",
            Some("multipart/form-data; boundary=XyZ"),
            multipart,
            None
        )
        .await
    );
    snap!(
        "hash_400_json_without_content",
        app.post("/hash", &json!({})).await
    );
    snap!(
        "hash_415",
        app.request(Method::POST, "/hash", Some("image/png"), "x", None)
            .await
    );
    app.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_routes() {
    let app = TestApp::new().await;
    snap!("stats_404", app.get("/namespaces/snap/stats").await);
    snap!("stats_400", app.get("/namespaces/bad%20ns/stats").await);
    // What the reducer would have saved (the reducer itself is tested in bridge-nodes).
    let mut s = NamespaceState::empty("snap");
    s.total_stamps = 2;
    s.total_size_bytes = 30;
    s.file_types = vec!["text/plain".into(), "text/x-python".into()];
    s.workflow_count = 2;
    assert!(app.store.save_namespace_state(&s).await.unwrap());
    snap!("stats_200", app.get("/namespaces/snap/stats").await);
    snap!("namespaces_200", app.get("/namespaces?limit=10").await);
    snap!("namespaces_400", app.get("/namespaces?limit=0").await);
    snap!(
        "namespaces_400_unknown_param",
        app.get("/namespaces?x=1").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_routes() {
    let app = TestApp::new().await;
    let node = json!({"node_id": "snap-node-1", "node_type": "effect", "version": "1.0.0",
                      "capabilities": ["stamp"], "endpoints": {"http": "http://127.0.0.1:9"}});
    let posts = [
        ("node_201", "/registry/nodes", node.clone()),
        ("node_200_reregistered", "/registry/nodes", node),
        (
            "node_400",
            "/registry/nodes",
            json!({"node_id": "x", "node_type": "nope", "version": "1"}),
        ),
        (
            "heartbeat_200",
            "/registry/nodes/snap-node-1/heartbeat",
            json!({}),
        ),
        (
            "heartbeat_404",
            "/registry/nodes/nobody/heartbeat",
            json!({}),
        ),
    ];
    for (name, path, body) in posts {
        snap!(name, app.post(path, &body).await);
    }
    snap!("nodes_200", app.get("/registry/nodes?type=effect").await);
    snap!("nodes_400", app.get("/registry/nodes?type=alien").await);
    snap!(
        "deregister_200",
        app.delete("/registry/nodes/snap-node-1").await
    );
    snap!(
        "deregister_404",
        app.delete("/registry/nodes/snap-node-1").await
    );
    assert_eq!(
        app.run_pending_outbox().await,
        ["NODE_REGISTERED", "NODE_REGISTERED", "NODE_DEREGISTERED"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_unknown_routes() {
    let app = TestApp::new().await;
    let health = app.get("/health").await;
    let backend = &health.data()["components"]["database"]["info"]["backend"];
    if on_postgres() {
        // The PostgreSQL pass must really run on PostgreSQL (no silent SQLite fallback).
        assert_eq!(backend, "postgres", "{}", health.text);
        assert_eq!(health.status, 200);
    } else {
        assert_eq!(backend, "sqlite");
        snap!("health_200", health);
    }
    snap!("health_live_200", app.get("/health/live").await);
    snap!("health_ready_200", app.get("/health/ready").await);
    snap!("route_404", app.get("/no/such/route").await);
    snap!(
        "method_405",
        app.request(Method::DELETE, "/stamp", None, Body::empty(), None)
            .await
    );
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains("# TYPE stamps_created counter"),
        "{}",
        metrics.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_rate_limit_errors() {
    let app = TestApp::with_config(ApiConfig {
        api_keys: vec!["snap-key-0001=snap".parse().unwrap()],
        rate_limit: Some("2/m".parse().unwrap()),
        ..ApiConfig::default()
    })
    .await;
    let body = stamp_body("x\n").to_string();
    snap!(
        "auth_401_missing_key",
        app.request(
            Method::POST,
            "/stamp",
            Some("application/json"),
            body.clone(),
            None
        )
        .await
    );
    snap!(
        "auth_401_wrong_key",
        app.request(
            Method::POST,
            "/stamp",
            Some("application/json"),
            body.clone(),
            Some("wrong-key-999")
        )
        .await
    );
    snap!(
        "auth_403_other_namespace",
        app.request(
            Method::POST,
            "/stamp",
            Some("application/json"),
            json!({"content": "x\n", "namespace": "other"}).to_string(),
            Some("snap-key-0001")
        )
        .await
    );
    // The 2/m bucket is spent by the 403 above and the first of these; the second is 429.
    let list = || {
        let key = Some("snap-key-0001");
        app.request(Method::GET, "/namespaces", None, Body::empty(), key)
    };
    assert_eq!(list().await.status, 200);
    let limited = list().await;
    assert!(limited.headers.contains_key("retry-after"));
    snap!("rate_limit_429", limited);
    app.run_pending_outbox().await;
}

/// The OpenAPI document's routes and their methods (the document itself is the contract
/// issue's; this pins which routes it lists).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    let routes: Vec<String> = doc.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    stable().bind(|| insta::assert_json_snapshot!("openapi_routes", routes));
}

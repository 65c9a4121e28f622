//! API keys, namespace scoping and rate limiting, in process (moved from the spawned-binary
//! suite, which keeps the secure-default bind rule and the trace-level log check).

use bridge_api::{ApiConfig, ApiKey};
use serde_json::json;

use crate::helpers::{stamp_body, TestApp};

const ALL: &str = "key-all-0123";
const SCOPED: &str = "key-team-a-01";

async fn app_with(keys: &[String], rate_limit: Option<&str>) -> TestApp {
    TestApp::with_config(ApiConfig {
        api_keys: keys.iter().map(|k| k.parse::<ApiKey>().unwrap()).collect(),
        rate_limit: rate_limit.map(|r| r.parse().unwrap()),
        ..ApiConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_required_except_for_health_and_metrics() {
    let s = app_with(&[ALL.into(), format!("{SCOPED}=team_a|team_c")], None).await;
    s.post("/stamp", &stamp_body("x\n", "ns"))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.post_with("/stamp", &stamp_body("x\n", "ns"), Some("wrong-key-123"))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.get("/openapi.json")
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.post_raw("/hash", "application/octet-stream", "x")
        .await
        .assert_error(401, "UNAUTHORIZED");
    for open in [
        "/health",
        "/health/live",
        "/health/ready",
        "/api/v1/metadata-stamping/health",
    ] {
        assert_eq!(s.get(open).await.status, 200, "{open}");
    }
    assert_eq!(s.get("/metrics").await.status, 200);
    assert_eq!(
        s.post_with("/stamp", &stamp_body("x\n", "ns"), Some(ALL))
            .await
            .status,
        201
    );

    // Scoped key: its namespaces only.
    let r = s
        .post_with("/stamp", &stamp_body("y\n", "team_a"), Some(SCOPED))
        .await;
    assert_eq!(r.status, 201);
    s.post_with("/stamp", &stamp_body("y\n", "team_b"), Some(SCOPED))
        .await
        .assert_error(403, "NAMESPACE_FORBIDDEN");
    let hash = r.data()["file_hash"].as_str().unwrap().to_owned();
    s.get_with(&format!("/stamp/{hash}"), Some(SCOPED))
        .await
        .assert_error(400, "NAMESPACE_REQUIRED");
    s.get_with(&format!("/stamp/{hash}?namespace=team_b"), Some(SCOPED))
        .await
        .assert_error(403, "NAMESPACE_FORBIDDEN");
    assert_eq!(
        s.get_with(&format!("/stamp/{hash}?namespace=team_a"), Some(SCOPED))
            .await
            .status,
        200
    );
    assert_eq!(
        s.get_with(&format!("/stamp/{hash}"), Some(ALL))
            .await
            .status,
        200
    );
    s.post_with(
        "/validate",
        &json!({"content": "z", "namespace": "team_b"}),
        Some(SCOPED),
    )
    .await
    .assert_error(403, "NAMESPACE_FORBIDDEN");
    // In a batch, the forbidden item fails alone.
    let b = s
        .post_with(
            "/stamp/batch",
            &json!({"items": [stamp_body("p\n", "team_a"), stamp_body("q\n", "team_b")]}),
            Some(SCOPED),
        )
        .await;
    assert_eq!(b.status, 207);
    assert_eq!(
        b.data()["results"][1]["error"]["code"],
        "NAMESPACE_FORBIDDEN"
    );
    // A namespace's log listing: its own namespaces only; the log itself is public.
    let own = s.get_with("/namespaces/team_a/stamps", Some(SCOPED)).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.data()["stamps"].as_array().unwrap().len(), 2);
    s.get_with("/namespaces/ns/stamps", Some(SCOPED))
        .await
        .assert_error(403, "NAMESPACE_FORBIDDEN");
    s.get("/namespaces/team_a/stamps")
        .await
        .assert_error(401, "UNAUTHORIZED");
    for public in ["/log/checkpoint", "/log/key", "/log/tile/entries/000.p/3"] {
        assert_eq!(s.get(public).await.status, 200, "{public}");
    }
    s.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let s = app_with(&[ALL.into(), SCOPED.into()], Some("3/m")).await;
    for i in 0..3 {
        let r = s
            .post_with("/stamp", &stamp_body(&format!("{i}\n"), "ns"), Some(ALL))
            .await;
        assert_eq!(r.status, 201, "request {i}");
    }
    let r = s
        .post_with("/stamp", &stamp_body("over\n", "ns"), Some(ALL))
        .await;
    r.assert_error(429, "RATE_LIMITED");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    // 3 a minute: one token every 20 s, so a client never needs to wait longer than that.
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    // Buckets are per key.
    assert_eq!(
        s.post_with("/stamp", &stamp_body("other key\n", "ns"), Some(SCOPED))
            .await
            .status,
        201
    );
    // Health is not limited.
    assert_eq!(s.get("/health/live").await.status, 200);
    s.run_pending_outbox().await;
}

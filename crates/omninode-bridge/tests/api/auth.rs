//! API keys, namespace scoping, rate limiting and the secure-default bind rule.

use std::process::Command;

use serde_json::json;

use crate::helpers::{bin, stamp_body, Server};

const ALL: &str = "key-all-0123";
const SCOPED: &str = "key-team-a-01";

#[tokio::test]
async fn keys_are_required_except_for_health_and_metrics() {
    let s = Server::start(&[
        "--api-key",
        ALL,
        "--api-key",
        &format!("{SCOPED}=team_a|team_c"),
    ]);
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
    assert_eq!(
        s.client
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
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
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let s = Server::start(&["--rate-limit", "3/m", "--api-key", ALL, "--api-key", SCOPED]);
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
}

#[test]
fn refuses_public_bind_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--bind", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("ONEX_API_KEYS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
}

/// Keys are secrets: at the most verbose log level, neither a right nor a wrong key appears
/// anywhere in the output (request lines, auth failures, SQL statements).
#[tokio::test]
async fn no_api_key_reaches_the_logs_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let right = "key-Right-7f3a9c";
    let wrong = "key-Wrong-2b8e1d";
    let mut s = Server::start_logging_at(
        &dir.path().join("data"),
        &log,
        "trace",
        &["--api-key", &format!("{right}=ns")],
    );
    assert_eq!(
        s.post_with("/stamp", &stamp_body("x\n", "ns"), Some(right))
            .await
            .status,
        201
    );
    s.post_with("/stamp", &stamp_body("y\n", "ns"), Some(wrong))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.post("/stamp", &stamp_body("z\n", "ns"))
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(s.terminate(std::time::Duration::from_secs(30)), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("TRACE") || text.contains("\"level\":\"TRACE\""),
        "trace is on"
    );
    assert!(text.contains("/stamp"), "requests are logged");
    for secret in [right, wrong] {
        assert!(!text.contains(secret), "{secret} found in the log");
    }
}

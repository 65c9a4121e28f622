//! Every endpoint's success path, at the root and under the legacy prefix.

use serde_json::json;

use crate::helpers::{stamp_body, Server};

#[tokio::test]
async fn hash_accepts_raw_multipart_and_json() {
    let s = Server::start(&[]);
    let data = b"%PDF-1.7 some bytes".to_vec();
    let want = blake3::hash(&data).to_hex().to_string();
    let r = s
        .post_raw("/hash", "application/octet-stream", data.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data()["file_hash"], want.as_str());
    assert_eq!(r.data()["file_size"], data.len());
    assert_eq!(r.data()["content_type"], "application/pdf");

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(data.clone()).file_name("doc.pdf"),
    );
    let r = s.post_multipart("/hash", form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data()["file_hash"], want.as_str());
    // Only `file`, as the OpenAPI document says: another field, before or after it, is a
    // mistake the client hears of.
    for form in [
        reqwest::multipart::Form::new()
            .text("note", "x")
            .part("file", reqwest::multipart::Part::bytes(data.clone())),
        reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(data.clone()))
            .text("note", "x"),
    ] {
        s.post_multipart("/hash", form)
            .await
            .assert_error(400, "UNKNOWN_FIELD");
    }

    let r = s.post("/hash", &json!({"content": "hello"})).await;
    assert_eq!(
        r.data()["file_hash"],
        blake3::hash(b"hello").to_hex().as_str()
    );

    // No part at all: not a multipart body.
    s.post_multipart("/hash", reqwest::multipart::Form::new())
        .await
        .assert_error(400, "INVALID_MULTIPART");
}

#[tokio::test]
async fn health_metrics_and_openapi() {
    let s = Server::start(&[]);
    s.post("/stamp", &stamp_body("m\n", "ns")).await;
    for path in ["/health", "/api/v1/metadata-stamping/health"] {
        let h = s.get(path).await;
        assert_eq!(h.status, 200);
        assert_eq!(h.data()["status"], "healthy");
        assert_eq!(h.data()["components"]["database"]["status"], "healthy");
        assert!(h.data()["uptime_seconds"].is_u64());
    }
    assert_eq!(s.get("/health/live").await.data()["alive"], true);
    assert_eq!(s.get("/health/ready").await.data()["ready"], true);
    let text = s.metrics().await;
    let lines: Vec<&str> = text.lines().collect();
    // The workflow's 10 events and this server's own node registrations.
    let pending = format!("events_pending {}", 10 + crate::helpers::OWN_NODES);
    for line in [
        "stamps_created_total 1",
        pending.as_str(),
        "workflow_duration_seconds_count 1",
        "workflow_state_transitions_total{from=\"PENDING\",to=\"PROCESSING\"} 1",
    ] {
        assert!(lines.contains(&line), "{line} missing from\n{text}");
    }
    for name in [
        "hash_generation_duration_seconds_count",
        "api_request_duration_seconds_count",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    assert!(text.contains("route=\"/stamp\""), "{text}");
    let doc = s.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/stamp",
        "/stamp/batch",
        "/validate",
        "/hash",
        "/stamp/{file_hash}",
        "/health",
        "/metrics",
    ] {
        assert!(
            doc.body["paths"].get(p).is_some(),
            "{p} missing from OpenAPI"
        );
    }
}

#[tokio::test]
async fn correlation_id_is_taken_when_uuid_and_replaced_otherwise() {
    let s = Server::start(&[]);
    let id = "0190f3a2-1111-7000-8000-000000000001";
    let resp = s
        .client
        .get(s.url("/health/live"))
        .header("x-correlation-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-correlation-id"], id);
    let resp = s
        .client
        .get(s.url("/health/live"))
        .header("x-correlation-id", "not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-correlation-id"], "not-a-uuid");
    assert!(uuid::Uuid::parse_str(resp.headers()["x-correlation-id"].to_str().unwrap()).is_ok());
}

/// The PostgreSQL pass must really run on PostgreSQL: a wiring mistake that fell back to the
/// embedded store would otherwise pass every test of that pass on SQLite.
#[tokio::test]
async fn health_reports_the_backend_this_pass_runs_on() {
    let s = Server::start(&[]);
    let h = s.get("/health").await;
    let want = if crate::helpers::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(
        h.data()["components"]["database"]["info"]["backend"],
        want,
        "{}",
        h.data()
    );
}

//! The optional intelligence step against a real local HTTP server (wiremock) or a port
//! where nothing listens, with the shipped contract (optional step) and an edited one
//! (required step): behaviour changes with the YAML, without recompiling.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{edited_contracts, stamp_body, Server};

/// A local port with nothing listening: the service is down.
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn the_analysis_is_stored_with_the_workflow() {
    let svc = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/analyze"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"language": "python"})))
        .mount(&svc)
        .await;
    let s = Server::start(&["--onextree-url", &svc.uri()]);
    let r = s.post("/stamp", &stamp_body("print(1)\n", "ai")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let w = s.workflow_of(&r).await;
    assert_eq!(w.data()["intelligence"], json!({"language": "python"}));
    assert_eq!(w.data()["steps"][1]["status"], "COMPLETED");
    let h = s.get("/health").await;
    assert_eq!(h.data()["components"]["onextree"]["status"], "healthy");
    assert_eq!(h.data()["status"], "healthy");
}

#[tokio::test]
async fn a_dead_optional_service_skips_the_step_and_degrades_health() {
    let s = Server::start(&["--onextree-url", &dead_url()]);
    let r = s.post("/stamp", &stamp_body("still works\n", "ai")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let w = s.workflow_of(&r).await;
    assert_eq!(w.data()["steps"][1]["status"], "SKIPPED");
    assert!(
        w.data()["steps"][1]["error"]
            .as_str()
            .unwrap()
            .contains("request failed"),
        "{}",
        w.body
    );
    let h = s.get("/health").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.data()["status"], "degraded");
    assert_eq!(h.data()["components"]["onextree"]["status"], "degraded");
}

#[tokio::test]
async fn a_required_step_with_the_service_down_answers_503_and_records_the_failure() {
    let contracts = edited_contracts(
        "orchestrator/workflow.yaml",
        "  - name: onextree_intelligence\n    timeout_ms: 16000\n    optional: true",
        "  - name: onextree_intelligence\n    timeout_ms: 16000\n    optional: false",
    );
    let s = Server::start(&[
        "--onextree-url",
        &dead_url(),
        "--contracts",
        contracts.path().to_str().unwrap(),
    ]);
    let r = s.post("/stamp", &stamp_body("needs ai\n", "ai")).await;
    r.assert_error(503, "STEP_FAILED");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("onextree_intelligence"), "{msg}");
    let id = msg
        .split("workflow ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let w = s.get(&format!("/workflows/{id}")).await;
    assert_eq!(w.data()["state"], "FAILED", "{}", w.body);
    assert!(w.data()["stamp_id"].is_null());
    let hash = blake3::hash(b"needs ai\n").to_hex().to_string();
    s.get(&format!("/stamp/{hash}?namespace=ai"))
        .await
        .assert_error(404, "STAMP_NOT_FOUND");
    let metrics = s.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "circuit_breaker_state{service=\"onextree\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("workflow_state_transitions_total{from=\"PROCESSING\",to=\"FAILED\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_required_step_past_its_timeout_answers_504() {
    let svc = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3)))
        .mount(&svc)
        .await;
    let contracts = edited_contracts(
        "orchestrator/workflow.yaml",
        "  - name: onextree_intelligence\n    timeout_ms: 16000\n    optional: true",
        "  - name: onextree_intelligence\n    timeout_ms: 300\n    optional: false",
    );
    let s = Server::start(&[
        "--onextree-url",
        &svc.uri(),
        "--contracts",
        contracts.path().to_str().unwrap(),
    ]);
    let started = std::time::Instant::now();
    let r = s.post("/stamp", &stamp_body("too slow\n", "ai")).await;
    r.assert_error(504, "STEP_TIMEOUT");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the step timeout, not the service, ended it"
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("timed out after 300 ms"));
}

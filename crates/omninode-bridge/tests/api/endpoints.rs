//! Every endpoint's success path, at the root and under the legacy prefix.

use base64::Engine;
use serde_json::json;

use crate::helpers::{stamp_body, Server};

#[tokio::test]
async fn stamp_then_validate_then_lookup() {
    let s = Server::start(&[]);
    let r = s
        .post(
            "/stamp",
            &json!({"content": "print('hi')\n", "namespace": "demo", "file_path": "src/app.py"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let d = r.data();
    assert_eq!(d["content_type"], "text/x-python");
    assert_eq!(d["metadata_version"], "0.1");
    assert_eq!(d["workflow_state"], "COMPLETED");
    assert_eq!(d["deduplicated"], false);
    assert_eq!(d["file_size"], 12);
    assert_eq!(
        d["file_hash"],
        blake3::hash(b"print('hi')\n").to_hex().as_str()
    );
    let stamped = d["stamped_content"].as_str().unwrap();
    assert!(stamped.starts_with("# ---BEGIN ONEX STAMP---\n"));
    assert!(stamped.ends_with("print('hi')\n"));
    // The response's correlation id is the header's.
    assert_eq!(
        r.headers["x-correlation-id"].to_str().unwrap(),
        r.body["metadata"]["correlation_id"].as_str().unwrap()
    );

    let v = s
        .post(
            "/validate",
            &json!({"content": stamped, "namespace": "demo"}),
        )
        .await;
    assert_eq!(v.status, 200);
    assert_eq!(v.data()["is_valid"], true, "{}", v.body);
    assert_eq!(v.data()["reason"], "VALID");
    assert_eq!(v.data()["stamps_found"], 1);

    let tampered = stamped.replace("hi", "ho");
    let v = s.post("/validate", &json!({"content": tampered})).await;
    assert_eq!(v.data()["is_valid"], false);
    assert_eq!(v.data()["reason"], "HASH_MISMATCH");

    let v = s.post("/validate", &json!({"content": "plain"})).await;
    assert_eq!(
        (v.status, v.data()["reason"].as_str()),
        (200, Some("NO_STAMP"))
    );

    let hash = d["file_hash"].as_str().unwrap();
    let g = s.get(&format!("/stamp/{hash}?namespace=demo")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.data()["stamp_id"], d["stamp_id"]);
    let g = s.get(&format!("/stamp/blake3:{hash}")).await;
    assert_eq!(g.data()["stamp_id"], d["stamp_id"]);
    let g = s
        .get(&format!("/api/v1/metadata-stamping/stamp/{hash}"))
        .await;
    assert_eq!(g.status, 200);
}

#[tokio::test]
async fn second_stamp_of_same_content_returns_the_first() {
    let s = Server::start(&[]);
    let a = s.post("/stamp", &stamp_body("same\n", "ns")).await;
    let b = s
        .post(
            "/api/v1/metadata-stamping/stamp",
            &stamp_body("same\n", "ns"),
        )
        .await;
    assert_eq!((a.status, b.status), (201, 200));
    assert_eq!(a.data()["stamp_id"], b.data()["stamp_id"]);
    assert_eq!(b.data()["deduplicated"], true);
    assert_eq!(a.data()["stamped_content"], b.data()["stamped_content"]);
    // Restamping the stamped output is also the same content.
    let c = s
        .post(
            "/stamp",
            &stamp_body(a.data()["stamped_content"].as_str().unwrap(), "ns"),
        )
        .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.data()["stamp_id"], a.data()["stamp_id"]);
    // Another namespace is another stamp.
    let d = s.post("/stamp", &stamp_body("same\n", "other")).await;
    assert_eq!(d.status, 201);
    assert_ne!(d.data()["stamp_id"], a.data()["stamp_id"]);
}

#[tokio::test]
async fn binary_and_json_get_sidecars_and_base64_roundtrips() {
    let s = Server::start(&[]);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    let r = s
        .post(
            "/stamp",
            &json!({"content": b64, "content_encoding": "base64", "namespace": "img"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.data()["content_type"], "image/png");
    assert!(r.data()["stamped_content"].is_null());
    assert!(r.data()["stamp"]
        .as_str()
        .unwrap()
        .contains(&format!("file_hash: blake3:{}", blake3::hash(png).to_hex())));

    let r = s
        .post(
            "/stamp",
            &json!({"content": "{\"a\": 1}", "namespace": "j", "file_path": "a.json"}),
        )
        .await;
    assert_eq!(r.data()["content_type"], "application/json");
    assert!(r.data()["stamped_content"].is_null());

    // Text sent as base64 comes back as base64.
    let text = base64::engine::general_purpose::STANDARD.encode("fn main() {}\n");
    let r = s.post("/stamp", &json!({"content": text, "content_encoding": "base64", "namespace": "b", "file_path": "m.rs", "stamp_type": "lightweight"})).await;
    let out = base64::engine::general_purpose::STANDARD
        .decode(r.data()["stamped_content"].as_str().unwrap())
        .unwrap();
    assert!(
        out.starts_with(b"// ONEX:uid="),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn batch_reports_each_item() {
    let s = Server::start(&[]);
    let body = json!({"items": [
        {"id": "a", "content": "one\n", "namespace": "ns"},
        {"id": "b", "content": "", "namespace": "ns"},
        {"content": "three\n", "namespace": "bad ns"},
        {"id": "d", "content": "four\n", "namespace": "ns"},
    ]});
    let r = s.post("/stamp/batch", &body).await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["status"], "partial");
    let d = r.data();
    assert_eq!(
        (
            d["total"].as_u64(),
            d["succeeded"].as_u64(),
            d["failed"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
    let results = d["results"].as_array().unwrap();
    assert_eq!(results[0]["id"], "a");
    assert_eq!(results[1]["error"]["code"], "EMPTY_CONTENT");
    assert_eq!(results[2]["id"], "2");
    assert_eq!(results[2]["error"]["code"], "INVALID_NAMESPACE");
    assert_eq!(results[3]["status"], "success");

    let ok = s
        .post(
            "/batch",
            &json!({"items": [{"content": "x\n", "namespace": "ns"}]}),
        )
        .await;
    assert_eq!(ok.status, 200);
    let all_bad = s
        .post(
            "/batch",
            &json!({"items": [{"content": "", "namespace": "ns"}]}),
        )
        .await;
    all_bad.assert_error(422, "BATCH_FAILED");
    s.post("/stamp/batch", &json!({"items": []}))
        .await
        .assert_error(400, "EMPTY_BATCH");
    let many: Vec<_> = (0..1001)
        .map(|i| json!({"content": format!("{i}"), "namespace": "ns"}))
        .collect();
    s.post("/stamp/batch", &json!({"items": many}))
        .await
        .assert_error(400, "BATCH_TOO_LARGE");
}

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

    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part(
            "file",
            reqwest::multipart::Part::bytes(data.clone()).file_name("doc.pdf"),
        );
    let r = s.post_multipart("/hash", form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data()["file_hash"], want.as_str());

    let r = s.post("/hash", &json!({"content": "hello"})).await;
    assert_eq!(
        r.data()["file_hash"],
        blake3::hash(b"hello").to_hex().as_str()
    );

    let form = reqwest::multipart::Form::new().text("other", "x");
    s.post_multipart("/hash", form)
        .await
        .assert_error(400, "MISSING_FIELD");
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

#[tokio::test]
async fn the_stamp_response_names_its_recorded_workflow() {
    let s = Server::start(&[]);
    let r = s.post("/stamp", &stamp_body("wf\n", "ns")).await;
    let id = r.data()["workflow_id"].as_str().unwrap().to_owned();
    let w = s.get(&format!("/workflows/{id}")).await;
    assert_eq!(w.status, 200, "{}", w.body);
    assert_eq!(w.data()["state"], "COMPLETED");
    assert_eq!(w.data()["stamp_id"], r.data()["stamp_id"]);
    assert_eq!(w.data()["steps"].as_array().unwrap().len(), 5);
    assert_eq!(w.data()["steps"][1]["status"], "SKIPPED");
    assert_eq!(w.data()["transitions"][1]["to_state"], "COMPLETED");
    let w = s
        .get(&format!("/api/v1/metadata-stamping/workflows/{id}"))
        .await;
    assert_eq!(w.status, 200);
    s.get("/workflows/not-a-uuid")
        .await
        .assert_error(400, "INVALID_WORKFLOW_ID");
    s.get(&format!("/workflows/{}", uuid::Uuid::now_v7()))
        .await
        .assert_error(404, "WORKFLOW_NOT_FOUND");
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

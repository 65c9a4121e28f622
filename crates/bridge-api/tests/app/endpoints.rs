//! The endpoints' success paths, in process (moved from the spawned-binary suite).

use base64::Engine;
use serde_json::json;

use crate::helpers::{stamp_body, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamp_then_validate_then_lookup() {
    let s = TestApp::new().await;
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
    s.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_stamp_of_same_content_returns_the_first() {
    let s = TestApp::new().await;
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
    s.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_json_get_sidecars_and_base64_roundtrips() {
    let s = TestApp::new().await;
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
    s.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_reports_each_item() {
    let s = TestApp::new().await;
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
    s.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stamp_response_names_its_recorded_workflow() {
    let s = TestApp::new().await;
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
    s.run_pending_outbox().await;
}

//! Bad input: a precise error code and the right status, never a 500 (in process: moved
//! from the spawned-binary suite, where each test started a server of its own).

use bridge_api::ApiConfig;
use serde_json::json;

use crate::helpers::{stamp_body, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_precise_codes() {
    let s = TestApp::new().await;
    let cases = [
        (
            json!({"content": "x", "namespace": "ns", "extra": 1}),
            400,
            "UNKNOWN_FIELD",
            Some("extra"),
        ),
        (
            json!({"namespace": "ns"}),
            400,
            "MISSING_FIELD",
            Some("content"),
        ),
        (
            json!({"content": 5, "namespace": "ns"}),
            400,
            "INVALID_FIELD",
            Some("content"),
        ),
        (
            json!({"content": "", "namespace": "ns"}),
            400,
            "EMPTY_CONTENT",
            Some("content"),
        ),
        (
            json!({"content": "x", "namespace": "a b"}),
            400,
            "INVALID_NAMESPACE",
            Some("namespace"),
        ),
        (
            json!({"content": "x", "namespace": "x".repeat(256)}),
            400,
            "INVALID_NAMESPACE",
            Some("namespace"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "file_path": "../etc/passwd"}),
            400,
            "INVALID_FILE_PATH",
            Some("file_path"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "file_path": "/abs"}),
            400,
            "INVALID_FILE_PATH",
            Some("file_path"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "file_path": "a\u{0}b"}),
            400,
            "INVALID_FILE_PATH",
            Some("file_path"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "file_path": "a/".repeat(2049)}),
            400,
            "INVALID_FILE_PATH",
            Some("file_path"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "stamp_type": "fancy"}),
            400,
            "INVALID_STAMP_TYPE",
            Some("stamp_type"),
        ),
        (
            json!({"content": "!!", "namespace": "ns", "content_encoding": "base64"}),
            400,
            "INVALID_BASE64",
            Some("content"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "content_encoding": "rot13"}),
            400,
            "INVALID_ENCODING",
            Some("content_encoding"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "metadata": [1]}),
            422,
            "INVALID_METADATA",
            Some("metadata"),
        ),
        (
            json!({"content": "x", "namespace": "ns", "op_id": ""}),
            400,
            "INVALID_OP_ID",
            Some("op_id"),
        ),
    ];
    for (body, status, code, field) in cases {
        let r = s.post("/stamp", &body).await;
        r.assert_error(status, code);
        assert_eq!(r.body["error"]["field"].as_str(), field, "{}", r.body);
    }
    let r = s
        .post(
            "/validate",
            &json!({"content": "x", "expected_hash": "abc"}),
        )
        .await;
    r.assert_error(400, "INVALID_HASH_FORMAT");
    assert_eq!(r.body["error"]["field"], "expected_hash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_media_types_methods_and_routes() {
    let s = TestApp::new().await;
    s.post_raw("/stamp", "text/plain", "content=x")
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    s.post_raw("/validate", "application/x-www-form-urlencoded", "a=b")
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    s.post_raw("/hash", "text/html", "<p>")
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    s.post_raw("/stamp", "application/json", "{\"content\": ")
        .await
        .assert_error(400, "MALFORMED_JSON");
    s.post_raw("/stamp", "application/json", vec![0xff, 0xfe, 0x00])
        .await
        .assert_error(400, "MALFORMED_JSON");
    s.post_raw("/stamp", "application/json", "[".repeat(10_000))
        .await
        .assert_error(400, "MALFORMED_JSON");
    s.post_raw("/stamp", "application/json", "[\"x\", \"ns\"]")
        .await
        .assert_error(400, "MALFORMED_JSON");
    let deep = format!("{{\"metadata\": {}", "{\"a\": ".repeat(5_000));
    s.post_raw("/stamp", "application/json", deep)
        .await
        .assert_error(400, "MALFORMED_JSON");
    s.post_raw("/hash", "multipart/form-data", "garbage")
        .await
        .assert_error(400, "INVALID_MULTIPART");
    s.get("/nowhere").await.assert_error(404, "NOT_FOUND");
    let r = s.delete("/stamp").await;
    r.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(r.headers["allow"], "POST");
    s.get("/stamp/nothex")
        .await
        .assert_error(400, "INVALID_HASH_FORMAT");
    s.get(&format!("/stamp/{}", "A".repeat(64)))
        .await
        .assert_error(400, "INVALID_HASH_FORMAT");
    s.get(&format!("/stamp/{}", "a".repeat(64)))
        .await
        .assert_error(404, "STAMP_NOT_FOUND");
    s.get(&format!("/stamp/{}?namespace=bad%20ns", "a".repeat(64)))
        .await
        .assert_error(400, "INVALID_NAMESPACE");
    s.get(&format!("/stamp/{}?bogus=1", "a".repeat(64)))
        .await
        .assert_error(400, "INVALID_QUERY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_stored_verbatim() {
    let s = TestApp::new().await;
    let nasty =
        "'; DROP TABLE metadata_stamps; -- \u{202e} <script>alert(1)</script> $(rm -rf /) %00 %s";
    let r = s
        .post("/stamp", &json!({"content": nasty, "namespace": "ns", "file_path": "x'); DROP TABLE t;--.sql", "metadata": {"q": nasty}, "op_id": nasty}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let hash = r.data()["file_hash"].as_str().unwrap();
    let g = s.get(&format!("/stamp/{hash}?namespace=ns")).await;
    assert_eq!(g.data()["file_path"], "x'); DROP TABLE t;--.sql");
    assert_eq!(g.data()["metadata"]["q"], nasty);
    assert_eq!(g.data()["op_id"], nasty);
    let v = s
        .post(
            "/validate",
            &json!({"content": r.data()["stamped_content"]}),
        )
        .await;
    assert_eq!(v.data()["is_valid"], true, "{}", v.body);
    // The service still works.
    assert_eq!(
        s.post("/stamp", &stamp_body("after\n", "ns")).await.status,
        201
    );
    s.run_pending_outbox().await;
}

/// A small deterministic generator (xorshift) so the random requests are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Hundreds of hostile requests (random values in every field, mangled bodies, odd media
/// types) never get a 5xx, and always get the envelope with an error code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_hostile_requests_never_get_a_5xx() {
    let s = TestApp::with_config(ApiConfig {
        max_content_bytes: 64 << 10,
        ..ApiConfig::default()
    })
    .await;
    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    let values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e308),
        json!(""),
        json!("x"),
        json!("../.."),
        json!("a\u{0}b"),
        json!("\u{202e}\u{feff}"),
        json!("%00%ff"),
        json!("blake3:"),
        json!("a".repeat(70_000)),
        json!([]),
        json!({}),
        json!({"nested": {"deep": [1, 2, {"x": null}]}}),
        json!("base64"),
        json!("utf8"),
        json!("rich"),
        json!("lightweight"),
        json!("ns"),
        json!("src/a.py"),
        json!("////"),
        json!("=="),
    ];
    let fields = [
        "content",
        "namespace",
        "file_path",
        "stamp_type",
        "content_encoding",
        "metadata",
        "op_id",
        "expected_hash",
        "items",
        "zzz",
    ];
    let routes = [
        "/stamp",
        "/stamp/batch",
        "/validate",
        "/hash",
        "/api/v1/metadata-stamping/stamp",
    ];
    for i in 0..300 {
        let mut body = serde_json::Map::new();
        for _ in 0..(rng.next() % 5) {
            body.insert((*rng.pick(&fields)).to_owned(), rng.pick(&values).clone());
        }
        if rng.next() % 3 == 0 {
            body.insert(
                "items".into(),
                json!([body.clone(), {"content": "ok\n", "namespace": "ns"}]),
            );
        }
        let route = *rng.pick(&routes);
        let mut bytes = serde_json::to_vec(&body).unwrap();
        if rng.next() % 5 == 0 && !bytes.is_empty() {
            let at = (rng.next() % bytes.len() as u64) as usize;
            bytes[at] = (rng.next() & 0xff) as u8;
        }
        let media = *rng.pick(&[
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
        ]);
        let r = s.post_raw(route, media, bytes).await;
        assert!(
            r.status < 500,
            "request {i} to {route} ({media}) got {}: {}",
            r.status,
            r.body
        );
        if r.status >= 400 {
            assert!(
                r.body["error"]["code"].is_string(),
                "request {i}: {}",
                r.body
            );
        }
    }
    // Still healthy afterwards.
    assert_eq!(s.get("/health").await.status, 200);
    s.run_pending_outbox().await;
}

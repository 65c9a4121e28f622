//! Signed stamps through the API: the published keys, every trust level and
//! `SIGNATURE_INVALID` in `/validate`, `registered`, batch items, and the metrics.

use bridge_api::{ApiConfig, ApiKey};
use bridge_core::signature::{Keyring, StampSigner};
use bridge_core::stamp::{self, Original, StampRequest};
use bridge_core::StampType;
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{signer, stamp_body, TestApp};

/// `content` stamped offline (as anyone could), in namespace `ns`, signed by `by` or not.
fn offline(content: &str, ns: &str, path: &str, by: Option<&StampSigner>) -> String {
    let original = Original::of(content.as_bytes());
    let made = stamp::stamp(
        &original,
        &StampRequest {
            namespace: ns,
            file_path: Some(path),
            stamp_type: StampType::Rich,
            stamp_id: Uuid::now_v7(),
            now: Utc::now(),
            signer: by,
        },
    )
    .unwrap();
    String::from_utf8(made.stamped.unwrap()).unwrap()
}

async fn validate(app: &TestApp, content: &str) -> Value {
    let r = app.post("/validate", &json!({"content": content})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.data().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_are_public_and_make_an_allowed_signers_file() {
    let app = TestApp::with_config(ApiConfig {
        api_keys: vec!["secret-key".parse::<ApiKey>().unwrap()],
        ..ApiConfig::default()
    })
    .await;
    // Without an API key, like /health.
    let r = app.get("/keys").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.data();
    assert_eq!(d["identity"], "omninode-bridge");
    assert_eq!(d["namespace"], "omninode-stamp-v1");
    assert_eq!(d["keys"][0]["id"], signer().id().as_str());
    assert_eq!(d["keys"][0]["status"], "active");
    assert_eq!(d["keys"][0]["algorithm"], "ssh-ed25519");
    let public = d["keys"][0]["public_key"].as_str().unwrap();
    assert_eq!(public, signer().public_key().to_openssh().unwrap());
    assert!(d["log_key"]["id"].as_str().unwrap().starts_with("SHA256:"));
    assert_ne!(d["log_key"]["id"], d["keys"][0]["id"]);
    // Public halves only: no private key material anywhere in the answer.
    assert!(!r.text.contains("PRIVATE"), "{}", r.text);

    let file = app.get("/keys/allowed_signers").await;
    assert_eq!(file.status, 200);
    assert!(file.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(
        file.text,
        format!("omninode-bridge namespaces=\"omninode-stamp-v1\" {public}\n")
    );
    let ring = Keyring::from_allowed_signers(&file.text).unwrap();
    assert!(ring.get(signer().id()).is_some());
    // The legacy prefix serves them too; stamping still needs the key.
    let legacy = app.get("/api/v1/metadata-stamping/keys").await;
    assert_eq!(legacy.status, 200);
    app.post("/stamp", &stamp_body("x", "ns"))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_each_trust_level_and_invalid_signatures() {
    let app = TestApp::new().await;
    let content = "def f():\n    return 1\n";
    let r = app
        .post(
            "/stamp",
            &json!({"content": content, "namespace": "trust", "file_path": "f.py"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.data()["signing_key"], signer().id().as_str());
    let stamped = r.data()["stamped_content"].as_str().unwrap().to_owned();

    // Ours: TRUSTED, and the stored one.
    let v = validate(&app, &stamped).await;
    assert_eq!(v["is_valid"], true, "{v}");
    assert_eq!(v["reason"], "VALID");
    assert_eq!(v["trust"], "TRUSTED");
    assert_eq!(v["signing_key"], signer().id().as_str());
    assert_eq!(v["registered"], true);
    assert_eq!(v["stamp"]["key"], signer().id().as_str());

    // Forged offline with the right hash and no signature: valid integrity, UNSIGNED, and
    // not the stamp the service stored for this content.
    let unsigned = offline(content, "trust", "f.py", None);
    let v = validate(&app, &unsigned).await;
    assert_eq!(
        (v["is_valid"].clone(), v["trust"].clone()),
        (json!(true), json!("UNSIGNED"))
    );
    assert_eq!(v["registered"], false);
    assert!(v["signing_key"].is_null());

    // Signed by a key the service does not know: UNTRUSTED_KEY, never tampering.
    let stranger = StampSigner::generate();
    let foreign = offline(content, "trust", "f.py", Some(&stranger));
    let v = validate(&app, &foreign).await;
    assert_eq!(v["is_valid"], true, "{v}");
    assert_eq!(v["reason"], "VALID");
    assert_eq!(v["trust"], "UNTRUSTED_KEY");
    assert_eq!(v["signing_key"], stranger.id().as_str());
    assert_eq!(v["registered"], false);

    // Our key's id on a stranger's signature: SIGNATURE_INVALID.
    let claimed = foreign.replace(stranger.id().as_str(), signer().id().as_str());
    let v = validate(&app, &claimed).await;
    assert_eq!(v["is_valid"], false);
    assert_eq!(v["reason"], "SIGNATURE_INVALID", "{v}");
    assert_eq!(v["trust"], "UNSIGNED");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("not by the stamp's key"));

    // A signed field changed (the content still matches its hash): SIGNATURE_INVALID.
    let moved = stamped.replace("# file_path: f.py", "# file_path: g.py");
    assert_ne!(moved, stamped);
    let v = validate(&app, &moved).await;
    assert_eq!(v["reason"], "SIGNATURE_INVALID", "{v}");
    assert_eq!(v["is_valid"], false);

    // The content changed: tampering, whatever the signature.
    let tampered = stamped.replace("return 1", "return 2");
    let v = validate(&app, &tampered).await;
    assert_eq!(v["reason"], "HASH_MISMATCH");
    assert_eq!(v["trust"], "UNSIGNED");

    let metrics = app.get("/metrics").await.text;
    for line in [
        "stamps_signed_total 1",
        "signature_verifications_total{result=\"trusted\"} 1",
        "signature_verifications_total{result=\"untrusted_key\"} 1",
        "signature_verifications_total{result=\"invalid\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    app.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retired_keys_still_verify_and_dropped_ones_are_untrusted() {
    let old = StampSigner::generate();
    let before = TestApp::with_keys(ApiConfig::default(), Some(old.clone()), &[]).await;
    let r = before.post("/stamp", &stamp_body("rotated\n", "rot")).await;
    assert_eq!(r.status, 201);
    let stamped = r.data()["stamped_content"].as_str().unwrap().to_owned();
    before.run_pending_outbox().await;

    let new = StampSigner::generate();
    let rotated = TestApp::with_keys(
        ApiConfig::default(),
        Some(new.clone()),
        &[old.public_key().clone()],
    )
    .await;
    let v = validate(&rotated, &stamped).await;
    assert_eq!(v["trust"], "TRUSTED", "{v}");
    let keys = rotated.get("/keys").await;
    let listed: Vec<(String, String)> = keys.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_str().unwrap().to_owned(),
                k["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (new.id().to_string(), "active".to_owned()),
            (old.id().to_string(), "retired".to_owned())
        ]
    );
    assert_eq!(
        rotated
            .get("/keys/allowed_signers")
            .await
            .text
            .lines()
            .count(),
        2
    );

    let dropped = TestApp::with_keys(ApiConfig::default(), Some(new), &[]).await;
    let v = validate(&dropped, &stamped).await;
    assert_eq!(v["trust"], "UNTRUSTED_KEY", "{v}");
    assert_eq!(v["is_valid"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_items_lightweight_lines_and_unsigned_services() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/stamp/batch",
            &json!({"items": [
                {"id": "a", "content": "a\n", "namespace": "b", "file_path": "a.txt"},
                {"id": "l", "content": "l\n", "namespace": "b", "stamp_type": "lightweight"},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.data()["results"].as_array().unwrap();
    for item in results {
        assert_eq!(
            item["data"]["signing_key"],
            signer().id().as_str(),
            "{item}"
        );
    }
    let rich = results[0]["data"]["stamped_content"].as_str().unwrap();
    assert_eq!(validate(&app, rich).await["trust"], "TRUSTED");
    // The lightweight line has no room for a signature: integrity only in the file, though
    // the service stored a signed record and says it is the registered stamp.
    let light = results[1]["data"]["stamped_content"].as_str().unwrap();
    let v = app
        .post("/validate", &json!({"content": light, "namespace": "b"}))
        .await;
    assert_eq!(v.data()["trust"], "UNSIGNED");
    assert_eq!(v.data()["registered"], true);
    app.run_pending_outbox().await;

    let unsigned = TestApp::with_keys(ApiConfig::default(), None, &[]).await;
    let r = unsigned.post("/stamp", &stamp_body("u\n", "u")).await;
    assert_eq!(r.status, 201);
    assert!(r.data()["signing_key"].is_null());
    assert!(r.data()["signature"].is_null());
    assert!(r.data()["stamp"]
        .as_str()
        .unwrap()
        .contains("stamp_checksum"));
    let v = validate(&unsigned, r.data()["stamped_content"].as_str().unwrap()).await;
    assert_eq!(v["trust"], "UNSIGNED");
    assert_eq!(v["is_valid"], true);
    assert!(unsigned
        .get("/metrics")
        .await
        .text
        .contains("stamps_signed_total 0"));
    unsigned.run_pending_outbox().await;
}

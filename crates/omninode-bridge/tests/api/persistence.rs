//! Durability and concurrency: a killed server keeps every acknowledged stamp, and 200
//! concurrent distinct stamps all land.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{stamp_body, Server};

#[tokio::test]
async fn stamps_survive_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    let r = s.post("/stamp", &stamp_body("durable\n", "ns")).await;
    assert_eq!(r.status, 201);
    let id = r.data()["stamp_id"].clone();
    let hash = r.data()["file_hash"].as_str().unwrap().to_owned();
    s.kill();

    let s = Server::start_in(dir.path(), &[]);
    let g = s.get(&format!("/stamp/{hash}?namespace=ns")).await;
    assert_eq!(g.status, 200, "{}", g.body);
    assert_eq!(g.data()["stamp_id"], id);
    let again = s.post("/stamp", &stamp_body("durable\n", "ns")).await;
    assert_eq!((again.status, &again.data()["stamp_id"]), (200, &id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_distinct_stamps_all_land() {
    let s = Arc::new(Server::start(&[]));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.post("/stamp", &stamp_body(&format!("file number {i}\n"), "many"))
                    .await
            })
        })
        .collect();
    let mut hashes = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
        hashes.push(r.data()["file_hash"].as_str().unwrap().to_owned());
    }
    for h in hashes {
        assert_eq!(
            s.get(&format!("/stamp/{h}?namespace=many")).await.status,
            200
        );
    }
    let metrics = s.metrics().await;
    let lines: Vec<&str> = metrics.lines().collect();
    assert!(lines.contains(&"stamps_created_total 200"), "{metrics}");
    // Ten events per workflow, all in the outbox (no Kafka in embedded mode), beside the
    // server's own node registrations.
    let pending = format!("events_pending {}", 2000 + crate::helpers::OWN_NODES);
    assert!(lines.contains(&pending.as_str()), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_stamps_make_one_stamp() {
    let s = Arc::new(Server::start(&[]));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.post("/stamp", &stamp_body("identical\n", "dup")).await })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status == 200 || r.status == 201, "{}", r.body);
        created += usize::from(r.status == 201);
        ids.insert(r.data()["stamp_id"].as_str().unwrap().to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1));
}

#[tokio::test]
async fn injection_shaped_strings_are_stored_and_returned_verbatim() {
    let s = Server::start(&[]);
    let hostile = [
        "'; DROP TABLE metadata_stamps; --",
        "\" OR \"1\"=\"1",
        "$1 $$x$$ \\x00 %s {0} `rm -rf /`",
        "ünïcödé 🦀 \u{202e}",
        "\\u0000 and \u{0}",
    ];
    for (i, h) in hostile.iter().enumerate() {
        let content = format!("hostile {i}\n");
        let path = format!("dir/{}.txt", h.replace(['\u{0}', '/', '\\'], "_"));
        let metadata = json!({ *h: [h, {"nested": h}], "plain": h });
        let op_id = h.replace('\u{0}', "_");
        let r = s
            .post(
                "/stamp",
                &json!({"content": content, "namespace": "ns", "file_path": path,
                        "metadata": metadata, "op_id": op_id}),
            )
            .await;
        assert_eq!(r.status, 201, "{h:?}: {}", r.body);
        let hash = r.data()["file_hash"].as_str().unwrap().to_owned();
        let g = s.get(&format!("/stamp/{hash}?namespace=ns")).await;
        assert_eq!(g.status, 200, "{}", g.body);
        assert_eq!(g.data()["file_path"], json!(path), "{h:?}");
        assert_eq!(g.data()["metadata"], metadata, "{h:?}");
        assert_eq!(g.data()["op_id"], json!(op_id), "{h:?}");
    }
    // Still one table, still answering, and a hostile namespace is refused, not run.
    let r = s
        .post(
            "/stamp",
            &stamp_body("x\n", "ns'; DROP TABLE metadata_stamps; --"),
        )
        .await;
    r.assert_error(400, "INVALID_NAMESPACE");
    let again = s.post("/stamp", &stamp_body("hostile 0\n", "ns")).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

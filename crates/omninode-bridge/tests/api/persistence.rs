//! Durability and concurrency: a killed server keeps every acknowledged stamp, and 200
//! concurrent distinct stamps all land.

use std::sync::Arc;

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
    // Ten events per workflow, all in the outbox (no Kafka in embedded mode).
    assert!(lines.contains(&"events_pending 2000"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_stamps_make_one_stamp() {
    let s = Arc::new(Server::start(&[]));
    let tasks: Vec<_> = (0..100)
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

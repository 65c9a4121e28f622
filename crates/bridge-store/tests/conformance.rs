//! Store conformance scenarios, written once as generic functions and run per backend.

use std::sync::Arc;

use bridge_core::hash::hash_bytes;
use bridge_store::{EventRow, SqliteStore, StampOutcome, StampRecord, StampWrite, Store};
use chrono::Utc;
use uuid::Uuid;

fn write(ns: &str, content: &[u8]) -> StampWrite {
    let correlation_id = Uuid::new_v4();
    let stamp = StampRecord {
        stamp_id: Uuid::now_v7(),
        namespace: ns.into(),
        file_hash: hash_bytes(content).to_string(),
        content_type: "text/plain".into(),
        file_size: content.len() as i64,
        file_path: Some("a'; DROP TABLE metadata_stamps; --.txt".into()),
        stamp_type: "rich".into(),
        sidecar: false,
        stamp: "# stamp".into(),
        metadata: Some(serde_json::json!({"k": "v\u{0}'\""})),
        op_id: None,
        workflow_id: None,
        correlation_id,
        created_at: Utc::now(),
    };
    let events = vec![EventRow {
        event_id: Uuid::now_v7(),
        event_type: "STAMP_CREATED".into(),
        topic: None,
        message_key: ns.into(),
        correlation_id,
        workflow_id: None,
        namespace: Some(ns.into()),
        payload: "{}".into(),
        created_at: Utc::now(),
    }];
    StampWrite { stamp, events }
}

async fn created_then_existing<S: Store>(s: S) {
    let w = write("ns", b"hello");
    let first = match s.record_stamp(w.clone()).await.unwrap() {
        StampOutcome::Created(r) => r,
        other => panic!("expected Created, got {other:?}"),
    };
    assert_eq!(s.pending_events().await.unwrap(), 1);
    let mut again = write("ns", b"hello");
    again.stamp.stamp_id = Uuid::now_v7();
    match s.record_stamp(again).await.unwrap() {
        StampOutcome::Existing(r) => assert_eq!(r.stamp_id, first.stamp_id),
        other => panic!("expected Existing, got {other:?}"),
    }
    // No event for a duplicate.
    assert_eq!(s.pending_events().await.unwrap(), 1);
    // Same content, other namespace: a new stamp.
    assert!(matches!(
        s.record_stamp(write("other", b"hello")).await.unwrap(),
        StampOutcome::Created(_)
    ));
    let h = hash_bytes(b"hello");
    let got = s.get_stamp(Some("ns"), &h).await.unwrap().unwrap();
    assert_eq!(got.stamp_id, first.stamp_id);
    // Stored verbatim, injection-shaped strings included.
    assert_eq!(got.file_path, w.stamp.file_path);
    assert_eq!(got.metadata, w.stamp.metadata);
    assert_eq!(
        got.created_at.timestamp_micros(),
        w.stamp.created_at.timestamp_micros()
    );
    assert_eq!(
        s.get_stamp(None, &h).await.unwrap().unwrap().stamp_id,
        first.stamp_id
    );
    assert!(s.get_stamp(Some("nope"), &h).await.unwrap().is_none());
}

async fn concurrent_duplicates_make_one_row<S: Store>(s: Arc<S>) {
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(
                async move { s.record_stamp(write("dup", b"same content")).await.unwrap() },
            )
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            StampOutcome::Created(r) => {
                created += 1;
                ids.insert(r.stamp_id);
            }
            StampOutcome::Existing(r) => {
                ids.insert(r.stamp_id);
            }
        }
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(s.pending_events().await.unwrap(), 1);
}

async fn concurrent_distinct_all_land<S: Store>(s: Arc<S>) {
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.record_stamp(write("many", format!("c{i}").as_bytes()))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), StampOutcome::Created(_)));
    }
    for i in 0..200 {
        let h = hash_bytes(format!("c{i}").as_bytes());
        assert!(
            s.get_stamp(Some("many"), &h).await.unwrap().is_some(),
            "stamp {i} lost"
        );
    }
    assert_eq!(s.pending_events().await.unwrap(), 200);
}

mod sqlite {
    use super::*;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).await.unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn created_then_existing() {
        let (_d, s) = store().await;
        super::created_then_existing(s).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_duplicates_make_one_row() {
        let (_d, s) = store().await;
        super::concurrent_duplicates_make_one_row(Arc::new(s)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_distinct_all_land() {
        let (_d, s) = store().await;
        super::concurrent_distinct_all_land(Arc::new(s)).await;
    }

    #[tokio::test]
    async fn survives_reopen_and_migrate_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let w = write("ns", b"persist me");
        {
            let s = SqliteStore::open(dir.path()).await.unwrap();
            s.record_stamp(w.clone()).await.unwrap();
        }
        SqliteStore::migrate(dir.path()).await.unwrap();
        let s = SqliteStore::open(dir.path()).await.unwrap();
        let got = s
            .get_stamp(Some("ns"), &hash_bytes(b"persist me"))
            .await
            .unwrap();
        assert_eq!(got.unwrap().stamp_id, w.stamp.stamp_id);
        s.ping().await.unwrap();
    }
}

//! Store conformance scenarios, written once as generic functions and run per backend.

use std::sync::Arc;

use bridge_core::hash::hash_bytes;
use bridge_core::EventType;
use bridge_store::{
    CursorMove, Delivery, EventRow, NamespaceState, NodeRecord, Position, Reduction,
    ReductionOutcome, SqliteStore, StampOutcome, StampRecord, StampWrite, StepRecord, Store,
    TransitionRecord, WitnessStore, WitnessedLog, WorkflowRecord,
};
use chrono::{SubsecRound, Utc};
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
        workflow_id: Some(Uuid::now_v7()),
        correlation_id,
        created_at: Utc::now(),
        // A signature of realistic length (an SSHSIG blob is 188 bytes, 252 in base64).
        signing_key: Some(format!("SHA256:{}", "k".repeat(43))),
        signature: Some("s".repeat(252)),
        log_index: None,
        log_proof: None,
    };
    let events = vec![EventRow {
        event_id: Uuid::now_v7(),
        event_type: EventType::StampCreated,
        topic: None,
        message_key: ns.into(),
        correlation_id,
        workflow_id: None,
        namespace: Some(ns.into()),
        payload: "{}".into(),
        created_at: Utc::now(),
    }];
    let workflow = workflow(
        stamp.workflow_id.unwrap(),
        correlation_id,
        ns,
        Some(stamp.stamp_id),
    );
    StampWrite {
        stamp,
        workflow: Some(workflow),
        events,
        entry: None,
    }
}

fn workflow(id: Uuid, correlation_id: Uuid, ns: &str, stamp_id: Option<Uuid>) -> WorkflowRecord {
    let state = if stamp_id.is_some() {
        "COMPLETED"
    } else {
        "FAILED"
    };
    WorkflowRecord {
        workflow_id: id,
        correlation_id,
        namespace: ns.into(),
        state: state.into(),
        stamp_id,
        error: stamp_id.is_none().then(|| "step failed".into()),
        intelligence: Some(serde_json::json!({"tags": ["a"]})),
        started_at: Utc::now(),
        completed_at: Some(Utc::now()),
        duration_ms: 1.5,
        steps: (0..3)
            .map(|i| StepRecord {
                step_index: i,
                step_name: format!("step{i}"),
                status: "COMPLETED".into(),
                attempts: 1,
                duration_ms: 0.1,
                error: None,
            })
            .collect(),
        transitions: vec![
            TransitionRecord {
                from_state: "PENDING".into(),
                to_state: "PROCESSING".into(),
                reason: None,
                created_at: Utc::now(),
            },
            TransitionRecord {
                from_state: "PROCESSING".into(),
                to_state: state.into(),
                reason: Some("done".into()),
                created_at: Utc::now(),
            },
        ],
    }
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
    // The signature is stored with its stamp; an unsigned stamp (as every row from before
    // signing) reads back with neither.
    assert!(got.signing_key.is_some());
    assert_eq!(
        (&got.signing_key, &got.signature),
        (&w.stamp.signing_key, &w.stamp.signature)
    );
    let mut unsigned = write("ns", b"unsigned");
    (unsigned.stamp.signing_key, unsigned.stamp.signature) = (None, None);
    s.record_stamp(unsigned).await.unwrap();
    let got = s
        .get_stamp(Some("ns"), &hash_bytes(b"unsigned"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.signing_key, got.signature), (None, None));
}

async fn workflow_rows_go_with_their_stamp<S: Store>(s: S) {
    let w = write("wf", b"workflow content");
    let id = w.stamp.workflow_id.unwrap();
    s.record_stamp(w.clone()).await.unwrap();
    let got = s.get_workflow(id).await.unwrap().unwrap();
    assert_eq!(got.steps.len(), 3);
    assert_eq!(got.transitions.len(), 2);
    assert_eq!(got.transitions[1].to_state, "COMPLETED");
    assert_eq!(got.stamp_id, Some(w.stamp.stamp_id));
    assert_eq!(got.intelligence, w.workflow.as_ref().unwrap().intelligence);
    // A duplicate writes no workflow.
    let dup = write("wf", b"workflow content");
    let dup_id = dup.stamp.workflow_id.unwrap();
    assert!(matches!(
        s.record_stamp(dup).await.unwrap(),
        StampOutcome::Existing(_)
    ));
    assert!(s.get_workflow(dup_id).await.unwrap().is_none());
    // A failed workflow is recorded without a stamp, with its event.
    let failed = workflow(Uuid::now_v7(), Uuid::new_v4(), "wf", None);
    let ev = write("wf", b"unused").events;
    s.record_failed_workflow(failed.clone(), ev).await.unwrap();
    let got = s.get_workflow(failed.workflow_id).await.unwrap().unwrap();
    assert_eq!((got.state.as_str(), got.stamp_id), ("FAILED", None));
    assert_eq!(s.pending_events().await.unwrap(), 2);
    assert!(s.get_workflow(Uuid::now_v7()).await.unwrap().is_none());
}

async fn hostile_strings_round_trip_verbatim<S: Store>(s: S) {
    let hostile = [
        "'; DROP TABLE metadata_stamps; --",
        "\" OR 1=1 --",
        "$1 $$ dollar $$ \\x00 %s %n {}",
        "ünïcödé 🦀 \u{202e}rtl",
        "line\nbreak\ttab\r",
    ];
    for (i, h) in hostile.iter().enumerate() {
        let mut w = write(h, format!("hostile {i}").as_bytes());
        let t = Utc::now().trunc_subsecs(6);
        w.stamp.created_at = t;
        w.stamp.file_path = Some(format!("{h}.txt"));
        w.stamp.content_type = (*h).into();
        w.stamp.stamp = (*h).into();
        w.stamp.op_id = Some((*h).into());
        w.stamp.metadata = Some(serde_json::json!({ *h: [h, {"nested": h}] }));
        let wf = w.workflow.as_mut().unwrap();
        wf.started_at = t;
        wf.completed_at = Some(t);
        wf.intelligence = Some(serde_json::json!({"summary": h}));
        for step in &mut wf.steps {
            step.step_name = (*h).into();
            step.error = Some((*h).into());
        }
        for tr in &mut wf.transitions {
            tr.reason = Some((*h).into());
            tr.created_at = t;
        }
        let expected_workflow = w.workflow.clone().unwrap();
        s.record_stamp(w.clone()).await.unwrap();
        let hash = hash_bytes(format!("hostile {i}").as_bytes());
        let got = s.get_stamp(Some(h), &hash).await.unwrap().unwrap();
        assert_eq!(got, w.stamp, "stamp with {h:?}");
        let got = s
            .get_workflow(expected_workflow.workflow_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, expected_workflow, "workflow with {h:?}");
    }
    assert!(s
        .get_stamp(Some("' OR '1'='1"), &hash_bytes(b"hostile 0"))
        .await
        .unwrap()
        .is_none());
}

async fn optimistic_lock_refuses_stale_writers<S: Store>(s: Arc<S>) {
    assert!(s.get_namespace_state("agg").await.unwrap().is_none());
    let t = Utc::now().trunc_subsecs(6);
    let mut first = NamespaceState::empty("agg");
    first.total_stamps = 2;
    first.total_size_bytes = 30;
    first.file_types = vec!["text/plain".into(), "text/x-python".into()];
    first.workflow_count = 2;
    first.first_stamp_at = Some(t);
    first.last_stamp_at = Some(t);
    first.last_event_seq = 7;
    first.updated_at = t;
    assert!(s.save_namespace_state(&first).await.unwrap());
    // A second "first save" lost the race: refused, nothing written.
    let mut rival = NamespaceState::empty("agg");
    rival.total_stamps = 99;
    assert!(!s.save_namespace_state(&rival).await.unwrap());
    let stored = s.get_namespace_state("agg").await.unwrap().unwrap();
    assert_eq!(
        stored,
        NamespaceState {
            version: 1,
            ..first.clone()
        }
    );
    // A writer holding version 1 wins once; the same stale copy is then refused.
    let mut next = stored.clone();
    next.total_stamps = 3;
    assert!(s.save_namespace_state(&next).await.unwrap());
    assert!(!s.save_namespace_state(&next).await.unwrap());
    assert_eq!(
        s.get_namespace_state("agg").await.unwrap().unwrap().version,
        2
    );

    // 20 racing writers, each adding one stamp with a read-modify-save loop: every increment
    // lands exactly once.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut conflicts = 0u32;
                loop {
                    let mut st = s.get_namespace_state("agg").await.unwrap().unwrap();
                    st.total_stamps += 1;
                    st.last_event_seq = st.last_event_seq.max(100 + i);
                    if s.save_namespace_state(&st).await.unwrap() {
                        return conflicts;
                    }
                    conflicts += 1;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let end = s.get_namespace_state("agg").await.unwrap().unwrap();
    assert_eq!(
        (end.total_stamps, end.version, end.last_event_seq),
        (23, 22, 119)
    );
}

fn counted(ns: &str, stamps: i64, version: i64) -> NamespaceState {
    let mut st = NamespaceState::empty(ns);
    st.total_stamps = stamps;
    st.version = version;
    st.updated_at = Utc::now().trunc_subsecs(6);
    st
}

async fn reductions_save_states_and_cursors_together<S: Store>(s: Arc<S>) {
    let first = Reduction {
        cursors: vec![CursorMove {
            name: "event_logs".into(),
            from: None,
            to: Position::at(5),
        }],
        states: vec![counted("r1", 3, 0), counted("r2", 2, 0)],
    };
    assert_eq!(
        s.apply_reduction(&first).await.unwrap(),
        ReductionOutcome::Applied
    );
    assert_eq!(
        s.get_cursor("event_logs").await.unwrap(),
        Some(Position::at(5))
    );
    assert_eq!(s.get_cursor("kafka:t:0").await.unwrap(), None);
    let names = vec!["r2".to_string(), "r1".to_string(), "absent".to_string()];
    let mut got = s.get_namespace_states(&names).await.unwrap();
    got.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    assert_eq!(
        got.iter()
            .map(|g| (g.namespace.as_str(), g.total_stamps, g.version))
            .collect::<Vec<_>>(),
        vec![("r1", 3, 1), ("r2", 2, 1)]
    );

    // Replaying the same window (another reducer, or a restart that read the old cursor):
    // the cursor refuses it and nothing is written, not even the valid state.
    let replay = Reduction {
        cursors: first.cursors.clone(),
        states: vec![counted("r3", 1, 0)],
    };
    assert_eq!(
        s.apply_reduction(&replay).await.unwrap(),
        ReductionOutcome::CursorMoved("event_logs".into())
    );
    assert!(s.get_namespace_state("r3").await.unwrap().is_none());

    // A stale version: the conflicting namespace is named, the cursor does not move.
    let stale = Reduction {
        cursors: vec![CursorMove {
            name: "event_logs".into(),
            from: Some(Position::at(5)),
            to: Position::at(9),
        }],
        states: vec![counted("r1", 4, 1), counted("r2", 9, 0)],
    };
    assert_eq!(
        s.apply_reduction(&stale).await.unwrap(),
        ReductionOutcome::Conflict(vec!["r2".into()])
    );
    assert_eq!(
        s.get_cursor("event_logs").await.unwrap(),
        Some(Position::at(5))
    );
    assert_eq!(
        s.get_namespace_state("r1")
            .await
            .unwrap()
            .unwrap()
            .total_stamps,
        3
    );
    // Retried from fresh versions, it lands.
    let fresh = Reduction {
        states: vec![counted("r1", 4, 1), counted("r2", 9, 1)],
        ..stale
    };
    assert_eq!(
        s.apply_reduction(&fresh).await.unwrap(),
        ReductionOutcome::Applied
    );
    assert_eq!(
        s.get_cursor("event_logs").await.unwrap(),
        Some(Position::at(9))
    );

    // Listing pages through namespaces in name order.
    let page = s.list_namespace_states(None, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].namespace, "r1");
    let rest = s.list_namespace_states(Some("r1"), 10).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|r| r.namespace.as_str())
            .collect::<Vec<_>>(),
        vec!["r2"]
    );
}

/// Reads until `want` events are returned: on PostgreSQL a transaction open anywhere in the
/// cluster (another test's) holds rows back until it ends.
async fn read_settled<S: Store + ?Sized>(
    s: &S,
    after: Position,
    limit: u32,
    want: usize,
) -> Vec<bridge_store::LoggedEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = s.read_stamp_events(after, limit).await.unwrap();
        if got.len() >= want || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn stamp_events_are_read_in_order_past_a_cursor<S: Store>(s: Arc<S>) {
    let mut stamped = Vec::new();
    for i in 0..5 {
        let mut w = write("log", format!("logged {i}").as_bytes());
        // A workflow's other events are in the log too; the reducer reads only STAMP_CREATED.
        let mut other = w.events[0].clone();
        other.event_id = Uuid::now_v7();
        other.event_type = EventType::WorkflowCompleted;
        w.events[0].payload = format!("{{\"n\":{i}}}");
        w.events.insert(0, other);
        s.record_stamp(w).await.unwrap();
        stamped.push(format!("{{\"n\":{i}}}"));
    }
    let start = Position::default();
    assert_eq!(s.count_stamp_events(start, 100).await.unwrap(), 5);
    assert_eq!(s.count_stamp_events(start, 3).await.unwrap(), 3);
    let first = read_settled(&*s, start, 2, 2).await;
    assert_eq!(first.len(), 2);
    let rest = read_settled(&*s, first[1].position, 100, 3).await;
    let all: Vec<_> = first.iter().chain(&rest).collect();
    assert_eq!(
        all.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
        stamped
    );
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let end = all.last().unwrap().position;
    assert!(s.read_stamp_events(end, 100).await.unwrap().is_empty());
    assert_eq!(s.count_stamp_events(end, 100).await.unwrap(), 0);
}

fn node(id: &str, node_type: &str, health: &str) -> NodeRecord {
    let now = Utc::now().trunc_subsecs(6);
    NodeRecord {
        node_id: id.into(),
        node_type: node_type.into(),
        version: "1.0.0".into(),
        capabilities: vec![
            "stamp".into(),
            "'; DROP TABLE node_registrations; --".into(),
        ],
        endpoints: serde_json::json!({"http": "http://127.0.0.1:1"}),
        metadata: serde_json::json!({"zone": "a\u{0}b"}),
        health_status: health.into(),
        last_heartbeat: now,
        registered_at: now,
        updated_at: now,
    }
}

fn node_event(id: &str, kind: EventType) -> EventRow {
    EventRow {
        event_id: Uuid::now_v7(),
        event_type: kind,
        topic: None,
        message_key: id.into(),
        correlation_id: Uuid::now_v7(),
        workflow_id: None,
        namespace: None,
        payload: "{}".into(),
        created_at: Utc::now(),
    }
}

async fn nodes_are_written_by_optimistic_lock_with_their_events<S: Store>(s: Arc<S>) {
    let a = node("a", "reducer", "HEALTHY");
    assert!(s
        .save_node(
            "a",
            None,
            Some(&a),
            vec![node_event("a", EventType::NodeRegistered)]
        )
        .await
        .unwrap());
    // A second first registration loses: nothing written, not even its event.
    assert!(!s
        .save_node(
            "a",
            None,
            Some(&a),
            vec![node_event("a", EventType::NodeRegistered)]
        )
        .await
        .unwrap());
    assert_eq!(s.pending_events().await.unwrap(), 1);
    assert_eq!(s.get_node("a").await.unwrap().unwrap(), a);
    let b = node("b", "effect", "UNHEALTHY");
    assert!(s.save_node("b", None, Some(&b), vec![]).await.unwrap());

    // An update from the row as read lands; the same stale token is then refused.
    let mut next = a.clone();
    next.health_status = "UNHEALTHY".into();
    next.updated_at = (a.updated_at + chrono::Duration::milliseconds(1)).trunc_subsecs(6);
    assert!(s
        .save_node(
            "a",
            Some(a.updated_at),
            Some(&next),
            vec![node_event("a", EventType::NodeHealthChanged)]
        )
        .await
        .unwrap());
    assert!(!s
        .save_node("a", Some(a.updated_at), Some(&a), vec![])
        .await
        .unwrap());
    assert_eq!(s.pending_events().await.unwrap(), 2);

    // Filters.
    let ids = |v: Vec<NodeRecord>| v.into_iter().map(|n| n.node_id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_nodes(None, None).await.unwrap()), vec!["a", "b"]);
    assert_eq!(
        ids(s.list_nodes(Some("effect"), None).await.unwrap()),
        vec!["b"]
    );
    assert_eq!(
        ids(s.list_nodes(None, Some("UNHEALTHY")).await.unwrap()),
        vec!["a", "b"]
    );
    assert!(s
        .list_nodes(Some("reducer"), Some("HEALTHY"))
        .await
        .unwrap()
        .is_empty());

    // Deleting needs the current token too.
    assert!(!s
        .save_node("a", Some(a.updated_at), None, vec![])
        .await
        .unwrap());
    assert!(s
        .save_node(
            "a",
            Some(next.updated_at),
            None,
            vec![node_event("a", EventType::NodeDeregistered)]
        )
        .await
        .unwrap());
    assert!(s.get_node("a").await.unwrap().is_none());
    assert_eq!(s.pending_events().await.unwrap(), 3);
}

async fn outbox_claims_are_ordered_leased_and_settled<S: Store>(s: Arc<S>) {
    let mut ids = Vec::new();
    for i in 0..3 {
        let w = write("outbox", format!("event {i}").as_bytes());
        ids.push(w.events[0].event_id);
        s.record_stamp(w).await.unwrap();
    }
    let lease = std::time::Duration::from_secs(30);
    let first = s.claim_outbox(2, lease).await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.event_id).collect::<Vec<_>>(),
        ids[..2].to_vec()
    );
    assert!(first[0].seq < first[1].seq);
    assert_eq!((first[0].attempts, first[0].payload.as_str()), (1, "{}"));
    // Leased rows are skipped.
    let rest = s.claim_outbox(10, lease).await.unwrap();
    assert_eq!(
        rest.iter().map(|r| r.event_id).collect::<Vec<_>>(),
        vec![ids[2]]
    );
    assert!(s.claim_outbox(10, lease).await.unwrap().is_empty());
    s.settle_outbox(&[
        (first[0].seq, Delivery::Sent),
        (first[1].seq, Delivery::Retry("broker down".into())),
        (rest[0].seq, Delivery::Failed("message too large".into())),
    ])
    .await
    .unwrap();
    assert_eq!(s.pending_events().await.unwrap(), 1);
    let again = s.claim_outbox(10, lease).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].event_id, again[0].attempts), (ids[1], 2));
    // A relay that dies holding a lease: the row comes back once the lease expires.
    s.settle_outbox(&[(again[0].seq, Delivery::Retry("x".into()))])
        .await
        .unwrap();
    let short = s
        .claim_outbox(10, std::time::Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(short.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let back = s.claim_outbox(10, lease).await.unwrap();
    assert_eq!((back[0].event_id, back[0].attempts), (ids[1], 4));
    s.settle_outbox(&[(back[0].seq, Delivery::Sent)])
        .await
        .unwrap();
    assert_eq!(s.pending_events().await.unwrap(), 0);

    // Four relays claiming at once never get the same row.
    for i in 0..40 {
        s.record_stamp(write("outbox", format!("many {i}").as_bytes()))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let rows = s.claim_outbox(3, lease).await.unwrap();
                    if rows.is_empty() {
                        return got;
                    }
                    got.extend(rows.iter().map(|r| r.seq));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (40, 40));
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

/// A unit that cannot be written (two events with one `event_id`) fails alone: the units
/// group-committed with it land, and nothing of it is half-written.
async fn a_failing_unit_spares_its_batch<S: Store>(s: Arc<S>) {
    const BAD: usize = 31;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let s = s.clone();
            let mut w = write("batch", format!("unit {i}").as_bytes());
            if i == BAD {
                w.events.push(w.events[0].clone());
            }
            let workflow_id = w.workflow.as_ref().map(|wf| wf.workflow_id).unwrap();
            tokio::spawn(async move { (workflow_id, s.record_stamp(w).await) })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let (workflow_id, result) = t.await.unwrap();
        let stored = s.get_workflow(workflow_id).await.unwrap();
        if i == BAD {
            assert!(
                result.is_err(),
                "the unit with a repeated event id was written"
            );
            assert!(
                stored.is_none(),
                "the failed unit's workflow was half-written"
            );
        } else {
            assert!(
                matches!(result, Ok(StampOutcome::Created(_))),
                "unit {i}: {result:?}"
            );
            assert!(stored.is_some(), "unit {i}'s workflow lost");
        }
    }
    let bad = hash_bytes(format!("unit {BAD}").as_bytes());
    assert!(s.get_stamp(Some("batch"), &bad).await.unwrap().is_none());
    assert_eq!(s.pending_events().await.unwrap(), 63);
}

/// The witness's state (SPEC §13): an advance is a compare-and-swap on (size, root); of
/// concurrent advances from one state exactly one lands.
async fn witness_state_advances_by_compare_and_swap<S: Store + WitnessStore>(s: Arc<S>) {
    use bridge_core::tlog::Hash;
    let log = |size: u64, root: u8| WitnessedLog {
        origin: "example.com/log".into(),
        size,
        root: Hash([root; 32]),
        checkpoint: format!("example.com/log\n{size}\nroot {root}\n\n\u{2014} sig\n"),
    };
    assert_eq!(s.witnessed("example.com/log").await.unwrap(), None);
    assert!(s.advance_witnessed(None, &log(10, 1)).await.unwrap());
    assert!(
        !s.advance_witnessed(None, &log(11, 2)).await.unwrap(),
        "a second first write"
    );
    assert!(
        !s.advance_witnessed(Some((10, Hash([9; 32]))), &log(12, 3))
            .await
            .unwrap(),
        "another root"
    );
    assert!(
        !s.advance_witnessed(Some((9, Hash([1; 32]))), &log(12, 3))
            .await
            .unwrap(),
        "another size"
    );
    assert_eq!(
        s.witnessed("example.com/log").await.unwrap(),
        Some(log(10, 1))
    );
    assert!(s
        .advance_witnessed(Some((10, Hash([1; 32]))), &log(30, 4))
        .await
        .unwrap());
    let hash = bridge_store::witness::origin_hash("example.com/log");
    assert_eq!(hash.len(), 64);
    assert_eq!(s.witnessed_by_hash(&hash).await.unwrap(), Some(log(30, 4)));
    assert_eq!(s.witnessed_by_hash(&"0".repeat(64)).await.unwrap(), None);
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let s = s.clone();
            let next = log(31 + u64::from(i), 10 + i);
            tokio::spawn(async move {
                s.advance_witnessed(Some((30, Hash([4; 32]))), &next)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one advance from one state lands");
    let now = s.witnessed("example.com/log").await.unwrap().unwrap();
    assert!((31..39).contains(&now.size));
    assert_eq!(now.root.0[0], 10 + (now.size - 31) as u8);
}

/// The log's side of witnessing (SPEC §13): sizes learned per witness, cosignatures per
/// checkpoint, the witnessed checkpoint only moving forward, and a lease one holder at a time.
async fn log_witnessing_state_round_trips<S: Store>(s: Arc<S>) {
    use bridge_store::{Cosignature, Evidence, WitnessSize, WitnessingWrite};
    let size = |w: &str, n: u64| WitnessSize {
        witness: w.into(),
        size: n,
    };
    assert!(s.witness_sizes().await.unwrap().is_empty());
    let cosig = |w: &str, line: &str| Cosignature {
        witness: w.into(),
        line: line.into(),
    };
    let witnessed = |size: u64, note: &str| WitnessingWrite {
        witnessed: Some((size, note.into())),
        ..WitnessingWrite::default()
    };
    s.record_witnessing(&WitnessingWrite::default())
        .await
        .unwrap();
    s.record_witnessing(&WitnessingWrite {
        sizes: vec![size("a+1+x", 5), size("b+2+y", 5)],
        cosignatures: vec![
            (5, cosig("a+1+x", "\u{2014} a line\n")),
            (5, cosig("b+2+y", "\u{2014} b line\n")),
        ],
        witnessed: Some((5, "note 5".into())),
    })
    .await
    .unwrap();
    // A 409 may say less than we thought: what the witness says is what it has.
    s.record_witnessing(&WitnessingWrite {
        sizes: vec![size("a+1+x", 3)],
        ..WitnessingWrite::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.witness_sizes().await.unwrap(),
        vec![size("a+1+x", 3), size("b+2+y", 5)]
    );
    let cosigs = s.cosignatures(5).await.unwrap();
    assert_eq!(cosigs.len(), 2);
    assert_eq!(cosigs[0].line, "\u{2014} a line\n");
    assert!(s.cosignatures(4).await.unwrap().is_empty());

    // The witnessed checkpoint only moves forward (or gains cosignatures at its size).
    let stored = || async {
        s.witnessed_checkpoint()
            .await
            .unwrap()
            .map(|c| (c.size, c.note))
    };
    assert_eq!(stored().await, Some((5, "note 5".into())));
    for (size, note) in [(3, "note 3"), (5, "othr 5"), (5, "note")] {
        s.record_witnessing(&witnessed(size, note)).await.unwrap();
        assert_eq!(stored().await, Some((5, "note 5".into())), "{note}");
    }
    s.record_witnessing(&witnessed(5, "note 5 more"))
        .await
        .unwrap();
    assert_eq!(
        stored().await,
        Some((5, "note 5 more".into())),
        "more cosignatures"
    );
    s.record_witnessing(&witnessed(9, "note 9")).await.unwrap();
    assert_eq!(stored().await, Some((9, "note 9".into())));

    let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
    let long = std::time::Duration::from_secs(30);
    assert!(s.take_lease("witnesses", one, long).await.unwrap());
    assert!(!s.take_lease("witnesses", two, long).await.unwrap());
    assert!(
        s.take_lease("witnesses", one, long).await.unwrap(),
        "renewed"
    );
    assert!(s
        .take_lease("other", two, std::time::Duration::from_millis(1))
        .await
        .unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(s.take_lease("other", one, long).await.unwrap(), "expired");
    assert!(!s.take_lease("other", two, long).await.unwrap());

    s.keep_evidence(&Evidence {
        witness: "a+1+x".into(),
        status: 422,
        request: "old 3\n\nx'; --".into(),
        answer: "no\n".into(),
    })
    .await
    .unwrap();
}

/// Every scenario as a test of one backend; `$store` is an async block giving
/// `(guard, store)`, the guard keeping the database alive for the test.
macro_rules! conformance {
    ($backend:ident, $store:expr) => {
        mod $backend {
            use super::*;

            conformance!(@each $store;
                created_then_existing,
                workflow_rows_go_with_their_stamp,
                hostile_strings_round_trip_verbatim;
                optimistic_lock_refuses_stale_writers,
                reductions_save_states_and_cursors_together,
                nodes_are_written_by_optimistic_lock_with_their_events,
                stamp_events_are_read_in_order_past_a_cursor,
                outbox_claims_are_ordered_leased_and_settled,
                concurrent_duplicates_make_one_row,
                a_failing_unit_spares_its_batch,
                concurrent_distinct_all_land,
                witness_state_advances_by_compare_and_swap,
                log_witnessing_state_round_trips
            );
        }
    };
    // Scenarios that take the store itself, then those that share it behind an Arc.
    (@each $store:expr; $($owned:ident),*; $($shared:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $owned() {
                let (_g, s) = $store.await;
                super::super::$owned(s).await;
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $shared() {
                let (_g, s) = $store.await;
                super::super::$shared(Arc::new(s)).await;
            }
        )*
    };
}

mod sqlite {
    use super::*;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).await.unwrap();
        (dir, s)
    }

    conformance!(scenarios, super::store());

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

    #[tokio::test]
    async fn the_wal_is_copied_back_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).await.unwrap();
        let db = dir.path().join(bridge_store::sqlite::DB_FILE);
        let size = || std::fs::metadata(&db).unwrap().len();
        let before = size();
        // In WAL mode only a checkpoint writes the database file. These few stamps are a few
        // hundred WAL frames, under the 1,000 of SQLite's automatic checkpoint in the
        // writer's commit: only the background checkpointer copies them back.
        for i in 0..10 {
            s.record_stamp(write("ns", format!("wal {i}").as_bytes()))
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while size() == before {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {before} bytes: nothing was checkpointed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn page_size(dir: &std::path::Path) -> i64 {
        rusqlite::Connection::open(dir.join(bridge_store::sqlite::DB_FILE))
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn new_databases_use_4_kib_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        SqliteStore::open(dir.path()).await.unwrap();
        assert_eq!(page_size(dir.path()), 4096);

        // A database created before (16 KiB pages, already in WAL mode) opens unchanged.
        let old = tempfile::tempdir().unwrap();
        {
            let c =
                rusqlite::Connection::open(old.path().join(bridge_store::sqlite::DB_FILE)).unwrap();
            c.pragma_update(None, "page_size", 16384).unwrap();
            c.pragma_update(None, "journal_mode", "WAL").unwrap();
            c.execute_batch("CREATE TABLE before_us (a INTEGER)")
                .unwrap();
        }
        let s = SqliteStore::open(old.path()).await.unwrap();
        s.record_stamp(write("ns", b"old pages")).await.unwrap();
        assert_eq!(page_size(old.path()), 16384);
    }
}

mod postgres {
    use super::*;
    use bridge_store::{PgOptions, PgStore};

    /// The cluster `scripts/test` starts (`scripts/pg`). Not optional: a PostgreSQL test that
    /// skipped itself would pass with the backend missing.
    fn admin_url() -> String {
        std::env::var("OMNINODE_TEST_PG_URL")
            .expect("OMNINODE_TEST_PG_URL is not set: run ./scripts/test, which starts PostgreSQL")
    }

    fn options(url: String) -> PgOptions {
        let mut o = PgOptions::new(url);
        // Many tests share one cluster.
        o.min_connections = 1;
        o.max_connections = 8;
        o
    }

    async fn store() -> ((), PgStore) {
        let url = PgStore::scratch_database(&admin_url()).await.unwrap();
        ((), PgStore::connect(options(url)).await.unwrap())
    }

    conformance!(scenarios, super::store());

    #[tokio::test]
    async fn survives_reconnect_and_migrate_is_idempotent() {
        let url = PgStore::scratch_database(&admin_url()).await.unwrap();
        let w = write("ns", b"persist me");
        {
            let s = PgStore::connect(options(url.clone())).await.unwrap();
            s.record_stamp(w.clone()).await.unwrap();
        }
        PgStore::migrate(&url).await.unwrap();
        let s = PgStore::connect(options(url)).await.unwrap();
        let got = s
            .get_stamp(Some("ns"), &hash_bytes(b"persist me"))
            .await
            .unwrap();
        assert_eq!(got.unwrap().stamp_id, w.stamp.stamp_id);
        s.ping().await.unwrap();
        assert_eq!(s.backend(), "postgres");
        let pool = s.pool_status().unwrap();
        assert_eq!(pool.max, 8);
    }

    #[tokio::test]
    async fn an_unreachable_database_fails_fast_and_opens_the_breaker() {
        let url = PgStore::scratch_database(&admin_url()).await.unwrap();
        let s = PgStore::connect(options(url.clone())).await.unwrap();
        // Drop the database under the store: every connection is gone, new ones are refused.
        let mut admin = sqlx::ConnectOptions::connect(
            &admin_url()
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap(),
        )
        .await
        .unwrap();
        // The path's last segment (the URL carries TLS settings in its query).
        let name = url::Url::parse(&url)
            .unwrap()
            .path()
            .trim_start_matches('/')
            .to_owned();
        sqlx::Executor::execute(
            &mut admin,
            format!("DROP DATABASE {name} WITH (FORCE)").as_str(),
        )
        .await
        .unwrap();
        let mut errors = Vec::new();
        for i in 0..8 {
            let started = std::time::Instant::now();
            let e = s
                .record_stamp(write("gone", format!("{i}").as_bytes()))
                .await
                .unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{e}");
            errors.push(e);
        }
        assert!(
            errors
                .iter()
                .all(|e| matches!(e, bridge_store::StoreError::Unavailable(_))),
            "{errors:?}"
        );
        assert_eq!(
            s.breaker_state(),
            Some(bridge_core::breaker::BreakerState::Open)
        );
        assert!(errors
            .last()
            .unwrap()
            .to_string()
            .contains("circuit breaker open"));
    }

    /// Concurrent transactions commit out of `seq` order; the reducer must never step over a
    /// row that becomes visible after a later one.
    #[tokio::test]
    async fn a_slow_commit_is_not_overtaken_by_the_reducer_cursor() {
        let url = PgStore::scratch_database(&admin_url()).await.unwrap();
        let s = PgStore::connect(options(url.clone())).await.unwrap();
        let mut slow = sqlx::ConnectOptions::connect(
            &url.parse::<sqlx::postgres::PgConnectOptions>().unwrap(),
        )
        .await
        .unwrap();
        sqlx::Executor::execute(&mut slow, "BEGIN").await.unwrap();
        sqlx::query(
            "INSERT INTO event_logs (event_id, event_type, message_key, correlation_id, payload, \
             created_at) VALUES ($1, 'STAMP_CREATED', 'k', $1, 'slow', now())",
        )
        .bind(Uuid::now_v7())
        .execute(&mut slow)
        .await
        .unwrap();
        // A later transaction takes a higher seq and commits first.
        let mut fast = write("log", b"fast");
        fast.events[0].payload = "fast".into();
        s.record_stamp(fast).await.unwrap();
        assert!(
            s.read_stamp_events(Position::default(), 10)
                .await
                .unwrap()
                .is_empty(),
            "a row past an open transaction was handed out"
        );
        sqlx::Executor::execute(&mut slow, "COMMIT").await.unwrap();
        let read = super::read_settled(&s, Position::default(), 10, 2).await;
        assert_eq!(
            read.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>(),
            vec!["slow", "fast"]
        );
        // The slow row's seq is lower, yet the positions order by commit-safe txid first.
        assert!(read[0].position < read[1].position);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_saturated_pool_is_counted() {
        let url = PgStore::scratch_database(&admin_url()).await.unwrap();
        let mut o = options(url);
        o.min_connections = 0;
        o.max_connections = 2;
        let s = Arc::new(PgStore::connect(o).await.unwrap());
        assert_eq!(s.pool_status().unwrap().exhaustion_warnings, 0);
        let h = hash_bytes(b"nothing");
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.get_stamp(Some("ns"), &h).await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_none());
        }
        let pool = s.pool_status().unwrap();
        assert!(pool.exhaustion_warnings > 0, "{pool:?}");
        assert!(pool.active + pool.idle <= 2, "{pool:?}");
    }
}

//! Orchestrator tests over a real SQLite store; the intelligence service is an in-process
//! fake (an external boundary behind a trait).

use std::sync::Arc;
use std::time::Duration;

use bridge_core::contract::{builtin::Builtin, load, StepName};
use bridge_core::{Namespace, RelativePath, StampType};
use bridge_store::{SqliteStore, Store};

use async_trait::async_trait;

use super::step::StepFailure;
use super::*;
use crate::NodeError;

/// A fake intelligence service: sleeps, then answers or fails.
struct Fake {
    delay: Duration,
    answer: std::result::Result<serde_json::Value, IntelligenceError>,
}

#[async_trait]
impl Intelligence for Fake {
    async fn analyze(
        &self,
        _content: &[u8],
    ) -> std::result::Result<serde_json::Value, IntelligenceError> {
        tokio::time::sleep(self.delay).await;
        self.answer.clone()
    }
}

fn input(content: &str) -> StampInput {
    StampInput {
        content: content.as_bytes().to_vec(),
        namespace: Namespace::parse("ns").unwrap(),
        file_path: Some(RelativePath::parse("a.py").unwrap()),
        stamp_type: StampType::Rich,
        metadata: None,
        op_id: None,
        correlation_id: Uuid::new_v4(),
    }
}

async fn setup(intelligence_optional: bool) -> (tempfile::TempDir, Arc<SqliteStore>, Orchestrator) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let mut contract = load(&Builtin).unwrap().orchestrator;
    for s in &mut contract.workflow.steps {
        if s.name == StepName::OnextreeIntelligence {
            s.optional = intelligence_optional;
            s.timeout_ms = 1000;
        }
    }
    let o = Orchestrator::new(store.clone(), contract, "test").unwrap();
    (dir, store, o)
}

#[tokio::test]
async fn a_workflow_records_steps_transitions_and_events_with_the_stamp() {
    let (_d, store, o) = setup(true).await;
    let r = o.stamp(input("print(1)\n")).await.unwrap();
    let wf = workflow_of(&store, &r).await;
    assert_eq!(wf.state, "COMPLETED");
    assert_eq!(wf.stamp_id, Some(r.record.stamp_id));
    let steps: Vec<_> = wf
        .steps
        .iter()
        .map(|s| (s.step_name.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("validate_input", "COMPLETED"),
            ("onextree_intelligence", "SKIPPED"),
            ("hash_generation", "COMPLETED"),
            ("stamp_creation", "COMPLETED"),
            ("event_publishing", "COMPLETED"),
        ]
    );
    let moves: Vec<_> = wf
        .transitions
        .iter()
        .map(|t| (t.from_state.as_str(), t.to_state.as_str()))
        .collect();
    assert_eq!(
        moves,
        [("PENDING", "PROCESSING"), ("PROCESSING", "COMPLETED")]
    );
    // WORKFLOW_STARTED, 2 transitions, 4 completed steps, HASH_GENERATED, STAMP_CREATED, WORKFLOW_COMPLETED.
    assert_eq!(store.pending_events().await.unwrap(), 10);
}

// Time is paused after the store is open (its pool would see a paused clock's jumps as
// connect timeouts) and resumed before reading back.
#[tokio::test]
async fn optional_intelligence_timing_out_is_skipped_and_the_workflow_completes() {
    let (_d, store, o) = setup(true).await;
    tokio::time::pause();
    let o = o.with_intelligence(Arc::new(Fake {
        delay: Duration::from_secs(30),
        answer: Ok(json_ok()),
    }));
    let r = o.stamp(input("slow\n")).await.unwrap();
    tokio::time::resume();
    let wf = workflow_of(&store, &r).await;
    assert_eq!(wf.state, "COMPLETED");
    let step = &wf.steps[1];
    assert_eq!(
        (step.status.as_str(), step.error.as_deref()),
        ("SKIPPED", Some("timed out after 1000 ms"))
    );
    // Paused time advances in whole-millisecond timer ticks.
    assert!(
        (1000.0..1002.0).contains(&step.duration_ms),
        "{}",
        step.duration_ms
    );
    assert_eq!(wf.intelligence, None);
}

#[tokio::test]
async fn required_intelligence_timing_out_fails_the_workflow_and_writes_no_stamp() {
    let (_d, store, o) = setup(false).await;
    tokio::time::pause();
    let o = o.with_intelligence(Arc::new(Fake {
        delay: Duration::from_secs(30),
        answer: Ok(json_ok()),
    }));
    let err = o.stamp(input("must fail\n")).await.unwrap_err();
    tokio::time::resume();
    let NodeError::StepFailed {
        step,
        failure,
        workflow_id,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (step, failure),
        ("onextree_intelligence", StepFailure::Timeout(1000))
    );
    let wf = store.get_workflow(workflow_id).await.unwrap().unwrap();
    assert_eq!(wf.state, "FAILED");
    assert_eq!(wf.stamp_id, None);
    assert_eq!(wf.steps.len(), 2, "steps after the failure do not run");
    let last = wf.transitions.last().unwrap();
    assert_eq!(
        (last.from_state.as_str(), last.to_state.as_str()),
        ("PROCESSING", "FAILED")
    );
    let hash = bridge_core::hash::hash_bytes(b"must fail\n");
    assert!(
        store.get_stamp(Some("ns"), &hash).await.unwrap().is_none(),
        "nothing half-written"
    );
}

#[tokio::test]
async fn required_intelligence_down_fails_with_its_error() {
    let (_d, _store, o) = setup(false).await;
    let o = o.with_intelligence(Arc::new(Fake {
        delay: Duration::ZERO,
        answer: Err(IntelligenceError::BreakerOpen("open")),
    }));
    let err = o.stamp(input("x\n")).await.unwrap_err();
    assert!(
        matches!(err, NodeError::StepFailed { failure: StepFailure::Error(ref e), .. } if *e == IntelligenceError::BreakerOpen("open").to_string()),
        "{err:?}"
    );
}

#[tokio::test]
async fn intelligence_result_is_stored_with_the_workflow() {
    let (_d, store, o) = setup(true).await;
    let o = o.with_intelligence(Arc::new(Fake {
        delay: Duration::ZERO,
        answer: Ok(json_ok()),
    }));
    let r = o.stamp(input("smart\n")).await.unwrap();
    let wf = workflow_of(&store, &r).await;
    assert_eq!(wf.intelligence, Some(json_ok()));
    assert_eq!(wf.steps[1].status, "COMPLETED");
}

#[tokio::test]
async fn a_duplicate_returns_the_first_workflow() {
    let (_d, store, o) = setup(true).await;
    let a = o.stamp(input("same\n")).await.unwrap();
    let b = o.stamp(input("same\n")).await.unwrap();
    assert!(b.deduplicated);
    assert_eq!(a.record.workflow_id, b.record.workflow_id);
    assert_eq!(
        store.pending_events().await.unwrap(),
        10,
        "no events for the duplicate"
    );
}

#[tokio::test]
async fn empty_content_is_rejected_pending_to_failed() {
    let (_d, _store, o) = setup(true).await;
    let err = o.stamp(input("")).await.unwrap_err();
    assert!(matches!(err, NodeError::Rejected(_)), "{err:?}");
}

/// The recorded workflow of a stamp result.
async fn workflow_of(store: &SqliteStore, r: &StampResult) -> bridge_store::WorkflowRecord {
    store
        .get_workflow(r.record.workflow_id.unwrap())
        .await
        .unwrap()
        .unwrap()
}

fn json_ok() -> serde_json::Value {
    serde_json::json!({"language": "python", "tags": ["script"]})
}

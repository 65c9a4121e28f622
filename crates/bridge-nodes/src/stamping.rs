//! The stamping pipeline: unstamp → hash → detect → stamp → one durable write (stamp and its
//! `STAMP_CREATED` event). Idempotent per `(namespace, file_hash)`: a repeat returns the
//! first stamp, re-applied to the caller's content.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_core::envelope::Envelope;
use bridge_core::stamp::{self, Original, StampRequest};
use bridge_core::{Namespace, RelativePath, StampType, Treatment};
use bridge_store::{EventRow, StampOutcome, StampRecord, StampWrite, Store};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::Result;

/// A validated stamping request.
#[derive(Clone, Debug)]
pub struct StampInput {
    /// Raw content (after base64 decoding, if any).
    pub content: Vec<u8>,
    /// Tenant namespace.
    pub namespace: Namespace,
    /// Client's relative path.
    pub file_path: Option<RelativePath>,
    /// Rich or lightweight.
    pub stamp_type: StampType,
    /// Client metadata (a JSON object).
    pub metadata: Option<serde_json::Value>,
    /// Client operation id.
    pub op_id: Option<String>,
    /// Correlation id of the request.
    pub correlation_id: Uuid,
}

/// What stamping produced.
#[derive(Clone, Debug)]
pub struct StampResult {
    /// The stored stamp (the first one, if deduplicated).
    pub record: StampRecord,
    /// True when the stamp already existed.
    pub deduplicated: bool,
    /// The stamped content; `None` for sidecar types.
    pub stamped_content: Option<Vec<u8>>,
    /// Time spent hashing (for `hash_generation_duration_seconds`).
    pub hash_time: Duration,
}

/// Runs the stamping pipeline against a store.
#[derive(Clone)]
pub struct Stamper {
    store: Arc<dyn Store>,
}

impl Stamper {
    /// A stamper writing to `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store behind this stamper.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stamps one piece of content.
    pub async fn stamp(&self, input: StampInput) -> Result<StampResult> {
        let started = Instant::now();
        let original = Original::of(&input.content);
        let hash_time = started.elapsed();
        let now = Utc::now();
        let workflow_id = Uuid::now_v7();
        let made = stamp::stamp(
            &original,
            &StampRequest {
                namespace: input.namespace.as_str(),
                file_path: input.file_path.as_ref().map(RelativePath::as_str),
                stamp_type: input.stamp_type,
                stamp_id: Uuid::now_v7(),
                now,
            },
        );
        let record = StampRecord {
            stamp_id: made.fields.stamp_id,
            namespace: input.namespace.as_str().to_owned(),
            file_hash: original.hash.to_string(),
            content_type: made.kind.content_type.clone(),
            file_size: made.fields.file_size as i64,
            file_path: made.fields.file_path.clone(),
            stamp_type: input.stamp_type.as_str().to_owned(),
            sidecar: made.stamped.is_none(),
            stamp: made.stamp_text.clone(),
            metadata: input.metadata,
            op_id: input.op_id,
            workflow_id: Some(workflow_id),
            correlation_id: input.correlation_id,
            created_at: now,
        };
        let event = stamp_created(&record, now);
        let outcome = self
            .store
            .record_stamp(StampWrite {
                stamp: record,
                events: vec![event],
            })
            .await?;
        Ok(match outcome {
            StampOutcome::Created(record) => StampResult {
                record,
                deduplicated: false,
                stamped_content: made.stamped,
                hash_time,
            },
            StampOutcome::Existing(record) => {
                let treatment = if record.sidecar {
                    Treatment::Sidecar
                } else {
                    made.kind.treatment
                };
                let stamped_content = stamp::reapply(&original.bytes, &record.stamp, treatment);
                StampResult {
                    record,
                    deduplicated: true,
                    stamped_content,
                    hash_time,
                }
            }
        })
    }
}

/// The `STAMP_CREATED` event of a new stamp, keyed by namespace for the reducer.
fn stamp_created(r: &StampRecord, now: chrono::DateTime<Utc>) -> EventRow {
    let payload = json!({
        "stamp_id": r.stamp_id,
        "namespace": r.namespace,
        "file_hash": r.file_hash,
        "content_type": r.content_type,
        "file_size": r.file_size,
        "file_path": r.file_path,
        "stamp_type": r.stamp_type,
        "workflow_id": r.workflow_id,
    });
    let env = Envelope::new(
        "STAMP_CREATED",
        r.correlation_id,
        "orchestrator",
        now,
        payload,
    );
    EventRow {
        event_id: env.event_id,
        event_type: env.event_type.clone(),
        topic: None,
        message_key: r.namespace.clone(),
        correlation_id: r.correlation_id,
        workflow_id: r.workflow_id,
        namespace: Some(r.namespace.clone()),
        payload: serde_json::to_string(&env).expect("envelope serialises"),
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_store::SqliteStore;

    fn input(content: &[u8], ns: &str) -> StampInput {
        StampInput {
            content: content.to_vec(),
            namespace: Namespace::parse(ns).unwrap(),
            file_path: Some(RelativePath::parse("src/app.py").unwrap()),
            stamp_type: StampType::Rich,
            metadata: None,
            op_id: None,
            correlation_id: Uuid::new_v4(),
        }
    }

    #[tokio::test]
    async fn stamps_and_deduplicates_with_the_same_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let s = Stamper::new(store.clone());
        let first = s.stamp(input(b"print(1)\n", "ns")).await.unwrap();
        assert!(!first.deduplicated);
        let content = first.stamped_content.clone().unwrap();
        assert!(stamp::validate(&content, None).is_valid());
        // Stamping the stamped output is the same content: same stamp, same bytes.
        let again = s.stamp(input(&content, "ns")).await.unwrap();
        assert!(again.deduplicated);
        assert_eq!(again.record.stamp_id, first.record.stamp_id);
        assert_eq!(again.stamped_content.unwrap(), content);
        assert_eq!(store.pending_events().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn json_gets_a_sidecar_and_stays_unmodified() {
        let dir = tempfile::tempdir().unwrap();
        let s = Stamper::new(Arc::new(SqliteStore::open(dir.path()).await.unwrap()));
        let mut i = input(b"{\"a\": 1}", "ns");
        i.file_path = None;
        let r = s.stamp(i).await.unwrap();
        assert!(r.stamped_content.is_none());
        assert!(r.record.sidecar);
        assert_eq!(r.record.content_type, "application/json");
        assert!(stamp::validate_sidecar(b"{\"a\": 1}", &r.record.stamp, None).is_valid());
    }
}

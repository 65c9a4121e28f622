//! The reducer's input: a `STAMP_CREATED` envelope (SPEC §7), decoded to what it aggregates.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// One `STAMP_CREATED` event, as the reducer reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StampEvent {
    /// Position in its stream (log `seq` or partition offset), recorded as `last_event_seq`.
    pub seq: i64,
    /// The stamp's namespace.
    pub namespace: String,
    /// Detected content type.
    pub content_type: String,
    /// Size of the original content.
    pub file_size: i64,
    /// Whether a workflow produced it.
    pub has_workflow: bool,
    /// When the stamp was created.
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Envelope {
    event_type: String,
    timestamp: DateTime<Utc>,
    payload: Payload,
}

#[derive(Deserialize)]
struct Payload {
    namespace: String,
    content_type: String,
    file_size: i64,
    #[serde(default)]
    workflow_id: Option<uuid::Uuid>,
}

impl StampEvent {
    /// Decodes an envelope JSON; the error says what is wrong with it.
    pub fn from_envelope(seq: i64, json: &[u8]) -> Result<Self, String> {
        let e: Envelope = serde_json::from_slice(json)
            .map_err(|e| format!("not a STAMP_CREATED envelope: {e}"))?;
        if e.event_type != "STAMP_CREATED" {
            return Err(format!("event_type is {}, not STAMP_CREATED", e.event_type));
        }
        if e.payload.file_size < 0 {
            return Err("payload.file_size is negative".into());
        }
        Ok(Self {
            seq,
            namespace: e.payload.namespace,
            content_type: e.payload.content_type,
            file_size: e.payload.file_size,
            has_workflow: e.payload.workflow_id.is_some(),
            created_at: e.timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_orchestrator_envelope_and_names_what_is_wrong() {
        let ok = br#"{"envelope_version":"1.0","event_id":"0190d6f8-0000-7000-8000-000000000001",
            "event_type":"STAMP_CREATED","correlation_id":"0190d6f8-0000-7000-8000-000000000002",
            "source":{"service":"omninode-bridge","node_id":"n","version":"0.1.0"},
            "timestamp":"2026-11-27T01:02:03.5Z",
            "payload":{"namespace":"ns","content_type":"text/plain","file_size":12,
                       "workflow_id":"0190d6f8-0000-7000-8000-000000000003","extra":1}}"#;
        let e = StampEvent::from_envelope(7, ok).unwrap();
        assert_eq!(
            (
                e.seq,
                e.namespace.as_str(),
                e.content_type.as_str(),
                e.file_size,
                e.has_workflow
            ),
            (7, "ns", "text/plain", 12, true)
        );
        assert_eq!(e.created_at.timestamp_subsec_millis(), 500);
        let wrong_type = br#"{"event_type":"WORKFLOW_STARTED","timestamp":"2026-11-27T01:02:03Z",
            "payload":{"namespace":"ns","content_type":"t","file_size":1}}"#;
        assert!(StampEvent::from_envelope(1, wrong_type)
            .unwrap_err()
            .contains("WORKFLOW_STARTED"));
        assert!(StampEvent::from_envelope(1, b"{}")
            .unwrap_err()
            .contains("missing field"));
        let negative = br#"{"event_type":"STAMP_CREATED","timestamp":"2026-11-27T01:02:03Z",
            "payload":{"namespace":"ns","content_type":"t","file_size":-1}}"#;
        assert!(StampEvent::from_envelope(1, negative)
            .unwrap_err()
            .contains("negative"));
    }
}

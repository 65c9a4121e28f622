//! The reducer's input: a `STAMP_CREATED` envelope (SPEC §7), decoded to what it aggregates.

use bridge_core::envelope::{Envelope, EnvelopeError};
use bridge_core::event::StampCreated;
use chrono::{DateTime, Utc};

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

impl StampEvent {
    /// Decodes a `STAMP_CREATED` envelope with the catalogue's own payload type, so the
    /// orchestrator's writer and this reader cannot drift apart.
    pub fn from_envelope(seq: i64, json: &[u8]) -> Result<Self, EnvelopeError> {
        let e = Envelope::<StampCreated>::decode(json)?;
        Ok(Self {
            seq,
            created_at: e.time()?,
            namespace: e.payload.namespace,
            content_type: e.payload.content_type,
            file_size: i64::try_from(e.payload.file_size).unwrap_or(i64::MAX),
            has_workflow: e.payload.workflow_id.is_some(),
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
            "payload":{"stamp_id":"0190d6f8-0000-7000-8000-000000000004","namespace":"ns",
                       "file_hash":"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
                       "content_type":"text/plain","file_size":12,"file_path":null,
                       "stamp_type":"rich",
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
            .to_string()
            .contains("WORKFLOW_STARTED"));
        assert!(StampEvent::from_envelope(1, b"{}")
            .unwrap_err()
            .to_string()
            .contains("missing field"));
        let negative = String::from_utf8(ok.to_vec())
            .unwrap()
            .replace(r#""file_size":12"#, r#""file_size":-1"#);
        let negative = negative.as_bytes();
        assert!(StampEvent::from_envelope(1, negative)
            .unwrap_err()
            .to_string()
            .contains("invalid value"));
    }
}

//! `OnexEnvelopeV1`: the standard wrapper of every event the bridge emits.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who emitted an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSource {
    /// Service name (`omninode-bridge`).
    pub service: String,
    /// Node within the service (`orchestrator`, `reducer`, …).
    pub node_id: String,
    /// Version of the service.
    pub version: String,
}

/// The event envelope (SPEC §7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always `"1.0"`.
    pub envelope_version: String,
    /// Unique id: consumers de-duplicate on it.
    pub event_id: Uuid,
    /// `STAMP_CREATED`, `WORKFLOW_STARTED`, …
    pub event_type: String,
    /// Correlation id of the request that caused it.
    pub correlation_id: Uuid,
    /// Optional session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Event that caused this one, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// Emitter.
    pub source: EventSource,
    /// RFC 3339 UTC.
    pub timestamp: String,
    /// Event-specific body.
    pub payload: serde_json::Value,
}

impl Envelope {
    /// A new envelope with a fresh time-ordered `event_id`.
    pub fn new(
        event_type: &str,
        correlation_id: Uuid,
        node_id: &str,
        now: DateTime<Utc>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            envelope_version: "1.0".into(),
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            correlation_id,
            session_id: None,
            causation_id: None,
            source: EventSource {
                service: "omninode-bridge".into(),
                node_id: node_id.into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_spec_field_names() {
        let e = Envelope::new(
            "STAMP_CREATED",
            Uuid::nil(),
            "orchestrator",
            Utc::now(),
            serde_json::json!({"a": 1}),
        );
        let v = serde_json::to_value(&e).unwrap();
        for k in [
            "envelope_version",
            "event_id",
            "event_type",
            "correlation_id",
            "source",
            "timestamp",
            "payload",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert!(v.get("session_id").is_none());
        assert_eq!(v["envelope_version"], "1.0");
        assert_eq!(v["source"]["service"], "omninode-bridge");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}

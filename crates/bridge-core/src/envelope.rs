//! `OnexEnvelopeV1`: the standard wrapper of every event the bridge emits. The payload is
//! generic: the bridge's own events travel as the typed payloads of [`crate::event`], built by
//! [`Envelope::of`] and read back by [`Envelope::decode`]; codegen events keep a JSON value.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::Payload;

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
pub struct Envelope<P = serde_json::Value> {
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
    pub payload: P,
}

/// Why bytes are not the envelope of the expected event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or not the envelope/payload shape.
    #[error("not a {expected} envelope: {message}")]
    Shape {
        /// The event type that was expected.
        expected: &'static str,
        /// The decoder's message (names the field).
        message: String,
    },
    /// Another event type.
    #[error("event_type is {found}, not {expected}")]
    WrongType {
        /// Expected type.
        expected: &'static str,
        /// What the envelope says.
        found: String,
    },
    /// `timestamp` is not RFC 3339.
    #[error("timestamp {0:?} is not RFC 3339")]
    Timestamp(String),
}

impl<P: Payload> Envelope<P> {
    /// A new envelope of a catalogue payload; the event type comes from the payload's type.
    pub fn of(payload: P, correlation_id: Uuid, node_id: &str, now: DateTime<Utc>) -> Self {
        Envelope::new(P::TYPE.as_str(), correlation_id, node_id, now, payload)
    }

    /// Decodes an envelope of `P`, checking its `event_type`; the error names what is wrong.
    pub fn decode(json: &[u8]) -> Result<Self, EnvelopeError> {
        let expected = P::TYPE.as_str();
        let wrong = |found: String| EnvelopeError::WrongType { expected, found };
        // One parse on the reducer's path; only a failure looks again, for the event type, so
        // another event's payload is reported as such rather than as a missing field.
        match serde_json::from_slice::<Self>(json) {
            Ok(e) if e.event_type == expected => Ok(e),
            Ok(e) => Err(wrong(e.event_type)),
            Err(error) => {
                #[derive(Deserialize)]
                struct Head {
                    event_type: String,
                }
                match serde_json::from_slice::<Head>(json) {
                    Ok(h) if h.event_type != expected => Err(wrong(h.event_type)),
                    _ => Err(EnvelopeError::Shape {
                        expected,
                        message: error.to_string(),
                    }),
                }
            }
        }
    }
}

impl<P> Envelope<P> {
    /// `timestamp` as a time.
    pub fn time(&self) -> Result<DateTime<Utc>, EnvelopeError> {
        DateTime::parse_from_rfc3339(&self.timestamp)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| EnvelopeError::Timestamp(self.timestamp.clone()))
    }

    /// The JSON text (what the outbox stores and the relay sends).
    pub fn to_json(&self) -> String
    where
        P: Serialize,
    {
        // Envelopes hold strings, ids, numbers and JSON values only: serialising cannot fail.
        serde_json::to_string(self).expect("envelopes serialise")
    }

    /// A new envelope with a fresh time-ordered `event_id`.
    pub fn new(
        event_type: &str,
        correlation_id: Uuid,
        node_id: &str,
        now: DateTime<Utc>,
        payload: P,
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

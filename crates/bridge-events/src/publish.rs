//! Publishing one codegen event (`events publish`): validate the payload against its topic's
//! type, wrap it in the envelope and send it — or send it to the topic's dead-letter topic
//! with the validation error.

use std::time::Duration;

use bridge_core::envelope::Envelope;
use bridge_core::topics::{catalogue, TopicSpec, BUILTIN_YAML};
use chrono::Utc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

use crate::admin::ensure_topics;
use crate::codegen::CodegenTopic;
use crate::connection::{KafkaConnection, Reporting};
use crate::{EventsError, Result};

/// What happened to the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Valid, delivered to its topic.
    Sent {
        /// The topic.
        topic: String,
        /// Partition written.
        partition: i32,
        /// Offset written.
        offset: i64,
        /// The envelope's event id.
        event_id: Uuid,
    },
    /// Invalid, delivered to the dead-letter topic with the reason.
    DeadLettered {
        /// The dead-letter topic.
        dlq: String,
        /// Why it was refused.
        error: String,
    },
}

/// Validates `raw` (the payload text) for `topic` and sends it (or its dead letter).
pub async fn publish(
    kafka: &KafkaConnection,
    topic: &CodegenTopic,
    raw: &str,
) -> Result<Published> {
    ensure_topics(kafka, &specs(topic)).await?;
    let mut config = kafka.client_config();
    config.set("enable.idempotence", "true").set("acks", "all");
    let producer: FutureProducer<Reporting> = config.create_with_context(kafka.context())?;
    let checked = serde_json::from_str::<serde_json::Value>(raw)
        .map_err(|e| format!("not JSON: {e}"))
        .and_then(|v| topic.validate(&v).map(|keys| (v, keys)).map_err(|e| e.0));
    match checked {
        Ok((payload, keys)) => {
            let correlation = keys.correlation_id.unwrap_or_else(Uuid::new_v4);
            let mut env = Envelope::new(topic.event_type, correlation, "cli", Utc::now(), payload);
            env.session_id = Some(keys.session_id.to_string());
            // Requests and responses stay ordered per correlation id; status per session.
            let key = keys.correlation_id.unwrap_or(keys.session_id).to_string();
            let body = serde_json::to_string(&env).expect("envelopes serialize");
            let (partition, offset) = send(&producer, topic.topic, &key, &body).await?;
            Ok(Published::Sent {
                topic: topic.topic.to_owned(),
                partition,
                offset,
                event_id: env.event_id,
            })
        }
        Err(error) => {
            let letter = serde_json::json!({
                "topic": topic.topic,
                "schema": topic.schema,
                "reason": error,
                "payload": raw.chars().take(64 * 1024).collect::<String>(),
                "received_at": Utc::now(),
            })
            .to_string();
            send(&producer, topic.dlq, topic.topic, &letter).await?;
            Ok(Published::DeadLettered {
                dlq: topic.dlq.to_owned(),
                error,
            })
        }
    }
}

/// The topic and its dead-letter topic as the catalogue defines them (the status topic's
/// `.dlq` is not in it: one partition, kept like the other dead-letter topics).
fn specs(topic: &CodegenTopic) -> Vec<TopicSpec> {
    let catalogue =
        catalogue(BUILTIN_YAML, &Default::default()).expect("the built-in catalogue is valid");
    let find = |name: &str| catalogue.iter().find(|t| t.name == name).cloned();
    let main = find(topic.topic).expect("every codegen topic is in the catalogue");
    let dlq = find(topic.dlq).unwrap_or_else(|| TopicSpec {
        name: topic.dlq.to_owned(),
        partitions: 1,
        ..main.clone()
    });
    vec![main, dlq]
}

async fn send(
    p: &FutureProducer<Reporting>,
    topic: &str,
    key: &str,
    payload: &str,
) -> Result<(i32, i64)> {
    let record = FutureRecord::to(topic).key(key).payload(payload);
    match p.send(record, Duration::from_secs(10)).await {
        Ok(d) => Ok((d.partition, d.offset)),
        Err((e, _)) => Err(EventsError::Kafka(e)),
    }
}

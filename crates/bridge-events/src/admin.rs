//! The topic catalogue on the broker: created idempotently (an existing topic is success),
//! listed with partition counts.

use std::time::Duration;

use bridge_core::topics::TopicSpec;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use crate::connection::{KafkaConnection, Reporting};
use crate::{EventsError, Result};

/// How long one admin request may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the probe after a failed request waits for librdkafka's reason.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Creates every topic of `specs` that does not exist yet; the names created.
pub async fn ensure_topics(kafka: &KafkaConnection, specs: &[TopicSpec]) -> Result<Vec<String>> {
    let admin: AdminClient<Reporting> =
        kafka.client_config().create_with_context(kafka.context())?;
    let retention: Vec<String> = specs.iter().map(|s| s.retention_ms.to_string()).collect();
    let topics: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&retention)
        .map(|(s, r)| {
            NewTopic::new(
                &s.name,
                s.partitions,
                TopicReplication::Fixed(s.replication_factor),
            )
            .set("retention.ms", r)
        })
        .collect();
    // Both bounds: the operation's on the broker, and the request's (librdkafka's default is
    // a minute when no broker answers).
    let options = AdminOptions::new()
        .operation_timeout(Some(ADMIN_TIMEOUT))
        .request_timeout(Some(ADMIN_TIMEOUT));
    let results = match admin.create_topics(&topics, &options).await {
        Ok(r) => r,
        Err(e) => return Err(explained(kafka, e).await),
    };
    let mut created = Vec::new();
    for r in results {
        match r {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(EventsError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                })
            }
        }
    }
    Ok(created)
}

/// `error` with the cause librdkafka gave for it, if it gave one.
///
/// Why a probe: librdkafka reports why it cannot reach a broker (a refused certificate, failed
/// authentication) as events on a client's main queue, which the admin client never polls;
/// the request itself only times out. A short metadata request from a consumer whose queue we
/// poll brings the cause into the connection's [`BrokerErrors`](crate::connection::BrokerErrors).
async fn explained(kafka: &KafkaConnection, error: rdkafka::error::KafkaError) -> EventsError {
    kafka.errors().clear();
    let probe = kafka.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let Ok(consumer) = probe
            .client_config()
            .create_with_context::<_, BaseConsumer<Reporting>>(probe.context())
        else {
            return;
        };
        let _ = consumer.fetch_metadata(None, PROBE_TIMEOUT);
        collect_cause(&probe, &consumer);
    })
    .await;
    with_cause(kafka, error)
}

/// `error`, with the connection's recorded cause when there is one.
fn with_cause(kafka: &KafkaConnection, error: rdkafka::error::KafkaError) -> EventsError {
    match kafka.errors().last() {
        Some(cause) => EventsError::Unreachable {
            error: error.to_string(),
            cause,
        },
        None => EventsError::Kafka(error),
    }
}

/// Serves `consumer`'s queue (where librdkafka's error and log events wait) until a cause is
/// recorded or [`PROBE_TIMEOUT`] passed.
fn collect_cause(kafka: &KafkaConnection, consumer: &BaseConsumer<Reporting>) {
    let until = std::time::Instant::now() + PROBE_TIMEOUT;
    while kafka.errors().last().is_none() && std::time::Instant::now() < until {
        let _ = consumer.poll(Duration::from_millis(100));
    }
}

/// Topics on the broker with their partition counts, sorted by name.
pub async fn list_topics(kafka: &KafkaConnection) -> Result<Vec<(String, usize)>> {
    let kafka = kafka.clone();
    // Metadata fetches block: keep them off the async workers.
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer<Reporting> =
            kafka.client_config().create_with_context(kafka.context())?;
        kafka.errors().clear();
        let metadata = match consumer.fetch_metadata(None, ADMIN_TIMEOUT) {
            Ok(m) => m,
            Err(error) => {
                collect_cause(&kafka, &consumer);
                return Err(with_cause(&kafka, error));
            }
        };
        let mut out: Vec<(String, usize)> = metadata
            .topics()
            .iter()
            .map(|t| (t.name().to_owned(), t.partitions().len()))
            .collect();
        out.sort();
        Ok(out)
    })
    .await
    .map_err(|e| EventsError::Task(e.to_string()))?
}

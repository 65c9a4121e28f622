//! The topic catalogue on the broker: created idempotently (an existing topic is success),
//! listed with partition counts.

use std::time::Duration;

use bridge_core::topics::TopicSpec;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::{EventsError, Result};

/// How long one admin request may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Client settings shared by every client of `brokers`.
pub fn client_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("client.id", "omninode-bridge");
    c
}

/// Creates every topic of `specs` that does not exist yet; the names created.
pub async fn ensure_topics(brokers: &str, specs: &[TopicSpec]) -> Result<Vec<String>> {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers).create()?;
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
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let results = admin.create_topics(&topics, &options).await?;
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

/// Topics on the broker with their partition counts, sorted by name.
pub async fn list_topics(brokers: &str) -> Result<Vec<(String, usize)>> {
    let brokers = brokers.to_owned();
    // Metadata fetches block: keep them off the async workers.
    tokio::task::spawn_blocking(move || {
        let consumer: rdkafka::consumer::BaseConsumer = client_config(&brokers).create()?;
        let metadata = rdkafka::consumer::Consumer::fetch_metadata(&consumer, None, ADMIN_TIMEOUT)?;
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

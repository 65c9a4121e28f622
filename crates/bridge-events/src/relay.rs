//! The outbox relay. Loop: claim the oldest pending rows (leased, so other relays skip them),
//! send each to its topic keyed by its message key (the correlation id: one workflow's events
//! stay ordered in one partition), wait for the broker's confirmation, then settle the rows:
//! sent, back to pending with the error, or dead-lettered.
//!
//! Failure handling follows what librdkafka does against an unreachable broker (KAFKA.md):
//! sends are accepted and fail later with `MessageTimedOut`, and an idempotent producer can
//! stay wedged afterwards, so after any failed delivery the producer is dropped and rebuilt,
//! and the topics are ensured again on reconnect (a memory-backed broker forgets them).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridge_core::topics::{dlq_of, TopicSpec};
use bridge_store::{Delivery, OutboxRow, Store};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::connection::{KafkaConnection, Reporting};
use tokio_util::sync::CancellationToken;

use crate::admin::ensure_topics;

type Producer = FutureProducer<Reporting>;
use crate::Result;

/// Relay settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The brokers and how to reach them.
    pub kafka: KafkaConnection,
    /// Rows claimed per round.
    pub batch: u32,
    /// How long a claim keeps other relays off the rows.
    pub lease: Duration,
    /// librdkafka's `message.timeout.ms`: how long a send may wait for the broker.
    pub message_timeout: Duration,
    /// Claims after which a row that still fails goes to its dead-letter topic.
    pub max_attempts: i64,
    /// Largest payload sent; larger rows go straight to the dead-letter topic.
    pub max_message_bytes: usize,
    /// Pause when the outbox is empty.
    pub idle_poll: Duration,
    /// Longest pause between retries while the broker is unreachable.
    pub max_backoff: Duration,
    /// Fault injection for crash tests: exit right after the broker confirmed a batch with
    /// an event of this type, before the rows are marked sent (they must be sent again after
    /// a restart).
    pub fault_exit_after_publish: Option<String>,
}

impl RelayConfig {
    /// How long a claim keeps other relays off outbox rows (ms).
    pub const DEFAULT_LEASE_MS: u64 = 60_000;
    /// librdkafka's `message.timeout.ms` (ms).
    pub const DEFAULT_MESSAGE_TIMEOUT_MS: u64 = 10_000;
    /// Largest event sent; a larger one is dead-lettered (bytes).
    pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 1_000_000;

    /// Defaults for `kafka`.
    pub fn new(kafka: KafkaConnection) -> Self {
        Self {
            kafka,
            batch: 500,
            lease: Duration::from_millis(Self::DEFAULT_LEASE_MS),
            message_timeout: Duration::from_millis(Self::DEFAULT_MESSAGE_TIMEOUT_MS),
            max_attempts: 20,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES as usize,
            idle_poll: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            fault_exit_after_publish: None,
        }
    }
}

/// What the relay has done, for metrics and health.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Events confirmed by the broker.
    pub published: AtomicU64,
    /// Events moved to a dead-letter topic.
    pub dead_lettered: AtomicU64,
    /// Whether the last round reached the broker.
    pub connected: AtomicBool,
    /// The last delivery or connection error.
    pub last_error: Mutex<Option<String>>,
}

impl RelayStats {
    fn failed(&self, error: String) {
        self.connected.store(false, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// The last error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The relay task.
pub struct Relay {
    store: Arc<dyn Store>,
    config: RelayConfig,
    topics: Vec<TopicSpec>,
    stats: Arc<RelayStats>,
}

/// The outcome of one row's send.
enum Sent {
    Delivered,
    /// Worth retrying (broker unreachable, timeout): the producer is rebuilt and the row
    /// retried until `max_attempts`.
    Transient(String),
    /// Will never succeed (too large, no topic): straight to the dead-letter topic.
    Permanent(String),
}

/// Broker answers that no retry can change.
fn is_permanent(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(
        e.rdkafka_error_code(),
        Some(MessageSizeTooLarge | InvalidMessageSize | InvalidMessage | InvalidRecord)
    )
}

impl Relay {
    /// A relay over `store` that creates `topics` on (re)connect.
    pub fn new(store: Arc<dyn Store>, config: RelayConfig, topics: Vec<TopicSpec>) -> Self {
        Self {
            store,
            config,
            topics,
            stats: Arc::new(RelayStats::default()),
        }
    }

    /// Shared counters for metrics and health.
    pub fn stats(&self) -> Arc<RelayStats> {
        self.stats.clone()
    }

    fn producer(&self) -> Result<Producer> {
        let mut c = self.config.kafka.client_config();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                self.config.message_timeout.as_millis().to_string(),
            )
            .set("linger.ms", "2");
        Ok(c.create_with_context(self.config.kafka.context())?)
    }

    /// Runs until `stop` turns true, then relays what is already claimable once more (bounded
    /// by the message timeout) and returns.
    pub async fn run(self, stop: CancellationToken) {
        let mut producer: Option<Producer> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            let stopping = stop.is_cancelled();
            let progressed = match self.round(&mut producer).await {
                Ok(n) => {
                    backoff = Duration::from_millis(100);
                    n > 0
                }
                Err(e) => {
                    tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "relay round failed");
                    self.stats.failed(e);
                    producer = None;
                    if stopping {
                        return;
                    }
                    let _ = tokio::time::timeout(backoff, stop.cancelled()).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    continue;
                }
            };
            if stopping && !progressed {
                return;
            }
            if !progressed {
                let _ = tokio::time::timeout(self.config.idle_poll, stop.cancelled()).await;
            }
        }
    }

    /// One claim-send-settle round; the number of rows handled.
    async fn round(&self, producer: &mut Option<Producer>) -> std::result::Result<usize, String> {
        if producer.is_none() {
            ensure_topics(&self.config.kafka, &self.topics)
                .await
                .map_err(|e| self.with_cause(e.to_string()))?;
            *producer = Some(
                self.producer()
                    .map_err(|e| self.with_cause(e.to_string()))?,
            );
        }
        let p = producer.as_ref().expect("set above");
        let rows = self
            .store
            .claim_outbox(self.config.batch, self.config.lease)
            .await
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Send them all, then wait: librdkafka batches and keeps per-partition order.
        let sends: Vec<_> = rows.iter().map(|r| self.send(p, r)).collect();
        let results = futures_join(sends).await;
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut broken = None;
        for (row, sent) in rows.iter().zip(results) {
            let outcome = match sent {
                Sent::Delivered => {
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                    Delivery::Sent
                }
                Sent::Permanent(e) => self.dead_letter(p, row, &e).await,
                Sent::Transient(e) if row.attempts >= self.config.max_attempts => {
                    let reason = format!("gave up after {} attempts: {e}", row.attempts);
                    self.dead_letter(p, row, &reason).await
                }
                Sent::Transient(e) => {
                    broken.get_or_insert_with(|| e.clone());
                    Delivery::Retry(e)
                }
            };
            outcomes.push((row.seq, outcome));
        }
        if let Some(kind) = &self.config.fault_exit_after_publish {
            if rows
                .iter()
                .zip(&outcomes)
                .any(|(r, (_, d))| *d == Delivery::Sent && &r.event_type == kind)
            {
                tracing::error!("fault injection: exiting after publish, before marking rows sent");
                std::process::exit(70);
            }
        }
        self.store
            .settle_outbox(&outcomes)
            .await
            .map_err(|e| e.to_string())?;
        match broken {
            // Rebuild the producer (it may be wedged) and back off.
            Some(e) => Err(self.with_cause(e)),
            None => {
                self.stats.connected.store(true, Ordering::Relaxed);
                self.config.kafka.errors().clear();
                Ok(rows.len())
            }
        }
    }

    /// `error` with what the brokers' side last reported, when that says more than a timeout
    /// (a refused certificate, failed authentication).
    fn with_cause(&self, error: String) -> String {
        match self.config.kafka.errors().last() {
            Some(cause) if !error.contains(&cause) => {
                format!("{error} (last broker error: {cause})")
            }
            _ => error,
        }
    }

    async fn send(&self, p: &Producer, row: &OutboxRow) -> Sent {
        let Some(topic) = &row.topic else {
            return Sent::Permanent(format!("no topic for event type {}", row.event_type));
        };
        if row.payload.len() > self.config.max_message_bytes {
            return Sent::Permanent(format!(
                "message too large: {} bytes > {}",
                row.payload.len(),
                self.config.max_message_bytes
            ));
        }
        deliver(p, topic, row, &row.payload).await
    }

    /// Sends `row` with `reason` to its dead-letter topic; the row is `failed` either way, but
    /// only counted as dead-lettered once the broker confirmed.
    async fn dead_letter(&self, p: &Producer, row: &OutboxRow, reason: &str) -> Delivery {
        let Some(topic) = &row.topic else {
            return Delivery::Failed(reason.to_owned());
        };
        let letter = serde_json::json!({
            "event_id": row.event_id,
            "event_type": row.event_type,
            "topic": topic,
            "reason": reason,
            "attempts": row.attempts,
            // Truncated: the original may be what made it fail.
            "payload": row.payload.chars().take(64 * 1024).collect::<String>(),
        })
        .to_string();
        match deliver(p, &dlq_of(topic), row, &letter).await {
            Sent::Delivered => {
                self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                Delivery::Failed(reason.to_owned())
            }
            // Not even the DLQ took it: keep it pending for the next round.
            Sent::Transient(e) | Sent::Permanent(e) => {
                Delivery::Retry(format!("{reason}; dead-letter failed: {e}"))
            }
        }
    }
}

async fn deliver(p: &Producer, topic: &str, row: &OutboxRow, payload: &str) -> Sent {
    let id = row.event_id.to_string();
    let headers = OwnedHeaders::new().insert(Header {
        key: "event_id",
        value: Some(id.as_str()),
    });
    let record = FutureRecord::to(topic)
        .key(&row.message_key)
        .payload(payload)
        .headers(headers);
    let failed = |e: rdkafka::error::KafkaError| {
        if is_permanent(&e) {
            Sent::Permanent(e.to_string())
        } else {
            Sent::Transient(e.to_string())
        }
    };
    match p.send_result(record) {
        Err((e, _)) => failed(e),
        Ok(delivery) => match delivery.await {
            Ok(Ok(_)) => Sent::Delivered,
            Ok(Err((e, _))) => failed(e),
            Err(_) => Sent::Transient("producer dropped before delivery".into()),
        },
    }
}

/// Awaits every future, in order (they make progress concurrently).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}

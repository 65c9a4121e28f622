//! The DLQ monitor: a consumer of every dead-letter topic (the codegen ones and this
//! deployment's `<topic>.dlq`), counting messages per topic, and publishing one alert to
//! `omninode_system_alerts` when the total crosses the threshold.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridge_core::envelope::Envelope;
use bridge_core::event::DlqThresholdExceeded;
use bridge_core::topics::TopicSpec;
use bridge_core::EventType;
use chrono::Utc;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::admin::ensure_topics;
use crate::connection::{KafkaConnection, Reporting};
use crate::Result;

/// Where alerts go.
pub const ALERTS_TOPIC: &str = "omninode_system_alerts";

/// Monitor settings.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// The brokers and how to reach them.
    pub kafka: KafkaConnection,
    /// The deployment's topic prefix (`--env`): its `<env>.….dlq` topics are watched.
    pub env: String,
    /// DLQ messages that trigger the alert.
    pub threshold: u64,
}

impl MonitorConfig {
    /// DLQ messages (all dead-letter topics together) that trigger one alert (SPEC §7).
    pub const DEFAULT_THRESHOLD: u64 = 10;
}

/// Counts for metrics and health.
#[derive(Debug, Default)]
pub struct DlqStats {
    per_topic: Mutex<BTreeMap<String, u64>>,
    /// Every DLQ message seen.
    pub total: AtomicU64,
    /// Alerts published.
    pub alerts: AtomicU64,
}

impl DlqStats {
    /// Messages seen per DLQ topic.
    pub fn per_topic(&self) -> BTreeMap<String, u64> {
        self.per_topic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn count(&self, topic: &str) -> u64 {
        *self
            .per_topic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(topic.to_owned())
            .or_default() += 1;
        self.total.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The monitor task.
pub struct DlqMonitor {
    config: MonitorConfig,
    stats: Arc<DlqStats>,
}

impl DlqMonitor {
    /// A monitor for `config`.
    pub fn new(config: MonitorConfig) -> Self {
        Self {
            config,
            stats: Arc::new(DlqStats::default()),
        }
    }

    /// Shared counters.
    pub fn stats(&self) -> Arc<DlqStats> {
        self.stats.clone()
    }

    /// Runs until `stop` turns true; reconnects with a pause after errors.
    pub async fn run(self, stop: CancellationToken) {
        while !stop.is_cancelled() {
            if let Err(e) = self.watch(&stop).await {
                tracing::warn!(error = %e, "dlq monitor failed; retrying");
                let _ = tokio::time::timeout(Duration::from_secs(2), stop.cancelled()).await;
            }
        }
    }

    async fn watch(&self, stop: &CancellationToken) -> Result<()> {
        ensure_topics(
            &self.config.kafka,
            &[TopicSpec {
                name: ALERTS_TOPIC.into(),
                partitions: 1,
                replication_factor: 1,
                retention_ms: 604_800_000,
            }],
        )
        .await?;
        let mut c = self.config.kafka.client_config();
        c.set(
            "group.id",
            format!("omninode-bridge-dlq-monitor-{}", self.config.env),
        )
        .set("auto.offset.reset", "earliest")
        // Regex subscriptions find new DLQ topics at each metadata refresh.
        .set("topic.metadata.refresh.interval.ms", "1000");
        let consumer: StreamConsumer<Reporting> =
            c.create_with_context(self.config.kafka.context())?;
        let pattern = format!(
            "^(omninode_codegen_dlq_.*|{}\\..*\\.dlq|omninode_codegen_status_session_v1\\.dlq)$",
            // `--env` is [A-Za-z0-9_-] (checked at start): literal in a regex.
            self.config.env
        );
        consumer.subscribe(&[pattern.as_str()])?;
        let mut p = self.config.kafka.client_config();
        p.set("acks", "all");
        let producer: FutureProducer<Reporting> =
            p.create_with_context(self.config.kafka.context())?;
        loop {
            let message = tokio::select! {
                m = consumer.recv() => m?,
                () = stop.cancelled() => return Ok(()),
            };
            let before = self.stats.total.load(Ordering::Relaxed);
            let total = self.stats.count(message.topic());
            if before < self.config.threshold && total >= self.config.threshold {
                self.alert(&producer, total).await;
            }
        }
    }

    /// Publishes the threshold alert (once per crossing; a failed send is logged, not retried:
    /// the metric still shows the count).
    async fn alert(&self, producer: &FutureProducer<Reporting>, total: u64) {
        let payload = DlqThresholdExceeded {
            alert: EventType::DlqThresholdExceeded.as_str().into(),
            env: self.config.env.clone(),
            threshold: self.config.threshold,
            total,
            per_topic: self.stats.per_topic(),
        };
        let body = Envelope::of(payload, Uuid::new_v4(), "dlq_monitor", Utc::now()).to_json();
        let record = FutureRecord::to(ALERTS_TOPIC)
            .key(&self.config.env)
            .payload(&body);
        match producer.send(record, Duration::from_secs(10)).await {
            Ok(_) => {
                self.stats.alerts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    total,
                    threshold = self.config.threshold,
                    "DLQ threshold crossed: alert published"
                );
            }
            Err((e, _)) => tracing::error!(error = %e, "cannot publish the DLQ alert"),
        }
    }
}

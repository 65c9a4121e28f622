//! The reducer's Kafka source: a member of the consumer group `omninode-reducer-<env>` on the
//! `STAMP_CREATED` topic. Events are keyed by namespace, so each namespace lives on one
//! partition and instances split the namespaces by partition.
//!
//! The database, not Kafka, says what was applied: each partition has a reducer cursor
//! (`kafka:<topic>:<partition>`) saved with the aggregates. Messages at or below it are
//! skipped, so a replay after a crash, restart or rebalance never counts twice; Kafka offsets
//! are committed only after a save, to shorten the replay.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::topics::TopicSpec;
use bridge_store::{CursorMove, Position, Store};
use futures_util::FutureExt;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::{Source, SourceError, Sourced, StampEvent};
use crate::admin::ensure_topics;
use crate::connection::{KafkaConnection, Reporting};

/// Flags partition reassignments, so cached cursors are reloaded from the database.
struct Context {
    rebalanced: Arc<AtomicBool>,
    /// The connection's error and log callbacks.
    reporting: Reporting,
}

impl ClientContext for Context {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.reporting.error(error, reason);
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.reporting.log(level, fac, log_message);
    }
}

impl ConsumerContext for Context {
    fn post_rebalance(&self, _: &rdkafka::consumer::BaseConsumer<Self>, r: &Rebalance<'_>) {
        tracing::info!(rebalance = ?r, "reducer partitions reassigned");
        self.rebalanced.store(true, Relaxed);
    }
}

/// Kafka-mode source of the reducer.
pub struct KafkaSource {
    store: Arc<dyn Store>,
    consumer: Arc<StreamConsumer<Context>>,
    topic: String,
    rebalanced: Arc<AtomicBool>,
    /// Saved cursor per partition, as last read from (or written to) the database.
    saved: HashMap<i32, Option<Position>>,
}

impl KafkaSource {
    /// Joins the group `omninode-reducer-<env>` on `topic` (created if missing).
    pub async fn new(
        store: Arc<dyn Store>,
        kafka: &KafkaConnection,
        env: &str,
        topic: &TopicSpec,
    ) -> crate::Result<Self> {
        ensure_topics(kafka, std::slice::from_ref(topic)).await?;
        let context = Context {
            rebalanced: Arc::default(),
            reporting: kafka.context(),
        };
        let rebalanced = context.rebalanced.clone();
        let mut c = kafka.client_config();
        c.set("group.id", format!("omninode-reducer-{env}"))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // A restarted instance rejoins quickly; a dead one is noticed within 10 s.
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000");
        let consumer: StreamConsumer<Context> = c.create_with_context(context)?;
        consumer.subscribe(&[topic.name.as_str()])?;
        Ok(Self {
            store,
            consumer: Arc::new(consumer),
            topic: topic.name.clone(),
            rebalanced,
            saved: HashMap::new(),
        })
    }

    fn cursor_name(&self, partition: i32) -> String {
        format!("kafka:{}:{partition}", self.topic)
    }

    async fn saved_of(&mut self, partition: i32) -> Result<Option<Position>, SourceError> {
        if let Some(p) = self.saved.get(&partition) {
            return Ok(*p);
        }
        let p = self.store.get_cursor(&self.cursor_name(partition)).await?;
        self.saved.insert(partition, p);
        Ok(p)
    }

    fn assigned(&self) -> Vec<i32> {
        self.consumer
            .assignment()
            .map(|tpl| {
                tpl.elements_for_topic(&self.topic)
                    .iter()
                    .map(|e| e.partition())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn sourced(
        &self,
        partition: i32,
        saved: Option<Position>,
        offset: i64,
        payload: &[u8],
    ) -> Sourced {
        Sourced {
            cursor: self.cursor_name(partition),
            saved,
            position: Position::at(offset),
            event: StampEvent::from_envelope(offset, payload),
        }
    }
}

#[async_trait]
impl Source for KafkaSource {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Sourced>, SourceError> {
        if self.rebalanced.swap(false, Relaxed) {
            // Another instance may have saved partitions we now own.
            self.saved.clear();
        }
        let mut raw = Vec::new();
        match tokio::time::timeout(wait, self.consumer.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(m)) => raw.push((
                m.partition(),
                m.offset(),
                m.payload().unwrap_or_default().to_vec(),
            )),
        }
        // Whatever else is already fetched, without waiting.
        while raw.len() < max {
            match self.consumer.recv().now_or_never() {
                Some(Ok(m)) => raw.push((
                    m.partition(),
                    m.offset(),
                    m.payload().unwrap_or_default().to_vec(),
                )),
                Some(Err(e)) => return Err(e.into()),
                None => break,
            }
        }
        let mut out = Vec::with_capacity(raw.len());
        for (partition, offset, payload) in raw {
            let saved = self.saved_of(partition).await?;
            if saved.is_some_and(|s| offset <= s.seq) {
                continue; // applied before (a replay)
            }
            out.push(self.sourced(partition, saved, offset, &payload));
        }
        Ok(out)
    }

    async fn saved(&mut self, moves: &[CursorMove]) {
        let mut commit = TopicPartitionList::new();
        for m in moves {
            let Some(partition) = m
                .name
                .strip_prefix(&format!("kafka:{}:", self.topic))
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            self.saved.insert(partition, Some(m.to));
            let _ =
                commit.add_partition_offset(&self.topic, partition, Offset::Offset(m.to.seq + 1));
        }
        // Best effort: the database cursor is what counts; this only shortens replays.
        if let Err(e) = self.consumer.commit(&commit, CommitMode::Async) {
            tracing::debug!(error = %e, "reducer offset commit failed");
        }
    }

    async fn rewind(&mut self) -> Result<(), SourceError> {
        self.saved.clear();
        for partition in self.assigned() {
            let next = match self.saved_of(partition).await? {
                Some(p) => Offset::Offset(p.seq + 1),
                None => Offset::Beginning,
            };
            self.consumer
                .seek(&self.topic, partition, next, Duration::from_secs(5))
                .map_err(|source| SourceError::Seek { partition, source })?;
        }
        Ok(())
    }

    async fn lag(&mut self) -> Option<u64> {
        let mut lag = 0u64;
        for partition in self.assigned() {
            // A broker round trip: off the async workers.
            let (consumer, topic) = (self.consumer.clone(), self.topic.clone());
            let (low, high) = tokio::task::spawn_blocking(move || {
                consumer.fetch_watermarks(&topic, partition, Duration::from_millis(500))
            })
            .await
            .ok()?
            .ok()?;
            let next = match self.saved_of(partition).await.ok()? {
                Some(p) => p.seq + 1,
                None => low,
            };
            lag += u64::try_from(high - next).unwrap_or(0);
        }
        Some(lag)
    }

    fn owned(&self) -> Vec<String> {
        self.assigned()
            .into_iter()
            .map(|p| self.cursor_name(p))
            .collect()
    }
}

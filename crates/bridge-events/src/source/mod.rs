//! Where the reducer's events come from: the local event log (embedded mode, [`LogSource`]),
//! or a Kafka consumer group ([`KafkaSource`]). A source hands out events with the cursor they
//! advance, and starts again from the saved cursors when a window had to be dropped.
//!
//! The trait lives here, beside its implementations, so that the reducer (`bridge-nodes`)
//! depends on `bridge-events` and never the other way round.

mod event;
mod kafka;
mod log;

use std::time::Duration;

use async_trait::async_trait;
use bridge_core::envelope::EnvelopeError;
use bridge_store::{CursorMove, Position, StoreError};

pub use event::StampEvent;
pub use kafka::KafkaSource;
pub use log::{LogSource, LOG_CURSOR};

/// Why a source could not read (the reducer backs off and retries).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store (cursors, the local log) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The consumer failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Seeking a partition back to its saved cursor failed.
    #[error("seek partition {partition}: {source}")]
    Seek {
        /// The partition.
        partition: i32,
        /// The consumer's error.
        source: rdkafka::error::KafkaError,
    },
}

/// One event from a source.
#[derive(Debug, Clone)]
pub struct Sourced {
    /// The cursor it advances (`event_logs`, `kafka:<topic>:<partition>`).
    pub cursor: String,
    /// That cursor as saved when the source last knew it (`None`: never saved).
    pub saved: Option<Position>,
    /// The event's own position.
    pub position: Position,
    /// The decoded event, or why it could not be decoded (skipped, but the cursor moves).
    pub event: Result<StampEvent, EnvelopeError>,
}

/// A stream of `STAMP_CREATED` events with saved cursors.
#[async_trait]
pub trait Source: Send {
    /// Up to `max` events, waiting at most `wait` when none are ready.
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Sourced>, SourceError>;

    /// A window covering `moves` was saved.
    async fn saved(&mut self, moves: &[CursorMove]);

    /// The open window was dropped: continue from the saved cursors.
    async fn rewind(&mut self) -> Result<(), SourceError>;

    /// Events not yet saved into the aggregates, if known.
    async fn lag(&mut self) -> Option<u64>;

    /// The cursors this source currently reads (a Kafka member's partitions).
    fn owned(&self) -> Vec<String>;
}

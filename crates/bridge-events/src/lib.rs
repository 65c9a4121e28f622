//! Kafka delivery of the bridge's events (SPEC §7): the topic catalogue created on the broker,
//! and the relay that moves committed outbox rows (`event_logs`) to their topics — marked
//! sent only after the broker confirms, retried with backoff, dead-lettered when hopeless —
//! and the sources the reducer reads (the local log, or a Kafka consumer group).

pub mod admin;
pub mod codegen;
pub mod connection;
mod error;
pub mod monitor;
pub mod publish;
pub mod relay;
pub mod source;

pub use connection::{KafkaConnection, Password, SaslMechanism, SecurityProtocol};
pub use error::{EventsError, Result};
pub use relay::{Relay, RelayConfig, RelayStats};
pub use source::{KafkaSource, LogSource, Source, SourceError, Sourced, StampEvent};

//! Kafka delivery of the bridge's events (SPEC §7): the topic catalogue created on the broker,
//! and the relay that moves committed outbox rows (`event_logs`) to their topics — marked
//! sent only after the broker confirms, retried with backoff, dead-lettered when hopeless.

pub mod admin;
pub mod codegen;
mod error;
pub mod monitor;
pub mod publish;
pub mod reducer_source;
pub mod relay;

pub use error::{EventsError, Result};
pub use reducer_source::KafkaSource;
pub use relay::{Relay, RelayConfig, RelayStats};

//! Errors of the Kafka side.

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, EventsError>;

/// What went wrong talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The client could not be created or the broker refused a request.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The brokers could not be reached, and librdkafka said why.
    #[error("kafka: {error} (last broker error: {cause})")]
    Unreachable {
        /// What failed.
        error: String,
        /// librdkafka's reason (no credentials in it).
        cause: String,
    },
    /// A topic could not be created.
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's reason.
        reason: String,
    },
    /// A background task of the client died.
    #[error("kafka client task failed: {0}")]
    Task(String),
}

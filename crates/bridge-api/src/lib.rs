//! The HTTP API of OmniNode Bridge (SPEC §2).
//!
//! Every JSON response is the envelope `{status, data, error, message?, metadata}` with a
//! matching status code; errors are one `ApiError` mapped once. Routes exist at the root and
//! under `/api/v1/metadata-stamping` for clients of the Python original.

mod app;
mod budget;
mod config;
mod envelope;
mod error;
mod extract;
mod handlers;
mod keys;
mod metrics;
mod middleware;
mod openapi;
mod router;
pub mod views;
pub mod witness;

pub use app::App;
pub use config::{
    ApiConfig, ApiKey, RateLimit, DEFAULT_BODY_BUDGET_BYTES, DEFAULT_MAX_CONTENT_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES, MAX_BATCH_ITEMS,
};
pub use error::ApiError;
pub use keys::{KeyStatus, PublishedKey, ServiceKeys};
pub use metrics::Metrics;
pub use router::router;

/// For `benches/hash_stream.rs`: the streamed `POST /hash` path itself (chunks hashed as they
/// arrive, the size limit, the sniffed head and type detection), so the benchmark measures the
/// handler's code and not a copy of it.
#[doc(hidden)]
pub mod bench {
    use bytes::Bytes;
    use futures_util::Stream;

    /// The hex digest of the streamed body, as `POST /hash` answers it (`None` past `limit`).
    pub async fn hash_stream<S>(chunks: S, limit: u64) -> Option<String>
    where
        S: Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin,
    {
        let streamed = crate::handlers::hash::hash_stream(chunks, limit)
            .await
            .ok()?;
        Some(streamed.finish(std::time::Instant::now(), None).file_hash)
    }
}

/// Route prefix kept for clients of the Python original.
pub const LEGACY_PREFIX: &str = "/api/v1/metadata-stamping";

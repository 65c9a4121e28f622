//! The HTTP API of OmniNode Bridge (SPEC §2).
//!
//! Every JSON response is the envelope `{status, data, error, message?, metadata}` with a
//! matching status code; errors are one `ApiError` mapped once. Routes exist at the root and
//! under `/api/v1/metadata-stamping` for clients of the Python original.

mod app;
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

pub use app::App;
pub use config::{
    ApiConfig, ApiKey, RateLimit, DEFAULT_MAX_CONTENT_BYTES, DEFAULT_MAX_UPLOAD_BYTES,
    MAX_BATCH_ITEMS,
};
pub use error::ApiError;
pub use keys::{KeyStatus, PublishedKey, ServiceKeys};
pub use metrics::Metrics;
pub use router::router;

/// Route prefix kept for clients of the Python original.
pub const LEGACY_PREFIX: &str = "/api/v1/metadata-stamping";

//! Request middleware: context (correlation id, envelope for bare errors, metrics, log line),
//! route tagging, authentication and rate limiting.

mod auth;
mod context;
mod rate_limit;

pub(crate) use auth::{auth, Principal};
pub(crate) use context::{context, tag_route};
pub(crate) use rate_limit::rate_limit;

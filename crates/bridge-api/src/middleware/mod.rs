//! Request middleware: context (correlation id, envelope for bare errors, metrics, log line),
//! route tagging, and the protected routes' guard (authentication and rate limiting).

mod auth;
mod context;
mod guard;
mod rate_limit;

pub(crate) use auth::Principal;
pub(crate) use context::{context, tag_route};
pub(crate) use guard::guard;

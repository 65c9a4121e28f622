//! Per-caller token bucket (`--rate-limit`): 429 with `Retry-After` when empty.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};

use super::Principal;
use crate::app::App;
use crate::error::ApiError;

/// Spends one token of the caller's bucket, or answers 429.
pub(crate) async fn rate_limit(
    State(app): State<App>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(limiter) = &app.limiter {
        let bucket = req
            .extensions()
            .get::<Principal>()
            .map(Principal::bucket)
            .unwrap_or_default();
        if let Err(not_until) = limiter.check_key(&bucket) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Round up: a client that waits Retry-After seconds gets a token.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiError::rate_limited(secs.max(1)));
        }
    }
    Ok(next.run(req).await)
}

//! Per-caller token bucket (`--rate-limit`): 429 with `Retry-After` when empty.

use governor::clock::{Clock, DefaultClock};

use super::Principal;
use crate::app::App;
use crate::error::ApiError;

/// Spends one token of the caller's bucket, or fails with 429.
pub(crate) fn spend(app: &App, principal: &Principal) -> Result<(), ApiError> {
    if let Some(limiter) = &app.limiter {
        if let Err(not_until) = limiter.check_key(&principal.bucket()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Round up: a client that waits Retry-After seconds gets a token.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiError::rate_limited(secs.max(1)));
        }
    }
    Ok(())
}

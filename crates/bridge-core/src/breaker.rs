//! A circuit breaker: `failure_threshold` consecutive failures open it; after `open_ms` it
//! half-opens and lets up to `half_open_max_calls` trial calls through; a trial success closes
//! it, a trial failure opens it again. Time is tokio's, so tests can pause it.

use std::sync::Mutex;
use std::time::Duration;

use crate::contract::BreakerSpec;
use tokio::time::Instant;

/// Externally visible state (also the `circuit_breaker_state` metric: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast.
    Open,
    /// A few trial calls go through.
    HalfOpen,
}

impl BreakerState {
    /// Name used in health output and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// Value of the `circuit_breaker_state` gauge.
    pub fn as_gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Instant,
    trial_calls: u32,
}

/// The breaker. A std `Mutex` because it is held for a few instructions, never across an
/// `.await`.
#[derive(Debug)]
pub struct CircuitBreaker {
    spec: BreakerSpec,
    inner: Mutex<Inner>,
}

/// Refusal while open (or while the half-open trial slots are taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker {}", state.as_str())]
pub struct Rejected {
    /// State at the time of the refusal.
    pub state: BreakerState,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(spec: BreakerSpec) -> Self {
        let inner = Inner {
            state: BreakerState::Closed,
            consecutive_failures: 0,
            opened_at: Instant::now(),
            trial_calls: 0,
        };
        Self {
            spec,
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave it inconsistent: every update is a
        // plain field write.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refresh(&self, inner: &mut Inner) {
        if inner.state == BreakerState::Open
            && inner.opened_at.elapsed() >= Duration::from_millis(self.spec.open_ms)
        {
            inner.state = BreakerState::HalfOpen;
            inner.trial_calls = 0;
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        inner.state
    }

    /// Asks to make a call; report its result with `on_success` / `on_failure`.
    pub fn try_acquire(&self) -> Result<(), Rejected> {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        match inner.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => Err(Rejected {
                state: BreakerState::Open,
            }),
            BreakerState::HalfOpen if inner.trial_calls < self.spec.half_open_max_calls => {
                inner.trial_calls += 1;
                Ok(())
            }
            BreakerState::HalfOpen => Err(Rejected {
                state: BreakerState::HalfOpen,
            }),
        }
    }

    /// A call succeeded: close (from half-open) and forget past failures.
    pub fn on_success(&self) {
        let mut inner = self.lock();
        inner.state = BreakerState::Closed;
        inner.consecutive_failures = 0;
        inner.trial_calls = 0;
    }

    /// A call failed: count it; open at the threshold, or again from half-open.
    pub fn on_failure(&self) {
        let mut inner = self.lock();
        self.refresh(&mut inner);
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let open = match inner.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => inner.consecutive_failures >= self.spec.failure_threshold,
            BreakerState::Open => false,
        };
        if open {
            inner.state = BreakerState::Open;
            inner.opened_at = Instant::now();
            inner.trial_calls = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BreakerState::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerSpec {
            failure_threshold: 5,
            open_ms: 60_000,
            half_open_max_calls: 3,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_five_consecutive_failures() {
        let b = breaker();
        for _ in 0..4 {
            b.try_acquire().unwrap();
            b.on_failure();
        }
        assert_eq!(b.state(), Closed);
        b.on_success();
        for _ in 0..4 {
            b.on_failure();
        }
        assert_eq!(b.state(), Closed, "a success resets the count");
        b.on_failure();
        assert_eq!(b.state(), Open);
        assert_eq!(b.try_acquire(), Err(Rejected { state: Open }));
    }

    #[tokio::test(start_paused = true)]
    async fn half_opens_after_open_ms_with_three_trials_then_closes() {
        let b = breaker();
        for _ in 0..5 {
            b.on_failure();
        }
        tokio::time::advance(Duration::from_millis(59_999)).await;
        assert_eq!(b.state(), Open);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(b.state(), HalfOpen);
        for _ in 0..3 {
            b.try_acquire().unwrap();
        }
        assert_eq!(b.try_acquire(), Err(Rejected { state: HalfOpen }));
        b.on_success();
        assert_eq!(b.state(), Closed);
        b.try_acquire().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_opens_it_again_for_the_full_period() {
        let b = breaker();
        for _ in 0..5 {
            b.on_failure();
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        b.try_acquire().unwrap();
        b.on_failure();
        assert_eq!(b.state(), Open);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(b.state(), Open);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.state(), HalfOpen);
    }
}

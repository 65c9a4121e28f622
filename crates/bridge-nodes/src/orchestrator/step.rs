//! Running one contract step: each attempt under the step's `timeout_ms`, `retry.attempts`
//! tries with doubling backoff, and an optional step that fails turned into a skip.

use std::future::Future;
use std::time::Duration;

use bridge_core::contract::{StepName, StepSpec};
use tokio::time::{sleep, timeout, Instant};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// It produced its result.
    Completed,
    /// A required step that failed: the workflow fails.
    Failed,
    /// An optional step that failed or was not applicable: the workflow goes on.
    Skipped,
}

impl StepStatus {
    /// Database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFailure {
    /// The attempt ran past `timeout_ms`.
    Timeout(u64),
    /// The step reported an error (e.g. a dependency is down).
    Error(String),
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(ms) => write!(f, "timed out after {ms} ms"),
            Self::Error(e) => f.write_str(e),
        }
    }
}

/// The record of one step, as stored in `workflow_steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// Which step.
    pub name: StepName,
    /// Position in the contract.
    pub index: usize,
    /// How it ended.
    pub status: StepStatus,
    /// Tries made.
    pub attempts: u32,
    /// Time from first try to outcome, backoff included.
    pub duration: Duration,
    /// The last failure, if any.
    pub failure: Option<StepFailure>,
}

/// Why a built-in step failed (recorded in `workflow_steps` as its message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StepError(pub String);

/// Runs `attempt` under `spec`; `Some(value)` when it completed. An attempt's error is kept
/// as its message: that is what the workflow records.
pub async fn run_step<T, E, F, Fut>(
    spec: &StepSpec,
    index: usize,
    mut attempt: F,
) -> (Option<T>, StepOutcome)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let limit = Duration::from_millis(spec.timeout_ms);
    let mut failure = None;
    let mut tries = 0;
    for n in 0..spec.retry.attempts {
        if n > 0 {
            // Doubling backoff: backoff_ms, 2×, 4×, …
            sleep(Duration::from_millis(
                spec.retry.backoff_ms.saturating_mul(1 << (n - 1).min(16)),
            ))
            .await;
        }
        tries += 1;
        match timeout(limit, attempt()).await {
            Ok(Ok(value)) => {
                let outcome = StepOutcome {
                    name: spec.name,
                    index,
                    status: StepStatus::Completed,
                    attempts: tries,
                    duration: started.elapsed(),
                    failure: None,
                };
                return (Some(value), outcome);
            }
            Ok(Err(e)) => failure = Some(StepFailure::Error(e.to_string())),
            Err(_) => failure = Some(StepFailure::Timeout(spec.timeout_ms)),
        }
    }
    let status = if spec.optional {
        StepStatus::Skipped
    } else {
        StepStatus::Failed
    };
    (
        None,
        StepOutcome {
            name: spec.name,
            index,
            status,
            attempts: tries,
            duration: started.elapsed(),
            failure,
        },
    )
}

/// The record of a step that did not run (e.g. an optional service that is not configured).
pub fn skipped(spec: &StepSpec, index: usize, why: &str) -> StepOutcome {
    StepOutcome {
        name: spec.name,
        index,
        status: StepStatus::Skipped,
        attempts: 0,
        duration: Duration::ZERO,
        failure: Some(StepFailure::Error(why.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use bridge_core::contract::RetrySpec;

    use super::*;

    fn spec(optional: bool, attempts: u32, timeout_ms: u64) -> StepSpec {
        StepSpec {
            name: StepName::OnextreeIntelligence,
            timeout_ms,
            optional,
            retry: RetrySpec {
                attempts,
                backoff_ms: 100,
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn optional_step_timing_out_is_skipped_after_exactly_its_timeout() {
        let (v, o) = run_step(&spec(true, 1, 500), 1, || async {
            sleep(Duration::from_secs(10)).await;
            Ok::<_, String>(1)
        })
        .await;
        assert_eq!(v, None);
        assert_eq!(o.status, StepStatus::Skipped);
        assert_eq!(o.failure, Some(StepFailure::Timeout(500)));
        assert_eq!(o.duration, Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn required_step_timing_out_fails() {
        let (v, o) = run_step(&spec(false, 1, 200), 2, || async {
            sleep(Duration::from_millis(201)).await;
            Ok::<_, String>(())
        })
        .await;
        assert!(v.is_none());
        assert_eq!((o.status, o.index, o.attempts), (StepStatus::Failed, 2, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_just_within_its_timeout_completes() {
        let (v, o) = run_step(&spec(false, 1, 200), 0, || async {
            sleep(Duration::from_millis(199)).await;
            Ok::<_, String>(7)
        })
        .await;
        assert_eq!((v, o.status), (Some(7), StepStatus::Completed));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_doubling_backoff_until_success() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let (v, o) = run_step(&spec(false, 3, 1000), 0, move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(format!("fail {n}"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(v, Some(2));
        assert_eq!((o.status, o.attempts), (StepStatus::Completed, 3));
        // 100 ms, then 200 ms of backoff; the attempts themselves take no time.
        assert_eq!(o.duration, Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_retries_keep_the_last_error() {
        let (v, o) = run_step(&spec(false, 2, 1000), 0, || async {
            Err::<(), _>("down".to_owned())
        })
        .await;
        assert!(v.is_none());
        assert_eq!((o.status, o.attempts), (StepStatus::Failed, 2));
        assert_eq!(o.failure, Some(StepFailure::Error("down".into())));
    }
}

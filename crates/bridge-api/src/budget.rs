//! The body budget: how many bytes of request bodies the server holds in memory at once,
//! across all requests. A JSON body is read whole (it is decoded, stamped and answered as a
//! whole); alone it is bounded by its size limit, but a thousand concurrent ones at the 10 MiB
//! content limit would be tens of GiB. Each buffered byte takes a permit of one semaphore as it
//! arrives; the request keeps them until its response is built (the decoded content, the
//! stamped copy and the answer are all derived from them), then gives them back. A request
//! that cannot get them is answered 503 `SERVER_BUSY` with `Retry-After`; a little of its
//! body is drained without being kept (see `extract::read_body`), then its connection closes. Streamed uploads (`POST /hash` raw and multipart) hold one
//! chunk at a time and take no permits.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Seconds a client is told to wait after a 503 for the budget.
const RETRY_AFTER_SECS: u64 = 1;

/// The shared budget (one per server).
#[derive(Debug)]
pub(crate) struct BodyBudget {
    permits: Arc<Semaphore>,
    capacity: usize,
    /// Requests answered 503 for want of budget.
    rejected: AtomicU64,
}

tokio::task_local! {
    // Request-scoped (set by the context middleware around the handler): the permits the
    // request's buffered body holds, released when the scope ends.
    static HELD: RefCell<Option<OwnedSemaphorePermit>>;
}

impl BodyBudget {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(capacity.min(Semaphore::MAX_PERMITS))),
            capacity,
            rejected: AtomicU64::new(0),
        }
    }

    /// The whole budget in bytes.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Requests refused so far.
    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Bytes of request bodies held now.
    pub(crate) fn in_use(&self) -> usize {
        self.capacity
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.permits.available_permits())
    }

    /// Charges `n` more buffered bytes to the current request, or says the server is busy.
    /// Outside a request scope (unit tests of the extractors) nothing is charged.
    pub(crate) fn charge(&self, n: usize) -> Result<(), ApiError> {
        if n == 0 {
            return Ok(());
        }
        let busy = || {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            ApiError::unavailable(
                "SERVER_BUSY",
                format!(
                    "the server is holding its whole budget of {} bytes of request bodies; retry later",
                    self.capacity
                ),
            )
            .with_retry_after(RETRY_AFTER_SECS)
        };
        let n = u32::try_from(n).map_err(|_| busy())?;
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| busy())?;
        let _ = HELD.try_with(move |held| {
            let mut held = held.borrow_mut();
            match held.as_mut() {
                Some(all) => all.merge(permit),
                None => *held = Some(permit),
            }
        });
        Ok(())
    }
}

/// Runs `fut` (a request's handling) with its own, empty, share of the budget, given back when
/// it ends.
pub(crate) async fn scope<F: std::future::Future>(fut: F) -> F::Output {
    HELD.scope(RefCell::new(None), fut).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn permits_are_held_until_the_scope_ends_and_refused_past_the_budget() {
        let budget = Arc::new(BodyBudget::new(100));
        let b = budget.clone();
        scope(async move {
            b.charge(60).unwrap();
            b.charge(30).unwrap();
            assert_eq!(b.in_use(), 90);
            let err = b.charge(20).unwrap_err();
            assert_eq!(err.status().as_u16(), 503);
            assert_eq!(b.in_use(), 90, "a refused charge takes nothing");
            assert_eq!(b.rejected(), 1);
        })
        .await;
        assert_eq!(budget.in_use(), 0, "the scope gave its bytes back");
    }
}

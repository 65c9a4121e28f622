//! The background tasks of `serve` under one supervisor: each runs in a [`JoinSet`] under its
//! name and a child of the process's [`CancellationToken`]. A task that ends before it was
//! told to stop, or panics, is reported with its name.
//!
//! What happens then is the caller's choice; `serve` drains and exits non-zero instead of
//! restarting the task: every task here keeps its state in the database (cursors, leases,
//! registrations), so a fresh process resumes exactly, while a task restarted in a process
//! whose invariants a panic just broke could repeat the panic forever, out of sight. A process
//! manager (systemd, Kubernetes) restarts the whole process and makes the failure visible.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;

/// A task that ended on its own (or panicked) while it should have been running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("background task {name} {how}")]
pub(crate) struct TaskFailure {
    /// The task's name.
    pub(crate) name: &'static str,
    /// `panicked: …` or `ended unexpectedly`.
    pub(crate) how: String,
}

/// The supervised tasks of one process.
pub(crate) struct Supervisor {
    root: CancellationToken,
    set: JoinSet<()>,
    /// Task id → name, so a panic (which loses the task's output) still says who it was.
    names: HashMap<Id, &'static str>,
    /// Names of the tasks still running.
    running: HashSet<&'static str>,
    /// Names told to stop: their ending is expected.
    stopping: HashSet<&'static str>,
    /// Failures seen while waiting for something else (reported by [`Self::failures`]).
    failed: Vec<TaskFailure>,
}

impl Supervisor {
    pub(crate) fn new() -> Self {
        Self {
            root: CancellationToken::new(),
            set: JoinSet::new(),
            names: HashMap::new(),
            running: HashSet::new(),
            stopping: HashSet::new(),
            failed: Vec::new(),
        }
    }

    /// A token for one shutdown stage: cancelled by [`Self::stop`] of that stage, or with all
    /// the others when the root is cancelled.
    pub(crate) fn stage(&self) -> CancellationToken {
        self.root.child_token()
    }

    /// Runs `task` under `name`.
    pub(crate) fn spawn<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = self.set.spawn(task);
        self.names.insert(handle.id(), name);
        self.running.insert(name);
    }

    /// Waits for the next task to end; `None` when none is left. Ends of tasks that were told
    /// to stop are not failures and are skipped.
    pub(crate) async fn next_failure(&mut self) -> Option<TaskFailure> {
        loop {
            let (name, how) = self.join_one().await?;
            if let Some(how) = how {
                return Some(TaskFailure { name, how });
            }
        }
    }

    /// Cancels `token` (one stage) and waits up to `within` for the tasks `names` to end.
    /// `false` if some did not end in time. Unexpected ends seen meanwhile are kept.
    pub(crate) async fn stop(
        &mut self,
        token: &CancellationToken,
        names: &[&'static str],
        within: Duration,
    ) -> bool {
        self.stopping.extend(names.iter().copied());
        token.cancel();
        let wait = async {
            while names.iter().any(|n| self.running.contains(n)) {
                match self.join_one().await {
                    Some((name, Some(how))) => self.failed.push(TaskFailure { name, how }),
                    Some(_) => {}
                    None => break,
                }
            }
        };
        tokio::time::timeout(within, wait).await.is_ok()
    }

    /// Failures seen while stopping (a panic during a stage's drain, say).
    pub(crate) fn failures(&self) -> &[TaskFailure] {
        &self.failed
    }

    /// Cancels every stage at once (the process is going down after a failure).
    pub(crate) fn cancel_all(&self) {
        self.root.cancel();
    }

    /// One task's end: its name, and why that is a failure (`None`: it was told to stop).
    async fn join_one(&mut self) -> Option<(&'static str, Option<String>)> {
        let joined = self.set.join_next_with_id().await?;
        let (id, panic) = match joined {
            Ok((id, ())) => (id, None),
            Err(e) => {
                let id = e.id();
                let why = if e.is_panic() {
                    let p = e.into_panic();
                    p.downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a non-text panic".into())
                } else {
                    "was cancelled".into()
                };
                (id, Some(why))
            }
        };
        let name = self.names.remove(&id).unwrap_or("unnamed");
        self.running.remove(name);
        let how = match panic {
            Some(why) => Some(format!("panicked: {why}")),
            None if self.stopping.contains(name) => None,
            None => Some("ended unexpectedly".into()),
        };
        Some((name, how))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_reported_with_the_tasks_name() {
        let mut s = Supervisor::new();
        let stage = s.stage();
        s.spawn("calm", async move { stage.cancelled().await });
        s.spawn("reducer", async { panic!("fault injection") });
        let f = s.next_failure().await.unwrap();
        assert_eq!(f.name, "reducer");
        assert_eq!(f.how, "panicked: fault injection");
        assert_eq!(
            f.to_string(),
            "background task reducer panicked: fault injection"
        );
    }

    #[tokio::test]
    async fn an_early_end_is_a_failure_but_a_requested_stop_is_not() {
        let mut s = Supervisor::new();
        let stage = s.stage();
        let t = stage.clone();
        s.spawn("relay", async move { t.cancelled().await });
        s.spawn("sweeper", async {});
        let f = s.next_failure().await.unwrap();
        assert_eq!((f.name, f.how.as_str()), ("sweeper", "ended unexpectedly"));
        assert!(s.stop(&stage, &["relay"], Duration::from_secs(5)).await);
        assert!(s.failures().is_empty());
        assert!(s.next_failure().await.is_none(), "nothing left");
    }

    #[tokio::test]
    async fn stop_gives_up_after_its_bound() {
        let mut s = Supervisor::new();
        let stage = s.stage();
        s.spawn("stuck", std::future::pending());
        assert!(!s.stop(&stage, &["stuck"], Duration::from_millis(20)).await);
    }
}

//! A unit of work for a group-committing writer, and its reply. Shared by the backends: each
//! commits many jobs in one transaction and answers each one after the commit.

use std::collections::HashSet;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{EventRow, Result, StampOutcome, StampRecord, StampWrite, StoreError, WorkflowRecord};

/// A unit of work and where to send its outcome.
pub(crate) enum Job {
    /// A stamp with its workflow and events.
    Stamp {
        write: Box<StampWrite>,
        reply: oneshot::Sender<Result<StampOutcome>>,
    },
    /// A failed workflow with its events (no stamp).
    Failed {
        workflow: Box<WorkflowRecord>,
        events: Vec<EventRow>,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// What a job produced.
pub(crate) enum Done {
    Stamp(Box<StampOutcome>),
    Failed,
}

impl Job {
    pub(crate) fn reply(self, result: Result<Done>) {
        match (self, result) {
            (Job::Stamp { reply, .. }, Ok(Done::Stamp(o))) => {
                let _ = reply.send(Ok(*o));
            }
            (Job::Failed { reply, .. }, Ok(Done::Failed)) => {
                let _ = reply.send(Ok(()));
            }
            (Job::Stamp { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (Job::Failed { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (Job::Stamp { reply, .. }, Ok(Done::Failed)) => {
                let _ = reply.send(Err(StoreError::Unavailable(
                    "writer mixed up replies".into(),
                )));
            }
            (Job::Failed { reply, .. }, Ok(Done::Stamp(_))) => {
                let _ = reply.send(Err(StoreError::Unavailable(
                    "writer mixed up replies".into(),
                )));
            }
        }
    }
}

/// The sending side of a writer's queue (of jobs, or of anything a job converts into):
/// submits a job and waits for its reply.
pub(crate) struct Queue<M = Job>(pub(crate) mpsc::Sender<M>);

impl<M> Clone for Queue<M> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

fn stopped<T>(_: T) -> StoreError {
    StoreError::Unavailable("writer stopped".into())
}

impl<M: From<Job>> Queue<M> {
    /// Submits a stamp; answers once its transaction is durable.
    pub(crate) async fn stamp(&self, write: StampWrite) -> Result<StampOutcome> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Stamp {
            write: Box::new(write),
            reply,
        };
        self.0.send(M::from(job)).await.map_err(stopped)?;
        rx.await.map_err(stopped)?
    }

    /// Submits a failed workflow; answers once its transaction is durable.
    pub(crate) async fn failed(
        &self,
        workflow: WorkflowRecord,
        events: Vec<EventRow>,
    ) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Failed {
            workflow: Box::new(workflow),
            events,
            reply,
        };
        self.0.send(M::from(job)).await.map_err(stopped)?;
        rx.await.map_err(stopped)?
    }

    /// Whether the writer has stopped.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// The stamps of a batch, in job order.
pub(crate) fn stamps<'a>(jobs: &[&'a Job]) -> Vec<&'a StampRecord> {
    jobs.iter()
        .filter_map(|j| match j {
            Job::Stamp { write, .. } => Some(&write.stamp),
            Job::Failed { .. } => None,
        })
        .collect()
}

/// The log entries of the batch's new stamps, in job order.
pub(crate) fn entries<'a>(
    jobs: &[&'a Job],
    inserted: &HashSet<Uuid>,
) -> Vec<(&'a StampRecord, &'a [u8])> {
    jobs.iter()
        .filter_map(|j| match j {
            Job::Stamp { write, .. } if inserted.contains(&write.stamp.stamp_id) => {
                write.entry.as_deref().map(|e| (&write.stamp, e))
            }
            _ => None,
        })
        .collect()
}

/// Log indexes given to a batch's new stamps, with their proofs.
pub(crate) type Logged = std::collections::HashMap<Uuid, (i64, crate::LogProof)>;

/// What a batch writes once its stamps are in: the workflows and events of every failed
/// workflow and of each stamp in `inserted` (a duplicate stamp writes nothing).
pub(crate) fn dependents<'a>(
    jobs: &[&'a Job],
    inserted: &HashSet<Uuid>,
) -> (Vec<&'a WorkflowRecord>, Vec<&'a EventRow>) {
    let mut workflows = Vec::new();
    let mut events = Vec::new();
    for job in jobs {
        match job {
            Job::Stamp { write, .. } if inserted.contains(&write.stamp.stamp_id) => {
                workflows.extend(write.workflow.iter());
                events.extend(write.events.iter());
            }
            Job::Stamp { .. } => {}
            Job::Failed {
                workflow,
                events: ev,
                ..
            } => {
                workflows.push(&**workflow);
                events.extend(ev.iter());
            }
        }
    }
    (workflows, events)
}

/// A job's reply once its batch is written: ready, or a duplicate that gets the stored stamp
/// of its content (committed earlier, or earlier in the same batch) — a backend lookup.
pub(crate) enum Reply<'a> {
    /// Nothing left to read.
    Ready(Done),
    /// Look up the first stamp of this one's `(namespace, file_hash)`.
    Existing(&'a StampRecord),
}

/// The replies of `jobs` in order, given which stamps were `inserted`.
pub(crate) fn replies<'a>(
    jobs: &[&'a Job],
    inserted: &HashSet<Uuid>,
    logged: &Logged,
) -> Vec<Reply<'a>> {
    jobs.iter()
        .map(|job| match job {
            Job::Failed { .. } => Reply::Ready(Done::Failed),
            Job::Stamp { write, .. } if inserted.contains(&write.stamp.stamp_id) => {
                let mut stamp = write.stamp.clone();
                if let Some((index, proof)) = logged.get(&stamp.stamp_id) {
                    stamp.log_index = Some(*index);
                    stamp.log_proof = Some(proof.clone());
                }
                Reply::Ready(Done::Stamp(Box::new(StampOutcome::Created(stamp))))
            }
            Job::Stamp { write, .. } => Reply::Existing(&write.stamp),
        })
        .collect()
}

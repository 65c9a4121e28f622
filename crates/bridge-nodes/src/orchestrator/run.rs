//! One workflow run: the steps in contract order, the FSM, the events, and the single write.

use std::convert::Infallible;
use std::future::ready;
use std::time::{Duration, Instant};

use bridge_core::contract::StepName;
use bridge_core::envelope::Envelope;
use bridge_core::event::{
    HashGenerated, IntelligenceReceived, IntelligenceRequested, Payload, StampCreated,
    StateTransition, StepCompleted, WorkflowCompleted, WorkflowFailed, WorkflowStarted,
};
use bridge_core::fsm::WorkflowState;
use bridge_core::stamp::{self, Original, Stamped};
use bridge_core::Treatment;
use bridge_store::{
    EventRow, StampOutcome, StampRecord, StampWrite, StepRecord, TransitionRecord, WorkflowRecord,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::step::{run_step, skipped, StepError, StepFailure, StepOutcome, StepStatus};
use super::{Orchestrator, StampInput, StampResult};
use crate::{NodeError, Result};

/// Node id of the orchestrator in event sources.
const NODE_ID: &str = "orchestrator";

pub(super) struct Run<'a> {
    o: &'a Orchestrator,
    input: &'a StampInput,
    workflow_id: Uuid,
    started: Instant,
    started_at: DateTime<Utc>,
    state: WorkflowState,
    steps: Vec<StepRecord>,
    transitions: Vec<TransitionRecord>,
    events: Vec<EventRow>,
}

impl<'a> Run<'a> {
    pub(super) fn new(o: &'a Orchestrator, input: &'a StampInput) -> Self {
        Self {
            o,
            input,
            workflow_id: Uuid::now_v7(),
            started: Instant::now(),
            started_at: Utc::now(),
            state: WorkflowState::Pending,
            steps: Vec::with_capacity(o.contract.workflow.steps.len()),
            transitions: Vec::with_capacity(2),
            events: Vec::with_capacity(12),
        }
    }

    fn event<P: Payload>(&mut self, key: Option<&str>, payload: P) {
        let now = Utc::now();
        let mut env = Envelope::of(payload, self.input.correlation_id, NODE_ID, now);
        env.causation_id = Some(self.workflow_id);
        self.events.push(EventRow {
            event_id: env.event_id,
            event_type: P::TYPE,
            topic: self.o.topics.get(P::TYPE).map(str::to_owned),
            // One workflow's events share the correlation id as key, so they stay ordered.
            message_key: key
                .map(str::to_owned)
                .unwrap_or_else(|| self.input.correlation_id.to_string()),
            correlation_id: self.input.correlation_id,
            workflow_id: Some(self.workflow_id),
            namespace: Some(self.input.namespace.as_str().to_owned()),
            payload: env.to_json(),
            created_at: now,
        });
    }

    fn transition(&mut self, to: WorkflowState, reason: &str) -> Result<()> {
        let from = self.state;
        self.o.fsm.check(from, to)?;
        self.state = to;
        self.transitions.push(TransitionRecord {
            from_state: from.as_str().to_owned(),
            to_state: to.as_str().to_owned(),
            reason: Some(reason.to_owned()),
            created_at: Utc::now(),
        });
        let payload = StateTransition {
            workflow_id: self.workflow_id,
            from,
            to,
            reason: reason.to_owned(),
        };
        self.event(None, payload);
        Ok(())
    }

    fn record_step(&mut self, o: &StepOutcome) {
        self.steps.push(StepRecord {
            step_index: o.index as i64,
            step_name: o.name.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            attempts: i64::from(o.attempts),
            duration_ms: o.duration.as_secs_f64() * 1000.0,
            error: o.failure.as_ref().map(ToString::to_string),
        });
        if o.status == StepStatus::Completed {
            let payload = StepCompleted {
                workflow_id: self.workflow_id,
                step: o.name.as_str().to_owned(),
                attempts: o.attempts,
                duration_ms: o.duration.as_secs_f64() * 1000.0,
            };
            self.event(None, payload);
        }
    }

    /// The workflow record; takes the steps and transitions (the run is over).
    fn record(
        &mut self,
        stamp_id: Option<Uuid>,
        error: Option<String>,
        intelligence: Option<Value>,
    ) -> WorkflowRecord {
        WorkflowRecord {
            workflow_id: self.workflow_id,
            correlation_id: self.input.correlation_id,
            namespace: self.input.namespace.as_str().to_owned(),
            state: self.state.as_str().to_owned(),
            stamp_id,
            error,
            intelligence,
            started_at: self.started_at,
            completed_at: Some(Utc::now()),
            duration_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            steps: std::mem::take(&mut self.steps),
            transitions: std::mem::take(&mut self.transitions),
        }
    }

    /// A required step failed: FAILED, recorded with its events, and the error returned.
    async fn fail(
        mut self,
        step: StepName,
        failure: StepFailure,
        intelligence: Option<Value>,
    ) -> Result<StampResult> {
        let reason = format!("{} failed: {failure}", step.as_str());
        let rejected = self.state == WorkflowState::Pending;
        self.transition(WorkflowState::Failed, &reason)?;
        let payload = WorkflowFailed {
            workflow_id: self.workflow_id,
            step: step.as_str().to_owned(),
            error: failure.to_string(),
        };
        self.event(None, payload);
        let record = self.record(None, Some(reason.clone()), intelligence);
        let events = std::mem::take(&mut self.events);
        self.o
            .store
            .record_failed_workflow(record.clone(), events)
            .await?;
        if let Some(obs) = &self.o.observer {
            obs(&record);
        }
        if rejected {
            return Err(NodeError::Rejected(reason));
        }
        Err(NodeError::StepFailed {
            step: step.as_str(),
            failure,
            workflow_id: self.workflow_id,
        })
    }

    pub(super) async fn execute(mut self) -> Result<StampResult> {
        let input = self.input;
        let payload = WorkflowStarted {
            workflow_id: self.workflow_id,
            namespace: input.namespace.as_str().to_owned(),
            content_size: input.content.len() as u64,
        };
        self.event(None, payload);
        let mut original: Option<Original<'a>> = None;
        let mut made: Option<Stamped> = None;
        let mut intelligence: Option<Value> = None;
        let mut hash_time = Duration::ZERO;
        // An Arc handle, not a copy of the steps: this runs for every request.
        let contract = self.o.contract.clone();
        for (i, spec) in contract.workflow.steps.iter().enumerate() {
            if spec.name != StepName::ValidateInput && self.state == WorkflowState::Pending {
                self.transition(WorkflowState::Processing, "input accepted")?;
            }
            let outcome = match spec.name {
                StepName::ValidateInput => run_step(spec, i, || ready(validate(input))).await.1,
                StepName::OnextreeIntelligence => match self.o.intelligence.clone() {
                    None => skipped(spec, i, "no intelligence service configured"),
                    Some(client) => {
                        let workflow_id = self.workflow_id;
                        self.event(None, IntelligenceRequested { workflow_id });
                        let (value, outcome) =
                            run_step(spec, i, || client.analyze(&input.content)).await;
                        if let Some(v) = &value {
                            let payload = IntelligenceReceived {
                                workflow_id: self.workflow_id,
                                result: v.clone(),
                            };
                            self.event(None, payload);
                        }
                        intelligence = value;
                        outcome
                    }
                },
                StepName::HashGeneration => {
                    let t = Instant::now();
                    let (value, outcome) = run_step(spec, i, || {
                        ready(Ok::<_, Infallible>(Original::of(&input.content)))
                    })
                    .await;
                    hash_time = t.elapsed();
                    if let Some(o) = &value {
                        let payload = HashGenerated {
                            workflow_id: self.workflow_id,
                            file_hash: o.hash.to_string(),
                            file_size: o.bytes.len() as u64,
                        };
                        self.event(None, payload);
                    }
                    original = value;
                    outcome
                }
                StepName::StampCreation => {
                    let Some(orig) = original.as_ref() else {
                        return self
                            .fail(
                                spec.name,
                                StepFailure::Error("no hash to stamp".into()),
                                intelligence,
                            )
                            .await;
                    };
                    // Signing is part of creating the stamp, not a step after it: the
                    // signature is a line of the stamp text, over the stamp's own fields.
                    let req =
                        input.stamp_request(Uuid::now_v7(), Utc::now(), self.o.signer.as_deref());
                    let (value, outcome) = run_step(spec, i, || {
                        ready(
                            stamp::stamp(orig, &req)
                                .map_err(|e| StepError(format!("cannot sign the stamp: {e}"))),
                        )
                    })
                    .await;
                    made = value;
                    outcome
                }
                // Events are rows of this workflow's transaction; this step checks that each
                // has a topic to be relayed to.
                StepName::EventPublishing => {
                    let missing: Vec<String> = self
                        .events
                        .iter()
                        .filter(|e| e.topic.is_none())
                        .map(|e| e.event_type.to_string())
                        .collect();
                    run_step(spec, i, || {
                        ready(if missing.is_empty() {
                            Ok(())
                        } else {
                            Err(StepError(format!("no topic for {}", missing.join(", "))))
                        })
                    })
                    .await
                    .1
                }
            };
            self.record_step(&outcome);
            if outcome.status == StepStatus::Failed {
                let failure = outcome
                    .failure
                    .clone()
                    .unwrap_or(StepFailure::Error("failed".into()));
                return self.fail(spec.name, failure, intelligence).await;
            }
        }
        if self.state == WorkflowState::Pending {
            self.transition(WorkflowState::Processing, "input accepted")?;
        }
        let (Some(original), Some(made)) = (original, made) else {
            // The contract loader requires both steps; reaching this is a bug.
            return self
                .fail(
                    StepName::StampCreation,
                    StepFailure::Error("stamp was not created".into()),
                    intelligence,
                )
                .await;
        };
        let record = input.stamp_record(&original, &made, self.workflow_id);
        let entry = StampInput::log_entry(&made);
        // The reducer's input is keyed by namespace, so instances split namespaces.
        self.event(Some(input.namespace.as_str()), stamp_created(&record));
        self.transition(WorkflowState::Completed, "all steps done")?;
        let payload = WorkflowCompleted {
            workflow_id: self.workflow_id,
            stamp_id: record.stamp_id,
        };
        self.event(None, payload);
        let workflow = self.record(Some(record.stamp_id), None, intelligence);
        let events = std::mem::take(&mut self.events);
        let outcome = self
            .o
            .store
            .record_stamp(StampWrite {
                stamp: record,
                workflow: Some(workflow.clone()),
                events,
                entry,
            })
            .await?;
        Ok(match outcome {
            StampOutcome::Created(record) => {
                if let Some(obs) = &self.o.observer {
                    obs(&workflow);
                }
                StampResult {
                    record,
                    deduplicated: false,
                    stamped_content: made.stamped,
                    hash_time,
                }
            }
            StampOutcome::Existing(record) => {
                let treatment = if record.sidecar {
                    Treatment::Sidecar
                } else {
                    made.kind.treatment
                };
                let stamped_content = stamp::reapply(&original.bytes, &record.stamp, treatment);
                StampResult {
                    record,
                    deduplicated: true,
                    stamped_content,
                    hash_time,
                }
            }
        })
    }
}

/// The `STAMP_CREATED` payload of a stored stamp (what the reducer aggregates).
pub fn stamp_created(record: &StampRecord) -> StampCreated {
    StampCreated {
        stamp_id: record.stamp_id,
        namespace: record.namespace.clone(),
        file_hash: record.file_hash.clone(),
        content_type: record.content_type.clone(),
        file_size: u64::try_from(record.file_size).unwrap_or(0),
        file_path: record.file_path.clone(),
        stamp_type: record.stamp_type.clone(),
        workflow_id: record.workflow_id,
    }
}

/// The `validate_input` step: what the HTTP layer cannot know (it is the same for the CLI).
fn validate(input: &StampInput) -> std::result::Result<(), StepError> {
    if input.content.is_empty() {
        return Err(StepError("content is empty".into()));
    }
    Ok(())
}

//! Errors of the nodes.

use bridge_core::fsm::{FsmError, IllegalTransition};
use bridge_store::StoreError;
use uuid::Uuid;

use crate::orchestrator::step::StepFailure;

/// Result alias for the nodes crate.
pub type Result<T> = std::result::Result<T, NodeError>;

/// What can fail while running a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The `validate_input` step rejected the request (workflow PENDING → FAILED).
    #[error("input rejected: {0}")]
    Rejected(String),
    /// A required step failed; the failed workflow was recorded.
    #[error("workflow {workflow_id} failed at step {step}: {failure}")]
    StepFailed {
        /// The step.
        step: &'static str,
        /// Why.
        failure: StepFailure,
        /// The recorded workflow.
        workflow_id: Uuid,
    },
    /// A transition the FSM forbids: a bug, surfaced rather than applied.
    #[error(transparent)]
    Fsm(#[from] IllegalTransition),
    /// The contract's FSM cannot drive a workflow.
    #[error("orchestrator contract: {0}")]
    Contract(#[from] FsmError),
}

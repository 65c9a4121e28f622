//! The workflow state machine. The allowed transitions come from the orchestrator contract;
//! the states are fixed here because code acts on them. An illegal transition is an error,
//! never silently applied.

use serde::{Deserialize, Serialize};

/// A state machine: states, initial and terminal states, allowed transitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsmSpec {
    /// Every state.
    pub states: Vec<String>,
    /// Where it starts.
    pub initial: String,
    /// States with no way out.
    pub terminal: Vec<String>,
    /// Allowed moves.
    pub transitions: Vec<TransitionSpec>,
}

/// One allowed move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionSpec {
    /// From state.
    pub from: String,
    /// To state.
    pub to: String,
}

/// States of a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowState {
    /// Accepted, not started.
    Pending,
    /// Running its steps.
    Processing,
    /// Done; the stamp exists.
    Completed,
    /// Stopped by a failed required step or rejected input.
    Failed,
}

impl WorkflowState {
    /// Every state.
    pub const ALL: [WorkflowState; 4] = [
        Self::Pending,
        Self::Processing,
        Self::Completed,
        Self::Failed,
    ];

    /// Parses the contract spelling (`PENDING`, …).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The contract and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Processing => "PROCESSING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

/// A transition the FSM does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal workflow transition {} -> {}", from.as_str(), to.as_str())]
pub struct IllegalTransition {
    /// Current state.
    pub from: WorkflowState,
    /// Requested state.
    pub to: WorkflowState,
}

/// A contract's FSM the orchestrator cannot run (the message says why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FsmError(pub String);

/// The transitions the orchestrator relies on; a contract must allow all of them.
const REQUIRED: [(WorkflowState, WorkflowState); 4] = [
    (WorkflowState::Pending, WorkflowState::Processing),
    (WorkflowState::Pending, WorkflowState::Failed),
    (WorkflowState::Processing, WorkflowState::Completed),
    (WorkflowState::Processing, WorkflowState::Failed),
];

/// The allowed transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fsm {
    allowed: Vec<(WorkflowState, WorkflowState)>,
}

impl Fsm {
    /// PENDING → PROCESSING → COMPLETED | FAILED, and PENDING → FAILED.
    pub fn standard() -> Self {
        Self {
            allowed: REQUIRED.to_vec(),
        }
    }

    /// Builds the FSM of a contract; the error says what is wrong.
    pub fn from_spec(spec: &FsmSpec) -> Result<Self, FsmError> {
        let state = |s: &str| {
            WorkflowState::parse(s).ok_or_else(|| FsmError(format!("unknown workflow state {s}")))
        };
        for s in &spec.states {
            state(s)?;
        }
        if state(&spec.initial)? != WorkflowState::Pending {
            return Err(FsmError("initial state must be PENDING".into()));
        }
        let mut allowed = Vec::new();
        for t in &spec.transitions {
            let (from, to) = (state(&t.from)?, state(&t.to)?);
            if !spec.states.contains(&t.from) || !spec.states.contains(&t.to) {
                return Err(FsmError(format!(
                    "transition {} -> {} uses an undeclared state",
                    t.from, t.to
                )));
            }
            if spec.terminal.contains(&t.from) {
                return Err(FsmError(format!(
                    "terminal state {} cannot have a transition",
                    t.from
                )));
            }
            allowed.push((from, to));
        }
        for (from, to) in REQUIRED {
            if !allowed.contains(&(from, to)) {
                return Err(FsmError(format!(
                    "transition {} -> {} is required",
                    from.as_str(),
                    to.as_str()
                )));
            }
        }
        for (from, to) in &allowed {
            if !REQUIRED.contains(&(*from, *to)) {
                return Err(FsmError(format!(
                    "transition {} -> {} is not supported",
                    from.as_str(),
                    to.as_str()
                )));
            }
        }
        Ok(Self { allowed })
    }

    /// Checks one transition.
    pub fn check(&self, from: WorkflowState, to: WorkflowState) -> Result<(), IllegalTransition> {
        if self.allowed.contains(&(from, to)) {
            Ok(())
        } else {
            Err(IllegalTransition { from, to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkflowState::*;

    #[test]
    fn every_pair_is_legal_or_illegal_as_specified() {
        let fsm = Fsm::standard();
        let legal = [
            (Pending, Processing),
            (Pending, Failed),
            (Processing, Completed),
            (Processing, Failed),
        ];
        for from in WorkflowState::ALL {
            for to in WorkflowState::ALL {
                let want = legal.contains(&(from, to));
                assert_eq!(fsm.check(from, to).is_ok(), want, "{from:?} -> {to:?}");
                if !want {
                    assert_eq!(fsm.check(from, to), Err(IllegalTransition { from, to }));
                }
            }
        }
    }

    #[test]
    fn builtin_contract_fsm_is_the_standard_one() {
        let c = crate::contract::load(&crate::contract::builtin::Builtin).unwrap();
        let from_contract = Fsm::from_spec(&c.orchestrator.fsm).unwrap();
        for from in WorkflowState::ALL {
            for to in WorkflowState::ALL {
                assert_eq!(
                    from_contract.check(from, to).is_ok(),
                    Fsm::standard().check(from, to).is_ok()
                );
            }
        }
    }
}

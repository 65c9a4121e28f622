//! The contract-driven orchestrator: runs the steps the orchestrator contract names, in
//! order, under their timeouts and retry policies, and drives the workflow FSM.

pub mod breaker;
pub mod step;

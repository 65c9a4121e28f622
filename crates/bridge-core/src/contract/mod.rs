//! Node contracts: YAML documents composed of subcontracts through `$ref`, resolved and then
//! checked against typed structs (unknown keys rejected). Contracts are data: the orchestrator
//! reads step order, timeouts, optional flags, retries and topics from them.
//!
//! Reading files is left to a [`ContractSource`], so this module stays free of I/O; the
//! shipped contracts are built in ([`builtin`]).

pub mod builtin;
mod error;
mod model;
mod resolve;

pub use crate::fsm::{FsmSpec, TransitionSpec};
pub use error::ContractError;
pub use model::{
    AggregationSpec, AggregationStrategy, BreakerSpec, CacheSpec, Contracts, EventsSpec,
    HealthSpec, OnextreeSpec, OrchestratorContract, ReducerContract, RegistryContract, RetrySpec,
    RoutingSpec, ServicesSpec, StepName, StepSpec, WorkflowSpec,
};
pub use resolve::{normalize, resolve, ContractSource, Resolved};

/// Loads and checks the three node contracts from a source (a directory or the built-ins).
pub fn load(source: &dyn ContractSource) -> Result<Contracts, ContractError> {
    Ok(Contracts {
        orchestrator: model::typed(&resolve(source, "orchestrator/contract.yaml")?)?,
        reducer: model::typed(&resolve(source, "reducer/contract.yaml")?)?,
        registry: model::typed(&resolve(source, "registry/contract.yaml")?)?,
    })
}

#[cfg(test)]
mod tests;

//! Node contracts: YAML documents composed of subcontracts through `$ref`, resolved and then
//! checked against typed structs (unknown keys rejected). Contracts are data: the orchestrator
//! reads step order, timeouts, optional flags, retries and topics from them.
//!
//! Reading files is left to a [`ContractSource`], so this module stays free of I/O; the
//! shipped contracts are built in ([`builtin`]).

pub mod builtin;
mod model;
mod resolve;

pub use model::{
    AggregationSpec, AggregationStrategy, BreakerSpec, CacheSpec, Contracts, EventsSpec, FsmSpec,
    HealthSpec, OnextreeSpec, OrchestratorContract, ReducerContract, RegistryContract, RetrySpec,
    RoutingSpec, ServicesSpec, StepName, StepSpec, TransitionSpec, WorkflowSpec, EVENT_TYPES,
    REGISTRY_EVENT_TYPES,
};
pub use resolve::{normalize, resolve, ContractSource, Resolved};

/// Why a contract could not be loaded; every variant names the file (and key path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// A file (the root or a `$ref` target) does not exist.
    #[error("{file}: not found{}", referenced_from.as_ref().map(|(f, k)| format!(" (referenced from {f} at {k})")).unwrap_or_default())]
    Missing {
        /// The missing file.
        file: String,
        /// Where the `$ref` to it was (file, key path).
        referenced_from: Option<(String, String)>,
    },
    /// A file is not valid YAML.
    #[error("{file}: invalid YAML: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// `$ref`s that lead back to themselves.
    #[error("{file} at {key}: $ref cycle: {chain}")]
    Cycle {
        /// File of the `$ref` that closes the cycle.
        file: String,
        /// Its key path.
        key: String,
        /// The chain of references.
        chain: String,
    },
    /// A bad `$ref`, an unknown key, a wrong type or a rule of the contract broken.
    #[error("{file} at {key}: {message}")]
    Invalid {
        /// The file the offending key comes from.
        file: String,
        /// Key path in the resolved contract (`workflow.steps[1].timeout_ms`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

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

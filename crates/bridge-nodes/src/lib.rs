//! The bridge's nodes: the contract-driven orchestrator that runs every `POST /stamp`, the
//! namespace reducer, and the node registry.

mod error;
pub mod intelligence;
pub mod orchestrator;
pub mod reducer;
pub mod registry;
pub mod witnessing;

pub use error::{NodeError, Result};
pub use intelligence::OnextreeClient;
pub use orchestrator::{Intelligence, IntelligenceStatus, Orchestrator, StampInput, StampResult};

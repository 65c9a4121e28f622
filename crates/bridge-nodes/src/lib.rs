//! The bridge's nodes: the contract-driven orchestrator that runs every `POST /stamp`; the
//! reducer and the registry grow here.

mod error;
pub mod intelligence;
pub mod orchestrator;
pub mod reducer;

pub use error::{NodeError, Result};
pub use intelligence::OnextreeClient;
pub use orchestrator::{Intelligence, IntelligenceStatus, Orchestrator, StampInput, StampResult};

//! The bridge's nodes: the contract-driven orchestrator that runs every `POST /stamp`; the
//! reducer and the registry grow here.

mod error;
pub mod orchestrator;

pub use error::{NodeError, Result};
pub use orchestrator::{Intelligence, Orchestrator, StampInput, StampResult};

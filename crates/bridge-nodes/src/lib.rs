//! The bridge's nodes. For now the stamping pipeline that every `POST /stamp` runs; the
//! contract-driven orchestrator, the reducer and the registry grow here.

mod error;
pub mod orchestrator;
pub mod stamping;

pub use error::{NodeError, Result};
pub use stamping::{StampInput, StampResult, Stamper};

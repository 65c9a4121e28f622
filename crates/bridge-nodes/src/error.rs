//! Errors of the nodes.

use bridge_store::StoreError;

/// Result alias for the nodes crate.
pub type Result<T> = std::result::Result<T, NodeError>;

/// What can fail while running a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

//! Pure domain of OmniNode Bridge: no I/O, no async.
//!
//! Hashing, file-type detection, the O.N.E. v0.1 stamp (render, insert, locate, remove,
//! validate) and the validated domain types that the other crates pass around. Everything
//! here is deterministic given its inputs, so it is unit- and property-tested in isolation.

pub mod breaker;
pub mod contract;
pub mod domain;
pub mod envelope;
pub mod error;
pub mod event;
pub mod filetype;
mod firstlines;
pub mod fsm;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod monitor;
pub mod signature;
pub mod stamp;
pub mod statement;
pub mod tlog;
pub mod topics;
pub mod witness;

pub use domain::{Namespace, RelativePath, StampType};
pub use error::{DomainError, Result};
pub use event::{EventTopics, EventType};
pub use filetype::{detect, CommentStyle, FileKind, Treatment};
pub use hash::Blake3Hex;

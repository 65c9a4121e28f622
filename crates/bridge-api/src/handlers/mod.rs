//! Route handlers, one module per concern.

pub(crate) mod batch;
pub(crate) mod hash;
pub(crate) mod health;
pub(crate) mod keys;
pub(crate) mod log;
pub(crate) mod lookup;
pub(crate) mod namespaces;
pub(crate) mod page;
pub(crate) mod registry;
pub(crate) mod stamp;
pub(crate) mod validate;

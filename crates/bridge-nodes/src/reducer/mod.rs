//! The namespace reducer (SPEC §5): `STAMP_CREATED` events folded into per-namespace
//! statistics in windows, saved with exactly-once effect. `aggregate` is the pure core;
//! `engine` the loop around it; `cache` the stats reads. Where events come from (the
//! [`Source`] trait and its two implementations) is `bridge_events::source`.

pub mod aggregate;
mod cache;
mod engine;
mod status;

pub use aggregate::{Aggregator, Delta};
pub use bridge_events::source::{LogSource, Source, SourceError, Sourced, StampEvent, LOG_CURSOR};
pub use cache::StatsCache;
pub use engine::{Reducer, ReducerError};
pub use status::{ReducerState, ReducerStatus};

#[cfg(test)]
mod tests;

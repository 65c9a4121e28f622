//! The namespace reducer (SPEC §5): `STAMP_CREATED` events folded into per-namespace
//! statistics in windows, saved with exactly-once effect. `aggregate` is the pure core;
//! `engine` the loop around it; `source` where events come from; `cache` the stats reads.

pub mod aggregate;
mod cache;
mod engine;
mod event;
pub mod source;
mod status;

pub use aggregate::{Aggregator, Delta};
pub use cache::StatsCache;
pub use engine::Reducer;
pub use event::StampEvent;
pub use source::{LogSource, Source, Sourced, LOG_CURSOR};
pub use status::{ReducerState, ReducerStatus};

#[cfg(test)]
mod tests;

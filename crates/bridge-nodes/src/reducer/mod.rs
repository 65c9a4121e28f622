//! The namespace reducer (SPEC §5). This module holds its pure core — windowed aggregation of
//! `STAMP_CREATED` events into per-namespace deltas, with replay protection — so that the
//! streaming and persistence around it stay thin.

pub mod aggregate;

pub use aggregate::{Aggregator, Delta, StampEvent};

//! What the monitor checks (SPEC §14), pure: a log entry read back into its stamp's fields
//! and its SSHSIG checked against a trust list, and a newer tree proven to extend a kept one
//! from the tiles alone (the monitor computes the consistency itself; nothing is asked of the
//! server). The fetching, the state on disk and the command sit above this module.

mod entry;
mod tiles;

pub use entry::{check_entry, parse_entry, EntryVerdict, LoggedEntry, MalformedEntry};
pub use tiles::{
    leaf_hash, tiles_for, verify_from_tiles, Inconsistency, TileData, TreeHead, MAX_TREE_SIZE,
};

#[cfg(test)]
mod tests;

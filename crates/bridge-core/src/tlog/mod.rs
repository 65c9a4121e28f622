//! The transparency log's formats (SPEC §11, C2SP): log entries, tile paths, checkpoints as
//! signed notes with their verifier key, and `c2sp.org/tlog-proof@v1` proofs.
//!
//! The RFC 6962 tree math (stored hash indexes, tree hashes, inclusion and consistency
//! proofs, tile data) is `tlog_tiles`'; this module holds what that crate does differently
//! from C2SP (its tile paths carry the Go sumdb's height element) or does not have (notes).

mod note;
mod path;
mod proof;

pub use note::{LogSigner, LogVerifier, NoteError, VerifiedCheckpoint};
pub use path::{TilePath, TilePathError};
pub use proof::{ProofError, TlogProof};
pub use tlog_tiles::{
    check_record, check_tree, prove_record, prove_tree, record_hash, stored_hash_count,
    stored_hash_index, stored_hashes, tree_hash, Hash, HashReader, Tile, HASH_SIZE,
};

/// Hashes per tile side: C2SP tiles are 256 wide, a height of 8.
pub const TILE_HEIGHT: u8 = 8;

/// Full tile width.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// A log entry: the signed statement, then `signature <base64 SSHSIG>` and a newline.
pub fn entry(statement: &str, signature: &str) -> Vec<u8> {
    let mut e = Vec::with_capacity(statement.len() + signature.len() + 11);
    e.extend_from_slice(statement.as_bytes());
    e.extend_from_slice(b"signature ");
    e.extend_from_slice(signature.as_bytes());
    e.push(b'\n');
    e
}

/// An entry bundle: each entry as a big-endian `u16` length and its bytes. `None` if an entry
/// is longer than a bundle can say.
pub fn bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).ok()?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Some(out)
}

#[cfg(test)]
mod tests;

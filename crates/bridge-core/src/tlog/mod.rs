//! The transparency log's formats (SPEC §11, C2SP): log entries, tile paths, checkpoints as
//! signed notes with their verifier key, and `c2sp.org/tlog-proof@v1` proofs.
//!
//! The RFC 6962 tree math (stored hash indexes, tree hashes, inclusion and consistency
//! proofs, tile data) is `tlog_tiles`'; this module holds what that crate does differently
//! from C2SP (its tile paths carry the Go sumdb's height element) or does not have (notes).

mod note;
mod path;
mod proof;

pub use note::{
    check_name, key_id_of, parse_checkpoint, split_note, split_vkey, LogSigner, LogVerifier,
    NoteError, NoteSignature, VerifiedCheckpoint, MAX_NOTE_SIGNATURES,
};
pub use path::{TilePath, TilePathError};
pub use proof::{ProofError, TlogProof};
pub use tlog_tiles::{
    check_record, check_tree, prove_record, prove_tree, record_hash, stored_hash_count,
    stored_hash_index, stored_hashes, tree_hash, Error as TreeError, Hash, HashReader, Tile,
    HASH_SIZE,
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

/// Appends entries to a tree known only by its *frontier* (the roots of the complete subtrees
/// that make up a tree of its size: at most 64 stored hashes), so a writer reads a handful of
/// hashes per commit, never the whole tree.
pub struct Appender {
    size: u64,
    known: std::collections::HashMap<u64, Hash>,
    added: Vec<(u64, Hash)>,
}

impl Appender {
    /// The stored hash indexes a tree of `size` needs to grow: read them, then [`Appender::new`].
    pub fn frontier(size: u64) -> Vec<u64> {
        tlog_tiles::sub_tree_index(0, size, Vec::new())
    }

    /// A tree of `size` entries whose frontier hashes are `frontier` (index, hash).
    pub fn new(size: u64, frontier: impl IntoIterator<Item = (u64, Hash)>) -> Self {
        Self {
            size,
            known: frontier.into_iter().collect(),
            added: Vec::new(),
        }
    }

    /// Appends one entry; its index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, tlog_tiles::Error> {
        let index = self.size;
        let new = stored_hashes(index, entry, &*self)?;
        let first = stored_hash_count(index);
        for (i, h) in new.into_iter().enumerate() {
            let at = first + i as u64;
            self.known.insert(at, h);
            self.added.push((at, h));
        }
        self.size += 1;
        Ok(index)
    }

    /// The tree's size now.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its root hash.
    pub fn root(&self) -> Result<Hash, tlog_tiles::Error> {
        tree_hash(self.size, self)
    }

    /// The stored hashes the appends made, in index order.
    pub fn added(&self) -> &[(u64, Hash)] {
        &self.added
    }
}

impl HashReader for Appender {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.known
                    .get(i)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Records which stored hashes an operation reads (answering zeros), so that a store that reads
/// asynchronously can fetch exactly those and run the operation again on a [`Fetched`].
#[derive(Default)]
pub struct Recorder(std::cell::RefCell<Vec<u64>>);

impl Recorder {
    /// The indexes read so far.
    pub fn into_indexes(self) -> Vec<u64> {
        self.0.into_inner()
    }
}

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash([0; HASH_SIZE]); indexes.len()])
    }
}

/// Stored hashes fetched ahead.
pub struct Fetched(pub std::collections::HashMap<u64, Hash>);

impl HashReader for Fetched {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(i)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

//! Consistency from tiles: a monitor that kept a tree head (size, root) and sees a newer one
//! fetches the hash tiles itself, authenticates them against the newer root, and recomputes
//! the kept root from them. Equal: the newer tree extends the kept one. The same tiles give
//! the leaf hashes of the new entries, which each fetched entry must hash to.
//!
//! Two passes, as the store does for proofs: the first learns which tiles the checks read
//! ([`tiles_for`]), the caller fetches them (concurrently, bounded), the second checks
//! ([`verify_from_tiles`]). Tile data from the server is untrusted: a tile of the wrong length,
//! or one that does not hash up to the root, is an [`Inconsistency`], never a panic.
//!
//! `tlog_tiles`' `TileHashReader` (0.2.0) checks the tiles that make up the root against it,
//! but its check of every other full tile against its parent starts at the count of the root's
//! subtree *hashes*, not of their tiles, so for most tree sizes it checks no child tile at all
//! (a tile with a changed leaf was handed out as proven; see `garbage_tiles_are_refused_not_
//! believed`). So every full tile it was given is checked against its parent here, again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use tlog_tiles::{
    record_hash, stored_hash_index, tree_hash, Error as TreeError, Hash, HashReader, Tile,
    TileHashReader, TileReader, HASH_SIZE,
};

use crate::tlog::{TilePath, TILE_HEIGHT};

/// Largest tree a monitor audits (2^40 entries, about a trillion): beyond it the tile
/// arithmetic's `u64`s could overflow, and no real log is near it.
pub const MAX_TREE_SIZE: u64 = 1 << 40;

/// A tree head: size and root hash.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeHead {
    /// Entries.
    pub size: u64,
    /// RFC 6962 root.
    pub root: Hash,
}

/// Why the newer tree does not provably extend the kept one (or cannot be checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    /// The newer tree is smaller.
    #[error("the tree shrank from {kept} to {seen} entries")]
    Shrunk {
        /// The kept size.
        kept: u64,
        /// The newer checkpoint's size.
        seen: u64,
    },
    /// Same size, another root.
    #[error("the tree of {0} entries has another root than the one kept")]
    RootChanged(u64),
    /// The tiles, authenticated against the newer root, give another root for the kept size.
    #[error("the tiles of the tree of {seen} entries give a root for {kept} entries other than the one kept")]
    Rewritten {
        /// The kept size.
        kept: u64,
        /// The newer size.
        seen: u64,
    },
    /// A tile does not hash up to the newer root (or has the wrong length).
    #[error("tile data does not match the checkpoint's root: {0}")]
    BadTiles(String),
    /// A tree larger than [`MAX_TREE_SIZE`].
    #[error("a tree of {0} entries is larger than a monitor audits")]
    TooLarge(u64),
}

impl Inconsistency {
    /// Whether this proves the log misbehaved (a fork, a rewrite, a shrunk tree), as opposed to
    /// data that does not check out (a server serving garbage, a checkpoint too large).
    pub fn is_fork(&self) -> bool {
        matches!(
            self,
            Inconsistency::Shrunk { .. }
                | Inconsistency::RootChanged(_)
                | Inconsistency::Rewritten { .. }
        )
    }
}

/// Fetched tile data by C2SP path.
pub type TileData = HashMap<String, Vec<u8>>;

/// The C2SP path of a `tlog_tiles` tile.
fn c2sp(t: &Tile) -> TilePath {
    let w = t.width();
    TilePath {
        level: Some(t.level()),
        index: t.level_index(),
        partial: (w < 1 << TILE_HEIGHT).then(|| u8::try_from(w).expect("a partial tile is < 256")),
    }
}

/// A `TileReader` that answers from fetched data (noting what it served), or without data
/// notes what is asked and answers zeros of the right length.
struct Tiles<'a> {
    data: Option<&'a TileData>,
    asked: RefCell<Vec<TilePath>>,
    served: RefCell<Vec<Tile>>,
}

impl TileReader for Tiles<'_> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TreeError> {
        tiles
            .iter()
            .map(|t| {
                let path = c2sp(t);
                let want = t.width() as usize * HASH_SIZE;
                match self.data {
                    None => {
                        self.asked.borrow_mut().push(path);
                        Ok(vec![0; want])
                    }
                    Some(d) => match d.get(&path.to_string()) {
                        // A wrong length would be the reader's contract broken: refuse here.
                        Some(b) if b.len() == want => {
                            self.served.borrow_mut().push(*t);
                            Ok(b.clone())
                        }
                        _ => Err(TreeError::BadMath),
                    },
                }
            })
            .collect()
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

fn checks(kept: &TreeHead, seen: &TreeHead) -> Result<(), Inconsistency> {
    for t in [kept, seen] {
        if t.size > MAX_TREE_SIZE {
            return Err(Inconsistency::TooLarge(t.size));
        }
    }
    if seen.size < kept.size {
        return Err(Inconsistency::Shrunk {
            kept: kept.size,
            seen: seen.size,
        });
    }
    if seen.size == kept.size && seen.root != kept.root {
        return Err(Inconsistency::RootChanged(seen.size));
    }
    Ok(())
}

/// The kept size's root (when there is one to recompute) and the new leaves' hashes.
type Reads = (
    Option<Result<Hash, TreeError>>,
    Result<Vec<Hash>, TreeError>,
);

/// Runs the two reads the checks need over `tiles`: the kept size's root, and the leaf hashes
/// of `leaves`.
fn reads(kept: &TreeHead, seen: &TreeHead, leaves: &Range<u64>, tiles: &Tiles<'_>) -> Reads {
    let r = TileHashReader::new(seen.size, seen.root, tiles);
    let old = (kept.size > 0 && kept.size < seen.size).then(|| tree_hash(kept.size, &r));
    let indexes: Vec<u64> = leaves.clone().map(|i| stored_hash_index(0, i)).collect();
    let new = if indexes.is_empty() {
        Ok(Vec::new())
    } else {
        r.read_hashes(&indexes)
    };
    (old, new)
}

/// The tiles (C2SP paths, deduplicated) that proving `seen` extends `kept`, and reading the
/// leaf hashes of the entries `leaves` (within `seen`), need.
pub fn tiles_for(
    kept: &TreeHead,
    seen: &TreeHead,
    leaves: Range<u64>,
) -> Result<Vec<TilePath>, Inconsistency> {
    checks(kept, seen)?;
    if leaves.end > seen.size || leaves.start > leaves.end {
        return Err(Inconsistency::BadTiles(format!(
            "entries {}..{} are not in a tree of {}",
            leaves.start, leaves.end, seen.size
        )));
    }
    let rec = Tiles {
        data: None,
        asked: RefCell::new(Vec::new()),
        served: RefCell::new(Vec::new()),
    };
    let _ = reads(kept, seen, &leaves, &rec);
    let mut out = rec.asked.into_inner();
    let mut seen_paths = std::collections::HashSet::new();
    out.retain(|p| seen_paths.insert(p.to_string()));
    Ok(out)
}

/// With the tiles [`tiles_for`] named: proves `seen` extends `kept` and returns the leaf
/// hashes of `leaves`, each authenticated against `seen`'s root.
pub fn verify_from_tiles(
    kept: &TreeHead,
    seen: &TreeHead,
    leaves: Range<u64>,
    data: &TileData,
) -> Result<Vec<Hash>, Inconsistency> {
    checks(kept, seen)?;
    let tiles = Tiles {
        data: Some(data),
        asked: RefCell::new(Vec::new()),
        served: RefCell::new(Vec::new()),
    };
    let bad = |e: TreeError| Inconsistency::BadTiles(e.to_string());
    let (old, new) = reads(kept, seen, &leaves, &tiles);
    // Only partial tiles (the right edge) make up the root, and TileHashReader checked those
    // against it; every full tile must hash to its entry in its parent.
    for t in tiles
        .served
        .borrow()
        .iter()
        .filter(|t| t.width() == 1 << TILE_HEIGHT)
    {
        let parent = t
            .parent(1, seen.size)
            .ok_or_else(|| Inconsistency::BadTiles(format!("{} has no parent", c2sp(t))))?;
        let mine = data.get(&c2sp(t).to_string()).expect("served");
        let theirs = data
            .get(&c2sp(&parent).to_string())
            .ok_or_else(|| Inconsistency::BadTiles(format!("{} was not read", c2sp(&parent))))?;
        let want = parent
            .hash_at_index(
                theirs,
                stored_hash_index(parent.level() * TILE_HEIGHT, t.level_index()),
            )
            .map_err(bad)?;
        if Tile::subtree_hash(mine) != want {
            return Err(Inconsistency::BadTiles(format!(
                "{} does not hash to its entry in {}",
                c2sp(t),
                c2sp(&parent)
            )));
        }
    }
    if let Some(old) = old {
        if old.map_err(bad)? != kept.root {
            return Err(Inconsistency::Rewritten {
                kept: kept.size,
                seen: seen.size,
            });
        }
    }
    new.map_err(bad)
}

/// The leaf hash an entry must have (RFC 6962: SHA-256 of 0x00 and the entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    record_hash(entry)
}

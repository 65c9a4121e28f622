//! What both backends share about the transparency log's stored hashes.

use bridge_core::tlog::{Fetched, Hash, HashReader, Recorder, TreeError};

use crate::{Result, StoreError};

/// A stored log hash read back: it must exist and be 32 bytes.
fn stored_hash(hash: Option<Vec<u8>>, index: u64) -> Result<Hash> {
    let corrupt = |message: String| StoreError::Corrupt {
        column: "log_hashes.hash",
        message,
    };
    let bytes = hash.ok_or_else(|| corrupt(format!("no stored hash {index}")))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt(format!("stored hash {index} is not 32 bytes")))?;
    Ok(Hash(arr))
}

/// The hashes at `indexes`, in that order, from the `(id, hash)` rows a backend read (in any
/// order); every index must be there.
pub(crate) fn in_order(indexes: &[u64], rows: Vec<(i64, Vec<u8>)>) -> Result<Vec<Hash>> {
    let mut found: std::collections::HashMap<i64, Vec<u8>> = rows.into_iter().collect();
    indexes
        .iter()
        .map(|&i| stored_hash(found.remove(&id(i)), i))
        .collect()
}

/// A stored hash index as the databases' BIGINT.
pub(crate) fn id(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// SQLite: the hashes at `indexes` in one statement (the ids as a JSON array).
pub(crate) const SQLITE_SELECT: &str =
    "SELECT h.id, h.hash FROM json_each(?) j JOIN log_hashes h ON h.id = j.value";

/// PostgreSQL: the hashes at `indexes` in one statement.
pub(crate) const POSTGRES_SELECT: &str = "SELECT id, hash FROM log_hashes WHERE id = ANY($1)";

/// Runs a tree operation (a proof, a tile's data) over the stored hashes it reads: once to
/// learn which (answering zeros), one query for exactly those, then again on them. The one
/// way the API and the benches read the tree.
pub async fn with_hashes<T>(
    store: &dyn crate::Store,
    op: impl Fn(&dyn HashReader) -> std::result::Result<T, TreeError>,
) -> Result<T> {
    let corrupt = |e: TreeError| StoreError::Corrupt {
        column: "log_hashes",
        message: e.to_string(),
    };
    let rec = Recorder::default();
    op(&rec).map_err(corrupt)?;
    let indexes = rec.into_indexes();
    let hashes = store.log_hashes(&indexes).await?;
    let fetched = Fetched(indexes.into_iter().zip(hashes).collect());
    op(&fetched).map_err(corrupt)
}

/// A `&dyn HashReader` as a `HashReader` (`tlog_tiles`' functions take one by `impl`).
pub struct Dyn<'a>(pub &'a dyn HashReader);

impl HashReader for Dyn<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, TreeError> {
        self.0.read_hashes(indexes)
    }
}

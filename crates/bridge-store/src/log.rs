//! What both backends share about the transparency log's stored hashes.

use bridge_core::tlog::Hash;

use crate::{Result, StoreError};

/// A stored log hash read back: it must exist and be 32 bytes.
pub(crate) fn stored_hash(hash: Option<Vec<u8>>, index: u64) -> Result<Hash> {
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

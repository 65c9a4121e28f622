//! What a witness keeps (SPEC §13): per log, the latest checkpoint it cosigned. One trait,
//! both backends; the advance is a compare-and-swap so the tlog-witness rollback race cannot
//! happen, whatever number of witness processes share the database.

use async_trait::async_trait;
use bridge_core::tlog::Hash;
use sha2::Digest;

use crate::Result;

/// The latest cosigned checkpoint of one log.
#[derive(Clone, Debug, PartialEq)]
pub struct WitnessedLog {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The checkpoint note with the log's signatures and this witness's cosignatures.
    pub checkpoint: String,
}

/// The key of a log's monitoring route: lowercase hex SHA-256 of its origin.
pub fn origin_hash(origin: &str) -> String {
    let d = sha2::Sha256::digest(origin.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A witness's state.
#[async_trait]
pub trait WitnessStore: Send + Sync + 'static {
    /// The latest cosigned checkpoint of `origin`.
    async fn witnessed(&self, origin: &str) -> Result<Option<WitnessedLog>>;

    /// The same, by [`origin_hash`].
    async fn witnessed_by_hash(&self, origin_hash: &str) -> Result<Option<WitnessedLog>>;

    /// Stores `next` if the stored state of its origin is still `expected` (size and root;
    /// `None`: nothing stored). `false` if another request moved it first: nothing written.
    async fn advance_witnessed(
        &self,
        expected: Option<(u64, Hash)>,
        next: &WitnessedLog,
    ) -> Result<bool>;
}

/// A stored size or root read back.
pub(crate) fn from_row(
    origin: String,
    size: i64,
    root: Vec<u8>,
    checkpoint: String,
) -> Result<WitnessedLog> {
    let corrupt = |message: &str| crate::StoreError::Corrupt {
        column: "witness_logs",
        message: message.into(),
    };
    Ok(WitnessedLog {
        origin,
        size: u64::try_from(size).map_err(|_| corrupt("negative size"))?,
        root: Hash(root.try_into().map_err(|_| corrupt("a root is 32 bytes"))?),
        checkpoint,
    })
}

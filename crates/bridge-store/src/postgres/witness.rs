//! The witness's state on PostgreSQL: the compare-and-swap is one statement (an INSERT that
//! does nothing on conflict, or an UPDATE conditioned on the old size and root), atomic
//! against every other witness process on the database.

use async_trait::async_trait;
use bridge_core::tlog::Hash;

use super::PgStore;
use crate::witness::{from_row, origin_hash, WitnessStore, WitnessedLog};
use crate::Result;

const SELECT: &str = "SELECT origin, size, root, checkpoint FROM witness_logs";

impl PgStore {
    async fn witnessed_where(&self, column: &str, key: &str) -> Result<Option<WitnessedLog>> {
        self.guarded(async {
            let row: Option<(String, i64, Vec<u8>, String)> =
                sqlx::query_as(&format!("{SELECT} WHERE {column} = $1"))
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
            row.map(|(o, s, r, c)| from_row(o, s, r, c)).transpose()
        })
        .await
    }
}

#[async_trait]
impl WitnessStore for PgStore {
    async fn witnessed(&self, origin: &str) -> Result<Option<WitnessedLog>> {
        self.witnessed_where("origin", origin).await
    }

    async fn witnessed_by_hash(&self, hash: &str) -> Result<Option<WitnessedLog>> {
        self.witnessed_where("origin_hash", hash).await
    }

    async fn advance_witnessed(
        &self,
        expected: Option<(u64, Hash)>,
        next: &WitnessedLog,
    ) -> Result<bool> {
        let size = crate::log::id(next.size);
        self.guarded(async {
            let done = match expected {
                None => {
                    sqlx::query(
                        "INSERT INTO witness_logs \
                     (origin, origin_hash, size, root, checkpoint, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (origin) DO NOTHING",
                    )
                    .bind(&next.origin)
                    .bind(origin_hash(&next.origin))
                    .bind(size)
                    .bind(next.root.0.as_slice())
                    .bind(&next.checkpoint)
                    .execute(&self.pool)
                    .await?
                }
                Some((old_size, old_root)) => {
                    sqlx::query(
                        "UPDATE witness_logs SET size = $1, root = $2, checkpoint = $3, \
                     updated_at = now() WHERE origin = $4 AND size = $5 AND root = $6",
                    )
                    .bind(size)
                    .bind(next.root.0.as_slice())
                    .bind(&next.checkpoint)
                    .bind(&next.origin)
                    .bind(crate::log::id(old_size))
                    .bind(old_root.0.as_slice())
                    .execute(&self.pool)
                    .await?
                }
            };
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}

//! The witness's state on PostgreSQL: the compare-and-swap is one statement (an INSERT that
//! does nothing on conflict, or an UPDATE conditioned on the old size and root), atomic
//! against every other witness process on the database.

use async_trait::async_trait;
use bridge_core::tlog::Hash;

use super::PgStore;
use crate::log::id;
use crate::witness::{from_row, origin_hash, WitnessStore, WitnessedLog};
use crate::{Cosignature, Evidence, LogCheckpoint, Result, WitnessSize, WitnessingWrite};

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
        let size = id(next.size);
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
                    .bind(id(old_size))
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

type CheckpointRow = (i64, String, chrono::DateTime<chrono::Utc>);

fn checkpoint((size, note, created_at): CheckpointRow) -> LogCheckpoint {
    LogCheckpoint {
        size: u64::try_from(size).unwrap_or(0),
        note,
        created_at,
    }
}

/// The log side of witnessing, called from `Store`'s implementation.
impl PgStore {
    pub(super) async fn checkpoint_at(&self, size: u64) -> Result<Option<LogCheckpoint>> {
        self.guarded(async {
            let row: Option<CheckpointRow> = sqlx::query_as(
                "SELECT size, note, created_at FROM log_checkpoints WHERE size = $1",
            )
            .bind(id(size))
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(checkpoint))
        })
        .await
    }

    pub(super) async fn sizes_of_witnesses(&self) -> Result<Vec<WitnessSize>> {
        self.guarded(async {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT witness, size FROM log_witness_sizes ORDER BY witness")
                    .fetch_all(&self.pool)
                    .await?;
            Ok(rows
                .into_iter()
                .map(|(witness, size)| WitnessSize {
                    witness,
                    size: u64::try_from(size).unwrap_or(0),
                })
                .collect())
        })
        .await
    }

    pub(super) async fn witnessing_write(&self, w: &WitnessingWrite) -> Result<()> {
        if w.is_empty() {
            return Ok(());
        }
        self.guarded(async {
            let mut tx = self.pool.begin().await?;
            for size in &w.sizes {
                sqlx::query(
                    "INSERT INTO log_witness_sizes (witness, size, updated_at) \
                     VALUES ($1, $2, now()) ON CONFLICT (witness) DO UPDATE \
                     SET size = excluded.size, updated_at = excluded.updated_at",
                )
                .bind(&size.witness)
                .bind(id(size.size))
                .execute(&mut *tx)
                .await?;
            }
            for (size, c) in &w.cosignatures {
                sqlx::query(
                    "INSERT INTO log_cosignatures (size, witness, line, created_at) \
                     VALUES ($1, $2, $3, now()) ON CONFLICT (size, witness) DO NOTHING",
                )
                .bind(id(*size))
                .bind(&c.witness)
                .bind(&c.line)
                .execute(&mut *tx)
                .await?;
            }
            if let Some((size, note)) = &w.witnessed {
                sqlx::query(
                    "INSERT INTO log_witnessed (id, size, note, created_at) \
                     VALUES (1, $1, $2, now()) ON CONFLICT (id) DO UPDATE \
                     SET size = excluded.size, note = excluded.note, \
                     created_at = excluded.created_at WHERE log_witnessed.size < excluded.size \
                     OR (log_witnessed.size = excluded.size \
                         AND length(log_witnessed.note) < length(excluded.note))",
                )
                .bind(id(*size))
                .bind(note)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn cosignatures_of(&self, size: u64) -> Result<Vec<Cosignature>> {
        self.guarded(async {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT witness, line FROM log_cosignatures WHERE size = $1 ORDER BY witness",
            )
            .bind(id(size))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(witness, line)| Cosignature { witness, line })
                .collect())
        })
        .await
    }

    pub(super) async fn witnessed_latest(&self) -> Result<Option<LogCheckpoint>> {
        self.guarded(async {
            let row: Option<CheckpointRow> =
                sqlx::query_as("SELECT size, note, created_at FROM log_witnessed WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(row.map(checkpoint))
        })
        .await
    }

    pub(super) async fn evidence(&self, e: &Evidence) -> Result<()> {
        self.guarded(async {
            sqlx::query(
                "INSERT INTO log_witness_evidence (witness, status, request, answer, created_at) \
                 VALUES ($1, $2, $3, $4, now())",
            )
            .bind(&e.witness)
            .bind(i32::from(e.status))
            .bind(&e.request)
            .bind(&e.answer)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn lease(
        &self,
        name: &str,
        holder: uuid::Uuid,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.guarded(async {
            let done = sqlx::query(
                "INSERT INTO leases (name, holder, expires_at) \
                 VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000)) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 expires_at = excluded.expires_at \
                 WHERE leases.holder = excluded.holder OR leases.expires_at < now()",
            )
            .bind(name)
            .bind(holder.to_string())
            .bind(ms)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}

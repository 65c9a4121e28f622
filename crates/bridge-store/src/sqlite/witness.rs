//! Witnessing on SQLite (SPEC §13), both sides: the witness's state of the logs it cosigns,
//! and the log's record of its witnesses, cosignatures and witnessed checkpoint. Reads on the
//! reader pool; writes through the single writer, each a compare-and-swap or an upsert in
//! one transaction, so also atomic against other processes on the file.

use async_trait::async_trait;
use bridge_core::tlog::Hash;
use sqlx::Row;

use super::rows::time_text;
use super::statements::Arg;
use super::SqliteStore;
use crate::log::id;
use crate::witness::{from_row, origin_hash, WitnessStore, WitnessedLog};
use crate::{Cosignature, Evidence, LogCheckpoint, Result, WitnessSize, WitnessingWrite};

const SELECT: &str = "SELECT origin, size, root, checkpoint FROM witness_logs";

fn now() -> Arg {
    Arg::Text(time_text(&chrono::Utc::now()))
}

impl SqliteStore {
    async fn witnessed_where(&self, column: &str, key: &str) -> Result<Option<WitnessedLog>> {
        let row: Option<(String, i64, Vec<u8>, String)> =
            sqlx::query_as(&format!("{SELECT} WHERE {column} = ?"))
                .bind(key)
                .fetch_optional(&self.readers)
                .await?;
        row.map(|(o, s, r, c)| from_row(o, s, r, c)).transpose()
    }
}

#[async_trait]
impl WitnessStore for SqliteStore {
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
        let size = Arg::Int(id(next.size));
        let root = Arg::Blob(next.root.0.to_vec());
        let note = Arg::Text(next.checkpoint.clone());
        let origin = Arg::Text(next.origin.clone());
        let statement = match expected {
            None => (
                "INSERT INTO witness_logs (origin, origin_hash, size, root, checkpoint, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING",
                vec![
                    origin,
                    Arg::Text(origin_hash(&next.origin)),
                    size,
                    root,
                    note,
                    now(),
                ],
            ),
            Some((old_size, old_root)) => (
                "UPDATE witness_logs SET size = ?, root = ?, checkpoint = ?, updated_at = ? \
                 WHERE origin = ? AND size = ? AND root = ?",
                vec![
                    size,
                    root,
                    note,
                    now(),
                    origin,
                    Arg::Int(id(old_size)),
                    Arg::Blob(old_root.0.to_vec()),
                ],
            ),
        };
        Ok(self.write(vec![statement]).await?[0] == 1)
    }
}

/// The log side, called from `Store`'s implementation.
impl SqliteStore {
    pub(super) async fn checkpoint_at(&self, size: u64) -> Result<Option<LogCheckpoint>> {
        let row = sqlx::query("SELECT size, note, created_at FROM log_checkpoints WHERE size = ?")
            .bind(id(size))
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| checkpoint(&r)).transpose()
    }

    pub(super) async fn sizes_of_witnesses(&self) -> Result<Vec<WitnessSize>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT witness, size FROM log_witness_sizes ORDER BY witness")
                .fetch_all(&self.readers)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(witness, size)| WitnessSize {
                witness,
                size: u64::try_from(size).unwrap_or(0),
            })
            .collect())
    }

    pub(super) async fn witnessing_write(&self, w: &WitnessingWrite) -> Result<()> {
        if w.is_empty() {
            return Ok(());
        }
        let mut sql = Vec::new();
        for size in &w.sizes {
            sql.push((
                "INSERT INTO log_witness_sizes (witness, size, updated_at) VALUES (?, ?, ?) \
                 ON CONFLICT (witness) DO UPDATE SET size = excluded.size, updated_at = excluded.updated_at",
                vec![
                    Arg::Text(size.witness.clone()),
                    Arg::Int(id(size.size)),
                    now(),
                ],
            ));
        }
        for (size, c) in &w.cosignatures {
            sql.push((
                "INSERT INTO log_cosignatures (size, witness, line, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (size, witness) DO NOTHING",
                vec![
                    Arg::Int(id(*size)),
                    Arg::Text(c.witness.clone()),
                    Arg::Text(c.line.clone()),
                    now(),
                ],
            ));
        }
        if let Some((size, note)) = &w.witnessed {
            sql.push((
                "INSERT INTO log_witnessed (id, size, note, created_at) VALUES (1, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note, \
                 created_at = excluded.created_at WHERE log_witnessed.size < excluded.size \
                 OR (log_witnessed.size = excluded.size \
                     AND length(log_witnessed.note) < length(excluded.note))",
                vec![Arg::Int(id(*size)), Arg::Text(note.clone()), now()],
            ));
        }
        self.write(sql).await.map(drop)
    }

    pub(super) async fn cosignatures_of(&self, size: u64) -> Result<Vec<Cosignature>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT witness, line FROM log_cosignatures WHERE size = ? ORDER BY witness",
        )
        .bind(id(size))
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(witness, line)| Cosignature { witness, line })
            .collect())
    }

    pub(super) async fn witnessed_latest(&self) -> Result<Option<LogCheckpoint>> {
        let row = sqlx::query("SELECT size, note, created_at FROM log_witnessed WHERE id = 1")
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| checkpoint(&r)).transpose()
    }

    pub(super) async fn evidence(&self, e: &Evidence) -> Result<()> {
        self.write(vec![(
            "INSERT INTO log_witness_evidence (witness, status, request, answer, created_at) \
             VALUES (?, ?, ?, ?, ?)",
            vec![
                Arg::Text(e.witness.clone()),
                Arg::Int(i64::from(e.status)),
                Arg::Text(e.request.clone()),
                Arg::Text(e.answer.clone()),
                now(),
            ],
        )])
        .await
        .map(drop)
    }

    pub(super) async fn lease(
        &self,
        name: &str,
        holder: uuid::Uuid,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let until = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let changed = self
            .write(vec![(
                "INSERT INTO leases (name, holder, expires_ms) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 expires_ms = excluded.expires_ms \
                 WHERE leases.holder = excluded.holder OR leases.expires_ms < ?",
                vec![
                    Arg::Text(name.to_owned()),
                    Arg::Text(holder.to_string()),
                    Arg::Int(until),
                    Arg::Int(now_ms),
                ],
            )])
            .await?;
        Ok(changed[0] == 1)
    }
}

fn checkpoint(r: &sqlx::sqlite::SqliteRow) -> Result<LogCheckpoint> {
    Ok(LogCheckpoint {
        size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
        note: r.try_get("note")?,
        created_at: super::rows::time(r, "created_at")?,
    })
}

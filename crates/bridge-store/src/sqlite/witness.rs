//! The witness's state on SQLite: reads on the reader pool, the compare-and-swap as exclusive
//! work of the single writer (one statement, so atomic also against other processes).

use async_trait::async_trait;
use bridge_core::tlog::Hash;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::oneshot;

use super::rows::time_text;
use super::writer::Exclusive;
use super::SqliteStore;
use crate::witness::{from_row, origin_hash, WitnessStore, WitnessedLog};
use crate::Result;

const SELECT: &str = "SELECT origin, size, root, checkpoint FROM witness_logs";

struct Advance {
    expected: Option<(u64, Hash)>,
    next: WitnessedLog,
    reply: oneshot::Sender<Result<bool>>,
}

#[async_trait]
impl Exclusive for Advance {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = advance(conn, self.expected, &self.next).await;
        let _ = self.reply.send(result);
    }
}

async fn advance(
    conn: &mut SqliteConnection,
    expected: Option<(u64, Hash)>,
    next: &WitnessedLog,
) -> Result<bool> {
    let now = time_text(&chrono::Utc::now());
    let size = crate::log::id(next.size);
    let done = match expected {
        None => sqlx::query(
            "INSERT INTO witness_logs (origin, origin_hash, size, root, checkpoint, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING",
        )
        .bind(&next.origin)
        .bind(origin_hash(&next.origin))
        .bind(size)
        .bind(next.root.0.as_slice())
        .bind(&next.checkpoint)
        .bind(now)
        .execute(&mut *conn)
        .await?,
        Some((old_size, old_root)) => {
            sqlx::query(
                "UPDATE witness_logs SET size = ?, root = ?, checkpoint = ?, updated_at = ? \
             WHERE origin = ? AND size = ? AND root = ?",
            )
            .bind(size)
            .bind(next.root.0.as_slice())
            .bind(&next.checkpoint)
            .bind(now)
            .bind(&next.origin)
            .bind(crate::log::id(old_size))
            .bind(old_root.0.as_slice())
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
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
        let (reply, rx) = oneshot::channel();
        let work = Advance {
            expected,
            next: next.clone(),
            reply,
        };
        self.exclusive(Box::new(work), rx).await
    }
}

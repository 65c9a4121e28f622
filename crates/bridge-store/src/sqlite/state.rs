//! `bridge_states` and `reducer_cursors` on SQLite: reads on the reader pool, the
//! optimistic-lock saves as exclusive work of the single writer.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Connection, Row};
use tokio::sync::oneshot;

use super::rows::time_text;
use super::writer::Exclusive;
use crate::{
    reduction, CursorMove, NamespaceState, Reduction, ReductionOutcome, Result, StoreError,
};

fn time(row: &SqliteRow, column: &'static str) -> Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            column,
            message: e.to_string(),
        })
}

pub(super) fn state_from_row(row: &SqliteRow) -> Result<NamespaceState> {
    let file_types: String = row.try_get("file_types")?;
    Ok(NamespaceState {
        namespace: row.try_get("namespace")?,
        total_stamps: row.try_get("total_stamps")?,
        total_size_bytes: row.try_get("total_size_bytes")?,
        file_types: serde_json::from_str(&file_types).map_err(|e| StoreError::Corrupt {
            column: "file_types",
            message: e.to_string(),
        })?,
        workflow_count: row.try_get("workflow_count")?,
        first_stamp_at: time(row, "first_stamp_at")?,
        last_stamp_at: time(row, "last_stamp_at")?,
        last_event_seq: row.try_get("last_event_seq")?,
        version: row.try_get("version")?,
        updated_at: time(row, "updated_at")?.ok_or(StoreError::Corrupt {
            column: "updated_at",
            message: "missing".into(),
        })?,
    })
}

/// The optimistic-lock save, run by the writer.
pub(super) struct Save {
    pub(super) state: NamespaceState,
    pub(super) reply: oneshot::Sender<Result<bool>>,
}

#[async_trait::async_trait]
impl Exclusive for Save {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = save(conn, &self.state).await;
        let _ = self.reply.send(result);
    }
}

async fn save(conn: &mut SqliteConnection, s: &NamespaceState) -> Result<bool> {
    let file_types = serde_json::to_string(&s.file_types).map_err(|e| StoreError::Encode {
        what: "file_types",
        message: e.to_string(),
    })?;
    // Version 0: the row must not exist yet (a concurrent first save loses here).
    let sql = if s.version == 0 {
        include_str!("../../sql/sqlite/insert_state.sql")
    } else {
        include_str!("../../sql/sqlite/update_state.sql")
    };
    let done = sqlx::query(sql)
        .bind(&s.namespace)
        .bind(s.total_stamps)
        .bind(s.total_size_bytes)
        .bind(file_types)
        .bind(s.workflow_count)
        .bind(s.first_stamp_at.as_ref().map(time_text))
        .bind(s.last_stamp_at.as_ref().map(time_text))
        .bind(s.last_event_seq)
        .bind(s.version)
        .bind(time_text(&s.updated_at))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A reducer window, saved atomically by the writer.
pub(super) struct Apply {
    pub(super) reduction: Reduction,
    pub(super) reply: oneshot::Sender<Result<ReductionOutcome>>,
}

#[async_trait::async_trait]
impl Exclusive for Apply {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = apply(conn, &self.reduction).await;
        let _ = self.reply.send(result);
    }
}

async fn apply(conn: &mut SqliteConnection, r: &Reduction) -> Result<ReductionOutcome> {
    let mut tx = conn.begin().await?;
    let outcome = reduction::write(&mut *tx, r, move_cursor, save).await?;
    if outcome == ReductionOutcome::Applied {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(outcome)
}

/// Compare-and-set of one cursor: false if it is not where the window found it.
async fn move_cursor(conn: &mut SqliteConnection, c: &CursorMove) -> Result<bool> {
    let now = time_text(&Utc::now());
    let done = match c.from {
        None => sqlx::query(
            "INSERT INTO reducer_cursors (name, txid, seq, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO NOTHING",
        )
        .bind(&c.name)
        .bind(c.to.txid)
        .bind(c.to.seq)
        .bind(now)
        .execute(&mut *conn)
        .await?,
        Some(from) => {
            sqlx::query(
                "UPDATE reducer_cursors SET txid = ?2, seq = ?3, updated_at = ?4 \
                 WHERE name = ?1 AND txid = ?5 AND seq = ?6",
            )
            .bind(&c.name)
            .bind(c.to.txid)
            .bind(c.to.seq)
            .bind(now)
            .bind(from.txid)
            .bind(from.seq)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

//! `bridge_states` and `reducer_cursors` on PostgreSQL: optimistic-lock saves, and a reducer
//! window's saves in one transaction.

use chrono::Utc;
use sqlx::{PgConnection, PgPool};

use crate::{
    reduction, CursorMove, NamespaceState, Reduction, ReductionOutcome, Result, StoreError,
};

/// The optimistic-lock save: false if the stored version is not `s.version`.
pub(super) async fn save(conn: &mut PgConnection, s: &NamespaceState) -> Result<bool> {
    let file_types = serde_json::to_string(&s.file_types).map_err(|e| StoreError::Encode {
        what: "file_types",
        message: e.to_string(),
    })?;
    // Version 0: the row must not exist yet (a concurrent first save loses here).
    let sql = if s.version == 0 {
        include_str!("../../sql/postgres/insert_state.sql")
    } else {
        include_str!("../../sql/postgres/update_state.sql")
    };
    let done = sqlx::query(sql)
        .bind(&s.namespace)
        .bind(s.total_stamps)
        .bind(s.total_size_bytes)
        .bind(file_types)
        .bind(s.workflow_count)
        .bind(s.first_stamp_at)
        .bind(s.last_stamp_at)
        .bind(s.last_event_seq)
        .bind(s.version)
        .bind(s.updated_at)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Compare-and-set of one cursor: false if it is not where the window found it.
async fn move_cursor(conn: &mut PgConnection, c: &CursorMove) -> Result<bool> {
    let done = match c.from {
        None => sqlx::query(
            "INSERT INTO reducer_cursors (name, txid, seq, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
        )
        .bind(&c.name)
        .bind(c.to.txid)
        .bind(c.to.seq)
        .bind(Utc::now())
        .execute(&mut *conn)
        .await?,
        Some(from) => {
            sqlx::query(
                "UPDATE reducer_cursors SET txid = $2, seq = $3, updated_at = $4 \
                 WHERE name = $1 AND txid = $5 AND seq = $6",
            )
            .bind(&c.name)
            .bind(c.to.txid)
            .bind(c.to.seq)
            .bind(Utc::now())
            .bind(from.txid)
            .bind(from.seq)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Saves a window: every cursor move and state, or (on any conflict) nothing.
pub(super) async fn apply(pool: &PgPool, r: &Reduction) -> Result<ReductionOutcome> {
    let mut tx = pool.begin().await?;
    let outcome = reduction::write(&mut *tx, r, move_cursor, save).await?;
    if outcome == ReductionOutcome::Applied {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(outcome)
}

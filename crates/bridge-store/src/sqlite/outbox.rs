//! The relay's side of the outbox on SQLite: claims and settlements are writes, so they run as
//! exclusive work of the single writer.

use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Executor, Row};
use tokio::sync::oneshot;

use super::rows::time_text;
use super::writer::Exclusive;
use crate::{Delivery, OutboxRow, Result, StoreError};

/// Claim pending rows.
pub(super) struct Claim {
    pub(super) limit: u32,
    pub(super) lease: Duration,
    pub(super) reply: oneshot::Sender<Result<Vec<OutboxRow>>>,
}

#[async_trait::async_trait]
impl Exclusive for Claim {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = claim(conn, self.limit, self.lease).await;
        let _ = self.reply.send(result);
    }
}

async fn claim(conn: &mut SqliteConnection, limit: u32, lease: Duration) -> Result<Vec<OutboxRow>> {
    let now = Utc::now();
    let until = now
        + chrono::Duration::from_std(lease)
            .map_err(|e| StoreError::Config(format!("lease too long: {e}")))?;
    let rows = sqlx::query(include_str!("../../sql/sqlite/claim_outbox.sql"))
        .bind(time_text(&until))
        .bind(time_text(&now))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            let id: String = r.try_get("event_id")?;
            Ok(OutboxRow {
                seq: r.try_get("seq")?,
                event_id: uuid::Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt {
                    column: "event_id",
                    message: e.to_string(),
                })?,
                event_type: r.try_get("event_type")?,
                topic: r.try_get("topic")?,
                message_key: r.try_get("message_key")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // RETURNING does not promise an order.
    out.sort_by_key(|r| r.seq);
    Ok(out)
}

/// Record delivery outcomes.
pub(super) struct Settle {
    pub(super) outcomes: Vec<(i64, Delivery)>,
    pub(super) reply: oneshot::Sender<Result<()>>,
}

#[async_trait::async_trait]
impl Exclusive for Settle {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = settle(conn, &self.outcomes).await;
        let _ = self.reply.send(result);
    }
}

async fn settle(conn: &mut SqliteConnection, outcomes: &[(i64, Delivery)]) -> Result<()> {
    let now = time_text(&Utc::now());
    let sent: Vec<i64> = outcomes
        .iter()
        .filter(|(_, d)| *d == Delivery::Sent)
        .map(|(seq, _)| *seq)
        .collect();
    conn.execute("BEGIN IMMEDIATE").await?;
    let result = async {
        if !sent.is_empty() {
            // One statement for the common case: the seqs as a JSON array.
            let seqs = serde_json::to_string(&sent).map_err(|e| StoreError::Encode {
                what: "seqs",
                message: e.to_string(),
            })?;
            sqlx::query(
                "UPDATE event_logs SET status = 'sent', sent_at = ?1, locked_until = NULL, \
                 last_error = NULL WHERE seq IN (SELECT value FROM json_each(?2))",
            )
            .bind(&now)
            .bind(seqs)
            .execute(&mut *conn)
            .await?;
        }
        for (seq, d) in outcomes {
            let (status, error) = match d {
                Delivery::Sent => continue,
                Delivery::Retry(e) => ("pending", e),
                Delivery::Failed(e) => ("failed", e),
            };
            sqlx::query(
                "UPDATE event_logs SET status = ?1, last_error = ?2, locked_until = NULL \
                 WHERE seq = ?3",
            )
            .bind(status)
            .bind(error)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        Ok::<_, StoreError>(())
    }
    .await;
    match result {
        Ok(()) => {
            conn.execute("COMMIT").await?;
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

//! `node_registrations` on SQLite: reads on the reader pool, the optimistic-lock write (with
//! its events) as exclusive work of the single writer.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Connection, Row};
use tokio::sync::oneshot;

use super::rows::time_text;
use super::sql::INSERT_EVENT;
use super::writer::Exclusive;
use crate::{EventRow, NodeRecord, Result, StoreError};

fn corrupt(column: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        column,
        message: e.to_string(),
    }
}

fn time(row: &SqliteRow, column: &'static str) -> Result<DateTime<Utc>> {
    let text: String = row.try_get(column)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(column, e))
}

fn json<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &'static str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(column, e))
}

pub(super) fn node_from_row(row: &SqliteRow) -> Result<NodeRecord> {
    Ok(NodeRecord {
        node_id: row.try_get("node_id")?,
        node_type: row.try_get("node_type")?,
        version: row.try_get("version")?,
        capabilities: json(row, "capabilities")?,
        endpoints: json(row, "endpoints")?,
        metadata: json(row, "metadata")?,
        health_status: row.try_get("health_status")?,
        last_heartbeat: time(row, "last_heartbeat")?,
        registered_at: time(row, "registered_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// One node write with its events, run by the writer.
pub(super) struct Save {
    pub(super) node_id: String,
    pub(super) expected: Option<DateTime<Utc>>,
    pub(super) next: Option<NodeRecord>,
    pub(super) events: Vec<EventRow>,
    pub(super) reply: oneshot::Sender<Result<bool>>,
}

#[async_trait::async_trait]
impl Exclusive for Save {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = save(conn, &self).await;
        let _ = self.reply.send(result);
    }
}

async fn save(conn: &mut SqliteConnection, s: &Save) -> Result<bool> {
    let mut tx = conn.begin().await?;
    let done = match (&s.expected, &s.next) {
        (None, None) => 0,
        (None, Some(n)) => bind(
            sqlx::query(include_str!("../../sql/sqlite/insert_node.sql")),
            n,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        (Some(at), Some(n)) => bind(
            sqlx::query(include_str!("../../sql/sqlite/update_node.sql")),
            n,
        )
        .bind(time_text(at))
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        (Some(at), None) => {
            sqlx::query("DELETE FROM node_registrations WHERE node_id = ? AND updated_at = ?")
                .bind(&s.node_id)
                .bind(time_text(at))
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }
    };
    if done != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    for e in &s.events {
        sqlx::query(INSERT_EVENT)
            .bind(e.event_id.to_string())
            .bind(e.event_type.as_str())
            .bind(&e.topic)
            .bind(&e.message_key)
            .bind(e.correlation_id.to_string())
            .bind(e.workflow_id.map(|w| w.to_string()))
            .bind(&e.namespace)
            .bind(&e.payload)
            .bind(time_text(&e.created_at))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind<'q>(q: Query<'q>, n: &'q NodeRecord) -> Query<'q> {
    q.bind(&n.node_id)
        .bind(&n.node_type)
        .bind(&n.version)
        .bind(serde_json::to_string(&n.capabilities).expect("strings encode"))
        .bind(n.endpoints.to_string())
        .bind(n.metadata.to_string())
        .bind(&n.health_status)
        .bind(time_text(&n.last_heartbeat))
        .bind(time_text(&n.registered_at))
        .bind(time_text(&n.updated_at))
}

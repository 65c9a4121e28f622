//! `node_registrations` on PostgreSQL: the optimistic-lock write with its events in one
//! transaction.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::writer::insert_events;
use crate::{EventRow, NodeRecord, Result, StoreError};

fn json<T: serde::de::DeserializeOwned>(row: &PgRow, column: &'static str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        column,
        message: e.to_string(),
    })
}

pub(super) fn node_from_row(row: &PgRow) -> Result<NodeRecord> {
    Ok(NodeRecord {
        node_id: row.try_get("node_id")?,
        node_type: row.try_get("node_type")?,
        version: row.try_get("version")?,
        capabilities: json(row, "capabilities")?,
        endpoints: json(row, "endpoints")?,
        metadata: json(row, "metadata")?,
        health_status: row.try_get("health_status")?,
        last_heartbeat: row.try_get("last_heartbeat")?,
        registered_at: row.try_get("registered_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind<'q>(q: Query<'q>, n: &'q NodeRecord) -> Query<'q> {
    q.bind(&n.node_id)
        .bind(&n.node_type)
        .bind(&n.version)
        .bind(serde_json::to_string(&n.capabilities).expect("strings encode"))
        .bind(n.endpoints.to_string())
        .bind(n.metadata.to_string())
        .bind(&n.health_status)
        .bind(n.last_heartbeat)
        .bind(n.registered_at)
        .bind(n.updated_at)
}

/// See [`crate::Store::save_node`].
pub(super) async fn save(
    pool: &PgPool,
    node_id: &str,
    expected: Option<DateTime<Utc>>,
    next: Option<&NodeRecord>,
    events: &[EventRow],
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let done = match (expected, next) {
        (None, None) => 0,
        (None, Some(n)) => bind(
            sqlx::query(include_str!("../../sql/postgres/insert_node.sql")),
            n,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        (Some(at), Some(n)) => bind(
            sqlx::query(include_str!("../../sql/postgres/update_node.sql")),
            n,
        )
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        (Some(at), None) => {
            sqlx::query("DELETE FROM node_registrations WHERE node_id = $1 AND updated_at = $2")
                .bind(node_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }
    };
    if done != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let rows: Vec<&EventRow> = events.iter().collect();
    insert_events(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(true)
}

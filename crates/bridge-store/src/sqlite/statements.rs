//! Small writes that are not stamps: a few statements run in one transaction as exclusive
//! work of the single writer, each answering how many rows it changed. One job type for them
//! all, rather than a struct per write.

use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::oneshot;

use super::writer::Exclusive;
use super::SqliteStore;
use crate::Result;

/// A bound value.
pub(super) enum Arg {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

struct Statements {
    sql: Vec<(&'static str, Vec<Arg>)>,
    reply: oneshot::Sender<Result<Vec<u64>>>,
}

#[async_trait::async_trait]
impl Exclusive for Statements {
    async fn run(self: Box<Self>, conn: &mut SqliteConnection) {
        let result = run(conn, self.sql).await;
        let _ = self.reply.send(result);
    }
}

async fn run(conn: &mut SqliteConnection, sql: Vec<(&'static str, Vec<Arg>)>) -> Result<Vec<u64>> {
    let mut tx = conn.begin().await?;
    let mut changed = Vec::with_capacity(sql.len());
    for (text, args) in sql {
        let mut q = sqlx::query(text);
        for a in args {
            q = match a {
                Arg::Int(i) => q.bind(i),
                Arg::Text(t) => q.bind(t),
                Arg::Blob(b) => q.bind(b),
            };
        }
        changed.push(q.execute(&mut *tx).await?.rows_affected());
    }
    tx.commit().await?;
    Ok(changed)
}

impl SqliteStore {
    /// Runs `sql` (statements with their arguments) in one transaction on the writer; the
    /// rows each changed.
    pub(super) async fn write(&self, sql: Vec<(&'static str, Vec<Arg>)>) -> Result<Vec<u64>> {
        let (reply, rx) = oneshot::channel();
        self.exclusive(Box::new(Statements { sql, reply }), rx)
            .await
    }
}

//! Embedded mode's source: `STAMP_CREATED` rows of the local `event_logs`, read by cursor.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bridge_store::{CursorMove, Position, Store};

use super::{Source, SourceError, Sourced, StampEvent};

/// The cursor of the local event log.
pub const LOG_CURSOR: &str = "event_logs";

/// Lag counts stop here: enough to say "far behind" without scanning a huge backlog.
const LAG_CAP: u32 = 10_000_000;

/// Embedded mode: `STAMP_CREATED` rows of `event_logs`, after the saved cursor.
pub struct LogSource {
    store: Arc<dyn Store>,
    saved: Option<Position>,
    read: Position,
    /// Events handed out since the last save (they sit in the open window).
    unsaved: u64,
    /// Whether the last read found the log drained (then the lag is just `unsaved`).
    drained: bool,
}

impl LogSource {
    /// Starts at the saved cursor.
    pub async fn new(store: Arc<dyn Store>) -> Result<Self, SourceError> {
        let mut s = Self {
            store,
            saved: None,
            read: Position::default(),
            unsaved: 0,
            drained: false,
        };
        s.rewind().await?;
        Ok(s)
    }
}

#[async_trait]
impl Source for LogSource {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Sourced>, SourceError> {
        let limit = u32::try_from(max).unwrap_or(u32::MAX);
        let rows = self.store.read_stamp_events(self.read, limit).await?;
        self.drained = rows.len() < max;
        if rows.is_empty() {
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        self.read = rows.last().expect("not empty").position;
        self.unsaved += rows.len() as u64;
        Ok(rows
            .into_iter()
            .map(|r| Sourced {
                cursor: LOG_CURSOR.into(),
                saved: self.saved,
                position: r.position,
                event: StampEvent::from_envelope(r.position.seq, r.payload.as_bytes()),
            })
            .collect())
    }

    async fn saved(&mut self, moves: &[CursorMove]) {
        if let Some(m) = moves.iter().find(|m| m.name == LOG_CURSOR) {
            self.saved = Some(m.to);
            // A window holds everything read before its save.
            self.unsaved = 0;
        }
    }

    async fn rewind(&mut self) -> Result<(), SourceError> {
        self.saved = self.store.get_cursor(LOG_CURSOR).await?;
        self.read = self.saved.unwrap_or_default();
        self.unsaved = 0;
        self.drained = false;
        Ok(())
    }

    async fn lag(&mut self) -> Option<u64> {
        if self.drained {
            // Keeping up: no need to scan the log (that scan costs the stamp path).
            return Some(self.unsaved);
        }
        self.store
            .count_stamp_events(self.saved.unwrap_or_default(), LAG_CAP)
            .await
            .ok()
    }

    fn owned(&self) -> Vec<String> {
        vec![LOG_CURSOR.into()]
    }
}

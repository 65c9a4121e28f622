//! The read cache of `GET /namespaces/{ns}/stats` (contract `cache`: TTL and size).
//!
//! Hand-rolled rather than `moka`: a map of at most `max_entries` (1,000 by default) behind a
//! mutex is all this needs, and it keeps a large dependency out of the build.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridge_core::contract::CacheSpec;
use bridge_store::{NamespaceState, Store};
use tokio::time::Instant;

/// Namespace stats read through a TTL cache; the reducer invalidates what it saves.
pub struct StatsCache {
    store: Arc<dyn Store>,
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, (Instant, Option<NamespaceState>)>>,
}

impl StatsCache {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Store>, spec: &CacheSpec) -> Self {
        Self {
            store,
            ttl: Duration::from_millis(spec.ttl_ms),
            max_entries: spec.max_entries as usize,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A namespace's aggregates (`None`: nothing counted yet), at most `ttl` old.
    pub async fn get(&self, namespace: &str) -> bridge_store::Result<Option<NamespaceState>> {
        if let Some((at, v)) = self.lock().get(namespace) {
            if at.elapsed() < self.ttl {
                return Ok(v.clone());
            }
        }
        let fresh = self.store.get_namespace_state(namespace).await?;
        let mut entries = self.lock();
        if entries.len() >= self.max_entries && !entries.contains_key(namespace) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                // Still full of live entries: drop the oldest (O(n), n ≤ max_entries).
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(namespace.to_owned(), (Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Forgets `namespaces` (their stats just changed).
    pub fn invalidate<'a>(&self, namespaces: impl IntoIterator<Item = &'a str>) {
        let mut entries = self.lock();
        for ns in namespaces {
            entries.remove(ns);
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<NamespaceState>)>> {
        self.entries.lock().expect("not poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_store::SqliteStore;

    async fn saved(store: &SqliteStore, ns: &str, stamps: i64) {
        let mut s = store
            .get_namespace_state(ns)
            .await
            .unwrap()
            .unwrap_or_else(|| NamespaceState::empty(ns));
        s.total_stamps = stamps;
        assert!(store.save_namespace_state(&s).await.unwrap());
    }

    // Real time: paused time would also fire the SQLite pool's timeouts while it waits.
    #[tokio::test]
    async fn serves_within_ttl_refreshes_after_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let cache = StatsCache::new(
            Arc::new(store.clone()),
            &CacheSpec {
                ttl_ms: 2_000,
                max_entries: 2,
            },
        );
        assert_eq!(cache.get("a").await.unwrap(), None);
        saved(&store, "a", 1).await;
        // Within the TTL the cached answer (nothing yet) stands…
        assert_eq!(cache.get("a").await.unwrap(), None);
        tokio::time::sleep(Duration::from_millis(2_050)).await;
        // …after it, the store is read again.
        assert_eq!(cache.get("a").await.unwrap().unwrap().total_stamps, 1);
        saved(&store, "a", 5).await;
        cache.invalidate(["a"]);
        assert_eq!(cache.get("a").await.unwrap().unwrap().total_stamps, 5);
        cache.get("b").await.unwrap();
        cache.get("c").await.unwrap();
        assert_eq!(cache.len(), 2, "bounded by max_entries");
    }
}

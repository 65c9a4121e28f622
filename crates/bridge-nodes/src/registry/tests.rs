//! Registry logic over an in-memory node store, with paused time: heartbeat expiry and
//! eviction at exact instants. (The stores themselves are tested by the conformance suite.)

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

use bridge_core::contract::{builtin::Builtin, load};

use super::*;

/// Nodes in a map, the same optimistic-lock rule as the real stores, and the events written.
#[derive(Default)]
struct Memory {
    nodes: Mutex<BTreeMap<String, NodeRecord>>,
    events: Mutex<Vec<EventRow>>,
}

#[async_trait]
impl NodeStore for Memory {
    async fn get_node(&self, id: &str) -> bridge_store::Result<Option<NodeRecord>> {
        Ok(self.nodes.lock().unwrap().get(id).cloned())
    }
    async fn list_nodes(
        &self,
        t: Option<&str>,
        h: Option<&str>,
    ) -> bridge_store::Result<Vec<NodeRecord>> {
        Ok(self
            .nodes
            .lock()
            .unwrap()
            .values()
            .filter(|n| {
                t.is_none_or(|t| n.node_type == t) && h.is_none_or(|h| n.health_status == h)
            })
            .cloned()
            .collect())
    }
    async fn save_node(
        &self,
        id: &str,
        expected: Option<DateTime<Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> bridge_store::Result<bool> {
        let mut nodes = self.nodes.lock().unwrap();
        if nodes.get(id).map(|n| n.updated_at) != expected {
            return Ok(false);
        }
        match next {
            Some(n) => nodes.insert(id.into(), n.clone()),
            None => nodes.remove(id),
        };
        self.events.lock().unwrap().extend(events);
        Ok(true)
    }
}

impl Memory {
    fn kinds(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.event_type.to_string())
            .collect()
    }
}

fn registry() -> (Arc<Memory>, Registry) {
    // Shipped contract: interval 10 s, 3 missed, eviction 300 s.
    let mem = Arc::new(Memory::default());
    let r = Registry::new(mem.clone(), load(&Builtin).unwrap().registry, "test");
    (mem, r)
}

fn reg(id: &str) -> Registration {
    serde_json::from_value(json!({"node_id": id, "node_type": "effect", "version": "1.0.0"}))
        .unwrap()
}

async fn status(r: &Registry, id: &str) -> Option<String> {
    r.list(None, None)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.node_id == id)
        .map(|n| n.health_status)
}

#[tokio::test(start_paused = true)]
async fn a_silent_node_turns_unhealthy_after_three_intervals_then_is_evicted() {
    let (mem, r) = registry();
    let cid = Uuid::now_v7();
    assert!(r.register(reg("n1"), cid).await.unwrap().1);
    // 30 s of silence is exactly three intervals: not yet missed.
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(r.sweep().await.unwrap(), Sweep::default());
    tokio::time::advance(Duration::from_millis(1)).await;
    let s = r.sweep().await.unwrap();
    assert_eq!(s.marked_unhealthy, vec!["n1"]);
    assert_eq!(status(&r, "n1").await.as_deref(), Some(UNHEALTHY));
    assert_eq!(r.list(None, Some(false)).await.unwrap().len(), 1);
    assert!(r.list(None, Some(true)).await.unwrap().is_empty());
    // Eviction 300 s after it became unhealthy, not before.
    tokio::time::advance(Duration::from_secs(300)).await;
    assert_eq!(r.sweep().await.unwrap(), Sweep::default());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(r.sweep().await.unwrap().evicted, vec!["n1"]);
    assert_eq!(status(&r, "n1").await, None);
    assert_eq!(
        mem.kinds(),
        [
            "NODE_REGISTERED",
            "NODE_HEALTH_CHANGED",
            "NODE_DEREGISTERED"
        ]
    );
    let last = mem.events.lock().unwrap().last().unwrap().payload.clone();
    assert!(last.contains(r#""reason":"evicted""#), "{last}");
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_node_healthy_and_revive_an_unhealthy_one() {
    let (mem, r) = registry();
    let cid = Uuid::now_v7();
    r.register(reg("n1"), cid).await.unwrap();
    for _ in 0..10 {
        tokio::time::advance(Duration::from_secs(25)).await;
        r.heartbeat("n1", cid).await.unwrap();
        assert_eq!(r.sweep().await.unwrap(), Sweep::default());
    }
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(r.sweep().await.unwrap().marked_unhealthy, vec!["n1"]);
    let back = r.heartbeat("n1", cid).await.unwrap();
    assert_eq!(back.health_status, HEALTHY);
    assert_eq!(
        mem.kinds(),
        [
            "NODE_REGISTERED",
            "NODE_HEALTH_CHANGED",
            "NODE_HEALTH_CHANGED"
        ]
    );
    // Heartbeats of a healthy node write no event.
    r.heartbeat("n1", cid).await.unwrap();
    assert_eq!(mem.kinds().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn re_registration_updates_in_place_and_keeps_the_first_registration_time() {
    let (mem, r) = registry();
    let cid = Uuid::now_v7();
    let (first, created) = r.register(reg("n1"), cid).await.unwrap();
    assert!(created);
    tokio::time::advance(Duration::from_secs(5)).await;
    let mut again = reg("n1");
    again.version = "2.0.0".into();
    let (second, created) = r.register(again, cid).await.unwrap();
    assert!(!created);
    assert_eq!(second.version, "2.0.0");
    assert_eq!(second.registered_at, first.registered_at);
    assert!(second.last_heartbeat > first.last_heartbeat);
    assert_eq!(r.list(None, None).await.unwrap().len(), 1);
    assert_eq!(mem.kinds(), ["NODE_REGISTERED", "NODE_REGISTERED"]);
    assert!(mem.events.lock().unwrap()[1]
        .payload
        .contains(r#""re_registration":true"#));
    // Events go to the contract's topic for this env, keyed by node id.
    let e = &mem.events.lock().unwrap()[0];
    assert_eq!(
        e.topic.as_deref(),
        Some("test.omninode_bridge.onex.evt.node-registered.v1")
    );
    assert_eq!(e.message_key, "n1");
}

#[tokio::test(start_paused = true)]
async fn unknown_nodes_and_bad_ids_are_refused() {
    let (_mem, r) = registry();
    let cid = Uuid::now_v7();
    assert!(matches!(
        r.heartbeat("ghost", cid).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        r.deregister("ghost", "deregistered", cid).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        r.heartbeat("a/b", cid).await,
        Err(RegistryError::Invalid(_))
    ));
    let mut bad = reg("n1");
    bad.node_type = "gateway".into();
    assert!(matches!(
        r.register(bad, cid).await,
        Err(RegistryError::Invalid(Invalid {
            field: "node_type",
            ..
        }))
    ));
    r.register(reg("n1"), cid).await.unwrap();
    r.deregister("n1", "deregistered", cid).await.unwrap();
    assert!(r.list(None, None).await.unwrap().is_empty());
}

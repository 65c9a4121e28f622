//! The node registry (SPEC §6): registration, heartbeats, health by missed heartbeats, and
//! eviction. Every change is written by optimistic lock together with its event
//! (`NODE_REGISTERED`, `NODE_HEALTH_CHANGED`, `NODE_DEREGISTERED`) through the outbox, so
//! several bridge instances can share one registry database.
//!
//! Time comes from tokio's clock (anchored to the wall clock at start), so heartbeat expiry
//! and eviction are tested with paused time.

mod own;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::contract::RegistryContract;
use bridge_core::envelope::Envelope;
use bridge_core::event::{NodeDeregistered, NodeHealthChanged, NodeRegistered, Payload};
use bridge_core::EventTopics;
use bridge_store::{EventRow, NodeRecord, Store, StoreError};
use chrono::{DateTime, SubsecRound, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use own::{keep_registered, register_all};
pub use validate::{check_node_id, Invalid, Registration};

/// `health_status` of a node heard from in time.
pub const HEALTHY: &str = "HEALTHY";
/// `health_status` of a node that missed its heartbeats.
pub const UNHEALTHY: &str = "UNHEALTHY";

/// Optimistic-lock retries before a write gives up (only concurrent writers of one node).
const RETRIES: usize = 8;

/// What a registry operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A request field breaks a rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No such node.
    #[error("no node {0}")]
    NotFound(String),
    /// Other writers kept changing the node.
    #[error("node {0} is being changed concurrently; retry")]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result alias of the registry.
pub type Result<T> = std::result::Result<T, RegistryError>;

/// The registry's view of storage: nodes by optimistic lock (a narrow trait so the logic
/// above it is unit-tested with paused time over an in-memory map).
#[async_trait]
pub trait NodeStore: Send + Sync + 'static {
    /// See [`Store::get_node`].
    async fn get_node(&self, node_id: &str) -> bridge_store::Result<Option<NodeRecord>>;
    /// See [`Store::list_nodes`].
    async fn list_nodes(
        &self,
        node_type: Option<&str>,
        health_status: Option<&str>,
    ) -> bridge_store::Result<Vec<NodeRecord>>;
    /// See [`Store::save_node`].
    async fn save_node(
        &self,
        node_id: &str,
        expected: Option<DateTime<Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> bridge_store::Result<bool>;
}

/// The service's store as a [`NodeStore`].
pub struct StoreNodes(pub Arc<dyn Store>);

#[async_trait]
impl NodeStore for StoreNodes {
    async fn get_node(&self, node_id: &str) -> bridge_store::Result<Option<NodeRecord>> {
        self.0.get_node(node_id).await
    }
    async fn list_nodes(
        &self,
        node_type: Option<&str>,
        health_status: Option<&str>,
    ) -> bridge_store::Result<Vec<NodeRecord>> {
        self.0.list_nodes(node_type, health_status).await
    }
    async fn save_node(
        &self,
        node_id: &str,
        expected: Option<DateTime<Utc>>,
        next: Option<&NodeRecord>,
        events: Vec<EventRow>,
    ) -> bridge_store::Result<bool> {
        self.0.save_node(node_id, expected, next, events).await
    }
}

/// Wall-clock time that advances with tokio's clock.
#[derive(Clone, Copy)]
struct Clock {
    wall: DateTime<Utc>,
    at: tokio::time::Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            wall: Utc::now(),
            at: tokio::time::Instant::now(),
        }
    }

    /// Microsecond precision: what both databases store, so tokens compare equal.
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.at.elapsed()).unwrap_or_default();
        (self.wall + elapsed).trunc_subsecs(6)
    }
}

/// What one sweep changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Nodes marked UNHEALTHY.
    pub marked_unhealthy: Vec<String>,
    /// Nodes removed.
    pub evicted: Vec<String>,
}

/// The registry node.
pub struct Registry {
    store: Arc<dyn NodeStore>,
    contract: RegistryContract,
    topics: EventTopics,
    clock: Clock,
}

impl Registry {
    /// A registry over `store`; event topics from the contract with `{env}` replaced.
    pub fn new(store: Arc<dyn NodeStore>, contract: RegistryContract, env: &str) -> Self {
        let topics = contract.events.for_env(env);
        Self {
            store,
            contract,
            topics,
            clock: Clock::new(),
        }
    }

    /// Node types that may register.
    pub fn node_types(&self) -> &[String] {
        &self.contract.node_types
    }

    /// Expected time between heartbeats.
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.contract.health.heartbeat_interval_ms)
    }

    /// Silence after which a node is UNHEALTHY (missed intervals × interval).
    fn unhealthy_after(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(
            (self.contract.health.heartbeat_interval_ms
                * u64::from(self.contract.health.missed_heartbeats)) as i64,
        )
    }

    fn event<P: Payload>(&self, node_id: &str, correlation_id: Uuid, payload: P) -> EventRow {
        let now = self.clock.now();
        let env = Envelope::of(payload, correlation_id, "registry", now);
        EventRow {
            event_id: env.event_id,
            event_type: P::TYPE,
            topic: self.topics.get(P::TYPE).map(str::to_owned),
            message_key: node_id.into(),
            correlation_id,
            workflow_id: None,
            namespace: None,
            payload: env.to_json(),
            created_at: now,
        }
    }

    /// Registers `r`, or updates it in place if the id exists (re-registration); the node is
    /// HEALTHY as of now. `true` if it was new.
    pub async fn register(
        &self,
        r: Registration,
        correlation_id: Uuid,
    ) -> Result<(NodeRecord, bool)> {
        r.check(&self.contract.node_types)?;
        for _ in 0..RETRIES {
            let current = self.store.get_node(&r.node_id).await?;
            let now = self.clock.now();
            let next = NodeRecord {
                node_id: r.node_id.clone(),
                node_type: r.node_type.clone(),
                version: r.version.clone(),
                capabilities: r.capabilities.clone(),
                endpoints: r.endpoints.clone(),
                metadata: r.metadata.clone(),
                health_status: HEALTHY.into(),
                last_heartbeat: now,
                registered_at: current.as_ref().map_or(now, |c| c.registered_at),
                updated_at: fresh_token(now, current.as_ref()),
            };
            let payload = NodeRegistered {
                node_id: r.node_id.clone(),
                node_type: r.node_type.clone(),
                version: r.version.clone(),
                capabilities: r.capabilities.clone(),
                endpoints: r.endpoints.clone(),
                re_registration: current.is_some(),
            };
            let event = self.event(&r.node_id, correlation_id, payload);
            let expected = current.as_ref().map(|c| c.updated_at);
            if self
                .store
                .save_node(&r.node_id, expected, Some(&next), vec![event])
                .await?
            {
                return Ok((next, current.is_none()));
            }
        }
        Err(RegistryError::Busy(r.node_id))
    }

    /// Reads the node, lets `f` decide its next row (`None`: delete it) and events, and
    /// writes both by optimistic lock, retrying while other writers change the node.
    async fn change(
        &self,
        node_id: &str,
        f: impl Fn(&NodeRecord) -> (Option<NodeRecord>, Vec<EventRow>),
    ) -> Result<Option<NodeRecord>> {
        check_node_id(node_id)?;
        for _ in 0..RETRIES {
            let current = self
                .store
                .get_node(node_id)
                .await?
                .ok_or_else(|| RegistryError::NotFound(node_id.into()))?;
            let (next, events) = f(&current);
            if self
                .store
                .save_node(node_id, Some(current.updated_at), next.as_ref(), events)
                .await?
            {
                return Ok(next);
            }
        }
        Err(RegistryError::Busy(node_id.into()))
    }

    /// Records a heartbeat; an UNHEALTHY node becomes HEALTHY again (an event).
    pub async fn heartbeat(&self, node_id: &str, correlation_id: Uuid) -> Result<NodeRecord> {
        let next = self
            .change(node_id, |current| {
                let now = self.clock.now();
                let mut next = current.clone();
                next.last_heartbeat = now;
                next.health_status = HEALTHY.into();
                next.updated_at = fresh_token(now, Some(current));
                let events = if current.health_status == HEALTHY {
                    Vec::new()
                } else {
                    vec![self.health_event(
                        node_id,
                        &current.health_status,
                        HEALTHY,
                        "heartbeat received",
                        correlation_id,
                    )]
                };
                (Some(next), events)
            })
            .await?;
        Ok(next.expect("a heartbeat keeps the node"))
    }

    fn health_event(
        &self,
        node_id: &str,
        from: &str,
        to: &str,
        reason: &str,
        correlation_id: Uuid,
    ) -> EventRow {
        let payload = NodeHealthChanged {
            node_id: node_id.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            reason: reason.to_owned(),
        };
        self.event(node_id, correlation_id, payload)
    }

    /// Removes a node (`reason`: `deregistered`, `shutdown`).
    pub async fn deregister(
        &self,
        node_id: &str,
        reason: &str,
        correlation_id: Uuid,
    ) -> Result<()> {
        self.change(node_id, |_| {
            let payload = NodeDeregistered {
                node_id: node_id.to_owned(),
                reason: reason.to_owned(),
            };
            let event = self.event(node_id, correlation_id, payload);
            (None, vec![event])
        })
        .await?;
        Ok(())
    }

    /// Registered nodes, optionally of one type and/or health.
    pub async fn list(
        &self,
        node_type: Option<&str>,
        healthy: Option<bool>,
    ) -> Result<Vec<NodeRecord>> {
        let health = healthy.map(|h| if h { HEALTHY } else { UNHEALTHY });
        Ok(self.store.list_nodes(node_type, health).await?)
    }

    /// Marks nodes silent for `missed_heartbeats` intervals UNHEALTHY, and removes nodes
    /// UNHEALTHY for `eviction_ms`. A node that changed meanwhile is left for the next sweep.
    pub async fn sweep(&self) -> Result<Sweep> {
        let now = self.clock.now();
        let mut done = Sweep::default();
        let correlation_id = Uuid::now_v7();
        for n in self.store.list_nodes(None, None).await? {
            if n.health_status == HEALTHY && now - n.last_heartbeat > self.unhealthy_after() {
                let mut next = n.clone();
                next.health_status = UNHEALTHY.into();
                next.updated_at = fresh_token(now, Some(&n));
                let silent = (now - n.last_heartbeat).num_milliseconds();
                let event = self.health_event(
                    &n.node_id,
                    HEALTHY,
                    UNHEALTHY,
                    &format!("no heartbeat for {silent} ms"),
                    correlation_id,
                );
                if self
                    .store
                    .save_node(&n.node_id, Some(n.updated_at), Some(&next), vec![event])
                    .await?
                {
                    done.marked_unhealthy.push(n.node_id);
                }
            } else if n.health_status == UNHEALTHY
                && now - n.updated_at
                    > chrono::Duration::milliseconds(self.contract.health.eviction_ms as i64)
            {
                let payload = NodeDeregistered {
                    node_id: n.node_id.clone(),
                    reason: "evicted".into(),
                };
                let event = self.event(&n.node_id, correlation_id, payload);
                if self
                    .store
                    .save_node(&n.node_id, Some(n.updated_at), None, vec![event])
                    .await?
                {
                    done.evicted.push(n.node_id);
                }
            }
        }
        Ok(done)
    }

    /// Sweeps once per heartbeat interval until `stop` turns true.
    pub async fn run_sweeper(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.heartbeat_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return,
            }
            match self.sweep().await {
                Ok(s) if s != Sweep::default() => {
                    tracing::info!(unhealthy = ?s.marked_unhealthy, evicted = ?s.evicted, "registry sweep")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "registry sweep failed"),
            }
        }
    }
}

/// A new `updated_at` token: now, but strictly after the current one (two changes within one
/// microsecond must still differ).
fn fresh_token(now: DateTime<Utc>, current: Option<&NodeRecord>) -> DateTime<Utc> {
    match current {
        Some(c) if c.updated_at >= now => c.updated_at + chrono::Duration::microseconds(1),
        _ => now,
    }
}

#[cfg(test)]
mod tests;

//! The bridge's own nodes in the registry: registered at start, heartbeated every interval
//! (re-registered if something removed them), deregistered at shutdown.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Registration, Registry, RegistryError};

/// Registers `nodes` once (at start, before the service announces itself); which succeeded.
pub async fn register_all(registry: &Registry, nodes: &[Registration]) -> Vec<bool> {
    let mut done = Vec::with_capacity(nodes.len());
    for n in nodes {
        match registry.register(n.clone(), Uuid::now_v7()).await {
            Ok(_) => done.push(true),
            Err(e) => {
                tracing::warn!(node = %n.node_id, error = %e, "own node registration failed; retrying");
                done.push(false);
            }
        }
    }
    done
}

/// Keeps `nodes` registered (`registered`: as [`register_all`] left them) until `stop` turns
/// true, then deregisters them (reason `shutdown`). Failures are retried every interval.
pub async fn keep_registered(
    registry: Arc<Registry>,
    nodes: Vec<Registration>,
    mut registered: Vec<bool>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(registry.heartbeat_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate: register_all just ran
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => break,
        }
        for (n, done) in nodes.iter().zip(registered.iter_mut()) {
            let cid = Uuid::now_v7();
            let result = if *done {
                match registry.heartbeat(&n.node_id, cid).await {
                    // Evicted or deregistered by someone else: come back.
                    Err(RegistryError::NotFound(_)) => {
                        registry.register(n.clone(), cid).await.map(|_| ())
                    }
                    other => other.map(|_| ()),
                }
            } else {
                registry.register(n.clone(), cid).await.map(|_| ())
            };
            match result {
                Ok(()) => *done = true,
                Err(e) => {
                    tracing::warn!(node = %n.node_id, error = %e, "own node registration failed; retrying")
                }
            }
        }
    }
    for n in &nodes {
        if let Err(e) = registry
            .deregister(&n.node_id, "shutdown", Uuid::now_v7())
            .await
        {
            tracing::warn!(node = %n.node_id, error = %e, "could not deregister at shutdown");
        }
    }
}

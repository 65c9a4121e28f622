//! `serve`: the HTTP API over the configured store, with graceful shutdown.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bridge_api::{router, ApiConfig, App, Metrics};
use bridge_core::EventType;
use bridge_events::monitor::{DlqMonitor, MonitorConfig};
use bridge_events::{KafkaSource, Relay, RelayConfig};
use bridge_nodes::reducer::{LogSource, Reducer};
use bridge_nodes::registry::{keep_registered, register_all, Registration, Registry, StoreNodes};
use bridge_nodes::{OnextreeClient, Orchestrator};
use bridge_store::{Observed, Store};
use tokio::net::TcpListener;

use super::open_store;
use crate::cli::ServeArgs;

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the reducer may take to save its open window at shutdown.
const REDUCER_SAVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the relay's last pass may take at shutdown.
const RELAY_FLUSH_TIMEOUT: Duration = Duration::from_secs(15);

fn check_args(args: &ServeArgs) -> anyhow::Result<()> {
    if !args.bind.ip().is_loopback() && args.api_keys.is_empty() && !args.allow_unauthenticated {
        bail!(
            "refusing to listen on non-loopback address {} without an API key: set --api-key/ONEX_API_KEYS, or pass --allow-unauthenticated",
            args.bind
        );
    }
    super::topics::check_env(&args.environment)?;
    if args
        .kafka_brokers
        .as_deref()
        .is_some_and(|b| b.trim().is_empty())
    {
        bail!("--kafka-brokers is empty: give host:port[,host:port…] or leave it unset");
    }
    Ok(())
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    check_args(&args)?;
    super::backend(&args.store)?;
    // Refuse to start on an invalid contract, before touching the database.
    let contracts = super::contracts::load(args.contracts.as_deref())?;
    tracing::info!(
        orchestrator = %contracts.orchestrator.name,
        steps = contracts.orchestrator.workflow.steps.len(),
        "contracts loaded"
    );
    let metrics = Arc::new(Metrics::new());
    let store: Arc<dyn Store> = Arc::new(Observed::new(
        open_store(&args.store).await?,
        metrics.clone(),
    ));
    let config = ApiConfig {
        max_content_bytes: usize::try_from(args.max_content_bytes)
            .context("--max-content-bytes too large")?,
        max_upload_bytes: args.max_upload_bytes,
        api_keys: args.api_keys,
        rate_limit: args.rate_limit,
    };
    let auth = if config.api_keys.is_empty() {
        "off"
    } else {
        "on"
    };
    let store_backend = store.backend();
    let mut orchestrator = Orchestrator::new(
        store.clone(),
        contracts.orchestrator.clone(),
        &args.environment,
    )
    .context("orchestrator contract")?;
    if let Some(url) = &args.onextree_url {
        let client = OnextreeClient::new(url, &contracts.orchestrator.routing.services.onextree)
            .map_err(|e| anyhow::anyhow!(e))?;
        orchestrator = orchestrator.with_intelligence(Arc::new(client));
    }
    let app_backend = store_backend;
    let registry = Arc::new(Registry::new(
        Arc::new(StoreNodes(store.clone())),
        contracts.registry.clone(),
        &args.environment,
    ));
    let mut app = App::new(orchestrator, registry.clone(), config, metrics);
    // The reducer: STAMP_CREATED events into per-namespace aggregates, in the background.
    let reducer =
        Reducer::new(store.clone(), contracts.reducer.clone()).map_err(|e| anyhow::anyhow!(e))?;
    app = app.with_reducer(reducer.status(), reducer.cache());
    let (reducer_stop, reducer_stop_rx) = tokio::sync::watch::channel(false);
    let reducer_task = match &args.kafka_brokers {
        // Kafka mode: a consumer group member on the STAMP_CREATED topic.
        Some(brokers) => {
            let topic = stamp_created_topic(&contracts, &args.environment)?;
            let (store, brokers, env) = (store.clone(), brokers.clone(), args.environment.clone());
            tokio::spawn(async move {
                let mut stop = reducer_stop_rx.clone();
                let source = loop {
                    match KafkaSource::new(store.clone(), &brokers, &env, &topic).await {
                        Ok(s) => break s,
                        Err(e) => {
                            tracing::warn!(error = %e, "reducer cannot join its consumer group yet; retrying");
                            if tokio::time::timeout(Duration::from_secs(2), stop.changed())
                                .await
                                .is_ok()
                            {
                                return;
                            }
                        }
                    }
                };
                reducer.run(source, reducer_stop_rx).await
            })
        }
        None => {
            let source = LogSource::new(store.clone())
                .await
                .map_err(|e| anyhow::anyhow!("reducer cannot read its cursor: {e}"))?;
            tokio::spawn(reducer.run(source, reducer_stop_rx))
        }
    };
    // The relay: committed outbox rows to Kafka, in the background (requests never wait on it).
    let (relay_stop, relay_stop_rx) = tokio::sync::watch::channel(false);
    let mut relay_task = None;
    if let Some(brokers) = &args.kafka_brokers {
        let topics = super::topics::catalogue(&contracts, &args.environment)?;
        let mut config = RelayConfig::new(brokers.as_str());
        config.message_timeout = Duration::from_millis(args.kafka_message_timeout_ms);
        config.lease = Duration::from_millis(args.relay_lease_ms);
        config.max_message_bytes = usize::try_from(args.kafka_max_message_bytes)
            .context("--kafka-max-message-bytes too large")?;
        config.fault_exit_after_publish = args.fault_exit_after_publish.clone();
        let relay = Relay::new(store.clone(), config, topics);
        app = app.with_relay(relay.stats());
        relay_task = Some(tokio::spawn(relay.run(relay_stop_rx.clone())));
        let monitor = DlqMonitor::new(MonitorConfig {
            brokers: brokers.clone(),
            env: args.environment.clone(),
            threshold: args.dlq_alert_threshold,
        });
        app = app.with_dlq_monitor(monitor.stats());
        tokio::spawn(monitor.run(relay_stop_rx));
        tracing::info!(%brokers, "relaying events to Kafka");
    }
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    // The registry: its sweeper, and this process's own nodes (registered before we announce
    // ourselves, so a ready service is also a registered one).
    let (registry_stop, registry_stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(registry.clone().run_sweeper(registry_stop_rx.clone()));
    let own = own_nodes(&addr, args.kafka_brokers.is_some(), app_backend);
    let registered = register_all(&registry, &own).await;
    let own_task = tokio::spawn(keep_registered(registry, own, registered, registry_stop_rx));

    // The first stdout line tells scripts (and tests binding port 0) where we listen.
    println!("listening on http://{addr}");
    std::io::stdout().flush()?;
    tracing::info!(%addr, backend = app_backend, auth, "omninode-bridge serving");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let mut server = tokio::spawn(async move { server.await });
    tokio::select! {
        res = &mut server => {
            res.context("server task failed")?.context("server failed")?;
            return Ok(ExitCode::SUCCESS);
        }
        sig = shutdown_signal() => tracing::info!(signal = sig, "shutting down: draining in-flight requests"),
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(DRAIN_TIMEOUT, server).await {
        Ok(res) => res
            .context("server task failed")?
            .context("server failed")?,
        Err(_) => {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}; exiting")
        }
    }
    // Our nodes leave the registry (NODE_DEREGISTERED, before the relay's last pass).
    let _ = registry_stop.send(true);
    if tokio::time::timeout(Duration::from_secs(5), own_task)
        .await
        .is_err()
    {
        tracing::warn!("could not deregister this process's nodes in time");
    }
    // The open window is saved (once) rather than re-read at the next start.
    let _ = reducer_stop.send(true);
    if tokio::time::timeout(REDUCER_SAVE_TIMEOUT, reducer_task)
        .await
        .is_err()
    {
        tracing::warn!("the reducer did not save its window within {REDUCER_SAVE_TIMEOUT:?}; its events are read again at the next start");
    }
    if let Some(task) = relay_task {
        // One last pass over what is committed; rows left behind stay pending for next time.
        let _ = relay_stop.send(true);
        if tokio::time::timeout(RELAY_FLUSH_TIMEOUT, task)
            .await
            .is_err()
        {
            tracing::warn!("the relay did not finish within {RELAY_FLUSH_TIMEOUT:?}; pending events stay in the outbox");
        }
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// This process's nodes: the orchestrator, the reducer, and the relay with Kafka. Ids carry
/// a per-process instance id, so instances sharing a database never collide.
fn own_nodes(addr: &SocketAddr, kafka: bool, backend: &str) -> Vec<Registration> {
    let instance = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let mut roles = vec![("orchestrator", "orchestrator"), ("reducer", "reducer")];
    if kafka {
        roles.push(("relay", "effect"));
    }
    roles
        .into_iter()
        .map(|(role, node_type)| Registration {
            node_id: format!("omninode-bridge.{role}.{instance}"),
            node_type: node_type.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![role.into()],
            endpoints: serde_json::json!({"http": format!("http://{addr}")}),
            metadata: serde_json::json!({"instance": instance, "backend": backend}),
        })
        .collect()
}

/// The reducer's input topic in Kafka mode, with its catalogue settings.
fn stamp_created_topic(
    contracts: &bridge_core::contract::Contracts,
    env: &str,
) -> anyhow::Result<bridge_core::topics::TopicSpec> {
    let topics = contracts.orchestrator.events.for_env(env);
    let name = topics
        .get(EventType::StampCreated)
        .context("the orchestrator contract maps no topic for STAMP_CREATED")?;
    super::topics::catalogue(contracts, env)?
        .into_iter()
        .find(|t| t.name == name)
        .with_context(|| format!("{name} is not in the topic catalogue"))
}

async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => "SIGINT",
        () = term => "SIGTERM",
    }
}

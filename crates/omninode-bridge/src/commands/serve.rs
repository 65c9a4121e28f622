//! `serve`: the HTTP API over the configured store and the supervised background tasks, in
//! three steps: [`build`] (everything checked, nothing running), [`start`] (tasks spawned,
//! nodes registered, listener serving) and [`Running::until_stopped`] (a signal or a failed
//! task, then a staged drain).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bridge_api::{router, ApiConfig, App, Metrics};
use bridge_core::topics::TopicSpec;
use bridge_core::EventType;
use bridge_events::monitor::{DlqMonitor, MonitorConfig};
use bridge_events::{KafkaConnection, KafkaSource, Relay, RelayConfig};
use bridge_nodes::reducer::{LogSource, Reducer};
use bridge_nodes::registry::{keep_registered, register_all, Registration, Registry, StoreNodes};
use bridge_nodes::witnessing::{Witnessing, WitnessingSpec};
use bridge_nodes::{OnextreeClient, Orchestrator};
use bridge_store::{Observed, Store};
use futures_util::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::open_store;
use crate::cli::ServeArgs;
use crate::supervisor::Supervisor;
use crate::tls::{Certificates, TlsListener};

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the reducer may take to save its open window at shutdown.
const REDUCER_SAVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the relay's last pass may take at shutdown.
const RELAY_FLUSH_TIMEOUT: Duration = Duration::from_secs(15);
/// How long this process's nodes may take to leave the registry at shutdown.
const REGISTRY_LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

fn check_args(args: &ServeArgs) -> anyhow::Result<()> {
    if !args.bind.ip().is_loopback() && args.api_keys.is_empty() && !args.allow_unauthenticated {
        bail!(
            "refusing to listen on non-loopback address {} without an API key: set --api-key/ONEX_API_KEYS, or pass --allow-unauthenticated",
            args.bind
        );
    }
    if !args.bind.ip().is_loopback() && args.tls_cert.is_none() {
        tracing::warn!(bind = %args.bind, "listening beyond loopback without TLS: requests and API keys cross the network in clear (set --tls-cert and --tls-key)");
    }
    super::topics::check_env(&args.environment)?;
    Ok(())
}

/// `serve`: build everything (refusing bad configuration before anything starts), start the
/// background tasks and the listener, then run until a signal or a task failure and drain.
pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let service = build(args).await?;
    let running = start(service).await?;
    Ok(running.until_stopped().await)
}

/// Where the reducer reads from: the local log, or a Kafka group joined once it runs.
enum ReducerInput {
    Log(LogSource),
    Kafka {
        kafka: KafkaConnection,
        env: String,
        topic: TopicSpec,
    },
}

/// The relay and the DLQ monitor (Kafka mode only).
struct Delivery {
    relay: Relay,
    monitor: DlqMonitor,
}

/// Everything `serve` runs, built and checked; nothing running yet.
struct Service {
    store: Arc<dyn Store>,
    app: App,
    reducer: Reducer,
    reducer_input: ReducerInput,
    delivery: Option<Delivery>,
    registry: Arc<Registry>,
    listener: TcpListener,
    /// HTTPS: the certificate and key, reloaded on SIGHUP.
    tls: Option<Certificates>,
    backend: &'static str,
    auth: &'static str,
    /// The log's witnesses, with `--witness-policy`.
    witnessing: Option<Arc<Witnessing>>,
    /// Fault injection: the background task of this name panics shortly after it starts.
    fault_panic_task: Option<String>,
}

async fn build(args: ServeArgs) -> anyhow::Result<Service> {
    check_args(&args)?;
    super::backend(&args.store)?;
    let kafka = args.kafka.connection()?;
    // A bad certificate or key fails here, before anything starts.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Certificates::load(cert, key)?),
        _ => None,
    };
    // Refuse to start on an invalid contract, before touching the database.
    let contracts = super::contracts::load(args.contracts.as_deref())?;
    tracing::info!(
        orchestrator = %contracts.orchestrator.name,
        steps = contracts.orchestrator.workflow.steps.len(),
        "contracts loaded"
    );
    // A bad witness policy fails here too, naming its line, before anything is written.
    let policy = args
        .witness_policy
        .as_deref()
        .map(super::witness::read_policy)
        .transpose()?;
    let keys = super::keys::service_keys(&args.keys, &args.store.data_dir)?;
    // The unsigned benchmark anchor is unlogged too (SPEC §9's anchor); `--no-log` measures
    // signing alone.
    let log = (!args.keys.no_sign && !args.keys.no_log).then(|| keys.log.clone());
    if args.keys.no_log {
        tracing::warn!("--no-log: new stamps are not logged (a benchmark anchor, not for use)");
    }
    let metrics = Arc::new(Metrics::new());
    let store: Arc<dyn Store> = Arc::new(Observed::new(
        open_store(&args.store, log).await?,
        metrics.clone(),
    ));
    let config = ApiConfig {
        max_content_bytes: usize::try_from(args.max_content_bytes)
            .context("--max-content-bytes too large")?,
        max_upload_bytes: args.max_upload_bytes,
        body_budget_bytes: usize::try_from(args.body_budget_bytes)
            .context("--body-budget-bytes too large")?,
        log_requests: args.log_requests,
        api_keys: args.api_keys,
        rate_limit: args.rate_limit,
    };
    let auth = if config.api_keys.is_empty() {
        "off"
    } else {
        "on"
    };
    let mut orchestrator = Orchestrator::new(
        store.clone(),
        contracts.orchestrator.clone(),
        &args.environment,
    )
    .context("orchestrator contract")?;
    if args.keys.no_sign {
        tracing::warn!("--no-sign: new stamps are UNSIGNED (a benchmark anchor, not for use)");
    } else {
        orchestrator = orchestrator.with_signer(keys.stamp.clone());
    }
    if let Some(url) = &args.onextree_url {
        let client = OnextreeClient::new(url, &contracts.orchestrator.routing.services.onextree)?;
        orchestrator = orchestrator.with_intelligence(Arc::new(client));
    }
    let registry = Arc::new(Registry::new(
        Arc::new(StoreNodes(store.clone())),
        contracts.registry.clone(),
        &args.environment,
    ));
    let mut app =
        App::new(orchestrator, registry.clone(), config, metrics).with_keys(keys.published);
    // The reducer: STAMP_CREATED events into per-namespace aggregates, in the background.
    let reducer = Reducer::new(store.clone(), contracts.reducer.clone())?;
    app = app.with_reducer(reducer.status(), reducer.cache());
    let reducer_input = match &kafka {
        // Kafka mode: a consumer group member on the STAMP_CREATED topic.
        Some(kafka) => ReducerInput::Kafka {
            kafka: kafka.clone(),
            env: args.environment.clone(),
            topic: stamp_created_topic(&contracts, &args.environment)?,
        },
        None => ReducerInput::Log(
            LogSource::new(store.clone())
                .await
                .context("reducer cannot read its cursor")?,
        ),
    };
    // The relay: committed outbox rows to Kafka, in the background (requests never wait on it).
    let mut delivery = None;
    if let Some(kafka) = &kafka {
        let topics = super::topics::catalogue(&contracts, &args.environment)?;
        let mut config = RelayConfig::new(kafka.clone());
        config.message_timeout = Duration::from_millis(args.kafka_message_timeout_ms);
        config.lease = Duration::from_millis(args.relay_lease_ms);
        config.max_message_bytes = usize::try_from(args.kafka_max_message_bytes)
            .context("--kafka-max-message-bytes too large")?;
        config.fault_exit_after_publish = args.fault_exit_after_publish.clone();
        let relay = Relay::new(store.clone(), config, topics);
        app = app.with_relay(relay.stats());
        let monitor = DlqMonitor::new(MonitorConfig {
            kafka: kafka.clone(),
            env: args.environment.clone(),
            threshold: args.dlq_alert_threshold,
        });
        app = app.with_dlq_monitor(monitor.stats());
        tracing::info!(
            brokers = kafka.brokers(),
            security_protocol = kafka.protocol().as_str(),
            "relaying events to Kafka"
        );
        delivery = Some(Delivery { relay, monitor });
    }
    let witnessing = match (policy, &args.witness_policy) {
        (Some(policy), Some(path)) if !args.keys.no_sign && !args.keys.no_log => {
            let w = witnessing(
                policy,
                path,
                args.witness_interval,
                args.witness_wait,
                &keys.log.verifier(),
            )?;
            app = app.with_witnessing(w.clone());
            Some(w)
        }
        (Some(_), _) => bail!("--witness-policy needs a log: not with --no-sign or --no-log"),
        _ => None,
    };
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let backend = store.backend();
    Ok(Service {
        store,
        app,
        reducer,
        reducer_input,
        delivery,
        registry,
        listener,
        tls,
        backend,
        auth,
        witnessing,
        fault_panic_task: args.fault_panic_task,
    })
}

/// The witnessing of `--witness-policy` (read at `path`), checked against the log's own key.
fn witnessing(
    policy: bridge_core::witness::Policy,
    path: &std::path::Path,
    interval: Duration,
    wait: Duration,
    log: &bridge_core::tlog::LogVerifier,
) -> anyhow::Result<Arc<Witnessing>> {
    if !policy.logs().is_empty()
        && !policy
            .logs()
            .iter()
            .any(|l| l.key.public_bytes() == log.public_bytes() && l.key.name() == log.name())
    {
        tracing::warn!(policy = %path.display(), "the witness policy's log lines do not name this log's key: verifiers using it will refuse our checkpoints");
    }
    for w in policy.witnesses().iter().filter(|w| w.url.is_none()) {
        tracing::warn!(witness = %w.name, "no URL in the policy: this witness is never asked");
    }
    let w = Witnessing::new(WitnessingSpec {
        policy,
        interval,
        wait,
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!(
        witnesses = w.policy().witnesses().len(),
        quorum = w.policy().quorum_name(),
        interval_ms = interval.as_millis() as u64,
        "asking witnesses to cosign the log"
    );
    Ok(Arc::new(w))
}

/// Shutdown stages, in the order they are stopped after the listener has drained.
struct Stages {
    registry: CancellationToken,
    reducer: CancellationToken,
    delivery: CancellationToken,
}

/// A started service: the listener's task and the supervised background tasks.
struct Running {
    tasks: Supervisor,
    stages: Stages,
    server: JoinHandle<std::io::Result<()>>,
    server_stop: oneshot::Sender<()>,
    signals: Signals,
    tls: Option<Certificates>,
}

async fn start(s: Service) -> anyhow::Result<Running> {
    let mut tasks = Supervisor::new();
    let stages = Stages {
        registry: tasks.stage(),
        reducer: tasks.stage(),
        delivery: tasks.stage(),
    };
    let fault = s.fault_panic_task.clone();
    let mut spawn = |name: &'static str, task: BoxFuture<'static, ()>| {
        if fault.as_deref() == Some(name) {
            tasks.spawn(name, async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                panic!("fault injection: {name} panics");
            });
        } else {
            tasks.spawn(name, task);
        }
    };
    let stop = stages.reducer.clone();
    let reducer = s.reducer;
    match s.reducer_input {
        ReducerInput::Log(source) => spawn("reducer", Box::pin(reducer.run(source, stop))),
        ReducerInput::Kafka { kafka, env, topic } => {
            let store = s.store.clone();
            spawn(
                "reducer",
                Box::pin(async move {
                    let source = loop {
                        match KafkaSource::new(store.clone(), &kafka, &env, &topic).await {
                            Ok(s) => break s,
                            Err(e) => {
                                tracing::warn!(error = %e, "reducer cannot join its consumer group yet; retrying");
                                if tokio::time::timeout(Duration::from_secs(2), stop.cancelled())
                                    .await
                                    .is_ok()
                                {
                                    return;
                                }
                            }
                        }
                    };
                    reducer.run(source, stop).await
                }),
            );
        }
    }
    if let Some(w) = s.witnessing {
        spawn(
            "witnessing",
            Box::pin(w.run(s.store.clone(), stages.registry.clone())),
        );
    }
    let kafka = s.delivery.is_some();
    if let Some(d) = s.delivery {
        spawn("relay", Box::pin(d.relay.run(stages.delivery.clone())));
        spawn(
            "dlq-monitor",
            Box::pin(d.monitor.run(stages.delivery.clone())),
        );
    }
    let addr = s.listener.local_addr()?;
    // The registry: its sweeper, and this process's own nodes (registered before we announce
    // ourselves, so a ready service is also a registered one).
    spawn(
        "registry-sweeper",
        Box::pin(s.registry.clone().run_sweeper(stages.registry.clone())),
    );
    let scheme = if s.tls.is_some() { "https" } else { "http" };
    let own = own_nodes(&format!("{scheme}://{addr}"), kafka, s.backend);
    let registered = register_all(&s.registry, &own).await;
    spawn(
        "own-nodes",
        Box::pin(keep_registered(
            s.registry,
            own,
            registered,
            stages.registry.clone(),
        )),
    );

    // Handlers first: a SIGTERM right after the line below must drain, not kill.
    let signals = Signals::install().context("cannot install signal handlers")?;
    // The first stdout line tells scripts (and tests binding port 0) where we listen.
    println!("listening on {scheme}://{addr}");
    std::io::stdout().flush()?;
    tracing::info!(%addr, tls = s.tls.is_some(), backend = s.backend, auth = s.auth, "omninode-bridge serving");

    let (server_stop, stop_rx) = oneshot::channel::<()>();
    let stopped = async move {
        let _ = stop_rx.await;
    };
    let app = router(s.app).into_make_service_with_connect_info::<SocketAddr>();
    let server = match &s.tls {
        None => {
            let serving = axum::serve(s.listener, app).with_graceful_shutdown(stopped);
            tokio::spawn(async move { serving.await })
        }
        Some(certificates) => {
            use axum::serve::ListenerExt;
            // A no-op tap: axum derives `ConnectInfo<SocketAddr>` for tapped listeners of any
            // kind, but for no listener of ours (the orphan rule keeps us from adding it).
            let listener = TlsListener::new(s.listener, certificates.clone())?.tap_io(|_| {});
            let serving = axum::serve(listener, app).with_graceful_shutdown(stopped);
            tokio::spawn(async move { serving.await })
        }
    };
    Ok(Running {
        tasks,
        stages,
        server,
        server_stop,
        signals,
        tls: s.tls,
    })
}

/// Exit code of a process whose background task failed (BSD's EX_SOFTWARE).
const TASK_FAILED: u8 = 70;

impl Running {
    /// Serves until SIGTERM/SIGINT or a failed background task, then drains in stages.
    async fn until_stopped(mut self) -> ExitCode {
        let mut failures = Vec::new();
        loop {
            tokio::select! {
                res = &mut self.server => {
                    // The listener only ends on its own when accepting fails for good.
                    tracing::error!(result = ?res, "the HTTP server stopped");
                    failures.push("the HTTP server stopped".to_owned());
                }
                sig = self.signals.recv() => match sig {
                    Signal::Reload => {
                        self.reload();
                        continue;
                    }
                    Signal::Stop(name) => tracing::info!(signal = name, "shutting down: draining in-flight requests"),
                },
                Some(f) = self.tasks.next_failure() => {
                    tracing::error!(task = f.name, failure = %f.how, "a background task failed; shutting down");
                    failures.push(f.to_string());
                }
            }
            break;
        }
        self.drain().await;
        failures.extend(self.tasks.failures().iter().map(ToString::to_string));
        if failures.is_empty() {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        } else {
            for f in &failures {
                eprintln!("error: {f}");
            }
            ExitCode::from(TASK_FAILED)
        }
    }

    /// SIGHUP: new connections get the certificate and key now in the files; open ones keep
    /// theirs. A file that does not load leaves the one in use.
    fn reload(&self) {
        match &self.tls {
            None => tracing::info!("SIGHUP: no --tls-cert, nothing to reload"),
            Some(certificates) => match certificates.reload() {
                Ok(()) => tracing::info!("SIGHUP: TLS certificate and key reloaded"),
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "SIGHUP: TLS certificate not reloaded; the previous one stays"
                ),
            },
        }
    }

    async fn drain(&mut self) {
        let _ = std::mem::replace(&mut self.server_stop, oneshot::channel().0).send(());
        if !self.server.is_finished() {
            match tokio::time::timeout(DRAIN_TIMEOUT, &mut self.server).await {
                Ok(Ok(Err(e))) => tracing::error!(error = %e, "server failed while draining"),
                Ok(_) => {}
                Err(_) => tracing::warn!(
                    "in-flight requests did not finish within {DRAIN_TIMEOUT:?}; exiting"
                ),
            }
        }
        // Our nodes leave the registry (NODE_DEREGISTERED, before the relay's last pass); the
        // reducer saves its open window once rather than have it re-read at the next start;
        // the relay makes one last pass over what is committed.
        let stages: [(&CancellationToken, &[&'static str], Duration, &str); 3] = [
            (
                &self.stages.registry,
                &["registry-sweeper", "own-nodes", "witnessing"],
                REGISTRY_LEAVE_TIMEOUT,
                "this process's nodes could not be deregistered in time",
            ),
            (
                &self.stages.reducer,
                &["reducer"],
                REDUCER_SAVE_TIMEOUT,
                "the reducer did not save its window in time; its events are read again at the next start",
            ),
            (
                &self.stages.delivery,
                &["relay", "dlq-monitor"],
                RELAY_FLUSH_TIMEOUT,
                "the relay did not finish in time; pending events stay in the outbox",
            ),
        ];
        for (token, names, within, late) in stages {
            if !self.tasks.stop(token, names, within).await {
                tracing::warn!(bound = ?within, "{late}");
            }
        }
        self.tasks.cancel_all();
    }
}

/// This process's nodes: the orchestrator, the reducer, and the relay with Kafka. Ids carry
/// a per-process instance id, so instances sharing a database never collide.
fn own_nodes(url: &str, kafka: bool, backend: &str) -> Vec<Registration> {
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
            endpoints: serde_json::json!({"http": url}),
            metadata: serde_json::json!({"instance": instance, "backend": backend}),
        })
        .collect()
}

/// The reducer's input topic in Kafka mode, with its catalogue settings.
fn stamp_created_topic(
    contracts: &bridge_core::contract::Contracts,
    env: &str,
) -> anyhow::Result<TopicSpec> {
    let topics = contracts.orchestrator.events.for_env(env);
    let name = topics
        .get(EventType::StampCreated)
        .context("the orchestrator contract maps no topic for STAMP_CREATED")?;
    super::topics::catalogue(contracts, env)?
        .into_iter()
        .find(|t| t.name == name)
        .with_context(|| format!("{name} is not in the topic catalogue"))
}

/// What a signal asks for.
enum Signal {
    /// SIGTERM or SIGINT: drain and stop.
    Stop(&'static str),
    /// SIGHUP: reload the TLS certificate and key.
    Reload,
}

/// SIGTERM, SIGINT and SIGHUP, registered before the service says it listens (a signal
/// stream only catches signals sent after it exists).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next signal.
    async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => Signal::Stop("SIGTERM"),
                _ = self.int.recv() => Signal::Stop("SIGINT"),
                _ = self.hup.recv() => Signal::Reload,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Stop("SIGINT")
        }
    }
}

//! `App`: everything a handler needs, built once in `main` and shared as axum state.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_core::contract::CacheSpec;
use bridge_events::monitor::DlqStats;
use bridge_events::RelayStats;
use bridge_nodes::reducer::{ReducerStatus, StatsCache};
use bridge_nodes::registry::Registry;
use bridge_nodes::Orchestrator;
use bridge_store::Store;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::budget::BodyBudget;
use crate::config::ApiConfig;
use crate::keys::ServiceKeys;
use crate::metrics::Metrics;

/// Token buckets keyed by API key index or client address.
pub(crate) type Limiter = DefaultKeyedRateLimiter<String>;

/// Shared state of the HTTP API: one pointer, because every middleware layer clones it for
/// every request (a dozen reference counts each time was ~4 % of a `POST /hash`).
#[derive(Clone)]
pub struct App(Arc<AppState>);

impl std::ops::Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

/// What [`App`] points to.
#[derive(Clone)]
pub struct AppState {
    /// The contract-driven orchestrator (and through it, the store).
    pub(crate) orchestrator: Orchestrator,
    /// Limits, keys, rate.
    pub(crate) config: Arc<ApiConfig>,
    /// Metrics registry.
    pub(crate) metrics: Arc<Metrics>,
    /// Rate limiter, when configured.
    pub(crate) limiter: Option<Arc<Limiter>>,
    /// Process start, for `uptime_seconds`.
    pub(crate) started: Instant,
    /// The Kafka relay's counters, when `--kafka-brokers` is set.
    pub(crate) relay: Option<Arc<RelayStats>>,
    /// The DLQ monitor's counters, when `--kafka-brokers` is set.
    pub(crate) dlq: Option<Arc<DlqStats>>,
    /// The reducer's state and counters, when one runs in this process.
    pub(crate) reducer: Option<Arc<ReducerStatus>>,
    /// Namespace stats reads (the reducer's cache when one runs; else straight reads).
    pub(crate) stats: Arc<StatsCache>,
    /// The node registry.
    pub(crate) registry: Arc<Registry>,
    /// Node types the registry contract allows (for query validation).
    pub(crate) registry_node_types: Arc<Vec<String>>,
    /// The public keys, and the keyring that makes a stamp TRUSTED.
    pub(crate) keys: Arc<ServiceKeys>,
    /// Request bodies held in memory, over all requests.
    pub(crate) body_budget: Arc<BodyBudget>,
    /// The log's witnesses (SPEC §13), with `--witness-policy`.
    pub(crate) witnessing: Option<Arc<bridge_nodes::witnessing::Witnessing>>,
}

impl App {
    /// Builds the API state around an orchestrator; `metrics` may already observe its store
    /// (see [`Metrics::observe_store`]).
    pub fn new(
        orchestrator: Orchestrator,
        registry: Arc<Registry>,
        config: ApiConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let limiter = config.rate_limit.map(|r| {
            let burst = NonZeroU32::new(r.requests).expect("rate limit parser rejects 0");
            let period = Duration::from_secs(r.per_seconds.into()) / r.requests;
            let quota = Quota::with_period(period)
                .expect("non-zero period")
                .allow_burst(burst);
            Arc::new(RateLimiter::keyed(quota))
        });
        // Without a reducer here, nothing invalidates a cache: read the store every time.
        let stats = Arc::new(StatsCache::new(
            orchestrator.store().clone(),
            &CacheSpec {
                ttl_ms: 0,
                max_entries: 1,
            },
        ));
        let observed = metrics.clone();
        let orchestrator =
            orchestrator.with_observer(Arc::new(move |w| observed.observe_workflow(w)));
        let body_budget = Arc::new(BodyBudget::new(config.body_budget_bytes));
        Self(Arc::new(AppState {
            body_budget,
            orchestrator,
            config: Arc::new(config),
            metrics,
            limiter,
            started: Instant::now(),
            relay: None,
            dlq: None,
            reducer: None,
            stats,
            registry_node_types: Arc::new(registry.node_types().to_vec()),
            registry,
            keys: Arc::new(ServiceKeys::default()),
            witnessing: None,
        }))
    }

    /// The state, to change while building (copied if already shared).
    fn state_mut(&mut self) -> &mut AppState {
        Arc::make_mut(&mut self.0)
    }

    /// Reports the reducer in `/health` and `/metrics`, and serves stats through its cache.
    pub fn with_reducer(mut self, status: Arc<ReducerStatus>, cache: Arc<StatsCache>) -> Self {
        let state = self.state_mut();
        state.reducer = Some(status);
        state.stats = cache;
        self
    }

    /// Publishes these keys and trusts stamps signed by them.
    pub fn with_keys(mut self, keys: ServiceKeys) -> Self {
        self.state_mut().keys = Arc::new(keys);
        self
    }

    /// Serves witnessed checkpoints and proofs, and reports the witnesses in `/health` and
    /// `/metrics`.
    pub fn with_witnessing(mut self, w: Arc<bridge_nodes::witnessing::Witnessing>) -> Self {
        self.state_mut().witnessing = Some(w);
        self
    }

    /// Reports the DLQ monitor in `/health` and `/metrics`.
    pub fn with_dlq_monitor(mut self, stats: Arc<DlqStats>) -> Self {
        self.state_mut().dlq = Some(stats);
        self
    }

    /// Reports the Kafka relay in `/health` and `/metrics`.
    pub fn with_relay(mut self, stats: Arc<RelayStats>) -> Self {
        self.state_mut().relay = Some(stats);
        self
    }

    /// The metrics registry (shared with background tasks).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        self.orchestrator.store()
    }
}

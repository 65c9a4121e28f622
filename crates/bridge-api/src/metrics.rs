//! Prometheus metrics (SPEC §8). The registry lives in `App`, never in a global, so each test
//! app has its own.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of `api_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) method: &'static str,
    pub(crate) route: String,
    pub(crate) status: u16,
}

/// Labels of `workflow_state_transitions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TransitionLabels {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// Labels of `database_query_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DatabaseLabels {
    pub(crate) operation: &'static str,
    pub(crate) outcome: &'static str,
}

/// Labels of `dlq_messages_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TopicLabels {
    pub(crate) topic: String,
}

/// Labels of `witness_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WitnessLabels {
    pub(crate) witness: String,
    pub(crate) status: String,
}

/// Labels of `witness_lag_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WitnessNameLabels {
    pub(crate) witness: String,
}

/// Labels of `signature_verifications_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VerificationLabels {
    /// `trusted`, `untrusted_key` or `invalid`.
    pub(crate) result: &'static str,
}

/// Labels of `circuit_breaker_state`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BreakerLabels {
    pub(crate) service: String,
}

fn request_histogram() -> Histogram {
    // 50 µs … ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The service's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    /// Time to hash one request's content.
    pub(crate) hash_seconds: Histogram,
    /// Request latency by method, route and status.
    pub(crate) request_seconds: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// New stamps (deduplicated requests excluded).
    pub(crate) stamps_created: Counter,
    /// New stamps that were signed.
    pub(crate) stamps_signed: Counter,
    /// Signatures checked by `/validate`, by result.
    pub(crate) signature_verifications: Family<VerificationLabels, Counter>,
    /// Entries in the transparency log (refreshed on each scrape).
    pub(crate) log_tree_size: Gauge,
    /// From a new stamp's submission to the writer until its entry and checkpoint were durable.
    log_integration_seconds: Histogram,
    /// Age of the newest checkpoint (refreshed on each scrape).
    pub(crate) log_checkpoint_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    witness_requests: Family<WitnessLabels, Counter>,
    witnessed_tree_size: Gauge,
    witness_lag: Family<WitnessNameLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Outbox depth, refreshed on each scrape.
    pub(crate) events_pending: Gauge,
    /// Workflow run time.
    workflow_seconds: Histogram,
    /// FSM transitions by from/to.
    transitions: Family<TransitionLabels, Counter>,
    /// 0 closed, 1 open, 2 half-open, per service.
    breakers: Family<BreakerLabels, Gauge>,
    /// Store operation latency by operation and outcome.
    database_seconds: Family<DatabaseLabels, Histogram, fn() -> Histogram>,
    /// Pooled connections checked out (PostgreSQL), refreshed on each scrape.
    active_connections: Gauge,
    /// Times the pool was seen above 90 % utilisation.
    pool_exhaustion_warnings: Counter,
    /// Events the broker confirmed.
    events_published: Counter,
    /// Messages seen on each dead-letter topic (the DLQ monitor).
    dlq_messages: Family<TopicLabels, Counter>,
    /// Events whose effect the reducer saved.
    reducer_items: Counter,
    /// Events not yet saved into the namespace aggregates.
    reducer_lag: Gauge,
    /// Optimistic-lock conflicts the reducer retried.
    reducer_conflicts: Counter,
    /// Bytes of request bodies held now (refreshed on each scrape).
    body_bytes_held: Gauge,
    /// Requests answered 503 because the body budget was spent.
    body_budget_rejections: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        // 1 µs … ~1 s.
        let hash_seconds = Histogram::new(exponential_buckets(0.000_001, 2.0, 21));
        registry.register(
            "hash_generation_duration_seconds",
            "Time to BLAKE3-hash request content",
            hash_seconds.clone(),
        );
        let request_seconds =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_histogram,
            );
        registry.register(
            "api_request_duration_seconds",
            "HTTP request latency",
            request_seconds.clone(),
        );
        let stamps_created = Counter::default();
        registry.register(
            "stamps_created",
            "Stamps created (deduplicated requests excluded)",
            stamps_created.clone(),
        );
        let stamps_signed = Counter::default();
        registry.register(
            "stamps_signed",
            "New stamps signed with the service's stamp key",
            stamps_signed.clone(),
        );
        let signature_verifications = Family::<VerificationLabels, Counter>::default();
        registry.register(
            "signature_verifications",
            "Stamp signatures checked, by result (trusted, untrusted_key, invalid)",
            signature_verifications.clone(),
        );
        let log_tree_size = Gauge::default();
        registry.register(
            "log_tree_size",
            "Entries in the transparency log",
            log_tree_size.clone(),
        );
        let log_integration_seconds = request_histogram();
        registry.register(
            "log_integration_duration_seconds",
            "From a new stamp's write to its durable log entry and signed checkpoint",
            log_integration_seconds.clone(),
        );
        let log_checkpoint_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "log_checkpoint_age_seconds",
            "Seconds since the newest log checkpoint was signed",
            log_checkpoint_age.clone(),
        );
        let witness_requests = Family::<WitnessLabels, Counter>::default();
        registry.register(
            "witness_requests",
            "add-checkpoint requests to each witness, by answer (200, 409, 422, ..., error, invalid)",
            witness_requests.clone(),
        );
        let witnessed_tree_size = Gauge::default();
        registry.register(
            "log_witnessed_tree_size",
            "Entries in the newest checkpoint whose cosignatures meet the witness policy",
            witnessed_tree_size.clone(),
        );
        let witness_lag =
            Family::<WitnessNameLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "witness_lag_seconds",
            "Seconds since each witness last cosigned, while the log has grown past it",
            witness_lag.clone(),
        );
        let events_pending = Gauge::default();
        registry.register(
            "events_pending",
            "Events in the outbox not yet delivered",
            events_pending.clone(),
        );
        let workflow_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 20));
        registry.register(
            "workflow_duration_seconds",
            "Workflow run time, first step to final state",
            workflow_seconds.clone(),
        );
        let transitions = Family::<TransitionLabels, Counter>::default();
        registry.register(
            "workflow_state_transitions",
            "Workflow FSM transitions",
            transitions.clone(),
        );
        let breakers = Family::<BreakerLabels, Gauge>::default();
        registry.register(
            "circuit_breaker_state",
            "0 closed, 1 open, 2 half-open",
            breakers.clone(),
        );
        let database_seconds =
            Family::<DatabaseLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_histogram,
            );
        registry.register(
            "database_query_duration_seconds",
            "Store operation latency (a write includes its group commit)",
            database_seconds.clone(),
        );
        let active_connections = Gauge::default();
        registry.register(
            "active_connections",
            "Database connections checked out of the pool",
            active_connections.clone(),
        );
        let pool_exhaustion_warnings = Counter::default();
        registry.register(
            "pool_exhaustion_warnings",
            "Times the database pool was seen above 90% utilisation",
            pool_exhaustion_warnings.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Events delivered to Kafka (confirmed by the broker)",
            events_published.clone(),
        );
        let dlq_messages = Family::<TopicLabels, Counter>::default();
        registry.register(
            "dlq_messages",
            "Messages on dead-letter topics, per topic (the DLQ monitor's count)",
            dlq_messages.clone(),
        );
        let reducer_items = Counter::default();
        registry.register(
            "reducer_items",
            "STAMP_CREATED events whose effect the reducer saved into bridge_states",
            reducer_items.clone(),
        );
        let reducer_lag = Gauge::default();
        registry.register(
            "reducer_lag_events",
            "STAMP_CREATED events not yet saved into the namespace aggregates",
            reducer_lag.clone(),
        );
        let reducer_conflicts = Counter::default();
        registry.register(
            "reducer_version_conflicts",
            "Optimistic-lock conflicts the reducer retried from fresh state",
            reducer_conflicts.clone(),
        );
        let body_bytes_held = Gauge::default();
        registry.register(
            "request_body_bytes_held",
            "Bytes of request bodies held in memory now, over all requests",
            body_bytes_held.clone(),
        );
        let body_budget_rejections = Counter::default();
        registry.register(
            "request_body_budget_rejections",
            "Requests answered 503 because the body budget was spent",
            body_budget_rejections.clone(),
        );
        Self {
            registry,
            body_bytes_held,
            body_budget_rejections,
            reducer_items,
            reducer_lag,
            reducer_conflicts,
            events_published,
            dlq_messages,
            database_seconds,
            active_connections,
            pool_exhaustion_warnings,
            hash_seconds,
            request_seconds,
            stamps_created,
            stamps_signed,
            signature_verifications,
            log_tree_size,
            log_integration_seconds,
            log_checkpoint_age,
            witness_requests,
            witnessed_tree_size,
            witness_lag,
            events_pending,
            workflow_seconds,
            transitions,
            breakers,
        }
    }

    /// Counts one signature check.
    pub(crate) fn signature_checked(&self, result: &'static str) {
        self.signature_verifications
            .get_or_create(&VerificationLabels { result })
            .inc();
    }

    /// Sets a circuit breaker's state gauge.
    pub(crate) fn set_breaker(&self, service: &str, value: i64) {
        self.breakers
            .get_or_create(&BreakerLabels {
                service: service.to_owned(),
            })
            .set(value);
    }

    /// Refreshes the pool gauges from the store (on each scrape).
    pub(crate) fn set_pool(&self, pool: &bridge_store::PoolStatus) {
        self.active_connections.set(i64::from(pool.active));
        catch_up(&self.pool_exhaustion_warnings, pool.exhaustion_warnings);
    }

    /// Refreshes the relay counters (on each scrape).
    pub(crate) fn set_relay(&self, relay: &bridge_events::RelayStats) {
        use std::sync::atomic::Ordering::Relaxed;
        catch_up(&self.events_published, relay.published.load(Relaxed));
    }

    /// Refreshes the witnesses' figures (on each scrape); `log_size`: the log's tree now.
    pub(crate) fn set_witnessing(&self, w: &bridge_nodes::witnessing::Witnessing, log_size: u64) {
        if let Some(c) = w.witnessed() {
            self.witnessed_tree_size
                .set(i64::try_from(c.size).unwrap_or(i64::MAX));
        }
        let now = chrono::Utc::now();
        for (witness, view) in w.views() {
            for (status, n) in &view.requests {
                let labels = WitnessLabels {
                    witness: witness.clone(),
                    status: status.clone(),
                };
                catch_up(&self.witness_requests.get_or_create(&labels), *n);
            }
            let behind = view.size.is_none_or(|s| s < log_size);
            let lag = match (behind, view.last_cosigned_at) {
                (false, _) => 0.0,
                (true, Some(t)) => (now - t).num_milliseconds().max(0) as f64 / 1000.0,
                // Never cosigned here: as old as the process's view of it.
                (true, None) => w.age().as_secs_f64(),
            };
            self.witness_lag
                .get_or_create(&WitnessNameLabels { witness })
                .set(lag);
        }
    }

    /// Refreshes the body budget's figures (on each scrape).
    pub(crate) fn set_body_budget(&self, b: &crate::budget::BodyBudget) {
        self.body_bytes_held
            .set(i64::try_from(b.in_use()).unwrap_or(i64::MAX));
        catch_up(&self.body_budget_rejections, b.rejected());
    }

    /// Refreshes the reducer's counters (on each scrape).
    pub(crate) fn set_reducer(&self, r: &bridge_nodes::reducer::ReducerStatus) {
        use std::sync::atomic::Ordering::Relaxed;
        catch_up(&self.reducer_items, r.items.load(Relaxed));
        catch_up(&self.reducer_conflicts, r.conflicts.load(Relaxed));
        self.reducer_lag
            .set(i64::try_from(r.lag.load(Relaxed)).unwrap_or(i64::MAX));
    }

    /// Refreshes the per-topic DLQ counts (on each scrape).
    pub(crate) fn set_dlq(&self, dlq: &bridge_events::monitor::DlqStats) {
        for (topic, n) in dlq.per_topic() {
            catch_up(&self.dlq_messages.get_or_create(&TopicLabels { topic }), n);
        }
    }

    /// Records a finished workflow.
    pub(crate) fn observe_workflow(&self, w: &bridge_store::WorkflowRecord) {
        self.workflow_seconds.observe(w.duration_ms / 1000.0);
        for t in &w.transitions {
            let labels = TransitionLabels {
                from: t.from_state.clone(),
                to: t.to_state.clone(),
            };
            self.transitions.get_or_create(&labels).inc();
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Advances `counter` to `total`, a monotonic count kept elsewhere.
fn catch_up(counter: &Counter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

impl bridge_store::StoreObserver for Metrics {
    fn operation(&self, operation: &'static str, seconds: f64, ok: bool) {
        let labels = DatabaseLabels {
            operation,
            outcome: if ok { "ok" } else { "error" },
        };
        self.database_seconds
            .get_or_create(&labels)
            .observe(seconds);
    }

    fn logged(&self, seconds: f64) {
        self.log_integration_seconds.observe(seconds);
    }
}

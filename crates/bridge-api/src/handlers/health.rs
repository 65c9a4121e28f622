//! Health, readiness, liveness and the metrics exposition.

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::app::App;
use crate::envelope::{envelope_response, ErrorBody, Success};

/// One component's health.
#[derive(Debug, Serialize)]
struct Component {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    info: serde_json::Value,
}

/// `GET /health`: healthy / degraded / unhealthy (503) with per-component detail.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "healthy or degraded"), (status = 503, description = "unhealthy")))]
pub(crate) async fn health(State(app): State<App>) -> Response {
    let store = app.store();
    let t = Instant::now();
    let ping = store.ping().await;
    let latency_ms = t.elapsed().as_secs_f64() * 1000.0;
    let pending = store.pending_events().await.ok();
    let mut info = json!({"backend": store.backend()});
    if ping.is_ok() {
        info["latency_ms"] = json!(latency_ms);
    }
    if let Some(pool) = store.pool_status() {
        info["pool"] = json!({"active": pool.active, "idle": pool.idle, "max": pool.max});
    }
    if let Some(state) = store.breaker_state() {
        info["circuit_breaker"] = json!(state.as_str());
    }
    let database = match &ping {
        Ok(()) => Component {
            status: "healthy",
            detail: None,
            info,
        },
        Err(e) => Component {
            status: "unhealthy",
            detail: Some(e.to_string()),
            info,
        },
    };
    let kafka = kafka_component(&app, pending);
    let onextree = match app.orchestrator.intelligence_status() {
        None => Component {
            status: "disabled",
            detail: Some("no --onextree-url".into()),
            info: serde_json::Value::Null,
        },
        Some(st) => Component {
            status: if bridge_nodes::intelligence::is_degraded(&st) {
                "degraded"
            } else {
                "healthy"
            },
            detail: st.last_error.clone(),
            info: json!({"circuit_breaker": st.breaker.as_str()}),
        },
    };
    let reducer = reducer_component(&app);
    let registry = registry_component(&app).await;
    let witnesses = witnesses_component(&app);
    let components = [
        ("database", &database),
        ("kafka", &kafka),
        ("onextree", &onextree),
        ("reducer", &reducer),
        ("registry", &registry),
        ("witnesses", &witnesses),
    ];
    // Why the service is not simply healthy, one line per component that is not.
    let reasons: Vec<String> = components
        .iter()
        .filter(|(_, c)| c.status == "degraded" || c.status == "unhealthy")
        .map(|(name, c)| {
            format!(
                "{name} {}: {}",
                c.status,
                c.detail.as_deref().unwrap_or("see info")
            )
        })
        .collect();
    let degraded = components.iter().any(|(_, c)| c.status == "degraded");
    let overall = match (&ping, kafka.status) {
        (Err(_), _) | (_, "unhealthy") => "unhealthy",
        (Ok(()), _) if degraded => "degraded",
        (Ok(()), _) => "healthy",
    };
    let data = json!({
        "status": overall,
        "reasons": reasons,
        "components": {"database": database, "kafka": kafka, "onextree": onextree, "reducer": reducer, "registry": registry, "witnesses": witnesses},
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": app.started.elapsed().as_secs(),
    });
    match ping {
        Ok(()) if overall == "unhealthy" => envelope_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            Some(&data),
            Some(&ErrorBody {
                code: "EVENT_BACKLOG",
                message: format!("more than {OUTBOX_BOUND} events wait for Kafka"),
                field: None,
            }),
            None,
        ),
        Ok(()) => Success::ok(data).into_response(),
        Err(e) => unavailable(data, &e),
    }
}

/// `witnesses` (SPEC §13): disabled without `--witness-policy`; degraded while any witness
/// fails (down, slow, refusing), with each one's last error; stamping never waits on it.
fn witnesses_component(app: &App) -> Component {
    let Some(w) = &app.witnessing else {
        return Component {
            status: "disabled",
            detail: Some("no --witness-policy".into()),
            info: serde_json::Value::Null,
        };
    };
    let views = w.views();
    let failing: Vec<String> = views
        .iter()
        .filter_map(|(name, v)| v.last_error.as_ref().map(|e| format!("{name}: {e}")))
        .collect();
    let per: serde_json::Map<String, serde_json::Value> = views
        .into_iter()
        .map(|(name, v)| {
            (
                name,
                json!({
                    "size": v.size,
                    "last_cosigned_at": v.last_cosigned_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    "last_error": v.last_error,
                    "requests": v.requests,
                }),
            )
        })
        .collect();
    let witnessed = w.witnessed().map(|c| c.size);
    let info = json!({
        "quorum": w.policy().quorum_name(),
        "quorum_reachable": w.quorum_reachable(),
        "witnessed_tree_size": witnessed,
        "asks_witnesses": w.is_leader(),
        "witnesses": per,
    });
    Component {
        status: if failing.is_empty() {
            "healthy"
        } else {
            "degraded"
        },
        detail: (!failing.is_empty()).then(|| failing.join("; ")),
        info,
    }
}

/// Outbox depth beyond which the service reports itself unhealthy: Kafka has been away too
/// long for the backlog to be a blip.
const OUTBOX_BOUND: u64 = 1_000_000;

/// `kafka`: disabled without brokers; degraded while the relay cannot reach them; unhealthy
/// only when the outbox backlog passes [`OUTBOX_BOUND`].
fn kafka_component(app: &App, pending: Option<u64>) -> Component {
    let Some(relay) = &app.relay else {
        // Embedded mode: events stay in the local event log (SPEC §1).
        return Component {
            status: "disabled",
            detail: Some("no --kafka-brokers: events stay in the local event log".into()),
            info: json!({"events_pending": pending}),
        };
    };
    let connected = relay.connected.load(std::sync::atomic::Ordering::Relaxed);
    let status = match pending {
        Some(n) if n > OUTBOX_BOUND => "unhealthy",
        _ if !connected => "degraded",
        _ => "healthy",
    };
    Component {
        status,
        detail: (!connected).then(|| {
            relay
                .last_error()
                .unwrap_or_else(|| "not connected yet".into())
        }),
        info: json!({
            "events_pending": pending,
            "events_published": relay.published.load(std::sync::atomic::Ordering::Relaxed),
            "dead_lettered": relay.dead_lettered.load(std::sync::atomic::Ordering::Relaxed),
            "dlq_messages": app.dlq.as_ref().map(|d| d.total.load(std::sync::atomic::Ordering::Relaxed)),
            "dlq_alerts": app.dlq.as_ref().map(|d| d.alerts.load(std::sync::atomic::Ordering::Relaxed)),
        }),
    }
}

/// `registry`: registered nodes by health; degraded while any is UNHEALTHY.
async fn registry_component(app: &App) -> Component {
    match app.registry.list(None, None).await {
        Err(e) => Component {
            status: "unhealthy",
            detail: Some(e.to_string()),
            info: serde_json::Value::Null,
        },
        Ok(nodes) => {
            let unhealthy: Vec<&str> = nodes
                .iter()
                .filter(|n| n.health_status != bridge_nodes::registry::HEALTHY)
                .map(|n| n.node_id.as_str())
                .collect();
            Component {
                status: if unhealthy.is_empty() {
                    "healthy"
                } else {
                    "degraded"
                },
                detail: (!unhealthy.is_empty()).then(|| {
                    format!(
                        "{} node(s) missed their heartbeats: {}",
                        unhealthy.len(),
                        unhealthy.join(", ")
                    )
                }),
                info: json!({"nodes": nodes.len(), "healthy": nodes.len() - unhealthy.len(), "unhealthy": unhealthy}),
            }
        }
    }
}

/// `reducer`: its FSM state and lag; degraded while its last read or save failed.
fn reducer_component(app: &App) -> Component {
    use std::sync::atomic::Ordering::Relaxed;
    let Some(r) = &app.reducer else {
        return Component {
            status: "disabled",
            detail: Some("no reducer in this process".into()),
            info: serde_json::Value::Null,
        };
    };
    let error = r.last_error();
    Component {
        status: if error.is_some() {
            "degraded"
        } else {
            "healthy"
        },
        detail: error,
        info: json!({
            "state": r.state().as_str(),
            "cursors": r.cursors(),
            "lag_events": r.lag.load(Relaxed),
            "items_total": r.items.load(Relaxed),
            "windows_saved": r.windows.load(Relaxed),
            "version_conflicts": r.conflicts.load(Relaxed),
            "windows_replayed": r.replays.load(Relaxed),
            "malformed_events": r.malformed.load(Relaxed),
        }),
    }
}

/// 503 with the data still present, so monitors see which component failed.
fn unavailable(data: serde_json::Value, e: &bridge_store::StoreError) -> Response {
    let error = ErrorBody {
        code: "DATABASE_UNAVAILABLE",
        message: e.to_string(),
        field: None,
    };
    envelope_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "error",
        Some(&data),
        Some(&error),
        None,
    )
}

/// `GET /health/live`: the process answers.
#[utoipa::path(get, path = "/health/live", responses((status = 200, description = "alive")))]
pub(crate) async fn live() -> Success<serde_json::Value> {
    Success::ok(json!({"alive": true}))
}

/// `GET /health/ready`: the database answers. The listener only opens after the contracts
/// loaded and the store applied its migrations, so an answer here implies both.
#[utoipa::path(get, path = "/health/ready", responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
pub(crate) async fn ready(State(app): State<App>) -> Response {
    match app.store().ping().await {
        Ok(()) => Success::ok(json!({"ready": true, "migrations_applied": true})).into_response(),
        Err(e) => unavailable(json!({"ready": false}), &e),
    }
}

/// `GET /metrics`: Prometheus/OpenMetrics text.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(State(app): State<App>) -> Response {
    app.metrics.set_body_budget(&app.body_budget);
    if let Ok(n) = app.store().pending_events().await {
        app.metrics.events_pending.set(n as i64);
    }
    if let Ok(Some(cp)) = app.store().log_checkpoint().await {
        app.metrics
            .log_tree_size
            .set(i64::try_from(cp.size).unwrap_or(i64::MAX));
        let age = (chrono::Utc::now() - cp.created_at).num_milliseconds() as f64 / 1000.0;
        app.metrics.log_checkpoint_age.set(age.max(0.0));
    }
    if let Some(st) = app.orchestrator.intelligence_status() {
        app.metrics.set_breaker("onextree", st.breaker.as_gauge());
    }
    if let Some(pool) = app.store().pool_status() {
        app.metrics.set_pool(&pool);
    }
    if let Some(relay) = &app.relay {
        app.metrics.set_relay(relay);
    }
    if let Some(dlq) = &app.dlq {
        app.metrics.set_dlq(dlq);
    }
    if let Some(r) = &app.reducer {
        app.metrics.set_reducer(r);
    }
    if let Some(state) = app.store().breaker_state() {
        app.metrics.set_breaker("database", state.as_gauge());
    }
    if let Some(w) = &app.witnessing {
        let size = app
            .store()
            .log_checkpoint()
            .await
            .ok()
            .flatten()
            .map_or(0, |c| c.size);
        app.metrics.set_witnessing(w, size);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}

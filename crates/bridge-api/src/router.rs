//! The router: public routes (health, metrics) and protected ones (auth, rate limit), each at
//! the root and under the legacy prefix, inside the context middleware.

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::App;
use crate::error::ApiError;
use crate::handlers::{
    batch, hash, health, keys, log, lookup, namespaces, page, registry, stamp, validate,
};
use crate::middleware::{context, guard, tag_route};
use crate::openapi::openapi_json;
use crate::LEGACY_PREFIX;

fn routes(app: &App) -> Router<App> {
    let public = Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/keys", get(keys::keys))
        .route("/keys/allowed_signers", get(keys::allowed_signers))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/key", get(log::key))
        .route("/log/policy", get(log::policy))
        .route("/log/tile/{*path}", get(log::tile))
        .route("/stamps/{stamp_id}/proof", get(log::stamp_proof));
    let protected = Router::new()
        .route("/stamp", post(stamp::stamp))
        .route("/stamp/batch", post(batch::batch))
        .route("/batch", post(batch::batch))
        .route("/validate", post(validate::validate))
        .route("/hash", post(hash::hash))
        .route("/stamp/{file_hash}", get(lookup::get_stamp))
        .route("/workflows/{workflow_id}", get(lookup::get_workflow))
        .route("/namespaces", get(namespaces::list))
        .route("/namespaces/{namespace}/stats", get(namespaces::stats))
        .route("/namespaces/{namespace}/stamps", get(namespaces::stamps))
        .route(
            "/registry/nodes",
            post(registry::register).get(registry::list),
        )
        .route("/registry/nodes/{node_id}", delete(registry::deregister))
        .route(
            "/registry/nodes/{node_id}/heartbeat",
            post(registry::heartbeat),
        )
        .route("/openapi.json", get(openapi_json))
        .route_layer(from_fn_with_state(app.clone(), guard));
    public.route_layer(from_fn(tag_route)).merge(protected)
}

/// The complete HTTP service.
pub fn router(app: App) -> Router {
    let inner = routes(&app);
    // The page only at the root: its relative links resolve there (and behind a proxy's
    // path prefix), not under the legacy API prefix.
    let page = Router::new()
        .route("/", get(page::index))
        .route("/assets/{file}", get(page::asset))
        .route_layer(from_fn(tag_route));
    let routes = Router::new()
        .merge(page)
        .merge(inner.clone())
        .nest(LEGACY_PREFIX, inner)
        .fallback(|| async { ApiError::not_found("NOT_FOUND", "no such route") })
        .with_state(app.clone());
    // The outer layers wrap the router once, not each route (as `Router::layer` would): axum
    // clones a route's stack of boxed services on every call, so every layer on a route
    // costs allocations per request (docs/benchmarks.md, issue 20).
    let service = ServiceBuilder::new()
        .layer(from_fn_with_state(app, context))
        // Every body is read under limits of our own (extract.rs, `--max-upload-bytes`); the
        // one extractor that would apply axum's 2 MB default, `/hash`'s multipart stream,
        // must not be cut by it.
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                let cause = std::io::Error::other("handler panicked");
                axum::response::IntoResponse::into_response(ApiError::internal(&cause))
            },
        ))
        .service(routes);
    Router::new().fallback_service(service)
}

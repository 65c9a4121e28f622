//! The outermost middleware: gives every request a correlation id and timing, turns any bare
//! framework error into an envelope, echoes `X-Correlation-ID`, records
//! `api_request_duration_seconds` and writes one log line.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::app::App;
use crate::envelope::{Enveloped, RequestCtx, CTX};
use crate::error::ApiError;
use crate::metrics::RequestLabels;
use crate::LEGACY_PREFIX;

/// Header carrying the correlation id in and out.
pub(crate) static CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The route template that matched, carried from the inner router to the outer middleware
/// (a `MatchedPath` is a shared string: no copy per request).
#[derive(Clone)]
struct RouteTag(MatchedPath);

impl RouteTag {
    /// The template without the legacy prefix: both spellings are one route.
    fn route(&self) -> &str {
        let r = self.0.as_str();
        r.strip_prefix(LEGACY_PREFIX).unwrap_or(r)
    }
}

/// Route-level layer of the public routes: records which route template matched.
pub(crate) async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    tagged(next.run(req).await, route)
}

/// `resp` marked with the route template that matched (for the outer layer's labels).
pub(super) fn tagged(mut resp: Response, route: Option<MatchedPath>) -> Response {
    if let Some(r) = route {
        resp.extensions_mut().insert(RouteTag(r));
    }
    resp
}

/// A method's label without an allocation per request.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Outermost layer (see module doc).
pub(crate) async fn context(State(app): State<App>, req: Request, next: Next) -> Response {
    let correlation_id = req
        .headers()
        .get(&CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .unwrap_or_else(Uuid::new_v4);
    let ctx = RequestCtx {
        correlation_id,
        started: Instant::now(),
    };
    let method = req.method().clone();
    // The body budget's scope ends once the response is built: what the request held of it
    // is given back then.
    let mut resp = CTX
        .scope(
            ctx.clone(),
            crate::budget::scope(async move {
                let resp = next.run(req).await;
                let status = resp.status();
                if resp.extensions().get::<Enveloped>().is_some()
                    || !(status.is_client_error() || status.is_server_error())
                {
                    return resp;
                }
                let allow = resp.headers().get(header::ALLOW).cloned();
                let mut wrapped = ApiError::from_status(status).into_response();
                if let Some(a) = allow {
                    wrapped.headers_mut().insert(header::ALLOW, a);
                }
                wrapped
            }),
        )
        .await;
    let mut id = Uuid::encode_buffer();
    let id: &str = correlation_id.hyphenated().encode_lower(&mut id);
    resp.headers_mut().insert(
        CORRELATION_HEADER.clone(),
        HeaderValue::from_str(id).expect("a UUID is a valid header value"),
    );
    let elapsed = ctx.started.elapsed();
    let route = resp
        .extensions()
        .get::<RouteTag>()
        .map(RouteTag::route)
        .unwrap_or("unmatched");
    let status = resp.status().as_u16();
    app.metrics
        .request_seconds
        .get_or_create(&RequestLabels {
            method: method_label(&method),
            route: route.to_owned(),
            status,
        })
        .observe(elapsed.as_secs_f64());
    if app.config.log_requests {
        // Plain strings, not `Display` values: formatting those cost a fifth of the line.
        tracing::info!(
            correlation_id = id,
            method = method.as_str(),
            route,
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
    resp
}

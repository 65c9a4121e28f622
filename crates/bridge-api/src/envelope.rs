//! The response envelope and the per-request context that fills its `metadata`.

use std::time::Instant;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

/// Per-request context, set by the context middleware for the duration of the request.
#[derive(Clone, Debug)]
pub(crate) struct RequestCtx {
    /// Correlation id (from `X-Correlation-ID` if a UUID, else generated).
    pub(crate) correlation_id: Uuid,
    /// When the request arrived.
    pub(crate) started: Instant,
}

tokio::task_local! {
    // Request-scoped (not global): lets every response, including extractor rejections and
    // panics turned into errors, carry the request's correlation id and timing.
    pub(crate) static CTX: RequestCtx;
}

/// Context of the current request, or a fresh one outside a request.
pub(crate) fn current_ctx() -> RequestCtx {
    CTX.try_with(Clone::clone).unwrap_or_else(|_| RequestCtx {
        correlation_id: Uuid::new_v4(),
        started: Instant::now(),
    })
}

/// Marks a response whose body is already an envelope.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Enveloped;

#[derive(Serialize)]
struct Metadata {
    correlation_id: Uuid,
    processing_time_ms: f64,
}

/// The `error` member of an envelope.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ErrorBody {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    status: &'static str,
    data: Option<&'a T>,
    error: Option<&'a ErrorBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    metadata: Metadata,
}

/// Serialises an envelope into a JSON response with `status`.
pub(crate) fn envelope_response<T: Serialize>(
    status: StatusCode,
    kind: &'static str,
    data: Option<&T>,
    error: Option<&ErrorBody>,
    message: Option<&str>,
) -> Response {
    let ctx = current_ctx();
    let env = Envelope {
        status: kind,
        data,
        error,
        message,
        metadata: Metadata {
            correlation_id: ctx.correlation_id,
            processing_time_ms: ctx.started.elapsed().as_secs_f64() * 1000.0,
        },
    };
    // Sized for a typical envelope: growing from empty took four reallocations.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, &env).expect("envelope serialises");
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.extensions_mut().insert(Enveloped);
    resp
}

/// A successful (or partial) response: `data` in the envelope with this status code.
pub(crate) struct Success<T: Serialize> {
    pub(crate) status: StatusCode,
    pub(crate) data: T,
}

impl<T: Serialize> Success<T> {
    /// 200 OK with `data`.
    pub(crate) fn ok(data: T) -> Self {
        Self {
            status: StatusCode::OK,
            data,
        }
    }
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        let kind = if self.status == StatusCode::MULTI_STATUS {
            "partial"
        } else {
            "success"
        };
        envelope_response(self.status, kind, Some(&self.data), None, None)
    }
}

//! `ApiError`: every failure a handler can answer with, mapped once to a status code and an
//! envelope with a precise `error.code`. Unexpected errors are logged with their cause and
//! answered opaquely.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bridge_core::DomainError;
use bridge_nodes::orchestrator::step::StepFailure;
use bridge_nodes::NodeError;
use bridge_store::StoreError;

use crate::envelope::{envelope_response, ErrorBody};

/// An error answered to the client.
#[derive(Clone, Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
            },
            retry_after_secs: None,
        }
    }

    /// Names the request field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: missing or wrong API key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// 403: the key may not use this namespace.
    pub fn namespace_forbidden(ns: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "NAMESPACE_FORBIDDEN",
            format!("this API key may not use namespace '{ns}'"),
        )
        .with_field("namespace")
    }

    /// 403 for a key that may not use this route.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 409: the resource changed under the request.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 404 with a specific code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 413 with a specific code.
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// 415: wrong `Content-Type`.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            message,
        )
    }

    /// 422 with a specific code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("rate limit exceeded; retry after {retry_after_secs} s"),
        );
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// The same error, telling the client when to retry (`Retry-After`).
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// 503: a dependency is down.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// 500, opaque to the client; the cause goes to the log.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %error_chain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal error; see the logs with the correlation id",
        )
    }

    /// A generic envelope for a bare status from the framework (405, …).
    pub(crate) fn from_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            StatusCode::REQUEST_TIMEOUT => "REQUEST_TIMEOUT",
            s if s.is_server_error() => "INTERNAL_ERROR",
            _ => "BAD_REQUEST",
        };
        Self::new(
            status,
            code,
            status.canonical_reason().unwrap_or("error").to_owned(),
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error.code`.
    pub fn code(&self) -> &'static str {
        self.body.code
    }

    pub(crate) fn body(&self) -> &crate::envelope::ErrorBody {
        &self.body
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = envelope_response::<()>(self.status, "error", None, Some(&self.body), None);
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let (code, field) = match &e {
            DomainError::InvalidNamespace(_) => ("INVALID_NAMESPACE", "namespace"),
            DomainError::InvalidFilePath(_) => ("INVALID_FILE_PATH", "file_path"),
            DomainError::InvalidHash => ("INVALID_HASH_FORMAT", "file_hash"),
            DomainError::InvalidStampType(_) => ("INVALID_STAMP_TYPE", "stamp_type"),
        };
        Self::bad_request(code, e.to_string()).with_field(field)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(msg) => Self::unavailable("DATABASE_UNAVAILABLE", msg),
            other => Self::internal(&other),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Store(s) => s.into(),
            NodeError::Rejected(msg) => Self::unprocessable("INPUT_REJECTED", msg),
            NodeError::StepFailed { step, failure: StepFailure::Timeout(ms), workflow_id } => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "STEP_TIMEOUT",
                format!("step {step} timed out after {ms} ms; workflow {workflow_id} recorded as FAILED"),
            ),
            NodeError::StepFailed { step, failure: StepFailure::Error(why), workflow_id } => Self::unavailable(
                "STEP_FAILED",
                format!("step {step} failed: {why}; workflow {workflow_id} recorded as FAILED"),
            ),
            e @ (NodeError::Fsm(_) | NodeError::Contract(_)) => Self::internal(&e),
        }
    }
}

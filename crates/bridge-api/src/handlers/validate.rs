//! `POST /validate`: find the stamp, remove it exactly, hash the rest, compare.

use axum::extract::State;
use axum::Extension;
use bridge_core::stamp::{self, ParsedStamp};
use bridge_core::{Blake3Hex, Namespace};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::envelope::Success;
use crate::error::ApiError;
use crate::extract::{decode_content, StrictJson};
use crate::middleware::Principal;

/// Body of `POST /validate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidateBody {
    content: String,
    namespace: Option<String>,
    expected_hash: Option<String>,
    content_encoding: Option<String>,
}

/// `data` of a validation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValidateData {
    is_valid: bool,
    stamps_found: usize,
    current_hash: String,
    #[schema(value_type = Option<Object>)]
    stamp: Option<ParsedStamp>,
    /// VALID, NO_STAMP, HASH_MISMATCH, MALFORMED_STAMP, UNSUPPORTED_VERSION or NAMESPACE_MISMATCH.
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

/// `POST /validate`.
#[utoipa::path(post, path = "/validate", request_body = ValidateBody,
    responses((status = 200, description = "validation result (also for unstamped or tampered content)"), (status = 400), (status = 413)))]
pub(crate) async fn validate(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictJson(body): StrictJson<ValidateBody>,
) -> Result<Success<ValidateData>, ApiError> {
    let namespace = body
        .namespace
        .as_deref()
        .map(Namespace::parse)
        .transpose()?;
    if let Some(ns) = &namespace {
        principal.check_namespace(ns.as_str())?;
    }
    let expected = body
        .expected_hash
        .as_deref()
        .map(|h| Blake3Hex::parse(h).map_err(|e| ApiError::from(e).with_field("expected_hash")))
        .transpose()?;
    let content = decode_content(
        body.content,
        body.content_encoding.as_deref(),
        app.config.max_content_bytes,
    )?;
    let v = stamp::validate(&content, expected.as_ref());
    let mut reason = v.reason.as_str();
    let mut is_valid = v.is_valid();
    let mut detail = v.detail;
    if let (Some(ns), Some(found)) = (
        &namespace,
        v.stamp.as_ref().and_then(|s| s.namespace.as_deref()),
    ) {
        if is_valid && ns.as_str() != found {
            is_valid = false;
            reason = "NAMESPACE_MISMATCH";
            detail = Some(format!("stamp belongs to namespace '{found}'"));
        }
    }
    Ok(Success::ok(ValidateData {
        is_valid,
        stamps_found: v.stamps_found,
        current_hash: v.current_hash.to_string(),
        stamp: v.stamp,
        reason,
        detail,
        line: v.line,
    }))
}

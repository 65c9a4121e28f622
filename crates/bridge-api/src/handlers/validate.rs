//! `POST /validate`: find the stamp, remove it exactly, hash the rest, compare.

use axum::extract::State;
use axum::Extension;
use bridge_core::signature::Trust;
use bridge_core::stamp::{self, ParsedStamp, Reason};
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
    #[schema(min_length = 1)]
    content: String,
    #[schema(pattern = r"^[a-zA-Z0-9_.-]{1,255}$")]
    namespace: Option<String>,
    #[schema(pattern = r"^(blake3:)?[0-9a-f]{64}$")]
    expected_hash: Option<String>,
    #[schema(pattern = r"^(utf8|utf-8|base64)$")]
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
    /// VALID, NO_STAMP, HASH_MISMATCH, MALFORMED_STAMP, UNSUPPORTED_VERSION,
    /// SIGNATURE_INVALID or NAMESPACE_MISMATCH.
    reason: &'static str,
    /// UNSIGNED (no signature that verifies), UNTRUSTED_KEY (verifies, but not by a key of
    /// this service) or TRUSTED (signed by one of `GET /keys`); with a witness policy
    /// (SPEC §13) the registered stamp is LOGGED (its entry is in this service's log) or
    /// WITNESSED (a checkpoint covering it meets the policy).
    #[schema(pattern = r"^(UNSIGNED|UNTRUSTED_KEY|TRUSTED|LOGGED|WITNESSED)$")]
    trust: &'static str,
    /// Id of the key whose signature verified.
    signing_key: Option<String>,
    /// Whether the stamp is the one stored for its namespace and hash; null when that cannot
    /// be told (no namespace known, one the API key may not read, or the store unreachable).
    registered: Option<bool>,
    /// The registered stamp's index in the transparency log.
    #[serde(skip_serializing_if = "Option::is_none")]
    log_index: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

/// `POST /validate`.
#[utoipa::path(post, path = "/validate", request_body = ValidateBody,
    responses((status = 200, description = "validation result (also for unstamped or tampered content)", body = ValidateData), (status = 400), (status = 413)))]
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
    let trust = v.trust(app.keys.keyring());
    if v.signed_by.is_some() || v.reason == Reason::SignatureInvalid {
        app.metrics.signature_checked(match trust {
            _ if v.reason == Reason::SignatureInvalid => "invalid",
            Trust::UntrustedKey => "untrusted_key",
            _ => "trusted",
        });
    }
    let (registered, log_index) =
        registered(&app, &principal, namespace.as_ref(), v.stamp.as_ref()).await;
    // With a witness policy (SPEC §13): the registered stamp's entry is in our log, and
    // witnessed once a checkpoint that meets the policy covers it.
    let witnessing = app.witnessing.as_ref().filter(|w| w.enforced());
    let trust = match (
        trust,
        registered,
        log_index.and_then(|i| u64::try_from(i).ok()),
        witnessing,
    ) {
        (Trust::Trusted, Some(true), Some(i), Some(w)) => {
            if w.witnessed().is_some_and(|c| c.size > i) {
                Trust::Witnessed
            } else {
                Trust::Logged
            }
        }
        (t, ..) => t,
    };
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
        trust: trust.as_str(),
        signing_key: v.signed_by.map(|k| k.to_string()),
        registered,
        log_index,
        detail,
        line: v.line,
    }))
}

/// Whether `found` is the stamp stored for its namespace and hash. Only for a namespace the
/// key may read (else it would tell one tenant about another's stamps); a store that cannot
/// answer leaves it unknown rather than failing a validation that needs no store.
async fn registered(
    app: &App,
    principal: &Principal,
    asked: Option<&Namespace>,
    found: Option<&ParsedStamp>,
) -> (Option<bool>, Option<i64>) {
    let Some(found) = found else {
        return (None, None);
    };
    let ns = match (asked, found.namespace.as_deref()) {
        (Some(ns), _) => ns.as_str().to_owned(),
        (None, Some(ns)) => ns.to_owned(),
        (None, None) => return (None, None),
    };
    if principal.check_namespace(&ns).is_err() {
        return (None, None);
    }
    match app.store().get_stamp(Some(&ns), &found.file_hash).await {
        Ok(Some(s)) if found.stamp_id.as_deref() == Some(s.stamp_id.to_string().as_str()) => {
            (Some(true), s.log_index)
        }
        Ok(_) => (Some(false), None),
        Err(e) => {
            tracing::warn!(error = %e, "validate: cannot look the stamp up");
            (None, None)
        }
    }
}

//! `POST /stamp`: validate the request, run the stamping pipeline, answer 201 (new) or 200
//! (the same content was already stamped in this namespace).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use base64::Engine;
use bridge_core::stamp::METADATA_VERSION;
use bridge_core::{Namespace, RelativePath, StampType};
use bridge_nodes::{StampInput, StampResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::envelope::{current_ctx, Success};
use crate::error::ApiError;
use crate::extract::{decode_content, StrictJson, StrictQuery};
use crate::handlers::log::{proof_of, wait_witnessed, LogData};
use crate::middleware::Principal;

/// Longest accepted `op_id`.
const MAX_OP_ID: usize = 255;
/// Largest accepted `metadata` object, serialised.
const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Body of `POST /stamp`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StampBody {
    /// The content (UTF-8 text, or base64 with `content_encoding: "base64"`), not empty.
    #[schema(min_length = 1)]
    pub(crate) content: String,
    /// Tenant namespace.
    #[schema(pattern = r"^[a-zA-Z0-9_.-]{1,255}$")]
    pub(crate) namespace: String,
    /// Relative path (no leading `/` or `\`, no drive letter, no `..` component, no control
    /// characters), used for type detection and stored.
    #[schema(
        pattern = r"^(?![/\\])(?![\x00-\x7f]:)(?!(.*[/\\])?\.\.([/\\]|$))[^\x00-\x1f\x7f-\x9f]{1,4096}$"
    )]
    pub(crate) file_path: Option<String>,
    /// `rich` (default) or `lightweight`.
    #[schema(pattern = r"^(rich|lightweight)$")]
    pub(crate) stamp_type: Option<String>,
    /// `utf8` (default) or `base64` (then `content` must be canonical, padded base64).
    #[schema(pattern = r"^(utf8|utf-8|base64)$")]
    pub(crate) content_encoding: Option<String>,
    /// Client metadata, a JSON object.
    #[schema(value_type = Option<Object>)]
    pub(crate) metadata: Option<serde_json::Value>,
    /// Client operation id.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")]
    pub(crate) op_id: Option<String>,
}

/// `data` of a stamp response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StampData {
    stamp_id: String,
    file_hash: String,
    namespace: String,
    content_type: String,
    file_size: i64,
    file_path: Option<String>,
    stamp_type: String,
    /// Stamped content in the request's encoding; null for sidecar types.
    stamped_content: Option<String>,
    /// The stamp text (or the sidecar document).
    stamp: String,
    metadata_version: &'static str,
    workflow_id: Option<String>,
    workflow_state: &'static str,
    created_at: String,
    processing_time_ms: f64,
    deduplicated: bool,
    /// Id (`SHA256:…`) of the key that signed the stamp; null for stamps made unsigned.
    signing_key: Option<String>,
    /// The SSHSIG over the stamp's statement (base64); also a line of `stamp`.
    signature: Option<String>,
    /// Where the stamp is in the transparency log, with its proof (null: unsigned stamps).
    log: Option<LogData>,
}

/// A request turned into a pipeline input, plus how to encode the stamped content back.
pub(crate) struct Prepared {
    pub(crate) input: StampInput,
    pub(crate) base64: bool,
}

/// Validates a stamp body (also used per batch item).
pub(crate) fn prepare(
    body: StampBody,
    principal: &Principal,
    app: &App,
) -> Result<Prepared, ApiError> {
    let namespace = Namespace::parse(&body.namespace)?;
    principal.check_namespace(namespace.as_str())?;
    let file_path = body
        .file_path
        .as_deref()
        .map(RelativePath::parse)
        .transpose()?;
    let stamp_type = body
        .stamp_type
        .as_deref()
        .map(StampType::parse)
        .transpose()?
        .unwrap_or_default();
    if let Some(op) = &body.op_id {
        if op.is_empty() || op.chars().count() > MAX_OP_ID || op.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "INVALID_OP_ID",
                "op_id must be 1-255 characters without control characters",
            )
            .with_field("op_id"));
        }
    }
    if let Some(m) = &body.metadata {
        if !m.is_object() {
            return Err(ApiError::unprocessable(
                "INVALID_METADATA",
                "metadata must be a JSON object",
            )
            .with_field("metadata"));
        }
        if m.to_string().len() > MAX_METADATA_BYTES {
            return Err(
                ApiError::too_large("METADATA_TOO_LARGE", "metadata exceeds 64 KiB")
                    .with_field("metadata"),
            );
        }
    }
    let base64 = body.content_encoding.as_deref() == Some("base64");
    let content = decode_content(
        body.content,
        body.content_encoding.as_deref(),
        app.config.max_content_bytes,
    )?;
    Ok(Prepared {
        input: StampInput {
            content,
            namespace,
            file_path,
            stamp_type,
            metadata: body.metadata,
            op_id: body.op_id,
            correlation_id: current_ctx().correlation_id,
        },
        base64,
    })
}

/// Query of `POST /stamp` and `POST /stamp/batch`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StampQuery {
    /// `witnessed`: answer with a proof against a checkpoint whose cosignatures meet the
    /// service's witness policy, waiting for one up to `--witness-wait`; past it (or without
    /// a policy) the log-signed proof, with `log.witnessed: false`.
    #[param(value_type = Option<String>, pattern = r"^witnessed$")]
    wait: Option<Wait>,
}

/// What a stamp request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Wait {
    /// A witnessed checkpoint.
    Witnessed,
}

impl StampQuery {
    /// Whether the answer waits for a witnessed proof.
    pub(crate) fn witnessed(&self) -> bool {
        self.wait == Some(Wait::Witnessed)
    }
}

/// Runs the pipeline for a prepared request and shapes the response data; with `witnessed`,
/// waits for a witnessed proof of a new entry (SPEC §13).
pub(crate) async fn run(
    app: &App,
    prepared: Prepared,
    witnessed: bool,
) -> Result<(StatusCode, StampData), ApiError> {
    let result = app.orchestrator.stamp(prepared.input).await?;
    app.metrics
        .hash_seconds
        .observe(result.hash_time.as_secs_f64());
    if !result.deduplicated {
        app.metrics.stamps_created.inc();
        if result.record.signature.is_some() {
            app.metrics.stamps_signed.inc();
        }
    }
    let status = if result.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let index = result.record.log_index.and_then(|i| u64::try_from(i).ok());
    let log = match (index, &result.record.log_proof) {
        (Some(index), _) if witnessed => match wait_witnessed(app, index).await? {
            Some(w) => Some(w),
            None => Some(match &result.record.log_proof {
                Some(proof) => LogData::of(index, proof),
                None => proof_of(app, index).await?,
            }),
        },
        // Logged by this request: the writer's own proof, against its commit's checkpoint.
        (Some(index), Some(proof)) => Some(LogData::of(index, proof)),
        (Some(index), None) => Some(proof_of(app, index).await?),
        (None, _) => None,
    };
    Ok((status, data(result, prepared.base64, log)))
}

fn data(r: StampResult, base64: bool, log: Option<LogData>) -> StampData {
    let stamped_content = r.stamped_content.map(|bytes| {
        if base64 {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        } else {
            // UTF-8 input plus an ASCII/UTF-8 stamp is UTF-8.
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    });
    let rec = r.record;
    StampData {
        stamp_id: rec.stamp_id.to_string(),
        file_hash: rec.file_hash,
        namespace: rec.namespace,
        content_type: rec.content_type,
        file_size: rec.file_size,
        file_path: rec.file_path,
        stamp_type: rec.stamp_type,
        stamped_content,
        stamp: rec.stamp,
        metadata_version: METADATA_VERSION,
        workflow_id: rec.workflow_id.map(|w| w.to_string()),
        workflow_state: "COMPLETED",
        created_at: rec
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        processing_time_ms: current_ctx().started.elapsed().as_secs_f64() * 1000.0,
        deduplicated: r.deduplicated,
        signing_key: rec.signing_key,
        signature: rec.signature,
        log,
    }
}

/// `POST /stamp`.
#[utoipa::path(post, path = "/stamp", request_body = StampBody, params(StampQuery),
    responses((status = 201, description = "new stamp", body = StampData), (status = 200, description = "already stamped: the first stamp", body = StampData),
              (status = 400, description = "malformed"), (status = 401), (status = 403), (status = 413), (status = 415), (status = 422, description = "INVALID_METADATA: metadata is not a JSON object"), (status = 429), (status = 503)))]
pub(crate) async fn stamp(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictQuery(query): StrictQuery<StampQuery>,
    StrictJson(body): StrictJson<StampBody>,
) -> Result<Success<StampData>, ApiError> {
    let prepared = prepare(body, &principal, &app)?;
    let (status, data) = run(&app, prepared, query.witnessed()).await?;
    Ok(Success { status, data })
}

//! `POST /hash`: BLAKE3 of a raw body, a multipart field `file`, or JSON `{content}`.
//! Uploads are streamed: each chunk is hashed as it arrives and dropped (a body of one chunk
//! when it ends), so memory stays flat whatever the size; only the first bytes are kept for
//! type detection.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use bridge_core::hash::hash_bytes;
use bridge_core::Blake3Hex;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::envelope::Success;
use crate::error::ApiError;
use crate::extract::{
    declared_length, decode_content, decode_json, discard_body, media_type, read_body,
    reject_declared_length,
};

/// Bytes kept from the start of an upload for magic-number detection.
const SNIFF_BYTES: usize = 8192;

/// JSON form of `POST /hash`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HashBody {
    #[schema(min_length = 1)]
    content: String,
    #[schema(pattern = r"^(utf8|utf-8|base64)$")]
    content_encoding: Option<String>,
}

/// `data` of a hash response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HashData {
    pub(crate) file_hash: String,
    file_size: u64,
    content_type: String,
    execution_time_ms: f64,
}

/// Incremental hashing of a stream of chunks with a size limit.
///
/// A body that arrives as one chunk (a small upload usually does) is hashed in one call when
/// it ends, and its first bytes for type detection are that chunk itself. Only a second chunk
/// brings in a `blake3::Hasher` (1.9 KB), boxed: kept inline it made every request's future
/// that much larger, and that future is allocated and copied whole per request (past glibc's
/// small-size cache, so each request also ran `malloc_consolidate`; docs/benchmarks.md).
pub(crate) struct Streamed {
    first: Bytes,
    rest: Option<Box<Incremental>>,
    size: u64,
}

/// The state of a body of more than one chunk.
struct Incremental {
    hasher: blake3::Hasher,
    head: Vec<u8>,
}

impl Incremental {
    fn update(&mut self, chunk: &[u8]) {
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
    }
}

impl Streamed {
    fn new() -> Self {
        Self {
            first: Bytes::new(),
            rest: None,
            size: 0,
        }
    }

    fn push(&mut self, chunk: Bytes, limit: u64) -> Result<(), ApiError> {
        self.size += chunk.len() as u64;
        if self.size > limit {
            return Err(ApiError::too_large(
                "PAYLOAD_TOO_LARGE",
                format!("upload exceeds {limit} bytes"),
            ));
        }
        if let Some(rest) = &mut self.rest {
            rest.update(&chunk);
        } else if self.first.is_empty() {
            self.first = chunk;
        } else if !chunk.is_empty() {
            let mut rest = Box::new(Incremental {
                hasher: blake3::Hasher::new(),
                head: Vec::with_capacity(SNIFF_BYTES),
            });
            rest.update(&std::mem::take(&mut self.first));
            rest.update(&chunk);
            self.rest = Some(rest);
        }
        Ok(())
    }

    pub(crate) fn finish(self, started: Instant, file_name: Option<&str>) -> HashData {
        let (hash, head): (Blake3Hex, &[u8]) = match &self.rest {
            Some(rest) => (rest.hasher.finalize().into(), &rest.head),
            None => (
                hash_bytes(&self.first),
                &self.first[..self.first.len().min(SNIFF_BYTES)],
            ),
        };
        HashData {
            file_hash: hash.to_string(),
            file_size: self.size,
            content_type: bridge_core::detect(head, file_name).content_type,
            execution_time_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

pub(crate) async fn hash_stream<S, E>(mut stream: S, limit: u64) -> Result<Streamed, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut acc = Streamed::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request("BODY_READ_FAILED", format!("could not read upload: {e}"))
        })?;
        acc.push(chunk, limit)?;
    }
    Ok(acc)
}

/// The forms of body `POST /hash` takes, by `Content-Type`.
enum Form {
    Raw,
    Multipart,
    Json,
    Other(String),
}

impl Form {
    fn of(req: &Request) -> Self {
        match media_type(req.headers()).as_deref() {
            None | Some("application/octet-stream") => Self::Raw,
            Some("multipart/form-data") => Self::Multipart,
            Some("application/json") => Self::Json,
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

/// `POST /hash`.
#[utoipa::path(post, path = "/hash",
    request_body(content = HashBody, description = "raw application/octet-stream body, multipart field `file`, or JSON"),
    responses((status = 200, description = "hash of the content", body = HashData), (status = 400), (status = 413), (status = 415)))]
pub(crate) async fn hash(
    State(app): State<App>,
    req: Request,
) -> Result<Success<HashData>, ApiError> {
    let started = Instant::now();
    let limit = app.config.max_upload_bytes;
    reject_declared_length(req.headers(), limit)?;
    let data = match Form::of(&req) {
        // The other forms run boxed, in futures of their own: inline, their states (a
        // multipart parser, a JSON document) would size the future of every raw upload too.
        Form::Multipart => Box::pin(hash_multipart(req, limit, started)).await?,
        Form::Json => {
            return Box::pin(hash_json(&app, req, started))
                .await
                .map(Success::ok)
        }
        Form::Raw => {
            let acc = hash_stream(Body::into_data_stream(req.into_body()), limit).await?;
            acc.finish(started, None)
        }
        Form::Other(other) => {
            let message = format!(
                "/hash takes application/octet-stream, multipart/form-data or application/json, not {other}"
            );
            discard_body(req.into_body(), app.config.json_body_limit()).await;
            return Err(ApiError::unsupported_media_type(message));
        }
    };
    // A stream is hashed as it arrives: its hashing time is the request's.
    app.metrics
        .hash_seconds
        .observe(data.execution_time_ms / 1000.0);
    Ok(Success::ok(data))
}

/// The multipart form: exactly one field, `file`, streamed.
async fn hash_multipart(req: Request, limit: u64, started: Instant) -> Result<HashData, ApiError> {
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request("INVALID_MULTIPART", e.body_text()))?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request("INVALID_MULTIPART", e.body_text())
    };
    // Anything but `file` is a mistake the client should hear of (the JSON form refuses
    // unknown fields too).
    let unknown = |name: Option<&str>| {
        ApiError::bad_request(
            "UNKNOWN_FIELD",
            format!(
                "multipart body may hold only the field 'file', not {:?}",
                name.unwrap_or("").chars().take(64).collect::<String>()
            ),
        )
    };
    let field = mp.next_field().await.map_err(bad)?.ok_or_else(|| {
        ApiError::bad_request("MISSING_FIELD", "multipart body has no field 'file'")
            .with_field("file")
    })?;
    if field.name() != Some("file") {
        return Err(unknown(field.name()));
    }
    let name = field.file_name().map(str::to_owned);
    let acc = hash_stream(field, limit).await?;
    if let Some(extra) = mp.next_field().await.map_err(bad)? {
        return Err(unknown(extra.name()));
    }
    Ok(acc.finish(started, name.as_deref()))
}

/// The JSON form `{content, content_encoding}`, read whole within the JSON limit.
async fn hash_json(app: &App, req: Request, started: Instant) -> Result<HashData, ApiError> {
    let declared = declared_length(req.headers());
    let bytes = read_body(
        req.into_body(),
        app.config.json_body_limit(),
        declared,
        &app.body_budget,
    )
    .await?;
    let body: HashBody = decode_json(&bytes)?;
    let content = decode_content(
        body.content,
        body.content_encoding.as_deref(),
        app.config.max_content_bytes,
    )?;
    let t = Instant::now();
    let hash = hash_bytes(&content);
    app.metrics.hash_seconds.observe(t.elapsed().as_secs_f64());
    Ok(HashData {
        file_hash: hash.to_string(),
        file_size: content.len() as u64,
        content_type: bridge_core::detect(&content, None).content_type,
        execution_time_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

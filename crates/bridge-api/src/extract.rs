//! Strict request decoding: JSON only with a JSON content type, bounded size, unknown fields
//! rejected with the field named; content decoding (utf8/base64) with the content limit.

use std::borrow::Cow;

use axum::body::{Body, BodyDataStream};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::budget::BodyBudget;
use crate::error::ApiError;

/// A JSON body decoded strictly, within the single-request body limit.
pub(crate) struct StrictJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<App> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &App) -> Result<Self, ApiError> {
        let limit = app.config.json_body_limit();
        read_json(req, limit, &app.body_budget)
            .await
            .map(StrictJson)
    }
}

/// A query string decoded into `T`; a bad one is a 400 `INVALID_QUERY` naming the problem.
pub(crate) struct StrictQuery<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequestParts<App> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, app)
            .await
            .map(|Query(q)| StrictQuery(q))
            .map_err(|e| ApiError::bad_request("INVALID_QUERY", e.body_text()))
    }
}

/// Whether the request says its body is JSON.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|m| {
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    })
}

/// The media type of the request, lowercased, without parameters (borrowed when it is
/// lowercase already, as it nearly always is).
pub(crate) fn media_type(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let m = v.split(';').next().unwrap_or("").trim();
    Some(if m.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(m.to_ascii_lowercase())
    } else {
        Cow::Borrowed(m)
    })
}

/// Reads and decodes a JSON body of at most `limit` bytes, held within `budget`.
pub(crate) async fn read_json<T: DeserializeOwned>(
    req: Request,
    limit: usize,
    budget: &BodyBudget,
) -> Result<T, ApiError> {
    if !is_json(req.headers()) {
        discard_body(req.into_body(), limit).await;
        return Err(ApiError::unsupported_media_type(
            "expected Content-Type: application/json",
        ));
    }
    let declared = declared_length(req.headers());
    let bytes = read_body(req.into_body(), limit, declared, budget).await?;
    decode_json(&bytes)
}

/// Reads and drops a body of up to `limit` bytes before an early error answer, so that a
/// client still sending reads the answer instead of a reset connection. Larger bodies are not
/// drained: the connection is closed instead.
pub(crate) async fn discard_body(body: Body, limit: usize) {
    drain(body.into_data_stream(), limit).await;
}

/// Reads and drops chunks (none is kept) until the body ends, fails, or passes `limit`.
async fn drain(mut chunks: BodyDataStream, limit: usize) {
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = chunks.next().await {
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            return;
        }
    }
}

/// The body's length as its `Content-Length` header declares it, if it does.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Answers 413 at once when `Content-Length` already says the body is too large.
pub(crate) fn reject_declared_length(headers: &HeaderMap, limit: u64) -> Result<(), ApiError> {
    match declared_length(headers) {
        Some(n) if n > limit => Err(declared_too_large(n, limit)),
        _ => Ok(()),
    }
}

fn declared_too_large(n: u64, limit: u64) -> ApiError {
    ApiError::too_large(
        "PAYLOAD_TOO_LARGE",
        format!("request body of {n} bytes exceeds {limit} bytes"),
    )
}

/// How much of a body refused for want of budget is still read (and dropped) so that a
/// client sending a small one reads the 503. A larger one's connection is closed instead:
/// draining it would cost the connection's read buffer (hyper grows it to ~400 KiB while a body
/// streams in), and a thousand refused 10 MiB bodies drained at once held 550 MiB of them
/// (docs/benchmarks.md, issue 20).
const DRAIN_WHEN_BUSY: usize = 64 * 1024;

/// Collects a body, answering 413 past `limit` without buffering more than that, and 503
/// when the server's `budget` of held bodies cannot take it (up to [`DRAIN_WHEN_BUSY`] of the
/// rest is then drained, not kept, so that the client reads the answer). A body of `declared` length (its
/// `Content-Length`; 413 at once past `limit`, unread) takes its whole share of the budget
/// before a byte is read: a thousand large bodies then either fit whole or are refused at
/// once, instead of each holding part of the budget and none completing. A body of unknown
/// length is charged as it arrives. The bytes count against the budget until the request's
/// handling ends (see `budget`).
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
    declared: Option<u64>,
    budget: &BodyBudget,
) -> Result<Bytes, ApiError> {
    // A body the whole budget cannot hold would never be taken: that is a limit too.
    let limit = limit.min(budget.capacity());
    let mut chunks = body.into_data_stream();
    let mut reserved = 0usize;
    if let Some(n) = declared {
        // Refused at once, not read: `Content-Length` already says it is too large.
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= limit)
            .ok_or_else(|| declared_too_large(n, limit as u64))?;
        if let Err(busy) = budget.charge(n) {
            drain(chunks, DRAIN_WHEN_BUSY).await;
            return Err(busy);
        }
        reserved = n;
    }
    let mut parts: Vec<Bytes> = Vec::new();
    let mut size = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "BODY_READ_FAILED",
                format!("could not read request body: {e}"),
            )
        })?;
        size = size.saturating_add(chunk.len());
        if size > limit {
            return Err(ApiError::too_large(
                "PAYLOAD_TOO_LARGE",
                format!("request body exceeds {limit} bytes"),
            ));
        }
        if size > reserved {
            if let Err(busy) = budget.charge(size - reserved) {
                drop(parts);
                drain(chunks, DRAIN_WHEN_BUSY).await;
                return Err(busy);
            }
            reserved = size;
        }
        parts.push(chunk);
    }
    Ok(match parts.len() {
        // One chunk (the usual small body) is passed on without a copy.
        0 | 1 => parts.pop().unwrap_or_default(),
        _ => {
            let mut whole = BytesMut::with_capacity(size);
            for part in parts {
                whole.extend_from_slice(&part);
            }
            whole.freeze()
        }
    })
}

/// Decodes JSON, mapping each kind of failure to a precise code and field.
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would also read a struct from a positional array; requests are objects only.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::bad_request(
            "MALFORMED_JSON",
            "request body must be a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let msg = inner.to_string();
        let quoted = msg.split('`').nth(1).map(str::to_owned);
        let join = |name: &str| {
            if path == "." || path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        if msg.starts_with("unknown field") {
            // The path already ends with the unknown field's name.
            let name = quoted.unwrap_or_default();
            let field = if path == "." || path.is_empty() {
                name.clone()
            } else {
                path.clone()
            };
            ApiError::bad_request("UNKNOWN_FIELD", format!("unknown field '{name}'"))
                .with_field(field)
        } else if msg.starts_with("missing field") {
            let name = quoted.unwrap_or_default();
            ApiError::bad_request("MISSING_FIELD", format!("missing required field '{name}'"))
                .with_field(join(&name))
        } else if inner.is_data() {
            ApiError::bad_request("INVALID_FIELD", format!("invalid value at '{path}': {msg}"))
                .with_field(path)
        } else {
            ApiError::bad_request(
                "MALFORMED_JSON",
                format!("request body is not valid JSON: {msg}"),
            )
        }
    })
}

/// Decodes `content` per `content_encoding` and applies the content rules (non-empty,
/// within `max`).
pub(crate) fn decode_content(
    content: String,
    encoding: Option<&str>,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let bytes = match encoding.unwrap_or("utf8") {
        "utf8" | "utf-8" => content.into_bytes(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(content.as_bytes())
            .map_err(|e| {
                ApiError::bad_request(
                    "INVALID_BASE64",
                    format!("content is not valid base64: {e}"),
                )
                .with_field("content")
            })?,
        other => {
            return Err(ApiError::bad_request(
                "INVALID_ENCODING",
                format!(
                    "content_encoding must be 'utf8' or 'base64', got '{}'",
                    other.chars().take(32).collect::<String>()
                ),
            )
            .with_field("content_encoding"))
        }
    };
    if bytes.is_empty() {
        return Err(
            ApiError::bad_request("EMPTY_CONTENT", "content must not be empty")
                .with_field("content"),
        );
    }
    if bytes.len() > max {
        return Err(ApiError::too_large(
            "CONTENT_TOO_LARGE",
            format!("content is {} bytes; the limit is {max}", bytes.len()),
        )
        .with_field("content"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be decoded")]
    struct T {
        a: u32,
        b: Option<String>,
    }

    #[test]
    fn names_the_field() {
        let e = decode_json::<T>(br#"{"a":1,"zz":2}"#).unwrap_err();
        assert_eq!(
            (e.code(), e.body().field.as_deref()),
            ("UNKNOWN_FIELD", Some("zz"))
        );
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[expect(dead_code, reason = "fields exist to be decoded")]
        struct Outer {
            items: Vec<T>,
        }
        let e = decode_json::<Outer>(br#"{"items":[{"a":1},{"a":2,"q":3}]}"#).unwrap_err();
        assert_eq!(e.body().field.as_deref(), Some("items[1].q"));
        let e = decode_json::<T>(br#"{"b":"x"}"#).unwrap_err();
        assert_eq!(
            (e.code(), e.body().field.as_deref()),
            ("MISSING_FIELD", Some("a"))
        );
        let e = decode_json::<T>(br#"{"a":"x"}"#).unwrap_err();
        assert_eq!(
            (e.code(), e.body().field.as_deref()),
            ("INVALID_FIELD", Some("a"))
        );
        assert_eq!(
            decode_json::<T>(b"{\"a\":").unwrap_err().code(),
            "MALFORMED_JSON"
        );
    }

    #[test]
    fn content_rules() {
        assert_eq!(
            decode_content("aGk=".into(), Some("base64"), 10).unwrap(),
            b"hi"
        );
        assert_eq!(
            decode_content("!!".into(), Some("base64"), 10)
                .unwrap_err()
                .code(),
            "INVALID_BASE64"
        );
        assert_eq!(
            decode_content(String::new(), None, 10).unwrap_err().code(),
            "EMPTY_CONTENT"
        );
        assert_eq!(
            decode_content("x".repeat(11), None, 10).unwrap_err().code(),
            "CONTENT_TOO_LARGE"
        );
        assert_eq!(
            decode_content("x".into(), Some("utf16"), 10)
                .unwrap_err()
                .code(),
            "INVALID_ENCODING"
        );
    }
}

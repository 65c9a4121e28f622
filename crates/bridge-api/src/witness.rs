//! The bridge as a witness for other logs (SPEC §13, C2SP tlog-witness): `POST
//! /add-checkpoint` with every status of the spec, and `GET /<sha256(origin) hex>/checkpoint`
//! (the latest cosigned checkpoint, for monitors). Text in and out, as the spec defines it:
//! this router has no JSON envelope.
//!
//! The check runs on the stored state and the write is a compare-and-swap on it, so the
//! spec's rollback race cannot happen: a request whose state moved meanwhile is checked again
//! against the new one (and answered 409 with the new size).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bridge_core::tlog::{LogVerifier, NoteSignature};
use bridge_core::witness::{
    check, AddCheckpoint, Cosigner, Policy, Refusal, WitnessedState, SIZE_CONTENT_TYPE,
};
use bridge_store::{WitnessStore, WitnessedLog};

/// Largest `add-checkpoint` body: 63 proof lines and a checkpoint with many signatures
/// (post-quantum ones are ~3.3 KB of base64 each) fit with room to spare.
pub const MAX_ADD_CHECKPOINT_BYTES: usize = 256 * 1024;

/// How many times a request is re-checked when its compare-and-swap loses to another
/// request (each loss means the state moved: the re-check then answers 409).
const CAS_ATTEMPTS: usize = 3;

/// A witness: its keys, the logs it accepts, and where it keeps what it cosigned.
pub struct Witness {
    /// Cosigns (Ed25519, and ML-DSA-44 when configured). Never printed.
    cosigners: Vec<Cosigner>,
    /// Trusted checkpoint keys by log origin (the policy's `log` lines).
    logs: HashMap<String, Vec<LogVerifier>>,
    /// The latest cosigned checkpoint of every log.
    store: Arc<dyn WitnessStore>,
    /// POSIX seconds now (injectable for tests).
    clock: fn() -> u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}

impl Witness {
    /// A witness cosigning with `cosigners` (at least one) for the logs of `policy`.
    pub fn new(
        cosigners: Vec<Cosigner>,
        policy: &Policy,
        store: Arc<dyn WitnessStore>,
    ) -> Result<Self, String> {
        if cosigners.is_empty() {
            return Err("a witness needs a key".into());
        }
        if policy.logs().is_empty() {
            return Err("the policy names no log to witness (a 'log <vkey>' line)".into());
        }
        let mut logs: HashMap<String, Vec<LogVerifier>> = HashMap::new();
        for l in policy.logs() {
            logs.entry(l.key.name().to_owned())
                .or_default()
                .push(l.key.clone());
        }
        Ok(Self {
            cosigners,
            logs,
            store,
            clock: now,
        })
    }

    /// The witness's verifier keys (one per cosignature type).
    pub fn vkeys(&self) -> Vec<String> {
        self.cosigners.iter().map(|c| c.key().vkey()).collect()
    }

    /// The logs it accepts.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// Checks, cosigns and stores one request; the response body's signature lines.
    async fn add(&self, req: &AddCheckpoint) -> Result<String, Failure> {
        for _ in 0..CAS_ATTEMPTS {
            let origin = origin_of(&req.checkpoint);
            let stored = match origin {
                Some(o) => self.store.witnessed(o).await.map_err(Failure::Store)?,
                None => None,
            };
            let state = stored.as_ref().map(|s| WitnessedState {
                size: s.size,
                root: s.root,
            });
            let ok = check(req, |o| self.logs.get(o).map(Vec::as_slice), state.as_ref())
                .map_err(Failure::Refused)?;
            let time = (self.clock)();
            let cp = bridge_core::tlog::VerifiedCheckpoint {
                size: ok.state.size,
                root: ok.state.root,
            };
            let ours = self
                .cosigners
                .iter()
                .map(|c| c.cosign(&ok.text, &ok.origin, &cp, time))
                .collect::<Result<Vec<NoteSignature>, _>>()
                .map_err(|e| Failure::Refused(Refusal::Malformed(e.to_string())))?;
            let lines: String = ours.iter().map(NoteSignature::line).collect();
            let kept: String = ok.log_signatures.iter().map(NoteSignature::line).collect();
            let next = WitnessedLog {
                origin: ok.origin.clone(),
                size: ok.state.size,
                root: ok.state.root,
                checkpoint: format!("{}\n{kept}{lines}", ok.text),
            };
            let expected = state.map(|s| (s.size, s.root));
            if self
                .store
                .advance_witnessed(expected, &next)
                .await
                .map_err(Failure::Store)?
            {
                tracing::info!(origin = %ok.origin, size = ok.state.size, "cosigned");
                return Ok(lines);
            }
        }
        Err(Failure::Busy)
    }
}

/// The origin line of a checkpoint note, if it has one (the store lookup before the check).
fn origin_of(note: &str) -> Option<&str> {
    note.split_once('\n')
        .map(|(o, _)| o)
        .filter(|o| !o.is_empty())
}

enum Failure {
    Refused(Refusal),
    Store(bridge_store::StoreError),
    Busy,
}

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return plain(StatusCode::BAD_REQUEST, "the body is not UTF-8\n".into());
    };
    let req = match AddCheckpoint::parse(text) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    match w.add(&req).await {
        Ok(lines) => plain(StatusCode::OK, lines),
        Err(Failure::Refused(r)) => refusal(&r, text),
        Err(Failure::Store(e)) => {
            tracing::error!(error = %e, "witness state unavailable");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the witness's state is unavailable; retry later\n".into(),
            )
        }
        Err(Failure::Busy) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the log's state kept moving; retry\n".into(),
        ),
    }
}

fn refusal(r: &Refusal, body: &str) -> Response {
    let status = StatusCode::from_u16(r.status()).expect("a tlog-witness status");
    if r.is_evidence() {
        // Possible proof of a log's misbehaviour: kept in full (tlog-witness allows logging
        // it; a signed checkpoint that does not extend what we cosigned).
        tracing::error!(status = r.status(), refusal = %r, request = %body, "checkpoint refused: possible evidence of a fork");
    } else {
        tracing::info!(status = r.status(), refusal = %r, "checkpoint refused");
    }
    match r {
        Refusal::SizeMismatch { latest, .. } => (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{latest}\n"),
        )
            .into_response(),
        other => plain(status, format!("{other}\n")),
    }
}

async fn monitored(State(w): State<Arc<Witness>>, Path(hash): Path<String>) -> Response {
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return plain(
            StatusCode::BAD_REQUEST,
            "expected /<sha256(origin) in lowercase hex>/checkpoint\n".into(),
        );
    }
    match w.store.witnessed_by_hash(&hash).await {
        Ok(Some(l)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            l.checkpoint,
        )
            .into_response(),
        Ok(None) => plain(
            StatusCode::NOT_FOUND,
            "no checkpoint of that log was cosigned here\n".into(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "witness state unavailable");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the witness's state is unavailable; retry later\n".into(),
            )
        }
    }
}

async fn not_found() -> Response {
    plain(
        StatusCode::NOT_FOUND,
        "a witness serves POST /add-checkpoint and GET /<sha256(origin) hex>/checkpoint\n".into(),
    )
}

/// The witness's routes.
pub fn witness_router(w: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{hash}/checkpoint", get(monitored))
        .route("/health/live", get(|| async { "ok\n" }))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_BYTES))
        .with_state(w)
}

//! The transparency log's public routes (SPEC §11, C2SP tlog-tiles): the checkpoint, the
//! verifier key, hash tiles and entry bundles, and a stamp's `c2sp.org/tlog-proof@v1`.
//! Public like `/health`: entries hold namespace, path and hash, never content.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bridge_core::tlog::{self, Tile, TilePath, TlogProof, TILE_HEIGHT};
use bridge_store::log::{with_hashes, Dyn};
use bridge_store::LogCheckpoint;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::error::ApiError;

/// Immutable resources: a tile's bytes never change once they exist.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// The checkpoint moves with every group commit.
const MOMENTARY: &str = "no-cache";

/// Where a stamp is in the log, as `POST /stamp` answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct LogData {
    /// The entry's index.
    pub(crate) index: u64,
    /// The signed checkpoint the proof is against (it includes the entry).
    pub(crate) checkpoint: String,
    /// The `c2sp.org/tlog-proof@v1` text: index, inclusion proof, checkpoint.
    pub(crate) proof: String,
    /// Whether the checkpoint carries cosignatures that meet the service's witness policy
    /// (SPEC §13); false: signed by the log alone.
    pub(crate) witnessed: bool,
}

impl LogData {
    /// The answer for an entry the writer proved in its own commit.
    pub(crate) fn of(index: u64, p: &bridge_store::LogProof) -> Self {
        let checkpoint = p.checkpoint.to_string();
        let proof = TlogProof {
            index,
            path: p.path.clone(),
            checkpoint: checkpoint.clone(),
        };
        Self {
            index,
            checkpoint,
            proof: proof.to_string(),
            witnessed: false,
        }
    }

    /// The proof of the entry at `index` against a tree of `size` whose checkpoint is
    /// `note`.
    async fn against(
        app: &App,
        index: u64,
        size: u64,
        note: String,
        witnessed: bool,
    ) -> Result<Self, ApiError> {
        let path = with_hashes(app.store().as_ref(), |r| {
            tlog::prove_record(size, index, &Dyn(r))
        })
        .await?;
        let proof = TlogProof {
            index,
            path,
            checkpoint: note.clone(),
        };
        Ok(Self {
            index,
            checkpoint: note,
            proof: proof.to_string(),
            witnessed,
        })
    }
}

/// The proof of entry `index` against the newest witnessed checkpoint that covers it, if
/// the service has a witness policy with a quorum and there is one.
pub(crate) async fn witnessed_proof(app: &App, index: u64) -> Result<Option<LogData>, ApiError> {
    let Some(w) = app.witnessing.as_ref().filter(|w| w.enforced()) else {
        return Ok(None);
    };
    match w.witnessed().filter(|c| c.size > index) {
        Some(c) => Ok(Some(
            LogData::against(app, index, c.size, c.note.to_string(), true).await?,
        )),
        None => Ok(None),
    }
}

/// `?wait=witnessed`: waits (up to `--witness-wait`) for a witnessed checkpoint covering
/// entry `index`; its proof, or `None` past the wait (or without witnesses).
pub(crate) async fn wait_witnessed(app: &App, index: u64) -> Result<Option<LogData>, ApiError> {
    let Some(w) = app.witnessing.as_ref().filter(|w| w.enforced()) else {
        return Ok(None);
    };
    match w.wait_for(index).await {
        Some(c) => Ok(Some(
            LogData::against(app, index, c.size, c.note.to_string(), true).await?,
        )),
        None => Ok(None),
    }
}

async fn latest(app: &App) -> Result<Option<LogCheckpoint>, ApiError> {
    Ok(app.store().log_checkpoint().await?)
}

/// The proof of the entry at `index` against the newest witnessed checkpoint covering it,
/// else the newest log-signed one.
pub(crate) async fn proof_of(app: &App, index: u64) -> Result<LogData, ApiError> {
    if let Some(w) = witnessed_proof(app, index).await? {
        return Ok(w);
    }
    let cp = latest(app)
        .await?
        .ok_or_else(|| ApiError::unavailable("LOG_UNAVAILABLE", "the log has no checkpoint yet"))?;
    LogData::against(app, index, cp.size, cp.note, false).await
}

fn text(cache: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// `GET /log/checkpoint`.
#[utoipa::path(get, path = "/log/checkpoint", responses((status = 200, description = "the newest checkpoint, a signed note", content_type = "text/plain"), (status = 404, description = "LOG_EMPTY: nothing logged yet")))]
pub(crate) async fn checkpoint(State(app): State<App>) -> Result<Response, ApiError> {
    // With a witness policy that has a quorum: the newest checkpoint that meets it.
    if let Some(w) = app
        .witnessing
        .as_ref()
        .filter(|w| w.enforced())
        .and_then(|w| w.witnessed())
    {
        return Ok(text(MOMENTARY, w.note.to_string()));
    }
    let cp = latest(&app)
        .await?
        .ok_or_else(|| ApiError::not_found("LOG_EMPTY", "nothing has been logged yet"))?;
    Ok(text(MOMENTARY, cp.note))
}

/// `GET /log/policy`: the service's witness policy (SPEC §13) as a tlog-policy file without
/// the witnesses' URLs: the log key, the witness keys, groups and quorum a verifier (the page,
/// `verify --policy`) checks a checkpoint's cosignatures with.
#[utoipa::path(get, path = "/log/policy", responses((status = 200, description = "the witness policy, C2SP tlog-policy text", content_type = "text/plain"), (status = 404, description = "LOG_NO_POLICY: the service asks no witnesses")))]
pub(crate) async fn policy(State(app): State<App>) -> Result<Response, ApiError> {
    let w = app.witnessing.as_ref().ok_or_else(|| {
        ApiError::not_found("LOG_NO_POLICY", "this service has no witness policy")
    })?;
    Ok(text(MOMENTARY, w.policy().public_text()))
}

/// `GET /log/key`.
#[utoipa::path(get, path = "/log/key", responses((status = 200, description = "the log's verifier key, <origin>+<key id>+<base64 key>", content_type = "text/plain"), (status = 404)))]
pub(crate) async fn key(State(app): State<App>) -> Result<Response, ApiError> {
    let vkey = app
        .keys
        .log_vkey()
        .ok_or_else(|| ApiError::not_found("LOG_DISABLED", "this service keeps no log"))?;
    Ok(text(MOMENTARY, format!("{vkey}\n")))
}

/// `GET /log/tile/{path}`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
#[utoipa::path(get, path = "/log/tile/{path}", params(("path" = String, Path, description = "<L>/<N>[.p/<W>] or entries/<N>[.p/<W>], C2SP tlog-tiles: <N> in groups of three digits, all but the last prefixed x, the first nonzero", pattern = r"^(entries|[0-9]|[1-5][0-9]|6[0-3])/(x(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(x[0-9]{3}/){0,4})?[0-9]{3}(\.p/([1-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$")),
    responses((status = 200, description = "the tile's hashes or the entry bundle", content_type = "application/octet-stream"),
              (status = 400, description = "INVALID_TILE_PATH"), (status = 404, description = "TILE_NOT_FOUND: beyond the tree")))]
pub(crate) async fn tile(
    State(app): State<App>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let tp = TilePath::parse(&path)
        .map_err(|e| ApiError::bad_request("INVALID_TILE_PATH", e.to_string()))?;
    let size = latest(&app).await?.map_or(0, |c| c.size);
    let level = tp.level.unwrap_or(0);
    // The tile's last hash covers entries up to (N * 256 + W) * 256^L; beyond the tree, 404.
    // From level 8 up that is at least 2^64: beyond any tree.
    let end = (level < 8)
        .then(|| (u128::from(tp.index) * 256 + u128::from(tp.width())) << (8 * u32::from(level)));
    if end.is_none_or(|e| e > u128::from(size)) {
        return Err(ApiError::not_found(
            "TILE_NOT_FOUND",
            format!("tile/{path} is beyond the tree of {size} entries"),
        ));
    }
    let body = match tp.level {
        Some(l) => {
            let width = u32::try_from(tp.width()).expect("at most 256");
            let t = Tile::new(TILE_HEIGHT, l, tp.index, width, false);
            with_hashes(app.store().as_ref(), |r| t.read_data(&Dyn(r))).await?
        }
        None => {
            let start = tp.index * 256;
            let entries = app.store().log_entries(start, start + tp.width()).await?;
            tlog::bundle(entries.iter().map(Vec::as_slice))
                .ok_or_else(|| ApiError::internal(&std::io::Error::other("an entry is too long")))?
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        body,
    )
        .into_response())
}

/// `GET /stamps/{stamp_id}/proof`.
#[utoipa::path(get, path = "/stamps/{stamp_id}/proof", params(("stamp_id" = uuid::Uuid, Path, description = "UUID")),
    responses((status = 200, description = "c2sp.org/tlog-proof@v1", content_type = "text/plain"),
              (status = 400, description = "INVALID_STAMP_ID"), (status = 404, description = "STAMP_NOT_LOGGED")))]
pub(crate) async fn stamp_proof(
    State(app): State<App>,
    Path(stamp_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&stamp_id)
        .map_err(|_| ApiError::bad_request("INVALID_STAMP_ID", "stamp_id must be a UUID"))?;
    let index = app.store().log_index_of(id).await?.ok_or_else(|| {
        ApiError::not_found("STAMP_NOT_LOGGED", format!("stamp {id} has no log entry"))
    })?;
    Ok(text(MOMENTARY, proof_of(&app, index).await?.proof))
}

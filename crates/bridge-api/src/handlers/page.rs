//! `GET /` and `GET /assets/{file}`: the verification page (SPEC §2), embedded in the binary
//! so that it works offline and with nothing installed beside the service. The page hashes
//! and checks files in the browser; it calls only this service's routes.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The page's files (`web/` in the repository), with their media types.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.mjs",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/app.mjs"),
    ),
    (
        "stamp.mjs",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/stamp.mjs"),
    ),
    (
        "proof.mjs",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/proof.mjs"),
    ),
    (
        "witness.mjs",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/witness.mjs"),
    ),
    (
        "blake3.mjs",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/blake3.mjs"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/page.css"),
    ),
];

const INDEX: &str = include_str!("../../../../web/index.html");

/// Only our own files, no inline script or style, no framing, nothing sent elsewhere: a
/// dropped file's bytes can reach no origin but this one.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

fn page_response(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // Small files that change with the binary: revalidate rather than serve stale.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`.
#[utoipa::path(get, path = "/", operation_id = "verification_page", responses((status = 200, description = "the verification page: drop a file to hash, verify or stamp it in the browser", content_type = "text/html")))]
pub(crate) async fn index() -> Response {
    page_response("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`: the page's scripts and style.
#[utoipa::path(get, path = "/assets/{file}", operation_id = "verification_page_asset", params(("file" = String, Path, description = "one of the page's files", pattern = r"^(app|stamp|proof|witness|blake3)\.mjs$|^page\.css$")),
    responses((status = 200, description = "a script (text/javascript) or the style sheet (text/css)", content(("text/javascript"), ("text/css"))), (status = 404, description = "NOT_FOUND: no such file")))]
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, content_type, body)| page_response(content_type, body))
        .ok_or_else(|| ApiError::not_found("NOT_FOUND", format!("no page file {file:?}")))
}

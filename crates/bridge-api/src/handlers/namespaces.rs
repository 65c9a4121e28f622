//! `GET /namespaces/{namespace}/stats` and `GET /namespaces`: the reducer's aggregates.

use axum::extract::{Path, State};
use axum::Extension;
use bridge_core::Namespace;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::envelope::Success;
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::middleware::Principal;
use crate::views::NamespaceStatsView;

/// Most namespaces one page of `GET /namespaces` returns.
const MAX_PAGE: u32 = 1000;

/// `GET /namespaces/{namespace}/stats`: the namespace's aggregates, through the read cache
/// (at most the contract's `cache.ttl_ms` old; refreshed as soon as the local reducer saves).
#[utoipa::path(get, path = "/namespaces/{namespace}/stats", params(("namespace" = String, Path, description = "^[a-zA-Z0-9_.-]{1,255}$")),
    responses((status = 200, description = "total_stamps, total_size_bytes, file_types, workflow_count, first/last stamp time, version"),
              (status = 400, description = "INVALID_NAMESPACE"), (status = 404, description = "NAMESPACE_NOT_FOUND: nothing counted yet")))]
pub(crate) async fn stats(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(namespace): Path<String>,
) -> Result<Success<NamespaceStatsView>, ApiError> {
    let ns = Namespace::parse(&namespace)?;
    principal.check_namespace(ns.as_str())?;
    let state = app.stats.get(ns.as_str()).await?.ok_or_else(|| {
        ApiError::not_found(
            "NAMESPACE_NOT_FOUND",
            format!(
                "no stamps counted in namespace {} yet (the reducer saves its aggregates once per window)",
                ns.as_str()
            ),
        )
    })?;
    Ok(Success::ok(state.into()))
}

/// Query of `GET /namespaces`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Return namespaces sorting after this one (the previous page's `next_after`).
    after: Option<String>,
    /// Page size, 1–1000 (default 100).
    limit: Option<u32>,
}

/// One page of namespaces.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListData {
    /// Namespaces with their totals, in name order.
    #[schema(value_type = Vec<Object>)]
    namespaces: Vec<NamespaceStatsView>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<String>,
}

/// `GET /namespaces`: namespaces with their totals, paged in name order. A key scoped to
/// namespaces sees only its own.
#[utoipa::path(get, path = "/namespaces", params(ListQuery),
    responses((status = 200, description = "a page of namespaces", body = ListData), (status = 400, description = "INVALID_QUERY")))]
pub(crate) async fn list(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictQuery(query): StrictQuery<ListQuery>,
) -> Result<Success<ListData>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("limit must be 1..={MAX_PAGE}"),
        )
        .with_field("limit"));
    }
    let after = query
        .after
        .as_deref()
        .map(Namespace::parse)
        .transpose()
        .map_err(|e| ApiError::from(e).with_field("after"))?;
    let page = app
        .store()
        .list_namespace_states(after.as_ref().map(Namespace::as_str), limit)
        .await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|s| s.namespace.clone()))
        .flatten();
    let namespaces = page
        .into_iter()
        .filter(|s| principal.check_namespace(&s.namespace).is_ok())
        .map(Into::into)
        .collect();
    Ok(Success::ok(ListData {
        namespaces,
        next_after,
    }))
}

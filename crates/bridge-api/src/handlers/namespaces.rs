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

/// Most items one page of `GET /namespaces` or `GET /namespaces/{ns}/stamps` returns.
const MAX_PAGE: u32 = 1000;

/// A page size: 1–1000, 100 when not given.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("limit must be 1..={MAX_PAGE}"),
        )
        .with_field("limit"));
    }
    Ok(limit)
}

/// `GET /namespaces/{namespace}/stats`: the namespace's aggregates, through the read cache
/// (at most the contract's `cache.ttl_ms` old; refreshed as soon as the local reducer saves).
#[utoipa::path(get, path = "/namespaces/{namespace}/stats", params(("namespace" = String, Path, description = "tenant namespace", pattern = r"^[a-zA-Z0-9_.-]{1,255}$")),
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Return namespaces sorting after this one (the previous page's `next_after`).
    #[param(pattern = r"^[a-zA-Z0-9_.-]{1,255}$")]
    after: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
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
#[utoipa::path(get, path = "/namespaces", operation_id = "list_namespaces", params(ListQuery),
    responses((status = 200, description = "a page of namespaces", body = ListData), (status = 400, description = "INVALID_QUERY")))]
pub(crate) async fn list(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictQuery(query): StrictQuery<ListQuery>,
) -> Result<Success<ListData>, ApiError> {
    let limit = page_limit(query.limit)?;
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

/// Query of `GET /namespaces/{namespace}/stamps`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StampsQuery {
    /// Log index to continue after (the previous page's `next`): a decimal without leading
    /// zeros.
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One logged stamp of a namespace.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoggedStamp {
    /// Its index in the log.
    index: i64,
    stamp_id: String,
    file_hash: String,
    file_path: Option<String>,
    content_type: String,
    file_size: i64,
    stamp_type: String,
    created_at: String,
    signing_key: Option<String>,
}

/// A page of a namespace's logged stamps.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StampsData {
    namespace: String,
    /// In log order.
    stamps: Vec<LoggedStamp>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// `GET /namespaces/{namespace}/stamps`: every stamp of the namespace in log order, paged by
/// log index; complete and stable (the log only grows), checkable against the log's entries.
#[utoipa::path(get, path = "/namespaces/{namespace}/stamps", params(("namespace" = String, Path, description = "tenant namespace", pattern = r"^[a-zA-Z0-9_.-]{1,255}$"), StampsQuery),
    responses((status = 200, description = "a page of the namespace's logged stamps", body = StampsData),
              (status = 400, description = "INVALID_NAMESPACE or INVALID_QUERY"), (status = 403)))]
pub(crate) async fn stamps(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(namespace): Path<String>,
    StrictQuery(query): StrictQuery<StampsQuery>,
) -> Result<Success<StampsData>, ApiError> {
    let ns = Namespace::parse(&namespace)?;
    principal.check_namespace(ns.as_str())?;
    let limit = page_limit(query.limit)?;
    let after = query
        .after
        .as_deref()
        .map(|a| {
            a.parse::<u64>()
                .ok()
                .filter(|_| a == "0" || !a.starts_with('0'))
                .filter(|n| i64::try_from(*n).is_ok())
                .ok_or_else(|| {
                    ApiError::bad_request("INVALID_QUERY", "after must be a log index (decimal)")
                        .with_field("after")
                })
        })
        .transpose()?;
    let page = app.store().namespace_log(ns.as_str(), after, limit).await?;
    let next = (page.len() == limit as usize)
        .then(|| page.last().and_then(|s| s.log_index).map(|i| i.to_string()))
        .flatten();
    let stamps = page
        .into_iter()
        .map(|s| LoggedStamp {
            index: s.log_index.unwrap_or(-1),
            stamp_id: s.stamp_id.to_string(),
            file_hash: s.file_hash,
            file_path: s.file_path,
            content_type: s.content_type,
            file_size: s.file_size,
            stamp_type: s.stamp_type,
            created_at: s
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            signing_key: s.signing_key,
        })
        .collect();
    Ok(Success::ok(StampsData {
        namespace: ns.as_str().to_owned(),
        stamps,
        next,
    }))
}

//! `GET /stamp/{file_hash}`: the stored stamp record.

use axum::extract::{Path, State};
use axum::Extension;
use bridge_core::{Blake3Hex, Namespace};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::envelope::Success;
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::middleware::Principal;
use crate::views::{StampView, WorkflowView};

/// Query of the lookup.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct LookupQuery {
    /// Required when the API key is scoped to namespaces.
    #[param(pattern = r"^[a-zA-Z0-9_.-]{1,255}$")]
    namespace: Option<String>,
}

/// `GET /stamp/{file_hash}`.
#[utoipa::path(get, path = "/stamp/{file_hash}", params(("file_hash" = String, Path, description = "64 lowercase hex, optionally 'blake3:'-prefixed", pattern = r"^(blake3:)?[0-9a-f]{64}$"), LookupQuery),
    responses((status = 200, description = "the stored stamp"), (status = 400, description = "INVALID_HASH_FORMAT"), (status = 404, description = "STAMP_NOT_FOUND")))]
pub(crate) async fn get_stamp(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(file_hash): Path<String>,
    StrictQuery(query): StrictQuery<LookupQuery>,
) -> Result<Success<StampView>, ApiError> {
    let hash = Blake3Hex::parse(&file_hash)?;
    let namespace = query
        .namespace
        .as_deref()
        .map(Namespace::parse)
        .transpose()?;
    match &namespace {
        Some(ns) => principal.check_namespace(ns.as_str())?,
        None if principal.is_scoped() => {
            return Err(ApiError::bad_request(
                "NAMESPACE_REQUIRED",
                "this API key is scoped to namespaces: pass ?namespace=",
            )
            .with_field("namespace"))
        }
        None => {}
    }
    let record = app
        .store()
        .get_stamp(namespace.as_ref().map(Namespace::as_str), &hash)
        .await?
        .ok_or_else(|| ApiError::not_found("STAMP_NOT_FOUND", format!("no stamp for {hash}")))?;
    Ok(Success::ok(record.into()))
}

/// `GET /workflows/{workflow_id}`.
#[utoipa::path(get, path = "/workflows/{workflow_id}", params(("workflow_id" = uuid::Uuid, Path, description = "UUID")),
    responses((status = 200, description = "the execution with its steps and FSM transitions"), (status = 400, description = "INVALID_WORKFLOW_ID"),
              (status = 404, description = "WORKFLOW_NOT_FOUND")))]
pub(crate) async fn get_workflow(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(workflow_id): Path<String>,
) -> Result<Success<WorkflowView>, ApiError> {
    let id = uuid::Uuid::parse_str(&workflow_id).map_err(|_| {
        ApiError::bad_request("INVALID_WORKFLOW_ID", "workflow id must be a UUID")
            .with_field("workflow_id")
    })?;
    let wf =
        app.store().get_workflow(id).await?.ok_or_else(|| {
            ApiError::not_found("WORKFLOW_NOT_FOUND", format!("no workflow {id}"))
        })?;
    principal.check_namespace(&wf.namespace)?;
    Ok(Success::ok(wf.into()))
}

//! The node registry routes (SPEC §2, §6). Registry management needs a key that is not
//! scoped to namespaces: nodes belong to the deployment, not to a tenant.

use std::sync::Arc;

use crate::views::NodeView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use bridge_nodes::registry::{Registration, Registry, RegistryError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::envelope::{current_ctx, Success};
use crate::error::ApiError;
use crate::extract::{StrictJson, StrictQuery};
use crate::middleware::Principal;

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(i) => {
                ApiError::bad_request("INVALID_FIELD", i.to_string()).with_field(i.field)
            }
            RegistryError::NotFound(id) => {
                ApiError::not_found("NODE_NOT_FOUND", format!("no node {id}"))
            }
            e @ RegistryError::Busy(_) => ApiError::conflict("NODE_BUSY", e.to_string()),
            RegistryError::Store(s) => s.into(),
        }
    }
}

fn registry(app: &App, principal: &Principal) -> Result<Arc<Registry>, ApiError> {
    if principal.is_scoped() {
        return Err(ApiError::forbidden(
            "REGISTRY_FORBIDDEN",
            "this API key is scoped to namespaces; the node registry needs an unscoped key",
        ));
    }
    Ok(app.registry.clone())
}

/// Registration body (SPEC §6).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the schema; decoding uses `Registration`
pub(crate) struct RegisterBody {
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,128}$")]
    node_id: String,
    /// One of the registry contract's `node_types` (shipped: effect, compute, reducer,
    /// orchestrator).
    #[schema(pattern = r"^(effect|compute|reducer|orchestrator)$")]
    node_type: String,
    /// e.g. 1.2.3.
    #[schema(pattern = r"^[A-Za-z0-9.+_-]{1,64}$")]
    version: String,
    /// At most 64, each 1–128 characters without control characters.
    #[schema(value_type = Vec<String>, required = false, max_items = 64)]
    capabilities: Option<Vec<String>>,
    /// Name → absolute URL, at most 32.
    #[schema(value_type = Object, required = false)]
    endpoints: Option<serde_json::Value>,
    /// Any JSON object up to 16 KiB.
    #[schema(value_type = Object, required = false)]
    metadata: Option<serde_json::Value>,
}

/// `POST /registry/nodes`: 201 new, 200 re-registration (updated in place, HEALTHY now).
#[utoipa::path(post, path = "/registry/nodes", request_body = RegisterBody,
    responses((status = 201, description = "registered"), (status = 200, description = "re-registered in place"),
              (status = 400, description = "INVALID_FIELD, UNKNOWN_FIELD, MISSING_FIELD"), (status = 403, description = "REGISTRY_FORBIDDEN")))]
pub(crate) async fn register(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictJson(body): StrictJson<Registration>,
) -> Result<Success<NodeView>, ApiError> {
    let registry = registry(&app, &principal)?;
    let (node, created) = registry
        .register(body, current_ctx().correlation_id)
        .await?;
    Ok(Success {
        status: if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        data: node.into(),
    })
}

/// `POST /registry/nodes/{node_id}/heartbeat`.
#[utoipa::path(post, path = "/registry/nodes/{node_id}/heartbeat", params(("node_id" = String, Path, description = "the node", pattern = r"^[A-Za-z0-9_.:-]{1,128}$")),
    responses((status = 200, description = "the node, HEALTHY"), (status = 400, description = "INVALID_FIELD"), (status = 404, description = "NODE_NOT_FOUND")))]
pub(crate) async fn heartbeat(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(node_id): Path<String>,
) -> Result<Success<NodeView>, ApiError> {
    let registry = registry(&app, &principal)?;
    let node = registry
        .heartbeat(&node_id, current_ctx().correlation_id)
        .await?;
    Ok(Success::ok(node.into()))
}

/// `DELETE /registry/nodes/{node_id}`.
#[utoipa::path(delete, path = "/registry/nodes/{node_id}", params(("node_id" = String, Path, description = "the node", pattern = r"^[A-Za-z0-9_.:-]{1,128}$")),
    responses((status = 200, description = "removed"), (status = 404, description = "NODE_NOT_FOUND")))]
pub(crate) async fn deregister(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(node_id): Path<String>,
) -> Result<Success<serde_json::Value>, ApiError> {
    let registry = registry(&app, &principal)?;
    registry
        .deregister(&node_id, "deregistered", current_ctx().correlation_id)
        .await?;
    Ok(Success::ok(
        json!({"node_id": node_id, "deregistered": true}),
    ))
}

/// Filters of `GET /registry/nodes`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Only nodes of this type.
    #[serde(rename = "type")]
    #[param(pattern = r"^(effect|compute|reducer|orchestrator)$")]
    node_type: Option<String>,
    /// Only healthy (`true`) or unhealthy (`false`) nodes.
    healthy: Option<bool>,
}

/// The registered nodes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NodeList {
    /// In id order.
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<NodeView>,
}

/// `GET /registry/nodes?type=&healthy=`.
#[utoipa::path(get, path = "/registry/nodes", operation_id = "list_nodes", params(ListQuery),
    responses((status = 200, description = "nodes", body = NodeList), (status = 400, description = "INVALID_QUERY")))]
pub(crate) async fn list(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictQuery(q): StrictQuery<ListQuery>,
) -> Result<Success<NodeList>, ApiError> {
    let registry = registry(&app, &principal)?;
    if let Some(t) = &q.node_type {
        if !app.registry_node_types.contains(t) {
            return Err(ApiError::bad_request(
                "INVALID_QUERY",
                format!("type must be one of {}", app.registry_node_types.join(", ")),
            )
            .with_field("type"));
        }
    }
    let nodes = registry.list(q.node_type.as_deref(), q.healthy).await?;
    Ok(Success::ok(NodeList {
        nodes: nodes.into_iter().map(Into::into).collect(),
    }))
}

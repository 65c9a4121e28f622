//! `POST /stamp/batch` (alias `/batch`): up to 1000 items, each stamped independently and
//! concurrently (so the store group-commits them); 207 when some fail.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::stamp::{prepare, run, StampBody, StampData, StampQuery};
use crate::app::App;
use crate::config::MAX_BATCH_ITEMS;
use crate::envelope::{envelope_response, ErrorBody, Success};
use crate::error::ApiError;
use crate::extract::{read_json, StrictQuery};
use crate::middleware::Principal;

/// Body of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchBody {
    #[schema(min_items = 1, max_items = 1000)]
    items: Vec<BatchItem>,
}

/// One item: a stamp request with an optional client id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchItem {
    id: Option<String>,
    #[schema(min_length = 1)]
    content: String,
    #[schema(pattern = r"^[a-zA-Z0-9_.-]{1,255}$")]
    namespace: String,
    #[schema(
        pattern = r"^(?![/\\])(?![\x00-\x7f]:)(?!(.*[/\\])?\.\.([/\\]|$))[^\x00-\x1f\x7f-\x9f]{1,4096}$"
    )]
    file_path: Option<String>,
    #[schema(pattern = r"^(rich|lightweight)$")]
    stamp_type: Option<String>,
    #[schema(pattern = r"^(utf8|utf-8|base64)$")]
    content_encoding: Option<String>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")]
    op_id: Option<String>,
}

impl BatchItem {
    fn split(self) -> (Option<String>, StampBody) {
        let body = StampBody {
            content: self.content,
            namespace: self.namespace,
            file_path: self.file_path,
            stamp_type: self.stamp_type,
            content_encoding: self.content_encoding,
            metadata: self.metadata,
            op_id: self.op_id,
        };
        (self.id, body)
    }
}

/// Outcome of one item.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemResult {
    id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<StampData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    error: Option<ErrorBody>,
}

/// `data` of a batch response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchData {
    total: usize,
    succeeded: usize,
    failed: usize,
    results: Vec<ItemResult>,
}

/// `POST /stamp/batch`.
#[utoipa::path(post, path = "/stamp/batch", request_body = BatchBody, params(StampQuery),
    responses((status = 200, description = "all items stamped", body = BatchData), (status = 207, description = "some items failed", body = BatchData),
              (status = 400, description = "EMPTY_BATCH, BATCH_TOO_LARGE or malformed"), (status = 422, description = "every item failed")))]
pub(crate) async fn batch(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    StrictQuery(query): StrictQuery<StampQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let witnessed = query.witnessed();
    let body: BatchBody = read_json(req, app.config.batch_body_limit(), &app.body_budget).await?;
    if body.items.is_empty() {
        return Err(
            ApiError::bad_request("EMPTY_BATCH", "items must not be empty").with_field("items"),
        );
    }
    if body.items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::bad_request(
            "BATCH_TOO_LARGE",
            format!(
                "a batch holds at most {MAX_BATCH_ITEMS} items, got {}",
                body.items.len()
            ),
        )
        .with_field("items"));
    }
    let total = body.items.len();
    let work = body.items.into_iter().enumerate().map(|(i, item)| {
        let (id, stamp_body) = item.split();
        let id = id.unwrap_or_else(|| i.to_string());
        let app = &app;
        let principal = &principal;
        async move {
            let outcome = match prepare(stamp_body, principal, app) {
                Ok(p) => run(app, p, witnessed).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok((_, data)) => ItemResult {
                    id,
                    status: "success",
                    data: Some(data),
                    error: None,
                },
                Err(e) => ItemResult {
                    id,
                    status: "error",
                    data: None,
                    error: Some(e.body().clone()),
                },
            }
        }
    });
    let results = futures_util::future::join_all(work).await;
    let succeeded = results.iter().filter(|r| r.status == "success").count();
    let failed = total - succeeded;
    let data = BatchData {
        total,
        succeeded,
        failed,
        results,
    };
    Ok(match (succeeded, failed) {
        (_, 0) => Success::ok(data).into_response(),
        (0, _) => {
            let error = ErrorBody {
                code: "BATCH_FAILED",
                message: "every item failed; see results".into(),
                field: None,
            };
            envelope_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "error",
                Some(&data),
                Some(&error),
                None,
            )
        }
        _ => Success {
            status: StatusCode::MULTI_STATUS,
            data,
        }
        .into_response(),
    })
}

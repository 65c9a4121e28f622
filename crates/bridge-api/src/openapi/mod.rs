//! The OpenAPI 3.1 document of the API (`GET /openapi.json`), generated from the handlers'
//! annotations, then completed with what is the same for every route (`wire`).

mod wire;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use crate::app::App;
use crate::handlers::{
    batch, hash, health, keys, log, lookup, namespaces, page, registry, stamp, validate,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "OmniNode Bridge", description = "Verifiable identity for every file: BLAKE3 hashes and O.N.E. v0.1 stamps. Every JSON response is the envelope {status, data, error, message?, metadata}; every route also exists under /api/v1/metadata-stamping."),
    paths(
        stamp::stamp, batch::batch, validate::validate, hash::hash, lookup::get_stamp, lookup::get_workflow,
        namespaces::stats, namespaces::list, namespaces::stamps,
        registry::register, registry::heartbeat, registry::deregister, registry::list,
        health::health, health::live, health::ready, health::metrics, keys::keys, keys::allowed_signers,
        log::checkpoint, log::key, log::policy, log::tile, log::stamp_proof, openapi_json, page::index, page::asset
    ),
    components(schemas(stamp::StampBody, stamp::StampData, batch::BatchBody, batch::BatchItem, batch::BatchData, batch::ItemResult,
        validate::ValidateBody, validate::ValidateData, hash::HashBody, hash::HashData, namespaces::ListData, registry::RegisterBody, registry::NodeList, keys::KeysData, keys::KeyData, log::LogData, namespaces::StampsData, namespaces::LoggedStamp)),
    modifiers(&ApiKeyScheme)
)]
struct ApiDoc;

struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "this document")))]
pub(crate) async fn openapi_json(State(_app): State<App>) -> Response {
    Json(document()).into_response()
}

/// The document as served.
pub(crate) fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    wire::describe_the_wire(&mut doc);
    doc
}

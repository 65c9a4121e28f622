//! What the handlers' annotations cannot say once per route, added to the generated document
//! so that it describes the wire exactly (SPEC §2): every JSON answer inside the envelope
//! `{status, data, error, message?, metadata}` (a generic wrapper around each `data` schema),
//! every error status with the error envelope, and the statuses the middleware answers for
//! every route it wraps (401 without a valid API key, 429 over the rate limit, 413/415 for a
//! body route, 503 when the store is down).
//!
//! Done on the serialised document rather than with utoipa's generic schemas: the wrapping is
//! the same for every route, and one pass keeps the annotations about each route's own data.

use serde_json::{json, Map, Value};

/// Routes served without an API key (`router::routes`' public set).
const PUBLIC: &[&str] = &[
    "/health",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/keys",
    "/keys/allowed_signers",
    "/log/checkpoint",
    "/log/key",
    "/log/policy",
    "/log/tile/{path}",
    "/stamps/{stamp_id}/proof",
    "/",
    "/assets/{file}",
];

/// Routes that never read the store, so never answer 503 for it.
const STORELESS: &[&str] = &[
    "/health/live",
    "/metrics",
    "/keys",
    "/keys/allowed_signers",
    "/log/key",
    "/log/policy",
    "/openapi.json",
    "/",
    "/assets/{file}",
];

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    })
}

/// The envelope around a `data` schema.
fn envelope(data: Value, statuses: &[&str]) -> Value {
    json!({
        "type": "object",
        "required": ["status", "data", "error", "metadata"],
        "additionalProperties": false,
        "properties": {
            "status": {"type": "string", "enum": statuses},
            "data": data,
            "error": {"type": "null"},
            "message": {"type": "string"},
            "metadata": {"$ref": "#/components/schemas/Metadata"}
        }
    })
}

/// The error envelope of an answer that also carries its `data`.
fn error_envelope(data: Value) -> Value {
    let mut e = envelope(data, &["error"]);
    e["properties"]["error"] = json!({"$ref": "#/components/schemas/ErrorBody"});
    e
}

fn components() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert(
        "Metadata".into(),
        json!({
            "type": "object",
            "required": ["correlation_id", "processing_time_ms"],
            "additionalProperties": false,
            "properties": {
                "correlation_id": {"type": "string", "format": "uuid"},
                "processing_time_ms": {"type": "number", "minimum": 0}
            }
        }),
    );
    schemas.insert(
        "ErrorBody".into(),
        json!({
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": false,
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$", "description": "stable, machine-readable"},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "the request field at fault, when one is"}
            }
        }),
    );
    schemas.insert(
        "ErrorEnvelope".into(),
        json!({
            "type": "object",
            "required": ["status", "data", "error", "metadata"],
            "additionalProperties": false,
            "properties": {
                "status": {"type": "string", "enum": ["error"]},
                "data": {"type": "null"},
                "error": {"$ref": "#/components/schemas/ErrorBody"},
                "message": {"type": "string"},
                "metadata": {"$ref": "#/components/schemas/Metadata"}
            }
        }),
    );
    schemas
}

/// Canonical, padded base64 (what the `base64` crate's standard engine decodes): the last
/// group's unused bits zero.
const BASE64: &str =
    "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";

/// Constraints that a field attribute cannot carry: `content` is base64 when
/// `content_encoding` says so; a registration's endpoints and capabilities.
fn constrain_schemas(schemas: &mut Map<String, Value>) {
    for name in ["StampBody", "BatchItem", "ValidateBody", "HashBody"] {
        if let Some(Value::Object(s)) = schemas.get_mut(name) {
            s.insert(
                "if".into(),
                json!({"properties": {"content_encoding": {"const": "base64"}}, "required": ["content_encoding"]}),
            );
            s.insert(
                "then".into(),
                json!({"properties": {"content": {"pattern": BASE64}}}),
            );
        }
    }
    if let Some(props) = schemas
        .get_mut("RegisterBody")
        .and_then(|s| s.get_mut("properties"))
    {
        props["capabilities"]["items"] =
            json!({"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]{1,128}$"});
        props["endpoints"] = json!({
            "type": "object",
            "description": "name → absolute URL with a host (at most 32)",
            "maxProperties": 32,
            "propertyNames": {"minLength": 1, "maxLength": 128},
            "additionalProperties": {
                "type": "string",
                "pattern": "^(https?|wss?|grpcs?|tcp|unix)://[A-Za-z0-9._~-]+(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$",
                "maxLength": 2048
            }
        });
        props["metadata"]["description"] = json!("any JSON object up to 16 KiB");
    }
}

/// `POST /hash` takes its content three ways; an empty raw body is the empty content.
fn hash_body(op: &mut Map<String, Value>) {
    if let Some(body) = op.get_mut("requestBody") {
        body["required"] = json!(false);
        body["content"]["application/octet-stream"] =
            json!({"schema": {"type": "string", "format": "binary"}});
        body["content"]["multipart/form-data"] = json!({"schema": {
            "type": "object",
            "required": ["file"],
            "additionalProperties": false,
            "properties": {"file": {"type": "string", "format": "binary"}}
        }});
    }
}

/// Rewrites `doc` (an OpenAPI 3.1 document from utoipa) as described above.
pub(super) fn describe_the_wire(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        constrain_schemas(schemas);
        schemas.extend(components());
    }
    let mut envelopes = Map::new();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let protected = !PUBLIC.contains(&path.as_str());
            let has_body = op.contains_key("requestBody");
            let has_params = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            if protected {
                op.insert("security".into(), json!([{"api_key": []}]));
            }
            if path == "/hash" {
                hash_body(op);
            }
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("responses is an object");
            let mut add = |code: &str, description: &str| {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| json!({"description": description}));
            };
            if protected {
                add("401", "UNAUTHORIZED: no valid API key");
                add(
                    "429",
                    "RATE_LIMITED: over the rate limit (Retry-After says when to retry)",
                );
            }
            if has_body || has_params {
                add("400", "malformed request");
            }
            if has_body {
                add("413", "PAYLOAD_TOO_LARGE");
                add("415", "UNSUPPORTED_MEDIA_TYPE");
            }
            if !STORELESS.contains(&path.as_str()) && method != "parameters" {
                add("503", "the store (or another dependency) is unavailable");
            }
            // Two errors still carry the report: /health's 503 (unhealthy) and a batch's 422
            // (every item failed, the results say why).
            let reported_in: Option<&str> = match path.as_str() {
                "/health" => Some("503"),
                "/stamp/batch" | "/batch" => Some("422"),
                _ => None,
            };
            let data_of_200 = responses
                .get("200")
                .and_then(|r| r.pointer("/content/application~1json/schema"))
                .cloned();
            for (code, response) in responses.iter_mut() {
                let description = response
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if code.starts_with('4') || code.starts_with('5') {
                    let reported = reported_in == Some(code.as_str());
                    *response = match (&data_of_200, reported) {
                        (Some(data), true) => json!({
                            "description": description,
                            "content": {"application/json": {"schema": error_envelope(data.clone())}}
                        }),
                        _ => error_response(&description),
                    };
                    continue;
                }
                if path == "/openapi.json" {
                    // The document itself, not an envelope.
                    response["content"] =
                        json!({"application/json": {"schema": {"type": "object"}}});
                    continue;
                }
                let statuses: &[&str] = if code == "207" {
                    &["partial"]
                } else {
                    &["success"]
                };
                if response.get("content").is_none() {
                    // No content named: a JSON answer whose data the annotation leaves open.
                    response["content"] = json!({"application/json": {"schema": {}}});
                }
                if let Some(schema) = response.pointer_mut("/content/application~1json/schema") {
                    let data = schema.take();
                    // A named data schema gets a named envelope (`StampDataEnvelope`), which
                    // generated clients turn into one type.
                    let named = data
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .map(|n| {
                            format!(
                                "{n}{}",
                                if code == "207" {
                                    "PartialEnvelope"
                                } else {
                                    "Envelope"
                                }
                            )
                        });
                    *schema = match named {
                        Some(name) => {
                            envelopes
                                .entry(name.clone())
                                .or_insert_with(|| envelope(data, statuses));
                            json!({"$ref": format!("#/components/schemas/{name}")})
                        }
                        None => envelope(data, statuses),
                    };
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.extend(envelopes);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every JSON answer of the served document is an envelope, every error the error
    /// envelope, and every protected route says it needs the key and may answer 401 and 429.
    #[test]
    fn every_answer_is_described_in_its_envelope() {
        let doc = super::super::document();
        let schemas = &doc["components"]["schemas"];
        let resolve = |s: &Value| -> Value {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
                None => s.clone(),
            }
        };
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let public = super::PUBLIC.contains(&path.as_str());
                assert_eq!(op.get("security").is_some(), !public, "{method} {path}");
                if !public {
                    for code in ["401", "429"] {
                        assert!(
                            op["responses"].get(code).is_some(),
                            "{method} {path} {code}"
                        );
                    }
                }
                for (code, r) in op["responses"].as_object().unwrap() {
                    let Some(schema) = r.pointer("/content/application~1json/schema") else {
                        continue;
                    };
                    if path == "/openapi.json" {
                        continue;
                    }
                    let s = resolve(schema);
                    let want = if code.starts_with('2') {
                        "data"
                    } else {
                        "error"
                    };
                    assert_eq!(
                        s["required"],
                        serde_json::json!(["status", "data", "error", "metadata"]),
                        "{method} {path} {code}: {s}"
                    );
                    assert!(
                        s["properties"].get(want).is_some(),
                        "{method} {path} {code}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 60, "only {checked} answers checked");
    }

    /// docs/openapi.json, linked from the README, is the document the server serves
    /// (`OPENAPI_UPDATE=1 cargo test -p bridge-api --lib openapi` rewrites it).
    #[test]
    fn the_committed_document_is_the_served_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let served = serde_json::to_string_pretty(&super::super::document()).unwrap() + "\n";
        if std::env::var_os("OPENAPI_UPDATE").is_some() {
            std::fs::write(path, &served).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == served,
            "docs/openapi.json is stale: OPENAPI_UPDATE=1 cargo test -p bridge-api --lib openapi"
        );
    }
}

//! Typed payloads of the 9 codegen events (SPEC §7): 4 requests, 4 responses and the session
//! status, each bound to its topic and its dead-letter topic. Unknown fields, wrong types and
//! out-of-range values are refused with the path of the offending field; the same types
//! generate the JSON Schemas published under `docs/schemas/`.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

/// Kind of PRD analysis.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisType {
    /// Everything.
    Full,
    /// Some sections.
    Partial,
    /// A fast pass.
    Quick,
}

/// ONEX node kinds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeType {
    /// Orchestrator.
    Orchestrator,
    /// Compute.
    Compute,
    /// Reducer.
    Reducer,
    /// Effect.
    Effect,
}

/// Kind of code validation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValidationType {
    /// Syntax only.
    Syntax,
    /// Semantics.
    Semantic,
    /// ONEX compliance.
    Compliance,
    /// All of them.
    Full,
}

/// State of a code generation session.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Not started.
    Pending,
    /// Running.
    Processing,
    /// Done.
    Completed,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
}

type Object = serde_json::Map<String, serde_json::Value>;

/// `omninode_codegen_request_analyze_v1`: analyse a PRD.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenAnalysisRequest {
    /// Request correlation id.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// The PRD (markdown).
    pub prd_content: String,
    /// Kind of analysis (default `full`).
    #[serde(default = "full_analysis")]
    #[schema(inline)]
    pub analysis_type: AnalysisType,
    /// File paths and other workspace metadata.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub workspace_context: Object,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_response_analyze_v1`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenAnalysisResponse {
    /// Correlation id of the request answered.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// Requirements, architecture, dependencies.
    #[schema(value_type = Object)]
    pub analysis_result: Object,
    /// 0.0–1.0.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: f64,
    /// Processing time (ms).
    #[schema(minimum = 0)]
    pub processing_time_ms: u64,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_request_validate_v1`: validate generated code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenValidationRequest {
    /// Request correlation id.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// The code.
    pub code_content: String,
    /// Kind of node generated.
    #[schema(inline)]
    pub node_type: NodeType,
    /// Contracts to check against.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub contracts: Vec<Object>,
    /// Kind of validation (default `full`).
    #[serde(default = "full_validation")]
    #[schema(inline)]
    pub validation_type: ValidationType,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_response_validate_v1`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenValidationResponse {
    /// Correlation id of the request answered.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// Errors, warnings, suggestions.
    #[schema(value_type = Object)]
    pub validation_result: Object,
    /// 0.0–1.0.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub quality_score: f64,
    /// 0.0–1.0.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub onex_compliance_score: f64,
    /// Whether every check passed.
    pub is_valid: bool,
    /// Processing time (ms).
    #[schema(minimum = 0)]
    pub processing_time_ms: u64,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_request_pattern_v1`: find similar nodes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenPatternRequest {
    /// Request correlation id.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// What the node should do.
    pub node_description: String,
    /// Kind of node wanted.
    #[schema(inline)]
    pub node_type: NodeType,
    /// Most matches returned, 1–20 (default 5).
    #[serde(default = "five")]
    #[schema(minimum = 1, maximum = 20)]
    pub limit: u32,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_response_pattern_v1`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenPatternResponse {
    /// Correlation id of the request answered.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// Similar nodes with scores.
    #[schema(value_type = Vec<Object>)]
    pub pattern_result: Vec<Object>,
    /// Matches before the limit.
    pub total_matches: u64,
    /// Processing time (ms).
    #[schema(minimum = 0)]
    pub processing_time_ms: u64,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_request_mixin_v1`: recommend mixins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenMixinRequest {
    /// Request correlation id.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// Functional requirements.
    pub requirements: Vec<String>,
    /// Kind of node generated.
    #[schema(inline)]
    pub node_type: NodeType,
    /// Mixins already chosen.
    #[serde(default)]
    pub existing_mixins: Vec<String>,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_response_mixin_v1`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenMixinResponse {
    /// Correlation id of the request answered.
    #[schema(value_type = String, format = Uuid)]
    pub correlation_id: Uuid,
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// Recommended mixins with rationale.
    #[schema(value_type = Vec<Object>)]
    pub mixin_recommendations: Vec<Object>,
    /// Recommendations made.
    pub total_recommendations: u64,
    /// Processing time (ms).
    #[schema(minimum = 0)]
    pub processing_time_ms: u64,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

/// `omninode_codegen_status_session_v1`: progress of a session (keyed by session id).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenStatusEvent {
    /// Code generation session.
    #[schema(value_type = String, format = Uuid)]
    pub session_id: Uuid,
    /// Current state.
    #[schema(inline)]
    pub status: SessionStatus,
    /// 0–100.
    #[schema(minimum = 0.0, maximum = 100.0)]
    pub progress_percentage: f64,
    /// Human-readable message.
    pub message: String,
    /// Current step, errors, …
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Object,
    /// When it was made (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Payload schema version.
    #[serde(default = "v1")]
    pub schema_version: String,
}

fn full_analysis() -> AnalysisType {
    AnalysisType::Full
}
fn full_validation() -> ValidationType {
    ValidationType::Full
}
fn five() -> u32 {
    5
}
fn v1() -> String {
    "1.0".into()
}

/// A codegen topic with its payload type.
#[derive(Debug, Clone, Copy)]
pub struct CodegenTopic {
    /// The topic.
    pub topic: &'static str,
    /// Envelope `event_type`.
    pub event_type: &'static str,
    /// Schema name (the Rust type, as in `docs/schemas/<name>.json`).
    pub schema: &'static str,
    /// Where invalid payloads go.
    pub dlq: &'static str,
    validate: fn(&serde_json::Value) -> Result<Keys, String>,
    schema_json: fn() -> serde_json::Value,
}

/// Why a payload does not fit its topic's schema (the message names the field path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// The ids a valid payload carries: its correlation id (if any) and session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// Correlation id (requests and responses).
    pub correlation_id: Option<Uuid>,
    /// Session id.
    pub session_id: Uuid,
}

/// Range checks serde cannot express.
trait Check {
    fn check(&self) -> Result<(), String>;
    fn keys(&self) -> Keys;
}

fn unit(name: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name}: {v} is outside 0.0-1.0"))
    }
}

macro_rules! request_keys {
    ($($t:ty),*) => {$(
        impl Check for $t {
            fn check(&self) -> Result<(), String> { self.check_ranges() }
            fn keys(&self) -> Keys {
                Keys { correlation_id: Some(self.correlation_id), session_id: self.session_id }
            }
        }
    )*};
}
request_keys!(
    CodegenAnalysisRequest,
    CodegenAnalysisResponse,
    CodegenValidationRequest,
    CodegenValidationResponse,
    CodegenPatternRequest,
    CodegenPatternResponse,
    CodegenMixinRequest,
    CodegenMixinResponse
);

impl Check for CodegenStatusEvent {
    fn check(&self) -> Result<(), String> {
        if (0.0..=100.0).contains(&self.progress_percentage) {
            Ok(())
        } else {
            Err(format!(
                "progress_percentage: {} is outside 0-100",
                self.progress_percentage
            ))
        }
    }
    fn keys(&self) -> Keys {
        Keys {
            correlation_id: None,
            session_id: self.session_id,
        }
    }
}

trait Ranges {
    fn check_ranges(&self) -> Result<(), String> {
        Ok(())
    }
}
impl Ranges for CodegenAnalysisRequest {}
impl Ranges for CodegenValidationRequest {}
impl Ranges for CodegenMixinRequest {}
impl Ranges for CodegenPatternResponse {}
impl Ranges for CodegenMixinResponse {}
impl Ranges for CodegenAnalysisResponse {
    fn check_ranges(&self) -> Result<(), String> {
        unit("confidence", self.confidence)
    }
}
impl Ranges for CodegenValidationResponse {
    fn check_ranges(&self) -> Result<(), String> {
        unit("quality_score", self.quality_score)?;
        unit("onex_compliance_score", self.onex_compliance_score)
    }
}
impl Ranges for CodegenPatternRequest {
    fn check_ranges(&self) -> Result<(), String> {
        if (1..=20).contains(&self.limit) {
            Ok(())
        } else {
            Err(format!("limit: {} is outside 1-20", self.limit))
        }
    }
}

fn validate<T: DeserializeOwned + Check>(v: &serde_json::Value) -> Result<Keys, String> {
    // serde would also take an array, field by field in order: only objects are payloads.
    if !v.is_object() {
        return Err("the payload must be a JSON object".into());
    }
    let t: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })?;
    t.check()?;
    Ok(t.keys())
}

fn schema_of<T: ToSchema + PartialSchema>() -> serde_json::Value {
    serde_json::to_value(T::schema()).expect("schemas serialize")
}

macro_rules! topics {
    ($(($topic:literal, $event:literal, $t:ty, $dlq:literal)),* $(,)?) => {
        /// The 9 codegen topics and their payload types.
        pub const CODEGEN_TOPICS: &[CodegenTopic] = &[$(
            CodegenTopic {
                topic: $topic,
                event_type: $event,
                schema: stringify!($t),
                dlq: $dlq,
                validate: validate::<$t>,
                schema_json: schema_of::<$t>,
            },
        )*];
    };
}

topics!(
    (
        "omninode_codegen_request_analyze_v1",
        "CODEGEN_ANALYSIS_REQUEST",
        CodegenAnalysisRequest,
        "omninode_codegen_dlq_analyze_v1"
    ),
    (
        "omninode_codegen_request_validate_v1",
        "CODEGEN_VALIDATION_REQUEST",
        CodegenValidationRequest,
        "omninode_codegen_dlq_validate_v1"
    ),
    (
        "omninode_codegen_request_pattern_v1",
        "CODEGEN_PATTERN_REQUEST",
        CodegenPatternRequest,
        "omninode_codegen_dlq_pattern_v1"
    ),
    (
        "omninode_codegen_request_mixin_v1",
        "CODEGEN_MIXIN_REQUEST",
        CodegenMixinRequest,
        "omninode_codegen_dlq_mixin_v1"
    ),
    (
        "omninode_codegen_response_analyze_v1",
        "CODEGEN_ANALYSIS_RESPONSE",
        CodegenAnalysisResponse,
        "omninode_codegen_dlq_analyze_v1"
    ),
    (
        "omninode_codegen_response_validate_v1",
        "CODEGEN_VALIDATION_RESPONSE",
        CodegenValidationResponse,
        "omninode_codegen_dlq_validate_v1"
    ),
    (
        "omninode_codegen_response_pattern_v1",
        "CODEGEN_PATTERN_RESPONSE",
        CodegenPatternResponse,
        "omninode_codegen_dlq_pattern_v1"
    ),
    (
        "omninode_codegen_response_mixin_v1",
        "CODEGEN_MIXIN_RESPONSE",
        CodegenMixinResponse,
        "omninode_codegen_dlq_mixin_v1"
    ),
    (
        "omninode_codegen_status_session_v1",
        "CODEGEN_STATUS",
        CodegenStatusEvent,
        "omninode_codegen_status_session_v1.dlq"
    ),
);

impl CodegenTopic {
    /// The entry for `topic`.
    pub fn find(topic: &str) -> Option<&'static CodegenTopic> {
        CODEGEN_TOPICS.iter().find(|t| t.topic == topic)
    }

    /// Checks `payload` against the topic's type; its ids, or the error with the field path.
    pub fn validate(&self, payload: &serde_json::Value) -> Result<Keys, SchemaError> {
        (self.validate)(payload).map_err(SchemaError)
    }

    /// The payload's JSON Schema (draft 2020-12 compatible, as OpenAPI 3.1 emits it).
    pub fn json_schema(&self) -> serde_json::Value {
        let mut s = (self.schema_json)();
        if let Some(o) = s.as_object_mut() {
            o.insert(
                "$schema".into(),
                "https://json-schema.org/draft/2020-12/schema".into(),
            );
            o.insert("title".into(), self.schema.into());
            o.insert(
                "description".into(),
                format!("Payload of {} events on {}", self.event_type, self.topic).into(),
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(t: &str) -> &'static CodegenTopic {
        CodegenTopic::find(t).unwrap()
    }

    #[test]
    fn valid_payloads_pass_with_their_keys() {
        let c = Uuid::new_v4();
        let s = Uuid::new_v4();
        let keys = find("omninode_codegen_request_analyze_v1")
            .validate(&json!({"correlation_id": c, "session_id": s, "prd_content": "# PRD"}))
            .unwrap();
        assert_eq!(
            keys,
            Keys {
                correlation_id: Some(c),
                session_id: s
            }
        );
        let keys = find("omninode_codegen_status_session_v1")
            .validate(&json!({"session_id": s, "status": "processing", "progress_percentage": 42.5, "message": "halfway"}))
            .unwrap();
        assert_eq!(keys.correlation_id, None);
    }

    #[test]
    fn invalid_payloads_name_the_field() {
        let c = Uuid::new_v4();
        let cases = [
            (
                "omninode_codegen_request_analyze_v1",
                json!({"correlation_id": c, "session_id": c}),
                "prd_content",
            ),
            (
                "omninode_codegen_request_analyze_v1",
                json!({"correlation_id": c, "session_id": c, "prd_content": "x", "extra": 1}),
                "extra",
            ),
            (
                "omninode_codegen_request_analyze_v1",
                json!({"correlation_id": "nope", "session_id": c, "prd_content": "x"}),
                "correlation_id",
            ),
            (
                "omninode_codegen_request_validate_v1",
                json!({"correlation_id": c, "session_id": c, "code_content": "x", "node_type": "gadget"}),
                "node_type",
            ),
            (
                "omninode_codegen_request_pattern_v1",
                json!({"correlation_id": c, "session_id": c, "node_description": "x", "node_type": "effect", "limit": 50}),
                "limit",
            ),
            (
                "omninode_codegen_response_analyze_v1",
                json!({"correlation_id": c, "session_id": c, "analysis_result": {}, "confidence": 1.5, "processing_time_ms": 3}),
                "confidence",
            ),
            (
                "omninode_codegen_response_validate_v1",
                json!({"correlation_id": c, "session_id": c, "validation_result": {}, "quality_score": 0.5, "onex_compliance_score": -0.1, "is_valid": true, "processing_time_ms": 1}),
                "onex_compliance_score",
            ),
            (
                "omninode_codegen_status_session_v1",
                json!({"session_id": c, "status": "processing", "progress_percentage": 101, "message": "m"}),
                "progress_percentage",
            ),
            (
                "omninode_codegen_response_mixin_v1",
                json!([1, 2]),
                "must be a JSON object",
            ),
        ];
        for (topic, payload, want) in cases {
            let e = find(topic).validate(&payload).unwrap_err().0;
            assert!(e.contains(want), "{topic}: {e} (wanted {want})");
        }
    }

    #[test]
    fn nine_topics_each_with_a_schema_and_a_dlq() {
        assert_eq!(CODEGEN_TOPICS.len(), 9);
        let catalogue =
            bridge_core::topics::catalogue(bridge_core::topics::BUILTIN_YAML, &Default::default())
                .unwrap();
        for t in CODEGEN_TOPICS {
            assert!(catalogue.iter().any(|c| c.name == t.topic), "{}", t.topic);
        }
        for t in CODEGEN_TOPICS {
            let s = t.json_schema();
            assert_eq!(s["type"], "object", "{}", t.schema);
            assert!(s["properties"].as_object().unwrap().len() >= 4);
            assert!(!s["required"].as_array().unwrap().is_empty());
            assert!(t.dlq.contains("dlq"));
            // Standalone documents: nothing may point into an OpenAPI components section.
            assert!(!s.to_string().contains("$ref"), "{}", t.schema);
        }
    }

    /// The published schemas are the ones the code checks against.
    #[test]
    fn docs_schemas_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
        for t in CODEGEN_TOPICS {
            let path = dir.join(format!("{}.json", t.schema));
            let want = serde_json::to_string_pretty(&t.json_schema()).unwrap() + "\n";
            if std::env::var_os("UPDATE_SCHEMAS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &want).unwrap();
            }
            let got = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!(
                    "{} missing: run UPDATE_SCHEMAS=1 cargo test -p bridge-events",
                    path.display()
                )
            });
            assert_eq!(
                got,
                want,
                "{} is stale: run UPDATE_SCHEMAS=1 cargo test -p bridge-events",
                path.display()
            );
        }
    }
}

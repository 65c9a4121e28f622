//! The Kafka topic catalogue (SPEC §7): `config/topics.yaml` (codegen and system topics with
//! their partitions and retention) plus the workflow event topics of the orchestrator
//! contract, each with its `.dlq` dead-letter topic. `topics create` and the relay create
//! exactly this list.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::event::EventTopics;

/// The shipped catalogue, compiled in.
pub const BUILTIN_YAML: &str = include_str!("../../../config/topics.yaml");

/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

/// One topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i32,
    /// `retention.ms`.
    pub retention_ms: i64,
}

/// Why a catalogue was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicsError {
    /// The YAML does not parse or has unknown keys.
    #[error("topics.yaml: {0}")]
    Parse(String),
    /// A topic name Kafka would refuse.
    #[error("invalid topic name '{name}': {why}")]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A setting out of range.
    #[error("topic '{name}': {why}")]
    InvalidSetting {
        /// The topic.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The same name twice.
    #[error("topic '{0}' is listed twice")]
    Duplicate(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    defaults: Defaults,
    codegen: Vec<Entry>,
    system: Vec<Entry>,
    workflow_events: WorkflowEvents,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    partitions: i32,
    replication_factor: i32,
    retention_ms: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    partitions: Option<i32>,
    retention_ms: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowEvents {
    partitions: i32,
    dlq_retention_ms: i64,
}

/// The dead-letter topic of a workflow event topic.
pub fn dlq_of(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// The full catalogue: the YAML's topics, then every workflow event topic of
/// `event_topics` (event type → topic, `{env}` already replaced) with its `.dlq`.
pub fn catalogue(yaml: &str, event_topics: &EventTopics) -> Result<Vec<TopicSpec>, TopicsError> {
    let file: File = serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(yaml))
        .map_err(|e| TopicsError::Parse(e.to_string()))?;
    let d = &file.defaults;
    let mut out: Vec<TopicSpec> = file
        .codegen
        .iter()
        .chain(&file.system)
        .map(|e| TopicSpec {
            name: e.name.clone(),
            partitions: e.partitions.unwrap_or(d.partitions),
            replication_factor: d.replication_factor,
            retention_ms: e.retention_ms.unwrap_or(d.retention_ms),
        })
        .collect();
    let workflow: BTreeSet<&str> = event_topics.iter().map(|(_, t)| t).collect();
    for topic in workflow {
        out.push(TopicSpec {
            name: topic.to_owned(),
            partitions: file.workflow_events.partitions,
            replication_factor: d.replication_factor,
            retention_ms: d.retention_ms,
        });
        out.push(TopicSpec {
            name: dlq_of(topic),
            partitions: 1,
            replication_factor: d.replication_factor,
            retention_ms: file.workflow_events.dlq_retention_ms,
        });
    }
    let mut seen = BTreeSet::new();
    for t in &out {
        check_name(&t.name)?;
        if t.partitions < 1 || t.replication_factor < 1 {
            return Err(TopicsError::InvalidSetting {
                name: t.name.clone(),
                why: "partitions and replication_factor must be at least 1",
            });
        }
        if t.retention_ms < -1 || t.retention_ms == 0 {
            return Err(TopicsError::InvalidSetting {
                name: t.name.clone(),
                why: "retention_ms must be positive (or -1: forever)",
            });
        }
        if !seen.insert(t.name.as_str()) {
            return Err(TopicsError::Duplicate(t.name.clone()));
        }
    }
    Ok(out)
}

/// Kafka's rules: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn check_name(name: &str) -> Result<(), TopicsError> {
    let bad = |why| {
        Err(TopicsError::InvalidName {
            name: name.to_owned(),
            why,
        })
    };
    if name.is_empty() || name.len() > MAX_TOPIC_NAME {
        return bad("must be 1-249 characters");
    }
    if name == "." || name == ".." {
        return bad("must not be '.' or '..'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(env: &str) -> EventTopics {
        let map = [
            ("STAMP_CREATED", "stamp-created"),
            ("WORKFLOW_STARTED", "workflow-started"),
        ]
        .into_iter()
        .map(|(k, slug)| {
            (
                k.to_owned(),
                format!("{{env}}.omninode_bridge.onex.evt.{slug}.v1"),
            )
        })
        .collect();
        EventTopics::for_env(&map, env)
    }

    #[test]
    fn the_shipped_catalogue_has_the_spec_topics() {
        let all = catalogue(BUILTIN_YAML, &events("dev")).unwrap();
        let codegen: Vec<_> = all
            .iter()
            .filter(|t| t.name.starts_with("omninode_codegen_"))
            .collect();
        assert_eq!(codegen.len(), 13);
        let status = all
            .iter()
            .find(|t| t.name == "omninode_codegen_status_session_v1")
            .unwrap();
        assert_eq!(status.partitions, 6);
        assert!(all.iter().any(|t| t.name == "omninode_system_alerts"));
        for name in [
            "dev.omninode_bridge.onex.evt.stamp-created.v1",
            "dev.omninode_bridge.onex.evt.stamp-created.v1.dlq",
            "dev.omninode_bridge.onex.evt.workflow-started.v1.dlq",
        ] {
            assert!(all.iter().any(|t| t.name == name), "{name}");
        }
        assert_eq!(all.len(), 13 + 1 + 2 * 2);
    }

    #[test]
    fn bad_catalogues_are_refused_with_the_reason() {
        let base = BUILTIN_YAML;
        let cases = [
            (
                base.replace("partitions: 6", "partitions: 0"),
                "partitions and replication_factor must be at least 1",
            ),
            (
                base.replace("omninode_system_alerts", "alerts with spaces"),
                "only letters",
            ),
            (
                base.replace(
                    "omninode_codegen_request_mixin_v1",
                    "omninode_codegen_request_analyze_v1",
                ),
                "listed twice",
            ),
            (
                base.replace(
                    "    partitions: 1\n",
                    "    partitions: 1\n    compaction: yes\n",
                ),
                "unknown field",
            ),
        ];
        for (yaml, want) in cases {
            let e = catalogue(&yaml, &events("dev")).unwrap_err().to_string();
            assert!(e.contains(want), "{e} (wanted {want})");
        }
        // An --env that makes an illegal topic name.
        assert!(catalogue(base, &events("a/b")).is_err());
    }
}

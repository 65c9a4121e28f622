//! `$ref` resolution: `{"$ref": "path/to/file.yaml#/json/pointer"}` is replaced by the value it
//! points to, recursively. Paths are relative to the referencing file and may not leave the
//! contracts root; cycles and missing targets are errors naming file and key path.

use std::collections::HashMap;

use serde_json::Value;

use super::error::ContractError;

/// Where contract files come from (a directory, or the built-in copies).
pub trait ContractSource {
    /// The text of `path` (relative to the contracts root, `/`-separated), if it exists.
    fn read(&self, path: &str) -> Option<String>;
}

/// A resolved contract tree, with the file each part came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The tree with every `$ref` replaced.
    pub value: Value,
    /// (key path prefix, file) for the root and every `$ref`'d subtree.
    origins: Vec<(String, String)>,
}

impl Resolved {
    /// The file that the value at `key` (serde path form: `a.b[2].c`) came from.
    pub fn file_of(&self, key: &str) -> &str {
        self.origins
            .iter()
            .filter(|(prefix, _)| {
                prefix.is_empty()
                    || key == prefix
                    || key
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, file)| file.as_str())
            .unwrap_or("")
    }
}

/// Joins `rel` to the directory of `base` and normalises `.` and `..`; `None` if the result
/// would leave the root.
pub fn normalize(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        let mut p: Vec<&str> = base.split('/').collect();
        p.pop();
        p
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Resolves the contract rooted at `root`.
pub fn resolve(source: &dyn ContractSource, root: &str) -> Result<Resolved, ContractError> {
    let mut r = Resolver {
        source,
        docs: HashMap::new(),
        origins: vec![(String::new(), root.to_owned())],
    };
    let doc = r.doc(root, None)?;
    let mut stack = vec![format!("{root}#")];
    let value = r.resolve(&doc, root, "", &mut stack)?;
    Ok(Resolved {
        value,
        origins: r.origins,
    })
}

struct Resolver<'a> {
    source: &'a dyn ContractSource,
    docs: HashMap<String, Value>,
    origins: Vec<(String, String)>,
}

fn child_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Key path for messages: the root is shown as `/`.
fn shown(key: &str) -> String {
    if key.is_empty() {
        "/".into()
    } else {
        key.to_owned()
    }
}

impl Resolver<'_> {
    fn doc(&mut self, file: &str, from: Option<(&str, &str)>) -> Result<Value, ContractError> {
        if let Some(v) = self.docs.get(file) {
            return Ok(v.clone());
        }
        let text = self
            .source
            .read(file)
            .ok_or_else(|| ContractError::Missing {
                file: file.to_owned(),
                referenced_from: from.map(|(f, k)| (f.to_owned(), shown(k))),
            })?;
        let value: Value = serde_norway::from_str(&text).map_err(|e| ContractError::Yaml {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        self.docs.insert(file.to_owned(), value.clone());
        Ok(value)
    }

    fn resolve(
        &mut self,
        v: &Value,
        file: &str,
        key: &str,
        stack: &mut Vec<String>,
    ) -> Result<Value, ContractError> {
        let invalid = |message: String| ContractError::Invalid {
            file: file.to_owned(),
            key: shown(key),
            message,
        };
        match v {
            Value::Object(map) if map.contains_key("$ref") => {
                if map.len() != 1 {
                    return Err(invalid("$ref must be the only key of its mapping".into()));
                }
                let Some(target) = map["$ref"].as_str() else {
                    return Err(invalid("$ref must be a string".into()));
                };
                let (path, pointer) = target.split_once('#').unwrap_or((target, ""));
                let target_file = if path.is_empty() {
                    file.to_owned()
                } else {
                    normalize(file, path).ok_or_else(|| {
                        invalid(format!("$ref {target:?} leaves the contracts directory"))
                    })?
                };
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    return Err(invalid(format!(
                        "$ref pointer must start with '/': {target:?}"
                    )));
                }
                let id = format!("{target_file}#{pointer}");
                if stack.contains(&id) {
                    let mut chain = stack.clone();
                    chain.push(id);
                    return Err(ContractError::Cycle {
                        file: file.to_owned(),
                        key: shown(key),
                        chain: chain.join(" -> "),
                    });
                }
                let doc = self.doc(&target_file, Some((file, key)))?;
                let part = doc
                    .pointer(pointer)
                    .ok_or_else(|| {
                        invalid(format!(
                            "$ref {target:?}: no value at {pointer:?} in {target_file}"
                        ))
                    })?
                    .clone();
                self.origins.push((key.to_owned(), target_file.clone()));
                stack.push(id);
                let out = self.resolve(&part, &target_file, key, stack);
                stack.pop();
                out
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, child) in map {
                    out.insert(
                        k.clone(),
                        self.resolve(child, file, &child_key(key, k), stack)?,
                    );
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, child)| self.resolve(child, file, &format!("{key}[{i}]"), stack))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }
}

//! What a client may register: every field checked, errors naming the field.

use serde::Deserialize;
use serde_json::Value;

/// A registration request (SPEC §6).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Unique id chosen by the node.
    pub node_id: String,
    /// One of the contract's `node_types`.
    pub node_type: String,
    /// The node's version.
    pub version: String,
    /// What it can do.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Name → URL.
    #[serde(default = "empty_object")]
    pub endpoints: Value,
    /// Free-form object.
    #[serde(default = "empty_object")]
    pub metadata: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// The field.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

/// Most capabilities, endpoints; longest values; biggest metadata document.
const MAX_CAPABILITIES: usize = 64;
const MAX_ENDPOINTS: usize = 32;
const MAX_TEXT: usize = 128;
const MAX_URL: usize = 2048;
const MAX_METADATA_BYTES: usize = 16 * 1024;

/// `^[A-Za-z0-9_.:-]{1,128}$`: ids appear in topics' keys, logs and URLs.
pub fn check_node_id(id: &str) -> Result<(), Invalid> {
    if id.is_empty()
        || id.len() > MAX_TEXT
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
    {
        return Err(invalid(
            "node_id",
            "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'",
        ));
    }
    Ok(())
}

/// The endpoint URLs a node may register, exactly as the OpenAPI document's pattern says:
/// `^(https?|wss?|grpcs?|tcp|unix)://<host>(:<port 0-65535>)?(/<path>)?$`, the host of
/// letters, digits and `._~-` (a name or an IPv4 address), the path of URL characters. Checked
/// by hand beside `url::Url::parse`: WHATWG parsing accepts far more (opaque hosts of almost
/// any character) than a client should put in a registry.
fn endpoint_url(u: &str) -> bool {
    let Some((scheme, rest)) = u.split_once("://") else {
        return false;
    };
    if !["http", "https", "ws", "wss", "grpc", "grpcs", "tcp", "unix"].contains(&scheme) {
        return false;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65535)
    });
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._~!$&'()*+,;=:@%/-".contains(&b));
    host_ok && port_ok && path_ok
}

impl Registration {
    /// Checks every field; `node_types` are the contract's.
    pub fn check(&self, node_types: &[String]) -> Result<(), Invalid> {
        check_node_id(&self.node_id)?;
        if !node_types.contains(&self.node_type) {
            return Err(invalid(
                "node_type",
                format!("must be one of {}", node_types.join(", ")),
            ));
        }
        if self.version.is_empty()
            || self.version.len() > 64
            || !self
                .version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+-_".contains(&b))
        {
            return Err(invalid(
                "version",
                "must be 1-64 characters of letters, digits, '.', '+', '-' or '_' (e.g. 1.2.3)",
            ));
        }
        if self.capabilities.len() > MAX_CAPABILITIES {
            return Err(invalid(
                "capabilities",
                format!("at most {MAX_CAPABILITIES} entries"),
            ));
        }
        for c in &self.capabilities {
            // Characters, as JSON Schema's maxLength counts them (the OpenAPI document).
            if c.is_empty() || c.chars().count() > MAX_TEXT || c.chars().any(char::is_control) {
                return Err(invalid(
                    "capabilities",
                    "each must be 1-128 characters without control characters",
                ));
            }
        }
        let Value::Object(endpoints) = &self.endpoints else {
            return Err(invalid("endpoints", "must be an object of name: URL"));
        };
        if endpoints.len() > MAX_ENDPOINTS {
            return Err(invalid(
                "endpoints",
                format!("at most {MAX_ENDPOINTS} entries"),
            ));
        }
        for (name, url) in endpoints {
            let ok = url.as_str().is_some_and(|u| {
                u.len() <= MAX_URL
                    && endpoint_url(u)
                    && url::Url::parse(u).is_ok_and(|p| p.has_host())
            });
            if name.is_empty() || name.chars().count() > MAX_TEXT || !ok {
                return Err(invalid(
                    "endpoints",
                    format!("{name:?} must map to an absolute URL (at most {MAX_URL} bytes)"),
                ));
            }
        }
        if !self.metadata.is_object() {
            return Err(invalid("metadata", "must be an object"));
        }
        if self.metadata.to_string().len() > MAX_METADATA_BYTES {
            return Err(invalid(
                "metadata",
                format!("at most {MAX_METADATA_BYTES} bytes of JSON"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn types() -> Vec<String> {
        ["effect", "reducer"].map(String::from).to_vec()
    }

    fn ok() -> Registration {
        serde_json::from_value(json!({"node_id": "n-1", "node_type": "effect", "version": "1.0.0",
            "capabilities": ["stamp"], "endpoints": {"http": "http://10.0.0.1:8053"}, "metadata": {"zone": "a"}}))
        .unwrap()
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(ok().check(&types()), Ok(()));
        let field = |f: fn(&mut Registration)| {
            let mut r = ok();
            f(&mut r);
            r.check(&types()).unwrap_err().field
        };
        assert_eq!(field(|r| r.node_id = String::new()), "node_id");
        assert_eq!(field(|r| r.node_id = "a/b".into()), "node_id");
        assert_eq!(field(|r| r.node_id = "x".repeat(129)), "node_id");
        assert_eq!(field(|r| r.node_type = "compute".into()), "node_type");
        assert_eq!(field(|r| r.version = "1 0".into()), "version");
        assert_eq!(
            field(|r| r.capabilities = vec!["a\u{0}".into()]),
            "capabilities"
        );
        assert_eq!(
            field(|r| r.capabilities = vec!["c".into(); 65]),
            "capabilities"
        );
        assert_eq!(field(|r| r.endpoints = json!(["http://x"])), "endpoints");
        assert_eq!(
            field(|r| r.endpoints = json!({"http": "not a url"})),
            "endpoints"
        );
        assert_eq!(field(|r| r.endpoints = json!({"http": 5})), "endpoints");
        assert_eq!(field(|r| r.metadata = json!("text")), "metadata");
        assert_eq!(
            field(|r| r.metadata = json!({"big": "x".repeat(20_000)})),
            "metadata"
        );
    }
}

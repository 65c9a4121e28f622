//! The API's part of the configuration: limits, keys, rate limit.

use std::fmt;
use std::str::FromStr;

/// Default limit for JSON `content` (10 MiB).
pub const DEFAULT_MAX_CONTENT_BYTES: usize = 10 * 1024 * 1024;
/// Default limit for raw and multipart uploads (1 GiB).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;
/// Default budget of request bodies held in memory at once, across all requests (64 MiB: six
/// bodies at the 10 MiB content limit). Decoding, stamping and answering a body take about
/// twice its size again, so the server's peak is ~3x the budget plus ~35 MiB: 180-223 MiB
/// measured for a thousand concurrent 10 MiB bodies (docs/benchmarks.md).
pub const DEFAULT_BODY_BUDGET_BYTES: usize = 64 * 1024 * 1024;
/// Most items in one batch.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// Limits and access rules of the HTTP API.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Limit for decoded JSON `content`.
    pub max_content_bytes: usize,
    /// Limit for streamed uploads to `/hash`.
    pub max_upload_bytes: u64,
    /// Bytes of JSON request bodies held in memory at once, over all requests (see
    /// `budget`); a single body larger than all of it is refused 413.
    pub body_budget_bytes: usize,
    /// One log line per request (method, route, status, duration, correlation id). Off, a
    /// 1 KiB `POST /hash` is ~14 % faster (docs/benchmarks.md); the request metrics stay.
    pub log_requests: bool,
    /// Configured API keys; empty means authentication is off.
    pub api_keys: Vec<ApiKey>,
    /// Token bucket per key (or client IP without auth).
    pub rate_limit: Option<RateLimit>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_content_bytes: DEFAULT_MAX_CONTENT_BYTES,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            body_budget_bytes: DEFAULT_BODY_BUDGET_BYTES,
            log_requests: true,
            api_keys: Vec::new(),
            rate_limit: None,
        }
    }
}

impl ApiConfig {
    /// Largest JSON body accepted for a single-content request: room for the content's JSON
    /// encoding (base64 or escapes) plus the other fields.
    pub fn json_body_limit(&self) -> usize {
        self.max_content_bytes
            .saturating_mul(2)
            .saturating_add(1 << 20)
    }

    /// Largest JSON body accepted for a batch.
    pub fn batch_body_limit(&self) -> usize {
        self.json_body_limit().saturating_mul(8)
    }
}

/// An API key, optionally limited to some namespaces. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The secret.
    pub secret: String,
    /// Namespaces this key may use; `None` = all.
    pub namespaces: Option<Vec<String>>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("secret", &"<redacted>")
            .field("namespaces", &self.namespaces)
            .finish()
    }
}

impl FromStr for ApiKey {
    type Err = String;

    /// Parses `key` or `key=ns1|ns2`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (secret, namespaces) = match s.split_once('=') {
            Some((k, list)) => {
                let ns: Vec<String> = list.split('|').map(str::to_owned).collect();
                if let Some(bad) = ns
                    .iter()
                    .find(|n| bridge_core::Namespace::parse(n).is_err())
                {
                    return Err(format!("API key scope has an invalid namespace {bad:?}"));
                }
                (k, Some(ns))
            }
            None => (s, None),
        };
        if secret.len() < 8
            || secret
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',')
        {
            return Err("API key must be at least 8 characters, without spaces or commas".into());
        }
        Ok(Self {
            secret: secret.to_owned(),
            namespaces,
        })
    }
}

/// A token-bucket rate: `N` requests per `per` seconds, burst `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per period (also the burst).
    pub requests: u32,
    /// Period in seconds.
    pub per_seconds: u32,
}

impl FromStr for RateLimit {
    type Err = String;

    /// Parses `500/s`, `100/m` or `1000/h`.
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || format!("rate limit must look like 500/s, 100/m or 1000/h, got {s:?}");
        let (n, unit) = s.split_once('/').ok_or_else(err)?;
        let requests: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(err)?;
        let per_seconds = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            _ => return Err(err()),
        };
        Ok(Self {
            requests,
            per_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_rates() {
        let k: ApiKey = "secret-key-1=ns1|ns2".parse().unwrap();
        assert_eq!(
            k.namespaces.as_deref(),
            Some(&["ns1".to_string(), "ns2".to_string()][..])
        );
        assert!(!format!("{k:?}").contains("secret-key-1"));
        assert!("short".parse::<ApiKey>().is_err());
        assert!("longenough=bad ns".parse::<ApiKey>().is_err());
        assert_eq!(
            "500/s".parse::<RateLimit>().unwrap(),
            RateLimit {
                requests: 500,
                per_seconds: 1
            }
        );
        assert_eq!("10/m".parse::<RateLimit>().unwrap().per_seconds, 60);
        assert!("0/s".parse::<RateLimit>().is_err());
        assert!("5/d".parse::<RateLimit>().is_err());
    }
}

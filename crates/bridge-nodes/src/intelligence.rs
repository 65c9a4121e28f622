//! The client of the optional intelligence service (`--onextree-url`): POSTs
//! `{content, analysis_type}` to `<url><path>` with a per-attempt timeout, retries with
//! doubling backoff, all behind a circuit breaker so a dead service costs nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::contract::OnextreeSpec;
use serde_json::{json, Value};

use bridge_core::breaker::{self, BreakerState, CircuitBreaker};

/// Why the intelligence service gave no analysis (or the client could not be made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntelligenceError {
    /// `--onextree-url` is not an http(s) URL.
    #[error("--onextree-url must be an http(s) URL, got {0:?}")]
    BadUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot build HTTP client: {0}")]
    Client(String),
    /// An attempt ran past the timeout.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The request did not get an answer.
    #[error("request failed: {0}")]
    Request(String),
    /// The service answered with an error status.
    #[error("intelligence service answered HTTP {0}")]
    Status(u16),
    /// The answer was not JSON.
    #[error("invalid JSON from intelligence service: {0}")]
    InvalidJson(String),
    /// The circuit breaker refused the call.
    #[error("circuit breaker {0}: intelligence service not called")]
    BreakerOpen(&'static str),
}

/// The optional intelligence service (`--onextree-url`).
#[async_trait]
pub trait Intelligence: Send + Sync {
    /// Analyses content; the error says why it failed (timeout, breaker open, …).
    async fn analyze(
        &self,
        content: &[u8],
    ) -> std::result::Result<serde_json::Value, IntelligenceError>;

    /// Breaker state and last failure, for `/health` and metrics.
    fn status(&self) -> IntelligenceStatus {
        IntelligenceStatus {
            breaker: breaker::BreakerState::Closed,
            last_error: None,
        }
    }
}

/// What `/health` says about the intelligence service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelligenceStatus {
    /// The circuit breaker's state.
    pub breaker: breaker::BreakerState,
    /// The last call's failure, cleared by a success.
    pub last_error: Option<String>,
}

/// HTTP client of the intelligence service.
pub struct OnextreeClient {
    http: reqwest::Client,
    url: String,
    spec: OnextreeSpec,
    breaker: Arc<CircuitBreaker>,
    /// Last failure (cleared by a success), for `/health`. std Mutex: never held across await.
    last_error: Mutex<Option<String>>,
}

impl OnextreeClient {
    /// A client for `base_url` following the contract's routing spec.
    pub fn new(base_url: &str, spec: &OnextreeSpec) -> Result<Self, IntelligenceError> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(IntelligenceError::BadUrl(base_url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(spec.timeout_ms))
            .build()
            .map_err(|e| IntelligenceError::Client(e.to_string()))?;
        Ok(Self {
            http,
            url: format!("{base}{}", spec.path),
            spec: spec.clone(),
            breaker: Arc::new(CircuitBreaker::new(spec.circuit_breaker)),
            last_error: Mutex::new(None),
        })
    }

    async fn call(&self, content: &str) -> Result<Value, IntelligenceError> {
        let resp = self
            .http
            .post(&self.url)
            .json(&json!({"content": content, "analysis_type": self.spec.analysis_type}))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    IntelligenceError::Timeout(self.spec.timeout_ms)
                } else {
                    IntelligenceError::Request(e.to_string())
                }
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(IntelligenceError::Status(status.as_u16()));
        }
        resp.json::<Value>()
            .await
            .map_err(|e| IntelligenceError::InvalidJson(e.to_string()))
    }

    fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    }
}

#[async_trait]
impl Intelligence for OnextreeClient {
    async fn analyze(&self, content: &[u8]) -> Result<Value, IntelligenceError> {
        if let Err(r) = self.breaker.try_acquire() {
            return Err(IntelligenceError::BreakerOpen(r.state.as_str()));
        }
        let text = String::from_utf8_lossy(content);
        let mut last = IntelligenceError::Request("no attempt made".into());
        for attempt in 0..self.spec.attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(
                    self.spec
                        .backoff_ms
                        .saturating_mul(1 << (attempt - 1).min(16)),
                ))
                .await;
            }
            match self.call(&text).await {
                Ok(v) => {
                    self.breaker.on_success();
                    self.set_error(None);
                    return Ok(v);
                }
                Err(e) => last = e,
            }
        }
        // One failed call (all its attempts) counts once towards opening the breaker.
        self.breaker.on_failure();
        self.set_error(Some(last.to_string()));
        Err(last)
    }

    fn status(&self) -> IntelligenceStatus {
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        IntelligenceStatus {
            breaker: self.breaker.state(),
            last_error,
        }
    }
}

impl std::fmt::Debug for OnextreeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnextreeClient")
            .field("url", &self.url)
            .finish()
    }
}

/// Whether the service is to be reported degraded.
pub fn is_degraded(s: &IntelligenceStatus) -> bool {
    s.breaker != BreakerState::Closed || s.last_error.is_some()
}

#[cfg(test)]
mod tests {
    use bridge_core::contract::BreakerSpec;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn spec(timeout_ms: u64, open_ms: u64) -> OnextreeSpec {
        OnextreeSpec {
            path: "/analyze".into(),
            analysis_type: "metadata".into(),
            timeout_ms,
            attempts: 3,
            backoff_ms: 10,
            circuit_breaker: BreakerSpec {
                failure_threshold: 5,
                open_ms,
                half_open_max_calls: 3,
            },
        }
    }

    #[tokio::test]
    async fn success_returns_the_analysis() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/analyze"))
            .and(body_partial_json(
                json!({"content": "hello", "analysis_type": "metadata"}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"language": "text"})))
            .expect(1)
            .mount(&server)
            .await;
        let c = OnextreeClient::new(&server.uri(), &spec(1000, 60_000)).unwrap();
        assert_eq!(
            c.analyze(b"hello").await.unwrap(),
            json!({"language": "text"})
        );
        assert!(!is_degraded(&c.status()));
    }

    #[tokio::test]
    async fn slow_responses_time_out_after_every_attempt() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .expect(3)
            .mount(&server)
            .await;
        let c = OnextreeClient::new(&server.uri(), &spec(100, 60_000)).unwrap();
        let e = c.analyze(b"x").await.unwrap_err();
        assert_eq!(e, IntelligenceError::Timeout(100));
        assert_eq!(e.to_string(), "timed out after 100 ms");
        assert!(is_degraded(&c.status()));
    }

    #[tokio::test]
    async fn five_failures_open_the_breaker_then_it_half_opens_and_closes() {
        let server = MockServer::start().await;
        let failing = Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(15) // 5 calls × 3 attempts; none while open
            .mount_as_scoped(&server)
            .await;
        let c = OnextreeClient::new(&server.uri(), &spec(1000, 300)).unwrap();
        for _ in 0..5 {
            assert_eq!(
                c.analyze(b"x").await.unwrap_err().to_string(),
                "intelligence service answered HTTP 500"
            );
        }
        assert_eq!(c.status().breaker, BreakerState::Open);
        let e = c.analyze(b"x").await.unwrap_err().to_string();
        assert!(e.starts_with("circuit breaker open"), "{e}");
        drop(failing); // verifies the 15 calls, and the service recovers
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
            .mount(&server)
            .await;
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(c.status().breaker, BreakerState::HalfOpen);
        assert_eq!(c.analyze(b"x").await.unwrap(), json!({"ok": true}));
        assert_eq!(c.status().breaker, BreakerState::Closed);
        assert!(!is_degraded(&c.status()));
    }

    #[test]
    fn rejects_non_http_urls() {
        assert!(OnextreeClient::new("ftp://x", &spec(10, 10)).is_err());
    }
}

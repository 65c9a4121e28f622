//! Reading a log's tiles over HTTP for the monitor, trusting the server for nothing: every body
//! is bounded (a hostile server cannot make us hold more than a tile or bundle can be), a
//! hanging one times out, transient failures are retried with backoff, and a few requests
//! are in flight at once.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};

/// Requests in flight at once.
const IN_FLIGHT: usize = 4;
/// Attempts per resource (transient failures: connection, timeout, 5xx, 429).
const ATTEMPTS: u32 = 4;

/// Why a resource could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    /// The server answered, and not with the resource (a 4xx other than 429).
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// More bytes than the resource can have.
    #[error("{url}: more than {max} bytes")]
    TooLarge { url: String, max: usize },
    /// No usable answer after retries.
    #[error("{url}: {why}")]
    Unreachable { url: String, why: String },
}

pub(super) struct Fetcher {
    http: reqwest::Client,
    base: String,
}

impl Fetcher {
    pub(super) fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// `base/path`, at most `max` bytes.
    pub(super) async fn get(&self, path: &str, max: usize) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}/{path}", self.base);
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            let resp = match self.http.get(&url).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = if e.is_timeout() {
                        "no answer in time".into()
                    } else {
                        format!("cannot connect ({e})")
                    };
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if status == 429 || status >= 500 {
                last = format!("HTTP {status}");
                continue;
            }
            if status != 200 {
                return Err(FetchError::Status { url, status });
            }
            if resp.content_length().is_some_and(|n| n > max as u64) {
                return Err(FetchError::TooLarge { url, max });
            }
            let mut body = Vec::new();
            let mut stream = resp.bytes_stream();
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) if body.len() + c.len() > max => {
                        return Err(FetchError::TooLarge { url, max });
                    }
                    Ok(c) => body.extend_from_slice(&c),
                    Err(e) => {
                        failed = Some(e.to_string());
                        break;
                    }
                }
            }
            match failed {
                None => return Ok(body),
                Some(why) => last = why,
            }
        }
        Err(FetchError::Unreachable { url, why: last })
    }

    /// Every path of `paths`, a few at a time; by path.
    pub(super) async fn many(
        &self,
        paths: Vec<String>,
        max: usize,
    ) -> Result<HashMap<String, Vec<u8>>, FetchError> {
        futures_util::stream::iter(paths)
            .map(|p| async move {
                let b = self.get(&p, max).await?;
                Ok::<_, FetchError>((p, b))
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await
    }

    /// A resource of another prefix (a witness's view), same bounds.
    pub(super) fn at(&self, base: &str) -> Self {
        Self {
            http: self.http.clone(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }
}

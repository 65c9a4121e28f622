//! The HTTP side of tlog-witness's `add-checkpoint`: one keep-alive client for every
//! witness, a timeout, and the answer read into what it means (bounded: a witness's answer is
//! a few signature lines).

use std::time::Duration;

use bridge_core::witness::{parse_size, AddCheckpoint, SIZE_CONTENT_TYPE};
use futures_util::StreamExt;

/// Largest answer we read from a witness (signature lines; ML-DSA ones are ~3.3 KB each).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub(super) enum Answer {
    /// 200: the cosignature lines.
    Cosigned(String),
    /// 409 `text/x.tlog.size`: the size the witness last cosigned.
    Size(u64),
    /// Any other status, with the body.
    Refused(u16, String),
    /// No answer (connection, timeout, an unreadable body).
    Failed(String),
}

impl Answer {
    /// The metrics' status label.
    pub(super) fn label(&self) -> String {
        match self {
            Answer::Cosigned(_) => "200".into(),
            Answer::Size(_) => "409".into(),
            Answer::Refused(s, _) => s.to_string(),
            Answer::Failed(_) => "error".into(),
        }
    }
}

pub(super) struct Client {
    http: reqwest::Client,
}

impl Client {
    pub(super) fn new(timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| format!("cannot build the witness client: {e}"))?;
        Ok(Self { http })
    }

    /// `POST <prefix>/add-checkpoint`.
    pub(super) async fn add_checkpoint(&self, prefix: &str, req: &AddCheckpoint) -> Answer {
        let url = format!("{}/add-checkpoint", prefix.trim_end_matches('/'));
        let resp = match self.http.post(&url).body(req.to_string()).send().await {
            Ok(r) => r,
            Err(e) => return Answer::Failed(describe(&e)),
        };
        let status = resp.status().as_u16();
        let size_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == SIZE_CONTENT_TYPE);
        let body = match read_bounded(resp).await {
            Ok(b) => b,
            Err(why) => return Answer::Failed(why),
        };
        match status {
            200 => Answer::Cosigned(body),
            409 if size_type => match parse_size(&body) {
                Some(n) => Answer::Size(n),
                None => Answer::Failed(format!("a 409 with an unreadable size: {body:?}")),
            },
            s => Answer::Refused(s, body),
        }
    }
}

async fn read_bounded(resp: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| describe(&e))?;
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!("an answer over {MAX_ANSWER_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "an answer that is not UTF-8".into())
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.to_string()
    }
}

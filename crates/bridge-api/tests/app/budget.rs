//! The body budget: many large bodies at once are answered 503 `SERVER_BUSY` (with
//! `Retry-After`) beyond what the budget holds, instead of all being buffered; the ones taken
//! are stamped, the budget is given back, and the service goes on.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use bridge_api::ApiConfig;
use bytes::Bytes;
use futures_util::{stream, StreamExt};

use crate::helpers::TestApp;

const BODY_MIB: usize = 1;
const REQUESTS: usize = 48;
const BUDGET: usize = 8 << 20;

/// A metric's value from the exposition (0 when absent).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// A `/stamp` body of about 1 MiB (the same length for every `i`) sent in 64 KiB chunks, the
/// last one only once `gate` closes: until then every request holds what it has received.
/// Returns the body and its length in bytes.
fn held_back_body(i: usize, gate: Arc<tokio::sync::Semaphore>) -> (Body, usize) {
    let json = serde_json::json!({
        "content": format!("# {i:04}\n{}\n", "x".repeat(BODY_MIB << 20)),
        "namespace": "budget",
    })
    .to_string()
    .into_bytes();
    let (head, last) = json.split_at(json.len() - 16);
    let chunks: Vec<Result<Bytes, std::io::Error>> = head
        .chunks(64 << 10)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let last = Bytes::copy_from_slice(last);
    let body = Body::from_stream(stream::iter(chunks).chain(stream::once(async move {
        let _ = gate.acquire().await;
        Ok(last)
    })));
    (body, json.len())
}

/// The in-process service with a body budget of [`BUDGET`].
async fn app_with_budget() -> TestApp {
    TestApp::with_config(ApiConfig {
        body_budget_bytes: BUDGET,
        ..ApiConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_large_bodies_beyond_the_budget_get_503_and_the_rest_are_stamped() {
    let app = app_with_budget().await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let requests = futures_util::future::join_all((0..REQUESTS).map(|i| {
        app.request(
            Method::POST,
            "/stamp",
            Some("application/json"),
            held_back_body(i, gate.clone()).0,
            None,
        )
    }));
    // While every body is held back: the budget is full, nothing beyond it is held, and
    // the requests it cannot take have been refused.
    let watch = async {
        let mut peak = 0;
        for _ in 0..600 {
            let text = app.get("/metrics").await.text;
            let held = metric(&text, "request_body_bytes_held");
            peak = peak.max(held);
            let refused = metric(&text, "request_body_budget_rejections_total");
            assert!(held <= BUDGET as u64, "held {held} bytes, over the budget");
            if refused as usize >= REQUESTS - BUDGET / (BODY_MIB << 20)
                && held > (BUDGET / 2) as u64
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gate.close();
        peak
    };
    let (replies, peak) = tokio::join!(requests, watch);
    assert!(
        peak > (BUDGET / 2) as u64,
        "the budget was used: peak {peak}"
    );
    let (mut created, mut busy) = (0, 0);
    for r in &replies {
        match r.status {
            201 => created += 1,
            503 => {
                r.assert_error(503, "SERVER_BUSY");
                assert_eq!(r.headers["retry-after"], "1");
                busy += 1;
            }
            other => panic!("neither stamped nor refused: {other} {}", r.text),
        }
    }
    assert!(created >= 1, "some bodies fit the budget");
    assert!(
        created <= BUDGET / (BODY_MIB << 20),
        "{created} stamped: more than the budget holds at once"
    );
    assert_eq!(created + busy, REQUESTS);
    let text = app.get("/metrics").await.text;
    assert_eq!(metric(&text, "request_body_bytes_held"), 0, "given back");
    assert_eq!(
        metric(&text, "request_body_budget_rejections_total"),
        busy as u64
    );
    // The service goes on: the same large body is taken now.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    gate.close();
    let again = app
        .request(
            Method::POST,
            "/stamp",
            Some("application/json"),
            held_back_body(REQUESTS, gate).0,
            None,
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    app.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_declared_length_are_taken_whole_or_refused_before_they_are_read() {
    let app = app_with_budget().await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut len = 0;
    let requests = futures_util::future::join_all((0..REQUESTS).map(|i| {
        let (body, n) = held_back_body(i, gate.clone());
        len = n;
        let req = Request::builder()
            .method(Method::POST)
            .uri("/stamp")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, n)
            .body(body)
            .unwrap();
        app.send(req)
    }));
    // Each request takes its declared length whole: as many as fit hold the budget, every
    // other one is refused at once, and no request holds part of it (which could leave the
    // budget spent with no body complete).
    let fits = BUDGET / len;
    let watch = async {
        let (mut held, mut refused) = (0, 0);
        for _ in 0..600 {
            let text = app.get("/metrics").await.text;
            held = metric(&text, "request_body_bytes_held");
            refused = metric(&text, "request_body_budget_rejections_total");
            if refused as usize == REQUESTS - fits && held as usize == fits * len {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gate.close();
        (held, refused)
    };
    let (replies, (held, refused)) = tokio::join!(requests, watch);
    assert_eq!(
        held as usize,
        fits * len,
        "whole bodies held, nothing partial"
    );
    assert_eq!(refused as usize, REQUESTS - fits);
    let created = replies.iter().filter(|r| r.status == 201).count();
    let busy = replies.iter().filter(|r| r.status == 503).count();
    assert_eq!(created, fits, "every body that was taken is stamped");
    assert_eq!(busy, REQUESTS - fits);
    assert_eq!(
        metric(&app.get("/metrics").await.text, "request_body_bytes_held"),
        0
    );
    app.run_pending_outbox().await;
}

//! The rate limit as a client experiences it: `Retry-After` says how long the configured
//! window makes it wait, and waiting that long is enough.

use std::time::Duration;

use axum::body::Body;
use axum::http::Method;
use bridge_api::ApiConfig;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_matches_the_window_and_waiting_it_is_enough() {
    // One request a second, burst 1: the next token comes within a second.
    let app = TestApp::with_config(ApiConfig {
        rate_limit: Some("1/s".parse().unwrap()),
        ..ApiConfig::default()
    })
    .await;
    let get = || app.request(Method::GET, "/namespaces", None, Body::empty(), None);
    assert_eq!(get().await.status, 200);
    let limited = get().await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry, 1, "whole seconds, rounded up, within the 1 s window");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(get().await.status, 200, "a token after Retry-After seconds");
}

//! The anchors of `POST /hash` in `scripts/bench`: the smallest axum service that hashes a
//! request body with blake3 and answers the hex digest — no envelope, limits, metrics,
//! auth or type detection. `/hash` takes the body whole (the 1 KiB anchor); `/stream` feeds
//! the body's chunks to one hasher as they arrive and keeps none of them (the 1 GiB upload's
//! anchor, the same streaming the service does). Prints `listening on http://ADDR` like the
//! real server.

use axum::body::{Body, Bytes};
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;

async fn stream(body: Body) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        hasher.update(&chunk.expect("the bench's client sends a whole body"));
    }
    hasher.finalize().to_hex().to_string()
}

#[tokio::main]
async fn main() {
    let app = Router::new()
        .route(
            "/hash",
            post(|body: Bytes| async move { blake3::hash(&body).to_hex().to_string() }),
        )
        // A raw `Body` has no default size limit: the whole 1 GiB goes through.
        .route("/stream", post(stream));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

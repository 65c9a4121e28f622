//! The anchor of `POST /hash` in `scripts/bench`: the smallest axum service that hashes a
//! request body with blake3 and answers the hex digest — no envelope, limits, metrics,
//! auth or type detection. Prints `listening on http://ADDR` like the real server.

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;

#[tokio::main]
async fn main() {
    let app = Router::new().route(
        "/hash",
        post(|body: Bytes| async move { blake3::hash(&body).to_hex().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

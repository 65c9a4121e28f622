//! Size limits: the 10 MiB JSON content limit, and a 256 MiB upload streamed in flat memory.

use bytes::Bytes;
use futures_util::stream;

use crate::helpers::{memory_kib, stamp_body, Server};

#[tokio::test]
async fn ten_mib_content_limit() {
    let s = Server::start(&[]);
    let limit = 10 * 1024 * 1024;
    let at_limit = "a".repeat(limit);
    let r = s.post("/stamp", &stamp_body(&at_limit, "big")).await;
    assert_eq!(r.status, 201, "{}", r.body["error"]);
    let over = "a".repeat(limit + 1);
    let r = s.post("/stamp", &stamp_body(&over, "big")).await;
    r.assert_error(413, "CONTENT_TOO_LARGE");
    assert_eq!(r.body["error"]["field"], "content");
    // A body far beyond any legal request is refused before it is read.
    let (status, body) = raw_post(&s, "/validate", 40 << 20).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("PAYLOAD_TOO_LARGE"), "{body}");
}

/// Sends headers announcing `len` bytes and only the first KiB of them, then reads the
/// answer: the server must answer without waiting for (or buffering) the rest.
async fn raw_post(s: &Server, path: &str, len: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.strip_prefix("http://").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&[b' '; 1024]).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn configured_limits_apply() {
    let s = Server::start(&["--max-content-bytes", "1KiB", "--max-upload-bytes", "4KiB"]);
    s.post("/stamp", &stamp_body(&"b".repeat(1025), "ns"))
        .await
        .assert_error(413, "CONTENT_TOO_LARGE");
    assert_eq!(
        s.post("/stamp", &stamp_body(&"b".repeat(1024), "ns"))
            .await
            .status,
        201
    );
    s.post_raw("/hash", "application/octet-stream", vec![0u8; 4097])
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(
        s.post_raw("/hash", "application/octet-stream", vec![0u8; 4096])
            .await
            .status,
        200
    );
}

/// 256 MiB of deterministic, incompressible-ish bytes in 1 MiB chunks.
fn chunk(i: u64) -> Bytes {
    let mut out = vec![0u8; 1 << 20];
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in out.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    Bytes::from(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_256_mib_upload_in_flat_memory() {
    let s = Server::start(&[]);
    const CHUNKS: u64 = 256;
    let mut want = blake3::Hasher::new();
    for i in 0..CHUNKS {
        want.update(&chunk(i));
    }
    let before = memory_kib(s.pid()).1;
    let body = reqwest::Body::wrap_stream(stream::iter(
        (0..CHUNKS).map(|i| Ok::<_, std::io::Error>(chunk(i))),
    ));
    let r = s.post_raw("/hash", "application/octet-stream", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data()["file_hash"], want.finalize().to_hex().as_str());
    assert_eq!(r.data()["file_size"], CHUNKS << 20);
    let (peak, _) = memory_kib(s.pid());
    // Buffering the body would need ≥ 256 MiB; streaming needs a few chunks.
    let growth_mib = peak.saturating_sub(before) / 1024;
    assert!(
        growth_mib < 64,
        "server peak RSS grew by {growth_mib} MiB for a 256 MiB upload"
    );
}

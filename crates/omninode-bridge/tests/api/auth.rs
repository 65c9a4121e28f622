//! The secure-default bind rule and keys kept out of the logs (keys, scoping and rate limits
//! are tested in process: `bridge-api`'s tests/app/auth.rs).

use std::process::Command;

use crate::helpers::{bin, stamp_body, Server};

#[test]
fn refuses_public_bind_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--bind", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("ONEX_API_KEYS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
}

/// Keys are secrets: at the most verbose log level, neither a right nor a wrong key appears
/// anywhere in the output (request lines, auth failures, SQL statements).
#[tokio::test]
async fn no_api_key_reaches_the_logs_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let right = "key-Right-7f3a9c";
    let wrong = "key-Wrong-2b8e1d";
    let mut s = Server::start_logging_at(
        &dir.path().join("data"),
        &log,
        "trace",
        &["--api-key", &format!("{right}=ns")],
    );
    assert_eq!(
        s.post_with("/stamp", &stamp_body("x\n", "ns"), Some(right))
            .await
            .status,
        201
    );
    s.post_with("/stamp", &stamp_body("y\n", "ns"), Some(wrong))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.post("/stamp", &stamp_body("z\n", "ns"))
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(s.terminate(std::time::Duration::from_secs(30)), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("TRACE") || text.contains("\"level\":\"TRACE\""),
        "trace is on"
    );
    assert!(text.contains("/stamp"), "requests are logged");
    for secret in [right, wrong] {
        assert!(!text.contains(secret), "{secret} found in the log");
    }
}

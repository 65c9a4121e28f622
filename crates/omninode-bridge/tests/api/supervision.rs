//! Supervised background tasks: a task that panics is reported by name and takes the process
//! down with a non-zero exit after a drain, instead of leaving a server that looks healthy
//! while its reducer (or relay) is dead.

use std::time::Duration;

use crate::helpers::Server;

#[tokio::test]
async fn a_panicking_reducer_is_reported_and_the_process_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let data = dir.path().join("data");
    let mut s = Server::start_logging_at(&data, &log, "info", &["--fault-panic-task", "reducer"]);
    assert_eq!(
        s.wait_exit(Duration::from_secs(30)),
        Some(70),
        "EX_SOFTWARE after the drain"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("error: background task reducer panicked: fault injection: reducer panics"),
        "{text}"
    );
    assert!(
        text.contains(r#""task":"reducer""#),
        "the log line names the task: {text}"
    );
    // The drain still ran: this life's nodes left the registry.
    let again = Server::start_logging_at(&data, &dir.path().join("second.log"), "info", &[]);
    let nodes = again.get("/registry/nodes").await;
    let ids: Vec<String> = nodes.data()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "only the second life's own nodes: {ids:?}");
}

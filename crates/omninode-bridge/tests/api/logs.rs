//! SPEC §8's request log: one JSON line per request with correlation id, route, status and
//! duration — all of them on stderr by the time the process has exited.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::Server;

#[tokio::test]
async fn every_request_writes_one_line_and_all_are_out_by_exit() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let mut server = Server::start_logging(&dir.path().join("data"), &log_path);
    let (client, base) = (server.client.clone(), server.base.clone());

    let ids: Vec<Uuid> = (0..200).map(|_| Uuid::new_v4()).collect();
    let sends = ids.iter().map(|id| {
        client
            .post(format!("{base}/hash"))
            .header("x-correlation-id", id.to_string())
            .header("content-type", "application/octet-stream")
            .body(format!("body of {id}"))
            .send()
    });
    for r in futures_util::future::join_all(sends).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    let missing = Uuid::new_v4();
    let r = client
        .get(format!("{base}/no/such/route"))
        .header("x-correlation-id", missing.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // SIGTERM straight after the burst: lines still queued for the log writer must get out.
    assert_eq!(server.terminate(Duration::from_secs(30)), Some(0));

    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request_line = |id: Uuid| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["message"] == "request" && l["correlation_id"] == id.to_string())
            .collect()
    };
    for id in &ids {
        let found = request_line(*id);
        assert_eq!(found.len(), 1, "request {id}: {found:?}");
        let l = found[0];
        assert_eq!(l["method"], "POST");
        assert_eq!(l["route"], "/hash");
        assert_eq!(l["status"], 200);
        assert_eq!(l["level"], "INFO");
        assert!(l["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{l}");
        assert!(
            l["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{l}"
        );
    }
    let unmatched = request_line(missing);
    assert_eq!(unmatched.len(), 1);
    assert_eq!(unmatched[0]["status"], 404);
    assert_eq!(unmatched[0]["route"], "unmatched");
}

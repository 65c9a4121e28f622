//! PostgreSQL outages, on a cluster of the test's own (started and stopped with
//! `scripts/pg`), whatever backend the rest of the suite runs on.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};

use crate::helpers::{bin, stamp_body, Server};

fn pg(action: &str, dir: &Path) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg");
    let out = Command::new(script).arg(action).arg(dir).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/pg {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A cluster in a fresh directory the `postgres` user may enter; stopped on drop.
struct Cluster {
    dir: tempfile::TempDir,
    url: String,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let url = pg("start", &dir.path().join("pg"));
        Cluster { dir, url }
    }

    fn stop(&self) {
        pg("stop", &self.dir.path().join("pg"));
    }

    fn restart(&self) {
        assert_eq!(
            pg("start", &self.dir.path().join("pg")),
            self.url,
            "same port"
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg"))
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .status();
    }
}

/// A server on `cluster`, with a short breaker period so the test sees it recover.
fn server(cluster: &Cluster) -> Server {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("test-database-url"), &cluster.url).unwrap();
    Server::start_on_postgres(
        data,
        &[
            "--db-pool-min",
            "2",
            "--db-pool-max",
            "8",
            "--db-breaker-open-ms",
            "500",
            "--db-acquire-timeout-ms",
            "1000",
        ],
    )
}

async fn counts(url: &str) -> (i64, i64, i64, i64) {
    let mut conn = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .unwrap()
        .connect()
        .await
        .unwrap();
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM metadata_stamps), \
                (SELECT COUNT(*) FROM workflow_executions WHERE state = 'COMPLETED'), \
                (SELECT COUNT(*) FROM workflow_steps), \
                (SELECT COUNT(*) FROM event_logs WHERE event_type NOT IN ('NODE_REGISTERED', 'NODE_HEALTH_CHANGED', 'NODE_DEREGISTERED'))",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_postgres_gives_fast_503s_and_stamping_recovers_by_itself() {
    let cluster = Cluster::start();
    let s = server(&cluster);
    for i in 0..10 {
        let r = s
            .post("/stamp", &stamp_body(&format!("before {i}\n"), "ns"))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let before = counts(&cluster.url).await;
    assert_eq!(before.0, 10);

    cluster.stop();
    let mut refused = Vec::new();
    for i in 0..20 {
        let started = Instant::now();
        let content = format!("during {i}\n");
        let r = s.post("/stamp", &stamp_body(&content, "ns")).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "request {i} took {took:?}");
        r.assert_error(503, "DATABASE_UNAVAILABLE");
        refused.push(content);
    }
    let h = s.get("/health").await;
    assert_eq!(h.status, 503, "{}", h.body);
    assert_eq!(
        h.body["data"]["components"]["database"]["status"],
        "unhealthy"
    );
    let ready = s.get("/health/ready").await;
    assert_eq!(ready.status, 503);
    // Reads fail the same way, never 500.
    let g = s.get(&format!("/stamp/{}", "0".repeat(64))).await;
    g.assert_error(503, "DATABASE_UNAVAILABLE");

    cluster.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let r = s
            .post("/stamp", &stamp_body(&format!("after {attempt}\n"), "ns"))
            .await;
        if r.status == 201 {
            break;
        }
        r.assert_error(503, "DATABASE_UNAVAILABLE");
        assert!(Instant::now() < deadline, "no recovery: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(s.get("/health").await.status, 200);

    // Nothing half-written: every refused stamp is absent, and every stamp has its complete
    // workflow (5 steps) and its 10 events.
    for content in &refused {
        let hash = blake3::hash(content.as_bytes()).to_hex().to_string();
        let g = s.get(&format!("/stamp/{hash}?namespace=ns")).await;
        assert_eq!(g.status, 404, "{content:?} was refused but stored");
    }
    let (stamps, completed, steps, events) = counts(&cluster.url).await;
    assert_eq!(stamps, 11);
    assert_eq!(completed, stamps);
    assert_eq!(steps, 5 * stamps);
    assert_eq!(events, 10 * stamps);
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("database_query_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("circuit_breaker_state{service=\"database\"} 0"),
        "{metrics}"
    );
}

#[test]
fn migrate_applies_the_postgres_migrations() {
    let cluster = Cluster::start();
    for _ in 0..2 {
        let o = Command::new(bin())
            .args(["migrate"])
            .env("DATABASE_URL", &cluster.url)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "migrations applied"
        );
    }
    let o = Command::new(bin())
        .args(["migrate", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected postgres://"));
}

//! Spawning the real `omninode-bridge serve` on port 0 and talking to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// Path of the binary under test.
pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_omninode-bridge")
}

/// The test venv's Python (scripts/python-tools, made by scripts/test).
pub(crate) fn python() -> std::path::PathBuf {
    std::env::var_os("OMNINODE_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .expect("OMNINODE_TEST_PYTHON is not set: run ./scripts/test, which makes the venv")
}

/// Whether the suite runs against PostgreSQL (`OMNINODE_TEST_BACKEND=postgres`, set by
/// `scripts/test` for its second pass) rather than the embedded store.
pub(crate) fn on_postgres() -> bool {
    match std::env::var("OMNINODE_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("OMNINODE_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// The cluster `scripts/test` started (`scripts/pg`).
pub(crate) fn pg_admin_url() -> String {
    std::env::var("OMNINODE_TEST_PG_URL")
        .expect("OMNINODE_TEST_PG_URL is not set: run ./scripts/test, which starts PostgreSQL")
}

/// The PostgreSQL database of the server on `data_dir`, if the suite runs on PostgreSQL.
fn backend_database(data_dir: &Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let remembered = data_dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let url = scratch_pg_database();
    std::fs::create_dir_all(data_dir).unwrap();
    std::fs::write(&remembered, &url).unwrap();
    Some(url)
}

/// A fresh database on the test cluster; its URL.
pub(crate) fn scratch_pg_database() -> String {
    // The tests' own runtime cannot be blocked on: create the database from a thread.
    let admin = pg_admin_url();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(bridge_store::PgStore::scratch_database(&admin))
            .unwrap()
    })
    .join()
    .unwrap()
}

/// `NODE_REGISTERED` events every server writes at start for its own nodes (orchestrator
/// and reducer; with Kafka also the relay): outbox counts include them.
pub(crate) const OWN_NODES: u64 = 2;
/// The same with `--kafka-brokers`.
pub(crate) const OWN_NODES_KAFKA: u64 = 3;

/// A running server; killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server on a fresh data dir with extra `serve` flags.
    pub(crate) fn start(flags: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Server::start_in(dir.path(), flags);
        s._dir = Some(dir);
        s
    }

    /// Starts a server on PostgreSQL whatever the suite's backend: `data` holds the database
    /// URL in `test-database-url`.
    pub(crate) fn start_on_postgres(data: tempfile::TempDir, flags: &[&str]) -> Server {
        let url = std::fs::read_to_string(data.path().join("test-database-url")).unwrap();
        let mut s = Server::spawn(data.path(), Some(url), flags);
        s._dir = Some(data);
        s
    }

    /// [`Server::start_on_postgres`] with its stderr at `level` written to `log`.
    pub(crate) fn start_on_postgres_logging(
        data: tempfile::TempDir,
        log: &Path,
        level: &str,
    ) -> Server {
        let url = std::fs::read_to_string(data.path().join("test-database-url")).unwrap();
        let mut s = Server::spawn_with(data.path(), Some(url), &[], Some((log, level)), &[]);
        s._dir = Some(data);
        s
    }

    /// Starts a server on `data_dir` (kept by the caller, for restarts). With
    /// `OMNINODE_TEST_BACKEND=postgres` the server runs on a PostgreSQL database of its own,
    /// created on first use and remembered in `data_dir`, so a restart finds its data again.
    pub(crate) fn start_in(data_dir: &Path, flags: &[&str]) -> Server {
        Server::spawn(data_dir, backend_database(data_dir), flags)
    }

    /// Starts a server on SQLite in `data_dir` with request logging on (`RUST_LOG=info`), its
    /// stderr written to `log`.
    pub(crate) fn start_logging(data_dir: &Path, log: &Path) -> Server {
        Server::spawn_with(data_dir, None, &[], Some((log, "info")), &[])
    }

    /// [`Server::start_logging`] at a `RUST_LOG` level of the caller's choice, with extra
    /// `serve` flags.
    pub(crate) fn start_logging_at(
        data_dir: &Path,
        log: &Path,
        level: &str,
        flags: &[&str],
    ) -> Server {
        Server::spawn_with(data_dir, None, flags, Some((log, level)), &[])
    }

    /// [`Server::start_in`] with extra environment variables.
    pub(crate) fn start_with_env(data_dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn_with(data_dir, backend_database(data_dir), flags, None, env)
    }

    /// [`Server::start_logging_at`] with extra environment variables.
    pub(crate) fn start_logging_with_env(
        data_dir: &Path,
        log: &Path,
        level: &str,
        flags: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        Server::spawn_with(data_dir, None, flags, Some((log, level)), env)
    }

    fn spawn(data_dir: &Path, database_url: Option<String>, flags: &[&str]) -> Server {
        Server::spawn_with(data_dir, database_url, flags, None, &[])
    }

    fn spawn_with(
        data_dir: &Path,
        database_url: Option<String>,
        flags: &[&str],
        log: Option<(&Path, &str)>,
        env: &[(&str, &str)],
    ) -> Server {
        let (level, stderr) = match log {
            Some((path, level)) => (level, Stdio::from(std::fs::File::create(path).unwrap())),
            None => ("warn", Stdio::inherit()),
        };
        let mut cmd = Command::new(bin());
        cmd.args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("ONEX_API_KEYS")
        .env_remove("DATABASE_URL");
        if let Some(url) = database_url {
            // Small pools: many test servers share one cluster (flags may override).
            if !flags.contains(&"--db-pool-max") {
                cmd.args(["--db-pool-min", "1", "--db-pool-max", "8"]);
            }
            cmd.env("DATABASE_URL", url);
        }
        let mut child = cmd
            .args(flags)
            .env("RUST_LOG", level)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn omninode-bridge");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        Server {
            child,
            base,
            client,
            _dir: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// POSTs JSON; returns status, headers and the parsed envelope.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(path, body, None).await
    }

    pub(crate) async fn post_with(&self, path: &str, body: &Value, key: Option<&str>) -> Reply {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        Reply::from(req.send().await.unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.get_with(path, None).await
    }

    pub(crate) async fn get_with(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = self.client.get(self.url(path));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        Reply::from(req.send().await.unwrap()).await
    }

    /// DELETEs a path.
    pub(crate) async fn delete(&self, path: &str) -> Reply {
        Reply::from(self.client.delete(self.url(path)).send().await.unwrap()).await
    }

    /// POSTs raw bytes with a content type.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let resp = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::from(resp).await
    }

    /// POSTs a multipart form.
    pub(crate) async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Reply {
        Reply::from(
            self.client
                .post(self.url(path))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The workflow named by a stamp reply's `workflow_id`.
    pub(crate) async fn workflow_of(&self, stamp: &Reply) -> Reply {
        let id = stamp.data()["workflow_id"].as_str().expect("a workflow_id");
        self.get(&format!("/workflows/{id}")).await
    }

    /// The `/metrics` text.
    pub(crate) async fn metrics(&self) -> String {
        self.text("/metrics").await
    }

    /// A route's body as text (the log's routes, `/keys/allowed_signers`, `/metrics`).
    pub(crate) async fn text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Stamps `content` in namespace `ns` (must be new: 201); the request's correlation id.
    pub(crate) async fn stamp_new(&self, content: &str) -> String {
        let r = self.post("/stamp", &stamp_body(content, "ns")).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["metadata"]["correlation_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit code.
    pub(crate) fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// Asks the process to stop (SIGTERM) and waits up to `timeout` for it; its exit code.
    pub(crate) fn terminate(&mut self, timeout: std::time::Duration) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.wait_exit(timeout)
    }

    /// Stops the process at once (SIGKILL): what survives is what was durable.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response with its envelope.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) async fn from(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    /// `error.code` of an error envelope.
    pub(crate) fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }

    pub(crate) fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// Asserts status and error code, and that the envelope is well-formed.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["status"], "error", "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        assert!(self.body["metadata"]["correlation_id"].is_string());
        assert!(self.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

/// A minimal stamp request.
pub(crate) fn stamp_body(content: &str, ns: &str) -> Value {
    serde_json::json!({"content": content, "namespace": ns})
}

/// Peak and current resident memory of a process, in KiB (`/proc/PID/status`).
pub(crate) fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| {
                v.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap()
            })
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A temp dir path helper for CLI tests.
pub(crate) fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub(crate) fn shipped_contracts() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

/// Copies the shipped contracts into a temp dir, replacing `from` by `to` in one file.
pub(crate) fn edited_contracts(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    edited_contracts_many(&[(file, from, to)])
}

/// Copies the shipped contracts into a temp dir with each `(file, from, to)` edit applied.
pub(crate) fn edited_contracts_many(edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["orchestrator", "reducer", "registry", "shared"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(shipped_contracts().join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    for (file, from, to) in edits {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from} not in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
    dir
}

/// Runs `scripts/kafka ARGS…` with extra environment; its stdout, trimmed.
pub(crate) fn kafka_script(args: &[&str], env: &[(&str, &str)]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/kafka");
    let out = Command::new(script)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/kafka {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A child process that serves (a witness, a test peer): killed and waited for on drop.
pub(crate) struct Listening {
    child: Child,
    /// Where it listens (its `listening on <url>` line).
    pub(crate) url: String,
    /// The stdout lines before that one (a peer witness prints its vkey there).
    pub(crate) said: Vec<String>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` (stdout piped; stderr as the caller set it) and waits for its
/// `listening on <url>` line.
pub(crate) fn spawn_listening(mut cmd: Command) -> Listening {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    // Owned at once: killed and waited for on every path, panics included.
    let mut p = Listening {
        child,
        url: String::new(),
        said: Vec::new(),
    };
    let mut out = BufReader::new(stdout);
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "no listening line");
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            p.url = url.to_owned();
            // Keep the pipe drained so the child never blocks on stdout.
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
            return p;
        }
        p.said.push(line.trim().to_owned());
    }
}

/// One of our witnesses (`omninode-bridge witness`, SQLite state) for the log `log_vkey`,
/// its keys and state in `dir` (made on first use, kept for restarts); it and its vkey.
pub(crate) fn our_witness(dir: &Path, name: &str, log_vkey: &str) -> (Listening, String) {
    let keys = dir.join("keys");
    let vkey = if keys.join("witness_ed25519").exists() {
        std::fs::read_to_string(dir.join("vkey")).unwrap()
    } else {
        let out = Command::new(bin())
            .args(["keys", "generate", "--witness", "--name", name])
            .arg(&keys)
            .output()
            .unwrap();
        assert!(out.status.success());
        let v = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        std::fs::write(dir.join("vkey"), &v).unwrap();
        v
    };
    std::fs::write(dir.join("policy"), format!("log {log_vkey}\nquorum none\n")).unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["witness", "--bind", "127.0.0.1:0", "--name", name])
        .arg("--key")
        .arg(keys.join("witness_ed25519"))
        .arg("--policy")
        .arg(dir.join("policy"))
        .arg("--data-dir")
        .arg(dir.join("state"))
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    (spawn_listening(cmd), vkey)
}

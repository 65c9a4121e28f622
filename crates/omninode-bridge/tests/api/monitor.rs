//! `omninode-bridge monitor` (SPEC §14) against real servers on the suite's backend: watched
//! namespaces from index 0 and then only what is new, a monitor killed mid-follow resumes,
//! untrusted keys, a fork (two servers with one log key and two histories), a shrunk tree, a
//! witness that saw another history, and hostile servers (garbage, huge bodies, a hang).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{bin, our_witness, Server};

struct Run {
    code: i32,
    lines: Vec<Value>,
    stderr: String,
}

fn monitor(log: &str, vkey: &str, state: &Path, extra: &[&str]) -> Run {
    let out = Command::new(bin())
        .args([
            "monitor",
            "--format",
            "json",
            "--log",
            log,
            "--log-key",
            vkey,
        ])
        .arg("--state")
        .arg(state)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        lines: stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
            .collect(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Stamps `n` distinct contents in `ns`; their indexes.
async fn stamp(s: &Server, ns: &str, tag: &str, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..n {
        let r = s
            .post(
                "/stamp",
                &json!({"content": format!("{tag} {i}\n"), "namespace": ns, "file_path": format!("{tag}/{i}.txt")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        out.push(r.data()["log"]["index"].as_u64().unwrap());
    }
    out
}

fn indexes(r: &Run) -> Vec<u64> {
    r.lines
        .iter()
        .filter(|l| l.get("alert").is_none())
        .map(|l| l["index"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_a_namespace_from_index_0_then_only_what_is_new_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(&dir.path().join("data"), &[]);
    let mut mine = Vec::new();
    for round in 0..3 {
        mine.extend(stamp(&s, "mine", &format!("m{round}"), 3).await);
        stamp(&s, "theirs", &format!("t{round}"), 2).await;
    }
    let vkey = s.text("/log/key").await;
    let trust = dir.path().join("allowed_signers");
    std::fs::write(&trust, s.text("/keys/allowed_signers").await).unwrap();
    let log = s.url("/log");
    let state = dir.path().join("state");
    let t = ["--namespace", "mine", "--trust", trust.to_str().unwrap()];
    let r = monitor(&log, vkey.trim(), &state, &t);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(indexes(&r), mine, "every stamp of the namespace, no other");
    let first = &r.lines[0];
    assert_eq!(first["namespace"], "mine");
    assert_eq!(first["path"], "m0/0.txt");
    assert_eq!(first["file_hash"].as_str().unwrap().len(), 64);
    // The next round: only what is new.
    let r = monitor(&log, vkey.trim(), &state, &t);
    assert_eq!((r.code, indexes(&r)), (0, vec![]), "{}", r.stderr);
    let new = stamp(&s, "mine", "later", 2).await;
    stamp(&s, "theirs", "later", 1).await;
    let r = monitor(&log, vkey.trim(), &state, &t);
    assert_eq!(indexes(&r), new);

    // A monitor that follows, killed: the next run starts where its last saved round ended.
    let mut follow = Command::new(bin())
        .args([
            "monitor",
            "--format",
            "json",
            "--follow",
            "--interval",
            "100ms",
        ])
        .args(["--log", &log, "--log-key", vkey.trim()])
        .arg("--state")
        .arg(&state)
        .args(t)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen_by_follower = stamp(&s, "mine", "followed", 2).await;
    let size = seen_by_follower[1] + 1;
    let mut saved = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let st: Value =
            serde_json::from_slice(&std::fs::read(state.join("state.json")).unwrap()).unwrap();
        saved = st["size"].as_u64().unwrap();
        if saved == size {
            break;
        }
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert_eq!(saved, size, "the follower saved its round");
    let after = stamp(&s, "mine", "after-kill", 1).await;
    let r = monitor(&log, vkey.trim(), &state, &t);
    assert_eq!(indexes(&r), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_signed_by_a_key_outside_trust_are_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(&dir.path().join("data"), &[]);
    stamp(&s, "ns", "x", 3).await;
    let vkey = s.text("/log/key").await;
    // Someone else's key: every entry is UNTRUSTED_KEY, exit 1.
    let other = Command::new(bin())
        .args(["keys", "generate"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    let trust = dir.path().join("other_signers");
    std::fs::write(&trust, &other.stdout).unwrap();
    let r = monitor(
        &s.url("/log"),
        vkey.trim(),
        &dir.path().join("state"),
        &["--trust", trust.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let alerts: Vec<&Value> = r
        .lines
        .iter()
        .filter(|l| l["alert"] == "UNTRUSTED_KEY")
        .collect();
    assert_eq!(alerts.len(), 3, "{:?}", r.lines);
    assert_eq!(alerts[0]["index"], 0);
}

fn copy_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("keys")).unwrap();
    for e in std::fs::read_dir(from.join("keys")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join("keys").join(e.file_name())).unwrap();
    }
}

fn evidence(state: &Path) -> std::path::PathBuf {
    std::fs::read_dir(state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("evidence-")
        })
        .expect("an evidence directory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_a_shrunk_tree_and_a_witness_of_another_history_are_inconsistent() {
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    let a = Server::start_in(&a_dir, &[]);
    stamp(&a, "ns", "history-a", 300).await;
    let vkey = a.text("/log/key").await;
    let state = dir.path().join("state");
    let r = monitor(&a.url("/log"), vkey.trim(), &state, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // B: the same log key and origin, another history, longer: a split view.
    let b_dir = dir.path().join("b");
    copy_keys(&a_dir, &b_dir);
    let b = Server::start_in(&b_dir, &[]);
    stamp(&b, "ns", "history-b", 310).await;
    assert_eq!(b.text("/log/key").await, vkey, "one log key, one origin");
    let forked = dir.path().join("forked");
    copy_dir(&state, &forked);
    let r = monitor(&b.url("/log"), vkey.trim(), &forked, &[]);
    assert_eq!(r.code, 3, "{} {:?}", r.stderr, r.lines);
    assert_eq!(r.lines[0]["alert"], "INCONSISTENT");
    let ev = evidence(&forked);
    let kept = std::fs::read_to_string(ev.join("kept.checkpoint")).unwrap();
    let seen = std::fs::read_to_string(ev.join("seen.checkpoint")).unwrap();
    assert!(
        kept.contains("\n300\n") && seen.contains("\n310\n"),
        "{kept}{seen}"
    );
    assert!(
        ev.join("tile/1/000.p/1").exists(),
        "the disproving tiles are kept"
    );
    // And the state still holds the checkpoint it trusted.
    let st: Value =
        serde_json::from_slice(&std::fs::read(forked.join("state.json")).unwrap()).unwrap();
    assert_eq!(st["size"], 300);

    // C: the same key, a shorter history: a shrunk tree.
    let c_dir = dir.path().join("c");
    copy_keys(&a_dir, &c_dir);
    let c = Server::start_in(&c_dir, &[]);
    stamp(&c, "ns", "history-a", 3).await;
    let shrunk = dir.path().join("shrunk");
    copy_dir(&state, &shrunk);
    let r = monitor(&c.url("/log"), vkey.trim(), &shrunk, &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("shrank from 300 to 3"), "{}", r.stderr);

    // A witness that cosigned C's history (3 entries) while A shows 300 whose first three
    // differ: a split view, seen by comparing the witness's view with the log's.
    let (witness, wvkey) = our_witness(&dir.path().join("w"), "w.test", vkey.trim());
    let wurl = witness.url.clone();
    drop(c);
    let policy = dir.path().join("c-policy");
    std::fs::write(
        &policy,
        format!("log {}\nwitness W {wvkey} {wurl}\nquorum W\n", vkey.trim()),
    )
    .unwrap();
    let c = Server::start_in(
        &c_dir,
        &[
            "--witness-policy",
            policy.to_str().unwrap(),
            "--witness-interval",
            "100ms",
        ],
    );
    let r = c
        .post(
            "/stamp?wait=witnessed",
            &json!({"content": "to the witness\n", "namespace": "ns"}),
        )
        .await;
    assert_eq!(r.data()["log"]["witnessed"], true, "{}", r.body);
    let r = monitor(
        &a.url("/log"),
        vkey.trim(),
        &dir.path().join("fresh"),
        &["--witness", &wurl],
    );
    drop(witness);
    assert_eq!(r.code, 3, "{} {:?}", r.stderr, r.lines);
    assert!(r.stderr.contains("the witness's view"), "{}", r.stderr);
    drop(c);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A server that answers every request with `respond` (raw HTTP), or never (`None`).
async fn hostile(respond: Option<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let respond = respond.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                match respond {
                    Some(r) => {
                        let _ = sock.write_all(&r).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    format!("http://{addr}/log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_get_a_clear_error_not_a_panic_or_an_unbounded_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&[]);
    let vkey = s.text("/log/key").await;
    let huge = {
        let mut r = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n".to_vec();
        r.extend(std::iter::repeat_n(b'a', 4096));
        r
    };
    let cases: Vec<(Option<Vec<u8>>, &str)> = vec![
        (
            Some(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\ngarbage!\n".to_vec()),
            "the checkpoint",
        ),
        (Some(huge), "more than"),
        (
            Some(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec()),
            "HTTP 404",
        ),
        (Some(b"not http at all\r\n\r\n".to_vec()), "checkpoint"),
        (None, "no answer in time"),
    ];
    for (i, (respond, want)) in cases.into_iter().enumerate() {
        let url = hostile(respond).await;
        let state = dir.path().join(format!("s{i}"));
        let r = monitor(&url, vkey.trim(), &state, &["--timeout", "500ms"]);
        assert_eq!(r.code, 2, "case {i}: {}", r.stderr);
        assert_eq!(
            r.stderr.lines().count(),
            1,
            "case {i}: one line: {}",
            r.stderr
        );
        assert!(r.stderr.contains(want), "case {i}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "case {i}: {}", r.stderr);
    }
}

/// What a lying log answers for a path instead of the real resource (`None`: the real one).
type Lie = fn(&str) -> Option<Vec<u8>>;

/// A server that serves a real log's checkpoint and tiles (fetched from `real`) but answers
/// `garbage(path)` where that gives something: a log that lies about some resources.
async fn lying(real: String, garbage: Lie) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (real, client) = (real.clone(), client.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split(' ').nth(1).unwrap_or("/").to_owned();
                let rel = path.trim_start_matches("/log/").to_owned();
                let body = match garbage(&rel) {
                    Some(b) => b,
                    None => client
                        .get(format!("{real}/{rel}"))
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap()
                        .to_vec(),
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}/log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_serving_garbage_tiles_or_bundles_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&[]);
    stamp(&s, "ns", "real", 300).await;
    let vkey = s.text("/log/key").await;
    let real = s.url("/log");
    // Hash tiles of the right length and the wrong bytes; bundles that do not parse; bundles
    // that parse but hold other entries than the authenticated leaves.
    let cases: [(Lie, &str, i32); 3] = [
        (
            |p| {
                (p.starts_with("tile/0/") || p.starts_with("tile/1/")).then(|| {
                    let w = p
                        .rsplit_once(".p/")
                        .map_or(256, |(_, w)| w.parse().unwrap());
                    vec![7u8; 32 * w]
                })
            },
            "tiles do not check out",
            2,
        ),
        (
            |p| {
                p.starts_with("tile/entries/")
                    .then(|| vec![0xff, 0xff, 1, 2, 3])
            },
            "bundle",
            2,
        ),
        (
            |p| {
                p.starts_with("tile/entries/").then(|| {
                    let w: usize = p
                        .rsplit_once(".p/")
                        .map_or(256, |(_, w)| w.parse().unwrap());
                    let mut b = Vec::new();
                    for i in 0..w {
                        let e = format!("not the entry {i}\n");
                        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
                        b.extend_from_slice(e.as_bytes());
                    }
                    b
                })
            },
            "is not the entry the tree holds",
            3,
        ),
    ];
    for (i, (garbage, want, code)) in cases.into_iter().enumerate() {
        let url = lying(real.clone(), garbage).await;
        let state = dir.path().join(format!("s{i}"));
        let r = monitor(&url, vkey.trim(), &state, &[]);
        assert_eq!(r.code, code, "case {i}: {} {:?}", r.stderr, r.lines);
        assert!(r.stderr.contains(want), "case {i}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "case {i}: {}", r.stderr);
        assert!(
            !state.join("state.json").exists(),
            "case {i}: nothing saved"
        );
    }
}

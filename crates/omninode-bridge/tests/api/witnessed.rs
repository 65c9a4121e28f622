//! Witnessed checkpoints, the log side (SPEC §13), with the real binary on the suite's
//! backend: our log with three of our own witnesses and a 2-of-3 quorum; our log against two
//! witnesses we did not write (`tlog_peer.py`, from the C2SP texts: one Ed25519, one
//! ML-DSA-44 made by pyca `cryptography`); `verify --policy --require witnessed` on what the
//! 201 carried; a restart that resumes from the stored sizes; two instances on one
//! PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{bin, on_postgres, our_witness, python, spawn_listening, Listening, Server};

/// A witness we did not write (`tlog_peer.py witness`); (process, vkey).
fn peer_witness(dir: &Path, name: &str, alg: &str, log_vkey: &str) -> Listening {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/tlog_peer.py");
    let mut cmd = Command::new(python());
    cmd.arg(script)
        .args(["witness", log_vkey, name, alg])
        .arg(dir.join(format!("{alg}.state")))
        .arg(dir.join(format!("{alg}.requests")));
    spawn_listening(cmd)
}

/// The log's vkey: a first start of the server on `data` (its keys are made there).
async fn log_vkey(data: &Path) -> String {
    let mut s = Server::start_in(data, &[]);
    let vkey = s.text("/log/key").await;
    s.terminate(Duration::from_secs(10));
    vkey.trim().to_owned()
}

fn with_policy<'a>(policy: &'a str, wait: &'a str) -> [&'a str; 6] {
    [
        "--witness-policy",
        policy,
        "--witness-interval",
        "100ms",
        "--witness-wait",
        wait,
    ]
}

async fn stamp_witnessed(s: &Server, content: &str) -> (Value, Duration) {
    let t = Instant::now();
    let r = s
        .client
        .post(s.url("/stamp?wait=witnessed"))
        .json(&json!({"content": content, "namespace": "witnessed", "file_path": "f.py"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (v["data"].clone(), t.elapsed())
}

/// Writes the stamped file and its proof into `dir`; the file's path.
fn write_stamped(dir: &Path, name: &str, data: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data["stamped_content"].as_str().unwrap()).unwrap();
    std::fs::write(
        dir.join(format!("{name}.tlog-proof")),
        data["log"]["proof"].as_str().unwrap(),
    )
    .unwrap();
    path
}

fn verify(file: &Path, trust: &Path, policy: &Path) -> (i32, String) {
    let out = Command::new(bin())
        .arg("verify")
        .arg(file)
        .arg("--trust")
        .arg(trust)
        .arg("--policy")
        .arg(policy)
        .args(["--require", "witnessed"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn allowed_signers(s: &Server, dir: &Path) -> PathBuf {
    let path = dir.join("allowed_signers");
    std::fs::write(&path, s.text("/keys/allowed_signers").await).unwrap();
    path
}

async fn health_witnesses(s: &Server) -> Value {
    s.get("/health").await.data()["components"]["witnesses"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_log_with_three_of_our_witnesses_and_a_2_of_3_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let log = log_vkey(&data).await;
    let mut ws = Vec::new();
    let mut lines = format!("log {log}\n");
    for i in 1..=3 {
        let wdir = dir.path().join(format!("w{i}"));
        let (p, vkey) = our_witness(&wdir, &format!("w{i}.example"), &log);
        lines.push_str(&format!("witness W{i} {vkey} {}\n", p.url));
        ws.push(p);
    }
    lines.push_str("group G 2 W1 W2 W3\nquorum G\n");
    let policy = dir.path().join("policy");
    std::fs::write(&policy, &lines).unwrap();
    let s = Server::start_in(&data, &with_policy(policy.to_str().unwrap(), "2s"));

    // All three up: a witnessed proof in the 201 itself.
    let (d, _) = stamp_witnessed(&s, "print('witnessed')\n").await;
    assert_eq!(d["log"]["witnessed"], true, "{d}");
    let cosigs = d["log"]["checkpoint"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("\u{2014} w"))
        .count();
    assert!(cosigs >= 2, "{d}");
    let trust = allowed_signers(&s, dir.path()).await;
    let file = write_stamped(dir.path(), "a.py", &d);
    let (code, out) = verify(&file, &trust, &policy);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VALID WITNESSED"), "{out}");
    // A policy whose quorum that checkpoint cannot meet: a fourth witness required.
    let (extra, extra_vkey) = our_witness(&dir.path().join("w4"), "w4.example", &log);
    drop(extra);
    let strict = dir.path().join("strict");
    std::fs::write(
        &strict,
        format!("{lines}witness W4 {extra_vkey}\ngroup H all G W4\nquorum H\n")
            .replace("quorum G\n", ""),
    )
    .unwrap();
    let (code, out) = verify(&file, &trust, &strict);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("quorum H not met"), "{out}");
    // The checkpoint route serves the witnessed checkpoint.
    let cp = s.text("/log/checkpoint").await;
    assert!(
        cp.lines().filter(|l| l.starts_with("\u{2014} w")).count() >= 2,
        "{cp}"
    );
    // The page's checks (web/witness.mjs, in node) on it and the published policy.
    let published = s.text("/log/policy").await;
    assert!(
        !published.contains("http://"),
        "no witness URLs published: {published}"
    );
    let page = page_witness_check(dir.path(), &cp, &published);
    assert_eq!(page["quorum"], true, "{page}");
    let verified = page["cosigs"].as_array().unwrap();
    assert!(
        verified.len() >= 2 && verified.iter().all(|c| c["status"] == "verified"),
        "{page}"
    );
    let line = cp.lines().find(|l| l.starts_with("\u{2014} w")).unwrap();
    let forged = cp.replacen(line, &flip_last_base64_char(line), 1);
    let page = page_witness_check(dir.path(), &forged, &published);
    assert!(
        page["error"].as_str().unwrap().contains("does not verify"),
        "{page}"
    );

    // One witness down: the quorum holds.
    drop(ws.remove(2));
    let (d, _) = stamp_witnessed(&s, "print('two of three')\n").await;
    assert_eq!(d["log"]["witnessed"], true, "{d}");

    // Two down: still 201, witnessed false, within --witness-wait (2 s) and not much more.
    drop(ws.remove(1));
    let (d, took) = stamp_witnessed(&s, "print('one of three')\n").await;
    assert_eq!(d["log"]["witnessed"], false, "{d}");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    let file = write_stamped(dir.path(), "c.py", &d);
    let (code, out) = verify(&file, &trust, &policy);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VALID LOGGED"), "{out}");
    // /health names the witnesses that fail; the metrics count their answers.
    let h = health_witnesses(&s).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["detail"].as_str().unwrap().contains("W3"), "{h}");
    assert_eq!(
        h["info"]["witnesses"]["W1"]["last_error"],
        Value::Null,
        "{h}"
    );
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("witness_requests_total{witness=\"W1\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("witness_requests_total{witness=\"W3\",status=\"error\"}"));
    assert!(metrics.contains("log_witnessed_tree_size 2"), "{metrics}");
    assert!(metrics.contains("witness_lag_seconds{witness=\"W3\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_log_with_witnesses_we_did_not_write_ed25519_and_ml_dsa_44() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let log = log_vkey(&data).await;
    let ed = peer_witness(dir.path(), "peer.example/ed", "ed25519", &log);
    let pq = peer_witness(dir.path(), "peer.example/pq", "ml-dsa-44", &log);
    let policy = dir.path().join("policy");
    std::fs::write(
        &policy,
        format!(
            "log {log}\nwitness E {} {}\nwitness P {} {}\ngroup both all E P\nquorum both\n",
            ed.said[0], ed.url, pq.said[0], pq.url
        ),
    )
    .unwrap();
    let flags = with_policy(policy.to_str().unwrap(), "5s");
    let mut s = Server::start_in(&data, &flags);
    let mut stamped = Vec::new();
    for i in 0..3 {
        let (d, _) = stamp_witnessed(&s, &format!("print({i})\n")).await;
        assert_eq!(d["log"]["witnessed"], true, "{d}");
        stamped.push(d);
    }
    let trust = allowed_signers(&s, dir.path()).await;
    let file = write_stamped(dir.path(), "p.py", &stamped[2]);
    let (code, out) = verify(&file, &trust, &policy);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VALID WITNESSED"), "{out}");
    // One changed byte of the ML-DSA-44 cosignature: the note is refused, not witnessed.
    let proof_path = dir.path().join("p.py.tlog-proof");
    let proof = std::fs::read_to_string(&proof_path).unwrap();
    let line = proof
        .lines()
        .find(|l| l.starts_with("\u{2014} peer.example/pq "))
        .unwrap()
        .to_owned();
    let sig = line.rsplit(' ').next().unwrap();
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig).unwrap();
    bytes[100] ^= 1;
    let changed = line.replace(
        sig,
        &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes),
    );
    std::fs::write(&proof_path, proof.replace(&line, &changed)).unwrap();
    let (code, out) = verify(&file, &trust, &policy);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not verify"), "{out}");

    // A restart resumes from the stored sizes: the witnesses' next requests never start
    // over at old 0 (which they would answer 409).
    s.terminate(Duration::from_secs(10));
    let before = std::fs::read_to_string(dir.path().join("ed25519.requests")).unwrap();
    let s = Server::start_in(&data, &flags);
    let (d, _) = stamp_witnessed(&s, "print('after restart')\n").await;
    assert_eq!(d["log"]["witnessed"], true, "{d}");
    for alg in ["ed25519", "ml-dsa-44"] {
        let all = std::fs::read_to_string(dir.path().join(format!("{alg}.requests"))).unwrap();
        let first: Vec<Value> = all
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(first[0]["old"], 0, "the very first request starts at 0");
        let after: Vec<&Value> = first.iter().skip(before.lines().count()).collect();
        assert!(!after.is_empty(), "{alg}: {all}");
        for r in after {
            assert_ne!(r["old"], 0, "{alg}: {all}");
            assert_eq!(r["status"], 200, "{alg}: {all}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_one_asks_both_serve() {
    if !on_postgres() {
        return; // One database two processes share: PostgreSQL's pass runs this.
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("one");
    let log = log_vkey(&data).await;
    let mut ws = Vec::new();
    let mut lines = format!("log {log}\n");
    for i in 1..=2 {
        let (p, vkey) = our_witness(
            &dir.path().join(format!("w{i}")),
            &format!("w{i}.example"),
            &log,
        );
        lines.push_str(&format!("witness W{i} {vkey} {}\n", p.url));
        ws.push(p);
    }
    lines.push_str("group G all W1 W2\nquorum G\n");
    let policy = dir.path().join("policy");
    std::fs::write(&policy, &lines).unwrap();
    let flags = with_policy(policy.to_str().unwrap(), "5s");
    // The second instance: the same database and the same log key.
    let second = dir.path().join("two");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(
        data.join("test-database-url"),
        second.join("test-database-url"),
    )
    .unwrap();
    copy_dir(&data.join("keys"), &second.join("keys"));
    let a = Server::start_in(&data, &flags);
    let b = Server::start_in(&second, &flags);
    for (i, s) in [&a, &b, &a, &b].iter().enumerate() {
        let (d, _) = stamp_witnessed(s, &format!("two instances {i}\n")).await;
        assert_eq!(d["log"]["witnessed"], true, "{d}");
    }
    // Exactly one asks the witnesses; both serve the same cosigned checkpoint once the
    // follower has read it (it polls once per interval).
    let leaders: Vec<bool> = [health_witnesses(&a).await, health_witnesses(&b).await]
        .iter()
        .map(|h| h["info"]["asks_witnesses"].as_bool().unwrap())
        .collect();
    assert_eq!(leaders.iter().filter(|l| **l).count(), 1, "{leaders:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ca, cb) = (
        a.text("/log/checkpoint").await,
        b.text("/log/checkpoint").await,
    );
    assert_eq!(ca, cb);
    assert!(
        ca.starts_with(&format!("{}\n4\n", log.split('+').next().unwrap())),
        "{ca}"
    );
    assert_eq!(
        ca.lines().filter(|l| l.starts_with("\u{2014} w")).count(),
        2,
        "{ca}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Runs the page's witness checks in node on a note and a policy.
fn page_witness_check(dir: &Path, note: &str, policy: &str) -> Value {
    let (n, p) = (dir.join("page-note"), dir.join("page-policy"));
    std::fs::write(&n, note).unwrap();
    std::fs::write(&p, policy).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/test/witness-check.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&n)
        .arg(&p)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A signature line with one bit of its signature changed.
fn flip_last_base64_char(line: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (head, sig) = line.rsplit_once(' ').unwrap();
    let mut bytes = b64.decode(sig).unwrap();
    let last = bytes.len() - 1;
    bytes[last - 10] ^= 1;
    format!("{head} {}", b64.encode(bytes))
}

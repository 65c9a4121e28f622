//! The transparency log across a crash and across two instances on one PostgreSQL: every
//! stamp answered 201 is in the log at the index its 201 gave, no index is used twice, and the
//! tree goes on from where it was.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridge_core::tlog::{LogVerifier, TilePath, TlogProof};
use serde_json::{json, Value};

use crate::helpers::{bin, scratch_pg_database, Server};

async fn text(s: &Server, path: &str) -> String {
    let r = s.client.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn bytes(s: &Server, path: &str) -> Vec<u8> {
    let r = s.client.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

/// Every entry of a tree of `size`, read from its entry bundles.
async fn all_entries(s: &Server, size: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for n in 0..=size / 256 {
        let width = (size - n * 256).min(256);
        if width == 0 {
            break;
        }
        let tp = TilePath {
            level: None,
            index: n,
            partial: (width < 256).then(|| u8::try_from(width).unwrap()),
        };
        let mut b = &bytes(s, &format!("/log/{tp}")).await[..];
        while !b.is_empty() {
            let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
            out.push(b[2..2 + len].to_vec());
            b = &b[2 + len..];
        }
    }
    assert_eq!(out.len() as u64, size);
    out
}

fn stamp_id_of(entry: &[u8]) -> String {
    let text = std::str::from_utf8(entry).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("stamp_id "))
        .unwrap()
        .to_owned()
}

/// Checks the log of `s` holds every `answered` (stamp id → index) where its 201 said, each
/// stamp once; the checkpoint's size.
async fn check_log(s: &Server, answered: &HashMap<String, u64>) -> (u64, Vec<Vec<u8>>) {
    let log = LogVerifier::from_vkey(text(s, "/log/key").await.trim()).unwrap();
    let head = log.verify(&text(s, "/log/checkpoint").await).unwrap();
    let entries = all_entries(s, head.size).await;
    let ids: Vec<String> = entries.iter().map(|e| stamp_id_of(e)).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an index used twice");
    for (id, index) in answered {
        assert_eq!(
            &ids[*index as usize], id,
            "stamp {id} not at its index {index}"
        );
        let proof = TlogProof::parse(&text(s, &format!("/stamps/{id}/proof")).await).unwrap();
        assert_eq!(proof.index, *index);
        proof.verify(&log, &entries[*index as usize]).unwrap();
    }
    (head.size, entries)
}

/// What a burst was answered: stamp id → the log index its 201 gave.
type Answered = Arc<Mutex<HashMap<String, u64>>>;

/// Posts distinct stamps from `tasks` loops until the server stops answering; what was
/// answered 201 (stamp id → log index).
fn burst(s: &Arc<Server>, tag: &str, tasks: usize) -> (Answered, Vec<tokio::task::JoinHandle<()>>) {
    let answered = Arc::new(Mutex::new(HashMap::new()));
    let handles = (0..tasks)
        .map(|t| {
            let (s, answered, tag) = (s.clone(), answered.clone(), tag.to_owned());
            tokio::spawn(async move {
                for i in 0.. {
                    let body = json!({"content": format!("{tag} {t} {i}\n"), "namespace": "crash"});
                    let Ok(r) = s.client.post(s.url("/stamp")).json(&body).send().await else {
                        return;
                    };
                    if r.status() != 201 {
                        return;
                    }
                    let Ok(v) = r.json::<Value>().await else {
                        return;
                    };
                    let d = &v["data"];
                    answered.lock().unwrap().insert(
                        d["stamp_id"].as_str().unwrap().to_owned(),
                        d["log"]["index"].as_u64().unwrap(),
                    );
                    if tag.starts_with("pg") && i >= 40 {
                        return;
                    }
                }
            })
        })
        .collect();
    (answered, handles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_burst_keeps_every_answered_stamp_at_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Server::start_in(dir.path(), &[]));
    let (answered, tasks) = burst(&s, "crash", 16);
    while answered.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    for t in tasks {
        t.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    drop(s);

    let s = Server::start_in(dir.path(), &[]);
    let (size, before) = check_log(&s, &answered).await;
    assert!(size >= answered.len() as u64, "{size} < {}", answered.len());
    // The tree goes on from where it was: five more, the old entries untouched.
    for i in 0..5 {
        let r = s
            .post(
                "/stamp",
                &json!({"content": format!("after {i}\n"), "namespace": "crash"}),
            )
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(r.data()["log"]["index"].as_u64().unwrap(), size + i);
    }
    let (grown, after) = check_log(&s, &answered).await;
    assert_eq!(grown, size + 5);
    assert_eq!(&after[..before.len()], &before[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_keep_one_log() {
    let keys = tempfile::tempdir().unwrap();
    for k in ["stamp", "log"] {
        let o = Command::new(bin())
            .args(["keys", "generate", k])
            .current_dir(keys.path())
            .output()
            .unwrap();
        assert!(o.status.success());
    }
    let stamp_key = keys.path().join("stamp/stamp_ed25519");
    let log_key = keys.path().join("log/stamp_ed25519");
    let flags = [
        "--signing-key",
        stamp_key.to_str().unwrap(),
        "--log-key",
        log_key.to_str().unwrap(),
        "--log-origin",
        "two.example/log",
    ];
    let url = scratch_pg_database();
    let start = || {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("test-database-url"), &url).unwrap();
        Arc::new(Server::start_on_postgres(data, &flags))
    };
    let (a, b) = (start(), start());
    let (got_a, tasks_a) = burst(&a, "pg-a", 6);
    let (got_b, tasks_b) = burst(&b, "pg-b", 6);
    for t in tasks_a.into_iter().chain(tasks_b) {
        t.await.unwrap();
    }
    let mut answered = got_a.lock().unwrap().clone();
    let from_b = got_b.lock().unwrap().clone();
    assert_eq!(answered.len() + from_b.len(), 2 * 6 * 41);
    let indexes: HashSet<u64> = answered.values().chain(from_b.values()).copied().collect();
    assert_eq!(
        indexes.len(),
        answered.len() + from_b.len(),
        "an index given twice"
    );
    answered.extend(from_b);
    let (size_a, entries_a) = check_log(&a, &answered).await;
    let (size_b, entries_b) = check_log(&b, &answered).await;
    assert_eq!(size_a, 2 * 6 * 41);
    assert_eq!((size_a, &entries_a), (size_b, &entries_b));
    assert_eq!(
        text(&a, "/log/checkpoint").await,
        text(&b, "/log/checkpoint").await
    );
}

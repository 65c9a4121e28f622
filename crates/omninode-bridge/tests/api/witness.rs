//! `omninode-bridge witness` (SPEC §13) against a log we did not write: `tlog_peer.py`, a log
//! and witness client written for the tests from the C2SP texts and RFC 6962 (pyca
//! `cryptography` for Ed25519 and ML-DSA-44). Every status of tlog-witness, the cosignatures
//! verified by that independent code, 8 concurrent submissions of which exactly one is
//! cosigned, and the state kept across a restart. On the suite's backend.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::helpers::{bin, on_postgres, python, scratch_pg_database, spawn_listening, Listening};

const ORIGIN: &str = "peer.example/log";
const NAME: &str = "witness.example/w1";

fn peer(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/tlog_peer.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("run tlog_peer.py");
    assert!(
        out.status.success(),
        "tlog_peer.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn start(dir: &Path, database: Option<&str>, log: &Path) -> Listening {
    let mut cmd = Command::new(bin());
    cmd.arg("witness")
        .args([
            "--bind",
            "127.0.0.1:0",
            "--name",
            NAME,
            "--log-format",
            "json",
        ])
        .arg("--key")
        .arg(dir.join("keys/witness_ed25519"))
        .arg("--ml-dsa-key")
        .arg(dir.join("keys/witness_ml_dsa_44.pem"))
        .arg("--policy")
        .arg(dir.join("policy"))
        .arg("--data-dir")
        .arg(dir.join("state"))
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        ));
    if let Some(url) = database {
        cmd.env("DATABASE_URL", url)
            .args(["--db-pool-min", "1", "--db-pool-max", "8"]);
    }
    spawn_listening(cmd)
}

fn cases(output: &str) -> std::collections::HashMap<String, Value> {
    output
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["case"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

fn status(c: &Value) -> u64 {
    c["status"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_witness_serves_a_log_we_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("log.seed");
    let log_vkey = peer(&["log-key", ORIGIN, seed.to_str().unwrap()]);
    let generated = Command::new(bin())
        .args(["keys", "generate", "--witness", "--ml-dsa", "--name", NAME])
        .arg(dir.path().join("keys"))
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let vkeys: Vec<String> = String::from_utf8(generated.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        vkeys.len(),
        2,
        "an Ed25519 and an ML-DSA-44 vkey: {vkeys:?}"
    );
    assert!(vkeys.iter().all(|v| v.starts_with(&format!("{NAME}+"))));
    std::fs::write(
        dir.path().join("policy"),
        format!(
            "# the logs this witness cosigns\nlog {}\nquorum none\n",
            log_vkey.trim()
        ),
    )
    .unwrap();
    let database = on_postgres().then(scratch_pg_database);
    let stderr = dir.path().join("witness.log");
    let w = start(dir.path(), database.as_deref(), &stderr);

    let mut args = vec!["exercise", &w.url, ORIGIN, seed.to_str().unwrap()];
    args.extend(vkeys.iter().map(String::as_str));
    let c = cases(&peer(&args));

    assert_eq!(status(&c["unknown-origin"]), 404);
    assert_eq!(status(&c["untrusted-key"]), 403);
    assert_eq!(status(&c["old-too-large"]), 400);
    assert_eq!(status(&c["malformed"]), 400);
    assert_eq!(status(&c["empty-wrong-root"]), 422);
    for case in ["first", "grow"] {
        assert_eq!(status(&c[case]), 200, "{case}: {}", c[case]);
        // Both cosignatures, each verified by the peer's own code, with a non-zero time.
        let cosigned = c[case]["cosigned"].as_object().expect("verified");
        assert_eq!(cosigned.len(), 2, "{case}: {cosigned:?}");
        assert!(cosigned
            .values()
            .all(|t| t.as_u64().unwrap() > 1_700_000_000));
        let body = c[case]["body"].as_str().unwrap();
        assert!(body.lines().all(|l| l.starts_with("\u{2014} ")), "{body:?}");
        assert!(body.ends_with('\n'));
    }
    let stale = &c["stale-old"];
    assert_eq!(status(stale), 409);
    assert_eq!(stale["content_type"], "text/x.tlog.size");
    assert_eq!(stale["body"], "5\n");
    assert_eq!(status(&c["bad-proof"]), 422);
    let other_root = &c["same-size-other-root"];
    assert_eq!(status(other_root), 409);
    assert_ne!(other_root["content_type"], "text/x.tlog.size");
    let concurrent: Vec<u64> = c["concurrent"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(
        concurrent.iter().filter(|s| **s == 200).count(),
        1,
        "exactly one of 8 concurrent submissions is cosigned: {concurrent:?}"
    );
    assert!(concurrent.iter().all(|s| *s == 200 || *s == 409));
    let m = &c["monitoring"];
    assert_eq!(status(m), 200);
    assert_eq!(m["size"], 12);
    assert_eq!(m["log_signed"], true);
    assert_eq!(m["cosigned"].as_object().unwrap().len(), 2, "{m}");

    // A failed proof is logged with the request, as evidence.
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        log.contains("possible evidence of a fork") && log.contains("old 5"),
        "{log}"
    );
    // The key never reaches the log.
    let key = std::fs::read_to_string(dir.path().join("keys/witness_ed25519")).unwrap();
    let secret_line = key.lines().nth(2).unwrap();
    assert!(!log.contains(secret_line));
    let ml = std::fs::read_to_string(dir.path().join("keys/witness_ml_dsa_44.pem")).unwrap();
    assert!(!log.contains(ml.lines().nth(1).unwrap()));

    // After a restart the witness still knows the size it cosigned.
    drop(w);
    let w = start(dir.path(), database.as_deref(), &stderr);
    let c = cases(&peer(&[
        "after-restart",
        &w.url,
        ORIGIN,
        seed.to_str().unwrap(),
    ]));
    let r = &c["after-restart"];
    assert_eq!(status(r), 409);
    assert_eq!(r["content_type"], "text/x.tlog.size");
    assert_eq!(r["body"], "12\n");
}

#[test]
fn a_bad_policy_is_a_one_line_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let generated = Command::new(bin())
        .args(["keys", "generate", "--witness", "--name", NAME])
        .arg(dir.path().join("keys"))
        .output()
        .unwrap();
    assert!(generated.status.success());
    std::fs::write(
        dir.path().join("policy"),
        "log example.com+00000000+AAAA\nquorum none\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["witness", "--bind", "127.0.0.1:0", "--name", NAME])
        .arg("--key")
        .arg(dir.path().join("keys/witness_ed25519"))
        .arg("--policy")
        .arg(dir.path().join("policy"))
        .arg("--data-dir")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("policy") && err.contains("line 1: log key"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_bad_witness_policy_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy");
    std::fs::write(&policy, "# witnesses\nquorum none\ngroup G any nobody\n").unwrap();
    let out = Command::new(bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--witness-policy"])
        .arg(&policy)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("line 3: group G: nobody is not defined on an earlier line"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing written before the policy was read"
    );
    for bad in ["0ms", "fast", "1h"] {
        let out = Command::new(bin())
            .args(["serve", "--witness-interval", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

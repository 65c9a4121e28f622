//! Signed stamps end to end with the real binary and the real `ssh-keygen`: keys made at first
//! start and reused, key files refused at start, rotation across restarts, `verify --trust`,
//! `--require`, `--export` for the stock tool, and no private key in any log or answer.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{bin, write_file, Server};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("ONEX_LOG_FORMAT", "json")
        .env_remove("ONEX_SIGNING_KEY")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ssh-keygen -Y verify` on an exported directory: whether it accepts.
fn ssh_keygen_verifies(dir: &Path, statement: &[u8]) -> (bool, String) {
    let mut child = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-I",
            "omninode-bridge",
            "-n",
            "omninode-stamp-v1",
            "-f",
        ])
        .arg(dir.join("allowed_signers"))
        .arg("-s")
        .arg(dir.join("stamp.sig"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen (openssh-client) is installed by scripts/test");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), statement).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_keygen_verifies_a_stamp_made_by_post_stamp() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::start_in(data.path(), &[]);
    let content = "import os\nprint(os.getcwd())\n";
    let r = s
        .post(
            "/stamp",
            &json!({"content": content, "namespace": "tools", "file_path": "src/cwd.py"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let work = tempfile::tempdir().unwrap();
    let file = write_file(
        work.path(),
        "cwd.py",
        r.data()["stamped_content"].as_str().unwrap().as_bytes(),
    );
    let signers = s
        .client
        .get(s.url("/keys/allowed_signers"))
        .send()
        .await
        .unwrap();
    let signers = signers.text().await.unwrap();
    write_file(work.path(), "trusted", signers.as_bytes());

    // The generated key: under <data-dir>/keys, owner-only, and the one /keys publishes.
    let key = data.path().join("keys/stamp_ed25519");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let fp = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(data.path().join("keys/stamp_ed25519.pub"))
        .output()
        .unwrap();
    let fingerprint = text(&fp.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(r.data()["signing_key"], fingerprint.as_str());
    assert!(data.path().join("keys/log_ed25519").exists());

    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--require",
            "trusted",
            "--export",
            "out",
            "cwd.py",
        ],
        work.path(),
    );
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
    assert!(
        text(&v.stdout).contains("cwd.py: VALID TRUSTED (signed by SHA256:"),
        "{}",
        text(&v.stdout)
    );
    let out = work.path().join("out");
    let statement = std::fs::read(out.join("statement")).unwrap();
    assert!(text(&statement).starts_with("omninode-stamp/v1\nnamespace tools\n"));
    assert!(text(&statement).contains(&format!("\nkey {fingerprint}\n")));
    let (ok, why) = ssh_keygen_verifies(&out, &statement);
    assert!(ok, "ssh-keygen refused a genuine stamp: {why}");
    assert!(
        why.contains("Good \"omninode-stamp-v1\" signature"),
        "{why}"
    );

    // One changed byte of the statement: the stock tool refuses it.
    let mut forged = statement.clone();
    let at = forged.len() - 50;
    forged[at] ^= 1;
    let (ok, _) = ssh_keygen_verifies(&out, &forged);
    assert!(!ok, "ssh-keygen accepted a changed statement");

    // One changed byte of the file: our verify says so, and the export (over the file as it
    // is) no longer verifies either.
    let changed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("getcwd", "getcwe");
    std::fs::write(&file, changed).unwrap();
    let v = run(&["verify", "--export", "out2", "cwd.py"], work.path());
    assert_eq!(v.status.code(), Some(1));
    assert!(
        text(&v.stdout).contains("HASH_MISMATCH"),
        "{}",
        text(&v.stdout)
    );
    let out2 = work.path().join("out2");
    let (ok, _) = ssh_keygen_verifies(&out2, &std::fs::read(out2.join("statement")).unwrap());
    assert!(!ok, "ssh-keygen accepted the statement of a changed file");

    // A sidecar (JSON is never modified) verifies the same way.
    let json_doc = "{\"a\": 1}\n";
    let r = s
        .post(
            "/stamp",
            &json!({"content": json_doc, "namespace": "tools", "file_path": "a.json"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    write_file(work.path(), "a.json", json_doc.as_bytes());
    write_file(
        work.path(),
        "a.json.onex-stamp",
        r.data()["stamp"].as_str().unwrap().as_bytes(),
    );
    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--require",
            "trusted",
            "--export",
            "out3",
            "a.json",
        ],
        work.path(),
    );
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
    let out3 = work.path().join("out3");
    let (ok, why) = ssh_keygen_verifies(&out3, &std::fs::read(out3.join("statement")).unwrap());
    assert!(ok, "{why}");
}

/// Starts `serve` expecting it to refuse its configuration; its exit code and stderr.
fn serve_refuses(data: &Path, flags: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(flags)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err);
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("serve started with {flags:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_key_files_are_refused_at_start_with_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keygen = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let o = Command::new("ssh-keygen")
            .args(["-q", "-C", "test", "-f"])
            .arg(&path)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        path
    };
    let good = keygen("good", &["-t", "ed25519", "-N", ""]);
    let open = keygen("open", &["-t", "ed25519", "-N", ""]);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let locked = keygen("locked", &["-t", "ed25519", "-N", "correct horse"]);
    let ecdsa = keygen("ecdsa", &["-t", "ecdsa", "-N", ""]);
    let junk = write_file(dir.path(), "junk", b"not a key\n");
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
    let public = dir.path().join("good.pub");
    let public_str = public.to_str().unwrap();
    for (flags, want) in [
        (
            vec!["--signing-key", open.to_str().unwrap()],
            "has mode 0644",
        ),
        (
            vec!["--signing-key", locked.to_str().unwrap()],
            "passphrase",
        ),
        (vec!["--signing-key", ecdsa.to_str().unwrap()], "Ed25519"),
        (
            vec!["--signing-key", junk.to_str().unwrap()],
            "not an OpenSSH private key",
        ),
        (vec!["--signing-key", public_str], "holds a public key"),
        (
            vec!["--signing-key", "/no/such/key"],
            "cannot read key file /no/such/key",
        ),
        (vec!["--log-key", open.to_str().unwrap()], "has mode 0644"),
        (
            vec![
                "--signing-key",
                good.to_str().unwrap(),
                "--log-key",
                good.to_str().unwrap(),
            ],
            "one key per kind",
        ),
        (
            vec!["--verify-key", junk.to_str().unwrap()],
            "neither an OpenSSH public key",
        ),
        (vec!["--signer-identity", "two words"], "signer identity"),
        (vec!["--log-origin", "https://x.example/log"], "schema-less"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let (code, err) = serve_refuses(data.path(), &flags);
        assert_eq!(code, Some(2), "{flags:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{flags:?}: not one line: {err}");
        assert!(lines[0].contains(want), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("PRIVATE KEY"), "{err}");
    }
}

async fn validate_trust(s: &Server, content: &str) -> String {
    let v = s.post("/validate", &json!({"content": content})).await;
    assert_eq!(v.status, 200, "{}", v.body);
    v.data()["trust"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_old_stamps_trusted_until_their_key_is_dropped() {
    let keys = tempfile::tempdir().unwrap();
    for k in ["a", "b"] {
        let o = run(&["keys", "generate", k], keys.path());
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let key = |k: &str, file: &str| keys.path().join(k).join(file).to_str().unwrap().to_owned();
    let (a, a_pub, b) = (
        key("a", "stamp_ed25519"),
        key("a", "stamp_ed25519.pub"),
        key("b", "stamp_ed25519"),
    );
    let data = tempfile::tempdir().unwrap();

    let mut s = Server::start_in(data.path(), &["--signing-key", &a]);
    let r = s
        .post("/stamp", &json!({"content": "v1\n", "namespace": "rot"}))
        .await;
    assert_eq!(r.status, 201);
    let stamped_a = r.data()["stamped_content"].as_str().unwrap().to_owned();
    let id_a = r.data()["signing_key"].as_str().unwrap().to_owned();
    assert_eq!(validate_trust(&s, &stamped_a).await, "TRUSTED");
    assert_eq!(s.terminate(Duration::from_secs(20)), Some(0));

    // B signs now; A is retired but still verifies.
    let mut s = Server::start_in(data.path(), &["--signing-key", &b, "--verify-key", &a_pub]);
    assert_eq!(validate_trust(&s, &stamped_a).await, "TRUSTED");
    let r = s
        .post("/stamp", &json!({"content": "v2\n", "namespace": "rot"}))
        .await;
    let stamped_b = r.data()["stamped_content"].as_str().unwrap().to_owned();
    assert_ne!(r.data()["signing_key"].as_str().unwrap(), id_a);
    let k = s.get("/keys").await;
    let statuses: Vec<&str> = k.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "retired"]);
    assert_eq!(k.data()["keys"][1]["id"], id_a.as_str());
    assert_eq!(s.terminate(Duration::from_secs(20)), Some(0));

    // A dropped: its stamps are still intact, but no longer vouched for.
    let mut s = Server::start_in(data.path(), &["--signing-key", &b]);
    assert_eq!(validate_trust(&s, &stamped_a).await, "UNTRUSTED_KEY");
    assert_eq!(validate_trust(&s, &stamped_b).await, "TRUSTED");
    let v = s.post("/validate", &json!({"content": stamped_a})).await;
    assert_eq!(v.data()["is_valid"], true);
    assert_eq!(v.data()["registered"], true);
    assert_eq!(s.terminate(Duration::from_secs(20)), Some(0));

    // Without flags the generated key is made once and reused across restarts.
    let fresh = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut s = Server::start_in(fresh.path(), &[]);
        ids.push(s.get("/keys").await.data()["keys"][0]["id"].clone());
        assert_eq!(s.terminate(Duration::from_secs(20)), Some(0));
    }
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn offline_stamps_are_signed_with_a_key_or_say_they_are_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let gen = run(&["keys", "generate", "k", "--identity", "ci@example"], w);
    assert!(gen.status.success());
    write_file(w, "trusted", &gen.stdout);
    let stranger = run(&["keys", "generate", "other"], w);
    assert!(stranger.status.success());
    write_file(w, "a.rs", b"fn main() {}\n");
    write_file(w, "b.rs", b"fn main() {}\n");
    write_file(w, "c.rs", b"fn main() {}\n");

    let signed = run(
        &[
            "stamp",
            "-n",
            "ci",
            "--in-place",
            "--key",
            "k/stamp_ed25519",
            "a.rs",
        ],
        w,
    );
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    assert!(text(&signed.stderr).contains("signing with SHA256:"));
    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--require",
            "trusted",
            "a.rs",
        ],
        w,
    );
    assert!(v.status.success(), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains("a.rs: VALID TRUSTED (signed by SHA256:")
            && text(&v.stdout).contains("ci@example"),
        "{}",
        text(&v.stdout)
    );
    // Without --trust nothing is trusted, but a good signature is not tampering.
    let v = run(&["verify", "a.rs"], w);
    assert!(v.status.success());
    assert!(
        text(&v.stdout).contains("a.rs: VALID UNTRUSTED_KEY"),
        "{}",
        text(&v.stdout)
    );

    let unsigned = run(&["stamp", "-n", "ci", "--in-place", "b.rs"], w);
    assert!(unsigned.status.success());
    assert!(
        text(&unsigned.stderr).contains("UNSIGNED"),
        "{}",
        text(&unsigned.stderr)
    );
    let v = run(&["verify", "--trust", "trusted", "b.rs"], w);
    assert!(v.status.success());
    assert!(
        text(&v.stdout).contains("b.rs: VALID UNSIGNED"),
        "{}",
        text(&v.stdout)
    );
    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--require",
            "trusted",
            "a.rs",
            "b.rs",
        ],
        w,
    );
    assert_eq!(
        v.status.code(),
        Some(1),
        "unsigned passed --require trusted"
    );
    assert!(
        text(&v.stderr).contains("b.rs: UNSIGNED is below the required TRUSTED"),
        "{}",
        text(&v.stderr)
    );

    // A stranger's key: valid, untrusted, refused by --require trusted.
    let other = run(
        &[
            "stamp",
            "-n",
            "ci",
            "--in-place",
            "--key",
            "other/stamp_ed25519",
            "c.rs",
        ],
        w,
    );
    assert!(other.status.success());
    let v = run(&["verify", "--trust", "trusted", "c.rs"], w);
    assert!(
        text(&v.stdout).contains("c.rs: VALID UNTRUSTED_KEY"),
        "{}",
        text(&v.stdout)
    );
    assert!(v.status.success());
    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--require",
            "trusted",
            "c.rs",
        ],
        w,
    );
    assert_eq!(v.status.code(), Some(1));
    // LOGGED needs the log's proof, which this version does not check.
    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--require",
            "logged",
            "a.rs",
        ],
        w,
    );
    assert_eq!(v.status.code(), Some(1));

    // A signed field edited: SIGNATURE_INVALID, exit 1.
    let a = std::fs::read_to_string(w.join("a.rs")).unwrap();
    std::fs::write(
        w.join("a.rs"),
        a.replace("// namespace: ci", "// namespace: cj"),
    )
    .unwrap();
    let v = run(&["verify", "--trust", "trusted", "a.rs"], w);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        text(&v.stdout).contains("a.rs: SIGNATURE_INVALID"),
        "{}",
        text(&v.stdout)
    );
    // The stamp still comes off exactly.
    let u = run(&["unstamp", "c.rs"], w);
    assert_eq!(u.stdout, b"fn main() {}\n");
    // --export needs a signed stamp and one file.
    let e = run(&["verify", "--export", "x", "b.rs"], w);
    assert_eq!(e.status.code(), Some(2), "{}", text(&e.stderr));
    assert!(text(&e.stderr).contains("not signed"));
    let e = run(&["verify", "--export", "x", "a.rs", "b.rs"], w);
    assert_eq!(e.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_keys_never_appear_in_logs_or_answers() {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("serve.log");
    let s = Server::start_logging_at(data.path(), &log, "trace", &[]);
    let mut answers = String::new();
    let r = s
        .post(
            "/stamp",
            &json!({"content": "secret?\n", "namespace": "leak"}),
        )
        .await;
    assert_eq!(r.status, 201);
    answers.push_str(&r.body.to_string());
    for path in [
        "/health",
        "/keys",
        "/keys/allowed_signers",
        "/metrics",
        "/openapi.json",
    ] {
        let resp = s.client.get(s.url(path)).send().await.unwrap();
        answers.push_str(&resp.text().await.unwrap());
    }
    let bad = s
        .post("/validate", &json!({"content": "x", "nope": 1}))
        .await;
    answers.push_str(&bad.body.to_string());
    drop(s);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("stamp key"),
        "the key's id should be logged: {logged}"
    );
    for file in ["keys/stamp_ed25519", "keys/log_ed25519"] {
        let pem = std::fs::read_to_string(data.path().join(file)).unwrap();
        // Every line of the key's body (the private scalar is spread across them).
        for line in pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
        {
            assert!(!logged.contains(line), "{file} leaked into the log");
            assert!(!answers.contains(line), "{file} leaked into an answer");
        }
    }
    assert!(!logged.contains("PRIVATE KEY") && !answers.contains("PRIVATE KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_logged_with_the_proof_from_the_201() {
    let s = Server::start(&[]);
    let r = s
        .post(
            "/stamp",
            &json!({"content": "logged = True\n", "namespace": "tl", "file_path": "t.py"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let w = tempfile::tempdir().unwrap();
    write_file(
        w.path(),
        "t.py",
        r.data()["stamped_content"].as_str().unwrap().as_bytes(),
    );
    write_file(
        w.path(),
        "t.py.tlog-proof",
        r.data()["log"]["proof"].as_str().unwrap().as_bytes(),
    );
    let signers = s
        .client
        .get(s.url("/keys/allowed_signers"))
        .send()
        .await
        .unwrap();
    write_file(
        w.path(),
        "trusted",
        signers.text().await.unwrap().as_bytes(),
    );
    let key = s.client.get(s.url("/log/key")).send().await.unwrap();
    write_file(w.path(), "log.vkey", key.text().await.unwrap().as_bytes());
    let args = [
        "verify",
        "--trust",
        "trusted",
        "--log-key",
        "log.vkey",
        "--require",
        "logged",
    ];

    let v = run(
        &[&args[..], &["--export", "out", "t.py"]].concat(),
        w.path(),
    );
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
    assert!(
        text(&v.stdout).contains("t.py: VALID LOGGED"),
        "{}",
        text(&v.stdout)
    );
    assert!(
        text(&v.stdout).contains("logged at index 0 of a tree of 1"),
        "{}",
        text(&v.stdout)
    );
    assert!(w.path().join("out/stamp.tlog-proof").exists());
    // The integration was timed (the spawned server wraps its store in the metrics).
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("log_integration_duration_seconds_count 1"),
        "{metrics}"
    );
    assert!(metrics.contains("log_tree_size 1"), "{metrics}");
    // /validate knows the index too.
    let val = s
        .post(
            "/validate",
            &json!({"content": r.data()["stamped_content"]}),
        )
        .await;
    assert_eq!(val.data()["log_index"], 0);

    // A proof that does not verify: TRUSTED still, but not LOGGED.
    let proof = std::fs::read_to_string(w.path().join("t.py.tlog-proof")).unwrap();
    write_file(
        w.path(),
        "t.py.tlog-proof",
        proof.replacen("\n1\n", "\n2\n", 1).as_bytes(),
    );
    let v = run(&[&args[..], &["t.py"]].concat(), w.path());
    assert_eq!(v.status.code(), Some(1), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains("t.py: VALID TRUSTED"),
        "{}",
        text(&v.stdout)
    );
    assert!(
        text(&v.stdout).contains("log proof does not verify"),
        "{}",
        text(&v.stdout)
    );
    // Another log's key: not LOGGED either.
    // A valid key of another log (golang.org/x/mod sumdb/note's example key).
    let other = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    write_file(w.path(), "t.py.tlog-proof", proof.as_bytes());
    let v = run(
        &[
            "verify",
            "--trust",
            "trusted",
            "--log-key",
            other,
            "--require",
            "logged",
            "--proof",
            "t.py.tlog-proof",
            "t.py",
        ],
        w.path(),
    );
    assert_eq!(v.status.code(), Some(1), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains("no signature by the log's key"),
        "{}",
        text(&v.stdout)
    );
}

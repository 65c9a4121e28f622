//! The offline commands: hash (b3sum format and --check), stamp, verify, migrate.

use std::process::{Command, Output};

use crate::helpers::{bin, edited_contracts, shipped_contracts, write_file};

fn run(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("ONEX_LOG_FORMAT", "json")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn hash_prints_b3sum_lines_and_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", b"hello\n");
    write_file(dir.path(), "big.bin", &vec![7u8; 3 << 20]);
    let o = run(&["hash", "a.txt", "big.bin"], dir.path());
    assert!(o.status.success());
    let want = format!(
        "{}  a.txt\n{}  big.bin\n",
        blake3::hash(b"hello\n").to_hex(),
        blake3::hash(&vec![7u8; 3 << 20]).to_hex()
    );
    assert_eq!(stdout(&o), want);
    write_file(dir.path(), "SUMS", want.as_bytes());
    let o = run(&["hash", "--check", "SUMS"], dir.path());
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o), "a.txt: OK\nbig.bin: OK\n");
    write_file(dir.path(), "a.txt", b"hello!\n");
    let o = run(&["hash", "-c", "SUMS"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("a.txt: FAILED"));
    let o = run(&["hash", "missing.txt"], dir.path());
    assert!(!o.status.success());
    // A line that names no file fails alone, with its line number; the others are checked.
    write_file(dir.path(), "a.txt", b"hello\n");
    let mut bad = b"zz  a.txt\n".to_vec();
    bad.extend_from_slice(want.as_bytes());
    write_file(dir.path(), "BAD", &bad);
    let o = run(&["hash", "--check", "BAD"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "a.txt: OK\nbig.bin: OK\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("BAD:1: not a BLAKE3 hex digest"), "{err}");
    assert!(err.contains("1 computed checksum did NOT match"), "{err}");
}

/// The real `b3sum` (installed by scripts/test, `cargo install b3sum`).
fn b3sum() -> std::path::PathBuf {
    let cargo_bin = std::path::Path::new(&std::env::var("HOME").unwrap()).join(".cargo/bin/b3sum");
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("b3sum"))
        .chain([cargo_bin])
        .find(|p| p.is_file())
        .expect("b3sum is not installed: run ./scripts/test, which installs it")
}

/// `hash` and `b3sum` write the same bytes for awkward names, and each one's `--check` reads
/// the other's file with the same verdicts: spaces, two spaces, backslashes, LF, CR, a name
/// that is not UTF-8 (written lossily; both refuse to check it).
#[test]
fn hash_and_b3sum_read_each_others_lines_for_awkward_names() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&[u8]> = vec![
        b"plain.txt",
        b"with space.txt",
        b"two  spaces.txt",
        b"back\\slash.txt",
        b"new\nline.txt",
        b"carriage\rreturn.txt",
        b"BLAKE3 (x) = y",
        b"caf\xe9.txt",
    ];
    let paths: Vec<&std::ffi::OsStr> = names
        .iter()
        .map(|n| std::ffi::OsStr::from_bytes(n))
        .collect();
    for (i, p) in paths.iter().enumerate() {
        std::fs::write(dir.path().join(p), format!("file {i}\n")).unwrap();
    }
    let ours = Command::new(bin())
        .arg("hash")
        .args(&paths)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let theirs = Command::new(b3sum())
        .args(&paths)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(ours.status.success() && theirs.status.success());
    assert_eq!(
        stdout(&ours),
        stdout(&theirs),
        "hash and b3sum print different lines"
    );
    assert_eq!(
        stdout(&ours)
            .lines()
            .filter(|l| l.starts_with('\\'))
            .count(),
        3
    );

    // Every line but the non-UTF-8 one, checked by both tools: all OK, the same report.
    let all = ours.stdout;
    let checkable: Vec<u8> = all
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| !String::from_utf8_lossy(l).contains('\u{FFFD}'))
        .flatten()
        .copied()
        .collect();
    let check = |tool: &std::ffi::OsStr, sums: &[u8], hash_arg: bool| {
        std::fs::write(dir.path().join("SUMS"), sums).unwrap();
        let mut c = Command::new(tool);
        if hash_arg {
            c.arg("hash");
        }
        c.args(["--check", "SUMS"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let (o, t) = (
        check(bin().as_ref(), &checkable, true),
        check(b3sum().as_os_str(), &checkable, false),
    );
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    assert_eq!(stdout(&o), stdout(&t));
    assert_eq!(stdout(&o).matches(": OK\n").count(), 7);

    // With the lossy line: both refuse that one line and check the rest.
    let (o, t) = (
        check(bin().as_ref(), &all, true),
        check(b3sum().as_os_str(), &all, false),
    );
    assert_eq!((o.status.code(), t.status.code()), (Some(1), Some(1)));
    assert_eq!(stdout(&o), stdout(&t));
    assert!(String::from_utf8_lossy(&o.stderr).contains("replacement character"));

    // One changed file: the same FAILED line from both, its name shown escaped.
    std::fs::write(dir.path().join(paths[4]), "changed\n").unwrap();
    let (o, t) = (
        check(bin().as_ref(), &checkable, true),
        check(b3sum().as_os_str(), &checkable, false),
    );
    assert_eq!((o.status.code(), t.status.code()), (Some(1), Some(1)));
    assert_eq!(stdout(&o), stdout(&t));
    assert!(
        stdout(&o).contains("\\new\\nline.txt: FAILED\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn hash_reads_stdin() {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(["hash", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        stdout(&o),
        format!("{}  -\n", blake3::hash(b"from stdin").to_hex())
    );
}

#[test]
fn stamp_verify_roundtrip_in_place_and_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let original = b"#!/usr/bin/env python3\nprint('x')\n";
    write_file(dir.path(), "tool.py", original);
    let o = run(&["stamp", "tool.py", "--namespace", "cli"], dir.path());
    assert!(o.status.success());
    let printed = o.stdout.clone();
    assert!(printed.starts_with(b"#!/usr/bin/env python3\n# ---BEGIN ONEX STAMP---\n"));
    // Printing does not touch the file.
    assert_eq!(std::fs::read(dir.path().join("tool.py")).unwrap(), original);
    assert_eq!(
        run(&["verify", "tool.py"], dir.path()).status.code(),
        Some(1)
    );

    let o = run(
        &[
            "stamp",
            "tool.py",
            "-n",
            "cli",
            "--in-place",
            "--type",
            "lightweight",
        ],
        dir.path(),
    );
    assert!(o.status.success());
    let stamped = std::fs::read(dir.path().join("tool.py")).unwrap();
    assert!(stamped.starts_with(b"#!/usr/bin/env python3\n# ONEX:uid="));
    let o = run(&["verify", "tool.py"], dir.path());
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o), "tool.py: VALID UNSIGNED (no signature)\n");

    // Tamper: verify fails with the reason.
    let mut t = stamped.clone();
    *t.last_mut().unwrap() = b' ';
    write_file(dir.path(), "tool.py", &t);
    let o = run(&["verify", "tool.py"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("tool.py: HASH_MISMATCH"));

    // Binary: sidecar beside the file, file untouched.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    write_file(dir.path(), "img.png", png);
    assert!(
        run(&["stamp", "img.png", "-n", "cli", "--in-place"], dir.path())
            .status
            .success()
    );
    assert_eq!(std::fs::read(dir.path().join("img.png")).unwrap(), png);
    assert!(dir.path().join("img.png.onex-stamp").exists());
    assert!(run(&["verify", "img.png"], dir.path()).status.success());
    write_file(
        dir.path(),
        "img.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02",
    );
    assert_eq!(
        run(&["verify", "img.png"], dir.path()).status.code(),
        Some(1)
    );
}

#[test]
fn bad_cli_input_is_one_line_and_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "f.txt", b"x");
    for args in [
        &["stamp", "f.txt", "--namespace", "bad ns"][..],
        &["stamp", "f.txt", "f.txt", "--namespace", "ok"],
        &["stamp", "nope.txt", "--namespace", "ok"],
        &["verify", "nope.txt"],
        &["migrate", "--database-url", "mysql://x"],
        &[
            "serve",
            "--database-url",
            "postgres://localhost/x",
            "--db-pool-min",
            "60",
        ],
        &["serve", "--kafka-brokers", " ", "--data-dir", "d"],
        &["topics", "create", "--kafka-brokers", "x:1", "--env", "a.b"],
    ] {
        let o = run(args, dir.path());
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    assert!(!run(&["hash"], dir.path()).status.success());
    assert!(!run(&["serve", "--rate-limit", "lots"], dir.path())
        .status
        .success());
}

#[test]
fn migrate_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["migrate", "--data-dir", "state"], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.path().join("state/omninode-bridge.sqlite3").exists());
    assert!(run(&["migrate", "--data-dir", "state"], dir.path())
        .status
        .success());
}

#[test]
fn contracts_check_prints_the_resolved_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &["contracts", "check", shipped_contracts().to_str().unwrap()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    // $refs are gone: the subcontracts' contents are inline.
    assert!(!text.contains("$ref"));
    assert!(text.contains("name: onextree_intelligence"));
    assert!(text.contains("failure_threshold: 5"));
    assert!(text.contains("- IDLE"));
}

#[test]
fn invalid_contracts_are_refused_naming_file_and_key() {
    let bad = edited_contracts(
        "orchestrator/workflow.yaml",
        "retry: {attempts: 3",
        "retry: {attempts: 3, jitter: 1",
    );
    let cwd = tempfile::tempdir().unwrap();
    let o = run(
        &["contracts", "check", bad.path().to_str().unwrap()],
        cwd.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("orchestrator/workflow.yaml at workflow.steps[4].retry.jitter"),
        "{err}"
    );
    // serve refuses to start on it, before opening the database.
    let o = run(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            "d",
            "--contracts",
            bad.path().to_str().unwrap(),
        ],
        cwd.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field `jitter`"));
    assert!(!cwd.path().join("d").exists());

    let missing = edited_contracts(
        "orchestrator/contract.yaml",
        "./routing.yaml",
        "./nowhere.yaml",
    );
    let o = run(
        &["contracts", "check", missing.path().to_str().unwrap()],
        cwd.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("orchestrator/nowhere.yaml: not found (referenced from orchestrator/contract.yaml at routing)"), "{err}");
}

/// `keys generate` writes what OpenSSH writes: the stock `ssh-keygen` reads both files, signs
/// with the private key, and verifies that signature against the printed `allowed_signers`
/// line. The private key is 0600 and never replaced.
#[test]
fn keys_generate_writes_an_openssh_key_pair_that_ssh_keygen_uses() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &["keys", "generate", "k", "--identity", "bridge@test"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = stdout(&o);
    let private = dir.path().join("k/stamp_ed25519");
    let public = std::fs::read_to_string(dir.path().join("k/stamp_ed25519.pub")).unwrap();
    assert_eq!(
        line.trim(),
        format!(
            "bridge@test namespaces=\"omninode-stamp-v1\" {}",
            public.trim()
        )
    );
    let mode = std::fs::metadata(&private).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let derived = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&private)
        .output()
        .expect("ssh-keygen (openssh-client) is installed by scripts/test");
    assert!(derived.status.success());
    assert_eq!(stdout(&derived).trim(), public.trim());

    // Sign with ssh-keygen, verify against the allowed_signers line we printed.
    let message = dir.path().join("message");
    std::fs::write(&message, b"omninode-stamp/v1\n").unwrap();
    let signed = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "omninode-stamp-v1", "-f"])
        .arg(&private)
        .arg(&message)
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, &line).unwrap();
    let verify = |namespace: &str| {
        Command::new("ssh-keygen")
            .args(["-Y", "verify", "-I", "bridge@test", "-n", namespace, "-f"])
            .arg(&signers)
            .arg("-s")
            .arg(dir.path().join("message.sig"))
            .stdin(std::fs::File::open(&message).unwrap())
            .output()
            .unwrap()
    };
    assert!(verify("omninode-stamp-v1").status.success());
    assert!(
        !verify("other-namespace").status.success(),
        "namespace is bound"
    );

    let again = run(&["keys", "generate", "k"], dir.path());
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("k/stamp_ed25519.pub")).unwrap(),
        public
    );
}

//! The HTTPS listener (SPEC §12): the API, `/health` and `/metrics` over TLS with a CA made
//! here; HTTP/2 and HTTP/1.1 by ALPN (curl); plain HTTP and foreign CAs refused; SIGHUP
//! serves a new certificate without dropping open connections; bad files fail at start.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::certs::{chain, client_trusting, openssl_rsa, TestCa};
use crate::helpers::{bin, stamp_body, Server};

fn tls_flags<'a>(cert: &'a Path, key: &'a Path) -> [&'a str; 4] {
    [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]
}

/// `curl --cacert CA` with extra flags; `(http_version, status)`.
fn curl(ca: &Path, url: &str, flags: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            "--cacert",
        ])
        .arg(ca)
        .args(flags)
        .arg(url)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (v, s) = text.split_once(' ').unwrap_or((&text, ""));
    (v.to_owned(), s.to_owned())
}

#[tokio::test]
async fn https_serves_the_api_health_and_metrics_to_clients_of_the_ca_only() {
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new("api test CA");
    let ca_file = ca.write(certs.path(), "ca.crt");
    let (crt, key) = ca.issue(certs.path(), "server");
    let mut s = Server::start(&tls_flags(&crt, &key));
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    s.client = client_trusting(&ca.pem());

    let live = s.get("/health/live").await;
    assert_eq!(live.status, 200, "{:?}", live.body);
    let health = s.get("/health").await;
    assert_eq!(health.status, 200, "{:?}", health.body);
    let metrics = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("api_request_duration_seconds"));
    let stamped = s.post("/stamp", &stamp_body("over TLS\n", "tls")).await;
    assert_eq!(stamped.status, 201, "{:?}", stamped.body);

    // ALPN: curl negotiates HTTP/2 when it may, HTTP/1.1 when told to.
    let url = s.url("/health/live");
    assert_eq!(
        curl(&ca_file, &url, &["--http2"]),
        ("2".into(), "200".into())
    );
    assert_eq!(
        curl(&ca_file, &url, &["--http1.1"]),
        ("1.1".into(), "200".into())
    );

    // Plain HTTP to the TLS port gets no answer.
    let plain = s.base.replace("https://", "http://");
    let refused = reqwest::get(format!("{plain}/health/live")).await;
    assert!(refused.is_err(), "plain HTTP answered: {refused:?}");

    // A client of another CA refuses the server's certificate.
    let other = TestCa::new("another CA");
    let e = client_trusting(&other.pem())
        .get(&url)
        .send()
        .await
        .unwrap_err();
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));
    let other_file = other.write(certs.path(), "other.crt");
    let (v, status) = curl(&other_file, &url, &[]);
    assert_eq!(
        (v.as_str(), status.as_str()),
        ("0", "000"),
        "curl with a foreign CA"
    );
}

#[tokio::test]
async fn an_rsa_certificate_made_by_openssl_serves_too() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, crt, key) = openssl_rsa(certs.path());
    let s = Server::start(&tls_flags(&crt, &key));
    assert_eq!(
        curl(&ca, &s.url("/health/live"), &[]),
        ("2".into(), "200".into())
    );
}

/// Writes `contents` to `path` by a rename, as certificate tools do.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn sighup(pid: u32) {
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn sighup_serves_the_new_certificate_and_keeps_open_connections() {
    let certs = tempfile::tempdir().unwrap();
    let first = TestCa::new("first CA");
    let (crt, key) = first.issue(certs.path(), "server");
    let mut s = Server::start(&tls_flags(&crt, &key));
    // This client's connection is opened now and kept alive (reqwest pools it).
    s.client = client_trusting(&first.pem());
    assert_eq!(s.get("/health/live").await.status, 200);

    let second = TestCa::new("second CA");
    let (cert_pem, key_pem) = second.issue_pem();
    replace(&key, &key_pem);
    replace(&crt, &cert_pem);
    sighup(s.pid());
    let url = s.url("/health/live");
    let started = Instant::now();
    loop {
        match client_trusting(&second.pem()).get(&url).send().await {
            Ok(r) if r.status() == 200 => break,
            other => {
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "the new certificate is not served: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // New connections of the first CA's clients are refused now…
    let e = client_trusting(&first.pem())
        .get(&url)
        .send()
        .await
        .unwrap_err();
    assert!(chain(&e).contains("UnknownIssuer"), "{}", chain(&e));
    // …but the connection opened before the reload still serves (a new one could not).
    assert_eq!(s.get("/health/live").await.status, 200);

    // A broken file on the next SIGHUP leaves the working certificate in place.
    replace(&crt, "not a certificate\n");
    sighup(s.pid());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = client_trusting(&second.pem())
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
}

/// `serve` with these TLS files: exit status and stderr.
fn serve_fails(cert: &Path, key: &Path) -> (Option<i32>, String) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(tls_flags(cert, key))
        .env_remove("DATABASE_URL")
        .env_remove("KAFKA_BROKERS")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "serve started"
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_certificate_a_foreign_key_or_an_unreadable_file_fails_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("start CA");
    let (crt, key) = ca.issue(dir.path(), "server");
    let (_, other_key) = ca.issue(dir.path(), "other");
    let junk = dir.path().join("junk.crt");
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let key_pem = std::fs::read_to_string(&other_key).unwrap();
    let key_body = key_pem.lines().nth(1).unwrap().to_owned();
    let missing = dir.path().join("missing.key");
    let a_dir = dir.path().to_owned();
    let cases: [(&Path, &Path, &Path, &str); 4] = [
        (&junk, &key, &junk, "not a valid certificate"),
        (&crt, &other_key, &other_key, "does not fit --tls-cert"),
        (&crt, &missing, &missing, "--tls-key"),
        (&a_dir, &key, &a_dir, "--tls-cert"),
    ];
    for (cert, key, named, says) in cases {
        let (code, stderr) = serve_fails(cert, key);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(named.to_str().unwrap()) && stderr.contains(says),
            "{stderr}"
        );
        assert!(!stderr.contains(&key_body), "the key leaked: {stderr}");
    }
}

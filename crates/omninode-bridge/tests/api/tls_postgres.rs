//! PostgreSQL over TLS (SPEC §12), on the suite's cluster: `scripts/pg` runs it with `ssl=on`,
//! a CA of its own and `hostssl` lines only, and the suite's URL says `sslmode=verify-full`
//! (so every PostgreSQL test of the suite runs over verified TLS). Here: a wrong CA, no TLS
//! at all, and the password from the URL or `PGPASSWORD`, never shown.

use std::process::{Command, Output};
use std::time::Duration;

use sqlx::Connection;

use crate::certs::TestCa;
use crate::helpers::{bin, pg_admin_url, Server};

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(name, value);
    u.to_string()
}

/// `omninode-bridge migrate` against `url` (with extra environment).
fn migrate(url: &str, env: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .args(["migrate", "--database-url", url])
        .env_remove("PGPASSWORD")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_suite_url_asks_for_verified_tls() {
    let url = url::Url::parse(&pg_admin_url()).unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        q.contains(&("sslmode".into(), "verify-full".into())),
        "{url}"
    );
    assert!(q.iter().any(|(k, _)| k == "sslrootcert"), "{url}");
    let ok = migrate(url.as_str(), &[]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn verify_full_with_a_wrong_root_certificate_fails_at_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = TestCa::new("not the cluster's CA").write(dir.path(), "wrong-ca.crt");
    let url = with_param(&pg_admin_url(), "sslrootcert", wrong.to_str().unwrap());
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("PostgreSQL") && err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
}

#[test]
fn no_tls_against_a_server_that_requires_it_fails_clearly() {
    let out = migrate(&with_param(&pg_admin_url(), "sslmode", "disable"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no pg_hba.conf entry") && err.contains("no encryption"),
        "{err}"
    );
}

/// A role with a password, owning a fresh database; `(url without password, password)`.
async fn role_with_password() -> (String, String) {
    let admin = pg_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (role, db, password) = (
        format!("r_{}", &id[..12]),
        format!("d_{}", &id[..12]),
        format!("pw-{id}"),
    );
    for sql in [
        format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
        format!("CREATE DATABASE {db} OWNER {role}"),
    ] {
        sqlx::Executor::execute(&mut conn, sql.as_str())
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_username(&role).unwrap();
    url.set_path(&db);
    (url.to_string(), password)
}

#[tokio::test]
async fn the_password_comes_from_the_url_or_pgpassword_and_is_never_shown() {
    let (url, password) = role_with_password().await;
    // PGPASSWORD, the URL without one.
    let ok = migrate(&url, &[("PGPASSWORD", &password)]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    // No password at all, and a wrong one (in the environment, then in the URL): refused,
    // and the wrong password is not in the message.
    let none = migrate(&url, &[]);
    assert!(!none.status.success());
    let wrong_pw = "pw-Wrong-Secret-0042";
    let wrong = migrate(&url, &[("PGPASSWORD", wrong_pw)]);
    let err = stderr(&wrong);
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains(wrong_pw), "{err}");
    let mut in_url = url::Url::parse(&url).unwrap();
    in_url.set_password(Some(wrong_pw)).unwrap();
    let wrong = migrate(in_url.as_str(), &[]);
    let err = stderr(&wrong);
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains(wrong_pw), "{err}");

    // The service on a URL holding the password: the log names the database, redacted, and
    // neither the log nor /health holds the password.
    in_url.set_password(Some(&password)).unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("test-database-url"), in_url.as_str()).unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let s = Server::start_on_postgres_logging(data, log.path(), "debug");
    let health = s.get("/health").await;
    assert_eq!(health.status, 200, "{:?}", health.body);
    assert!(!health.body.to_string().contains(&password));
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.contains(":***@127.0.0.1"),
        "the redacted URL is logged: {logged}"
    );
    assert!(
        !logged.contains(&password),
        "the password leaked into the log"
    );
}

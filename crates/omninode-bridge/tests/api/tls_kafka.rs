//! Kafka over TLS (SPEC §12): a Tansu broker of the test's own behind a TLS-terminating
//! proxy on loopback (rustls, below), the broker advertising the proxy as its listener, so
//! every client connection — bootstrap and after metadata — is TLS. The relay, the reducer's
//! consumer group and `topics create` work with `--kafka-security-protocol ssl --kafka-ca`;
//! a CA that did not sign the proxy's certificate shows in `/health`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;
use rustls_pki_types::pem::PemObject;
use tokio::net::{TcpListener, TcpStream};

use crate::certs::TestCa;
use crate::helpers::{bin, kafka_script, stamp_body, Server};
use crate::kafka::{unique_env, wait_outbox_empty};
use crate::reducer::wait_stats;

/// A broker of the test's own (`scripts/kafka`), stopped on drop.
pub(crate) struct Broker {
    dir: tempfile::TempDir,
    pub(crate) addr: SocketAddr,
}

impl Broker {
    /// A broker that tells clients to connect to `advertised` (the proxy's port).
    pub(crate) fn advertising(advertised: u16, env: &[(&str, &str)]) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k");
        let addr = kafka_script(
            &["start", k.to_str().unwrap(), &advertised.to_string()],
            env,
        );
        Broker {
            addr: addr.parse().unwrap(),
            dir,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        kafka_script(&["stop", self.dir.path().join("k").to_str().unwrap()], &[]);
    }
}

/// TLS on `listener`, plain bytes to `upstream`; stops when dropped.
pub(crate) struct TlsProxy(tokio::task::JoinHandle<()>);

impl TlsProxy {
    pub(crate) fn start(listener: TcpListener, upstream: SocketAddr, ca: &TestCa) -> TlsProxy {
        let (cert_pem, key_pem) = ca.issue_pem();
        let chain = rustls_pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        TlsProxy(tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut broker) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut broker).await;
                });
            }
        }))
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A broker reached only through a TLS proxy: `(proxy address, broker, proxy)`.
pub(crate) async fn tls_broker(ca: &TestCa, env: &[(&str, &str)]) -> (String, Broker, TlsProxy) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = Broker::advertising(port, env);
    let proxy = TlsProxy::start(listener, broker.addr, ca);
    (format!("127.0.0.1:{port}"), broker, proxy)
}

fn ssl_flags<'a>(brokers: &'a str, ca: &'a Path, env: &'a str) -> Vec<&'a str> {
    vec![
        "--kafka-brokers",
        brokers,
        "--kafka-security-protocol",
        "ssl",
        "--kafka-ca",
        ca.to_str().unwrap(),
        "--env",
        env,
    ]
}

/// Polls `/health` until the kafka component's `detail` satisfies `done`; that detail.
pub(crate) async fn wait_kafka_detail(
    s: &Server,
    timeout: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let h = s.get("/health").await;
        let kafka = &h.body["data"]["components"]["kafka"];
        let detail = kafka["detail"].as_str().unwrap_or_default().to_owned();
        if done(&detail) {
            return detail;
        }
        assert!(Instant::now() < deadline, "kafka component: {kafka}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_consumer_and_topics_create_work_over_tls_with_the_ca() {
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new("kafka test CA");
    let ca_file: PathBuf = ca.write(certs.path(), "ca.crt");
    let (brokers, _broker, _proxy) = tls_broker(&ca, &[]).await;
    let env = unique_env();

    // `topics create` over TLS.
    let out = Command::new(bin())
        .args(["topics", "create", "--kafka-brokers", &brokers])
        .args(["--kafka-security-protocol", "ssl", "--kafka-ca"])
        .arg(&ca_file)
        .args(["--env", &env])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stamp_topic = format!("{env}.omninode_bridge.onex.evt.stamp-created.v1");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("created\t") && l.contains(&stamp_topic)),
        "{listed}"
    );

    // The relay and the reducer's consumer group over TLS.
    let s = Server::start(&ssl_flags(&brokers, &ca_file, &env));
    let stamped = s
        .post("/stamp", &stamp_body("kafka over TLS\n", "tlsns"))
        .await;
    assert_eq!(stamped.status, 201, "{:?}", stamped.body);
    wait_outbox_empty(&s, Duration::from_secs(60)).await;
    let health = s.get("/health").await;
    assert_eq!(
        health.body["data"]["components"]["kafka"]["status"], "healthy",
        "{:?}",
        health.body
    );
    // The reducer counted it: it read STAMP_CREATED through the proxy.
    wait_stats(&s, "tlsns", 1).await;

    // And a librdkafka consumer of our own connection type reads the event over TLS.
    let kafka = bridge_events::KafkaConnection::new(
        brokers.clone(),
        bridge_events::SecurityProtocol::Ssl,
        None,
        None,
        None,
        Some(ca_file.clone()),
    )
    .unwrap();
    let mut c = kafka.client_config();
    c.set("group.id", format!("test-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest");
    let consumer: StreamConsumer = c.create().unwrap();
    consumer.subscribe(&[stamp_topic.as_str()]).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("a STAMP_CREATED message within 30 s")
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
    assert_eq!(envelope["event_type"], "STAMP_CREATED");
    assert_eq!(envelope["payload"]["namespace"], "tlsns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_did_not_sign_the_brokers_certificate_shows_in_health() {
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new("kafka test CA");
    let (brokers, _broker, _proxy) = tls_broker(&ca, &[]).await;
    let wrong = TestCa::new("not the brokers' CA").write(certs.path(), "wrong.crt");
    let env = unique_env();
    let s = Server::start(&ssl_flags(&brokers, &wrong, &env));
    let detail = wait_kafka_detail(&s, Duration::from_secs(60), |d| {
        d.contains("certificate verify failed")
    })
    .await;
    let h = s.get("/health").await;
    assert_eq!(h.body["data"]["components"]["kafka"]["status"], "degraded");
    // librdkafka words the failure differently by where the handshake stopped
    // ("SSL handshake failed: …" or "… (after 1ms in state SSL_HANDSHAKE)"); both name TLS.
    assert!(detail.contains("SSL"), "{detail}");
}

/// SASL/SCRAM over TLS, the managed-Kafka combination, against a broker that checks the
/// credentials (Tansu with `--authentication`; see `scripts/kafka`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_over_tls_authenticates_and_a_wrong_password_shows_in_health_without_it() {
    let password = format!("kpw-{}", uuid::Uuid::new_v4().simple());
    let scram_user = format!("bridge:{password}");
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new("kafka test CA");
    let ca_file = ca.write(certs.path(), "ca.crt");
    let (brokers, _broker, _proxy) = tls_broker(&ca, &[("KAFKA_SCRAM_USER", &scram_user)]).await;
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let env = unique_env();
        let mut flags = ssl_flags(&brokers, &ca_file, &env);
        flags[3] = "sasl_ssl";
        flags.extend(["--kafka-sasl-mechanism", mechanism]);
        let data = tempfile::tempdir().unwrap();
        let s = Server::start_with_env(
            data.path(),
            &flags,
            &[("KAFKA_USERNAME", "bridge"), ("KAFKA_PASSWORD", &password)],
        );
        let stamped = s.post("/stamp", &stamp_body("scram\n", "scramns")).await;
        assert_eq!(stamped.status, 201, "{:?}", stamped.body);
        wait_outbox_empty(&s, Duration::from_secs(60)).await;
        wait_stats(&s, "scramns", 1).await;
    }

    // The wrong password: refused by the broker, the reason in /health, the password nowhere.
    let wrong = format!("kpw-wrong-{}", uuid::Uuid::new_v4().simple());
    let env = unique_env();
    let mut flags = ssl_flags(&brokers, &ca_file, &env);
    flags[3] = "sasl_ssl";
    flags.extend(["--kafka-sasl-mechanism", "SCRAM-SHA-256"]);
    let data = tempfile::tempdir().unwrap();
    let log = certs.path().join("server.log");
    let s = Server::start_logging_with_env(
        data.path(),
        &log,
        "debug",
        &flags,
        &[("KAFKA_USERNAME", "bridge"), ("KAFKA_PASSWORD", &wrong)],
    );
    let detail = wait_kafka_detail(&s, Duration::from_secs(60), |d| {
        d.contains("SASL authentication error")
    })
    .await;
    let health = s.get("/health").await.body.to_string();
    drop(s);
    let logged = std::fs::read_to_string(&log).unwrap();
    for (what, text) in [("detail", &detail), ("/health", &health), ("log", &logged)] {
        assert!(
            !text.contains(&wrong) && !text.contains(&password),
            "{what}: {text}"
        );
    }
    assert!(
        logged.contains("SASL SCRAM authentication failed"),
        "{logged}"
    );
}

//! `TestApp`: the router of one in-process service, with helpers to send requests and to
//! deliver the outbox. At drop it asserts that the outbox was drained: every event a test
//! caused must have been delivered (and so checked) by [`TestApp::run_pending_outbox`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use axum::Router;
use bridge_api::{router, ApiConfig, App, KeyStatus, Metrics, PublishedKey, ServiceKeys};
use bridge_core::contract::{builtin::Builtin, load};
use bridge_core::envelope::Envelope;
use bridge_core::signature::{PublicKey, StampSigner};
use bridge_core::tlog::LogSigner;
use bridge_nodes::registry::{Registry, StoreNodes};
use bridge_nodes::Orchestrator;
use bridge_store::{Delivery, PgOptions, PgStore, SqliteStore, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// One answer: status, headers and body (its JSON, or the text when it is not JSON), with the
/// same helpers as the spawned suite's replies.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) text: String,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `error.code` of an error envelope.
    pub(crate) fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }

    /// An error envelope with this status and code, a message and a correlation id.
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

/// The key in-process services sign with by default: made once per test run (no key is
/// committed; snapshots filter key ids).
pub(crate) fn signer() -> StampSigner {
    static KEY: std::sync::OnceLock<StampSigner> = std::sync::OnceLock::new();
    KEY.get_or_init(StampSigner::generate).clone()
}

/// The smallest stamp request.
pub(crate) fn stamp_body(content: &str, ns: &str) -> Value {
    serde_json::json!({"content": content, "namespace": ns})
}

/// An in-process service over a store of its own.
pub(crate) struct TestApp {
    router: Router,
    pub(crate) store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

pub(crate) fn on_postgres() -> bool {
    std::env::var("OMNINODE_TEST_BACKEND").as_deref() == Ok("postgres")
}

impl TestApp {
    pub(crate) async fn new() -> Self {
        Self::with_config(ApiConfig::default()).await
    }

    pub(crate) async fn with_config(config: ApiConfig) -> Self {
        Self::with_keys(config, Some(signer()), &[]).await
    }

    /// A service signing with `signer` (none: unsigned stamps) that also trusts `retired`.
    pub(crate) async fn with_keys(
        config: ApiConfig,
        signer: Option<StampSigner>,
        retired: &[PublicKey],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log_key = StampSigner::generate();
        let log = Arc::new(LogSigner::new("test.example/log", log_key.private_key()).unwrap());
        let store: Arc<dyn Store> = if on_postgres() {
            let admin = std::env::var("OMNINODE_TEST_PG_URL")
                .expect("OMNINODE_TEST_PG_URL: run ./scripts/test, which starts PostgreSQL");
            let url = PgStore::scratch_database(&admin).await.unwrap();
            let mut o = PgOptions::new(url);
            (o.min_connections, o.max_connections) = (1, 4);
            o.log = Some(log.clone());
            Arc::new(PgStore::connect(o).await.unwrap())
        } else {
            Arc::new(
                SqliteStore::open_logged(dir.path(), Some(log.clone()))
                    .await
                    .unwrap(),
            )
        };
        let contracts = load(&Builtin).unwrap();
        let mut orchestrator =
            Orchestrator::new(store.clone(), contracts.orchestrator.clone(), "test").unwrap();
        let mut published: Vec<PublishedKey> = Vec::new();
        if let Some(s) = signer {
            published.push(PublishedKey {
                public: s.public_key().clone(),
                status: KeyStatus::Active,
                created: None,
            });
            orchestrator = orchestrator.with_signer(Arc::new(s));
        }
        published.extend(retired.iter().map(|k| PublishedKey {
            public: k.clone(),
            status: KeyStatus::Retired,
            created: None,
        }));
        let log_key = PublishedKey {
            public: log_key.public_key().clone(),
            status: KeyStatus::Active,
            created: None,
        };
        let keys = ServiceKeys::new(
            "omninode-bridge",
            published,
            Some(log_key),
            Some(log.origin().to_owned()),
        )
        .with_log_vkey(log.vkey());
        let registry = Arc::new(Registry::new(
            Arc::new(StoreNodes(store.clone())),
            contracts.registry,
            "test",
        ));
        let app =
            App::new(orchestrator, registry, config, Arc::new(Metrics::new())).with_keys(keys);
        Self {
            router: router(app),
            store,
            _dir: dir,
        }
    }

    /// Sends one request as if from 127.0.0.1 (rate limits key on the peer without auth).
    pub(crate) async fn send(&self, mut req: Request<Body>) -> Reply {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.clone()));
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
        key: Option<&str>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        if let Some(k) = key {
            b = b.header("x-api-key", k);
        }
        self.send(b.body(body.into()).unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, Body::empty(), None)
            .await
    }

    /// The raw body of a GET (binary resources: tiles, bundles).
    pub(crate) async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let mut req = Request::builder().uri(path).body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    pub(crate) async fn get_with(&self, path: &str, key: Option<&str>) -> Reply {
        self.request(Method::GET, path, None, Body::empty(), key)
            .await
    }

    pub(crate) async fn post_with(&self, path: &str, body: &Value, key: Option<&str>) -> Reply {
        let json = Some("application/json");
        self.request(Method::POST, path, json, body.to_string(), key)
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None, Body::empty(), None)
            .await
    }

    pub(crate) async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Reply {
        self.request(Method::POST, path, Some(content_type), body, None)
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(
            Method::POST,
            path,
            Some("application/json"),
            body.to_string(),
            None,
        )
        .await
    }

    /// Delivers every pending outbox row to an in-process sink that checks it as the relay
    /// would (a topic, an envelope whose type matches the row); the event types delivered.
    pub(crate) async fn run_pending_outbox(&self) -> Vec<String> {
        let mut delivered = Vec::new();
        loop {
            let rows = self
                .store
                .claim_outbox(500, Duration::from_secs(60))
                .await
                .unwrap();
            if rows.is_empty() {
                return delivered;
            }
            let mut outcomes = Vec::new();
            for r in rows {
                assert!(r.topic.is_some(), "{} has no topic", r.event_type);
                let env: Envelope = serde_json::from_str(&r.payload).unwrap();
                assert_eq!(env.event_type, r.event_type);
                assert_eq!(env.event_id, r.event_id);
                delivered.push(r.event_type);
                outcomes.push((r.seq, Delivery::Sent));
            }
            self.store.settle_outbox(&outcomes).await.unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let store = self.store.clone();
        let pending = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(store.pending_events())
        })
        .unwrap();
        assert_eq!(
            pending, 0,
            "the test left {pending} undelivered events: call run_pending_outbox()"
        );
    }
}

/// Snapshot settings: ids, times and durations vary from run to run.
pub(crate) fn stable() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[uuid]",
    );
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[time]",
    );
    s.add_filter(
        r#""(processing_time_ms|execution_time_ms|duration_ms|uptime_seconds|latency_ms)": [0-9.e+-]+"#,
        r#""$1": "[n]""#,
    );
    // Covers the stamp's own fields (its id and time among them).
    s.add_filter(
        r"stamp_checksum: [0-9a-f]{16}",
        "stamp_checksum: [checksum]",
    );
    s.add_filter(r"chk=[0-9a-f]{16}", "chk=[checksum]");
    // An SSHSIG blob (base64 of "SSHSIG…"): covers the id and time too. The key id stays.
    s.add_filter(r"U1NIU0lH[A-Za-z0-9+/]+=*", "[sshsig]");
    // Test keys are made at run time.
    s.add_filter(r"SHA256:[A-Za-z0-9+/]{43}", "[key-id]");
    // Log roots, proof hashes and checkpoint signatures cover entries with ids and times.
    s.add_filter(r"\\n[A-Za-z0-9+/]{43}=", "\\n[hash]");
    s.add_filter(r"(\u{2014} [^ ]+) [A-Za-z0-9+/]+=*", "$1 [note-signature]");
    s.add_filter(r"retry after \d+ s", "retry after [n] s");
    s.set_prepend_module_to_snapshot(false);
    s
}

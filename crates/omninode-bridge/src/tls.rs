//! The HTTPS listener (SPEC §12): rustls over the bound TCP listener, HTTP/1.1 and HTTP/2 by
//! ALPN, the certificate and key re-read on SIGHUP. Handshakes run in tasks of their own, so a
//! slow or silent client never holds up the accept loop; axum serves what completes.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in flight at once: beyond this, accepting waits (each holds a little memory,
/// and a flood of half-open clients must not exhaust it).
const MAX_HANDSHAKES: usize = 1024;

/// The certificate and key files, and the configuration last loaded from them.
#[derive(Clone)]
pub(crate) struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads and checks both files: a bad certificate, a key that does not match it, or an
    /// unreadable file is an error naming the file.
    pub(crate) fn load(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let config = server_config(cert, key)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: Arc::new(RwLock::new(config)),
        })
    }

    /// Re-reads the files; on any error the configuration in use stays.
    pub(crate) fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| {
            format!(
                "--tls-cert {}: not a readable PEM certificate chain",
                cert.display()
            )
        })?;
    let Some(leaf) = chain.first() else {
        anyhow::bail!("--tls-cert {}: no certificate in it", cert.display());
    };
    // The leaf must parse as X.509: rustls would otherwise only fail at the first handshake.
    webpki_parse(leaf)
        .with_context(|| format!("--tls-cert {}: not a valid certificate", cert.display()))?;
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| {
            format!(
                "--tls-key {}: not a readable PEM private key",
                key.display()
            )
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            anyhow!(
                "--tls-key {} does not fit --tls-cert {}: {e}",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Parses the leaf certificate with the same parser rustls' clients use.
fn webpki_parse(leaf: &CertificateDer<'_>) -> anyhow::Result<()> {
    rustls::server::ParsedCertificate::try_from(leaf)
        .map(|_| ())
        .map_err(|e| anyhow!("{e}"))
}

/// An axum listener of completed TLS connections.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    /// Accepts on `tcp` and hands each connection to a handshake of its own, with the
    /// configuration current at that moment.
    pub(crate) fn new(tcp: TcpListener, certificates: Certificates) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept_loop(tcp, certificates, tx));
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // The port closes with the listener (graceful shutdown drops it).
        self.accepting.abort();
    }
}

async fn accept_loop(
    tcp: TcpListener,
    certificates: Certificates,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // As axum's own loop: out of descriptors and the like pass; back off a little.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if ready.is_closed() {
            return;
        }
        let acceptor = certificates.acceptor();
        let ready = ready.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str, key: &rcgen::KeyPair) -> (PathBuf, PathBuf) {
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let cert = params.self_signed(key).unwrap();
        let (c, k) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }

    #[test]
    fn ecdsa_keys_load_and_a_foreign_key_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let (ec_crt, ec_key) = write_pair(dir.path(), "ec", &ec);
        Certificates::load(&ec_crt, &ec_key).unwrap();
        let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let (_, other_key) = write_pair(dir.path(), "other", &other);
        let e = format!("{:#}", Certificates::load(&ec_crt, &other_key).unwrap_err());
        assert!(
            e.contains("other.key does not fit --tls-cert") && e.contains("ec.crt"),
            "{e}"
        );
        let missing = format!(
            "{:#}",
            Certificates::load(&dir.path().join("none.crt"), &ec_key).unwrap_err()
        );
        assert!(
            missing.starts_with("--tls-cert ") && missing.contains("none.crt"),
            "{missing}"
        );
        std::fs::write(
            dir.path().join("junk.crt"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let junk = format!(
            "{:#}",
            Certificates::load(&dir.path().join("junk.crt"), &ec_key).unwrap_err()
        );
        assert!(
            junk.starts_with("--tls-cert ") && junk.contains("junk.crt"),
            "{junk}"
        );
        let key_as_cert = format!("{:#}", Certificates::load(&ec_key, &ec_key).unwrap_err());
        assert!(
            key_as_cert.contains("ec.key: no certificate"),
            "{key_as_cert}"
        );
    }
}

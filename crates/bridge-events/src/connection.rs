//! How every Kafka client of the service reaches the brokers (SPEC §12): bootstrap servers,
//! security protocol, SASL mechanism and credentials, CA file. One [`KafkaConnection`] builds
//! the client configuration of the relay, the reducer's consumer, the DLQ monitor and the
//! `topics` / `events` commands alike, and keeps the last error the brokers' side reported
//! (TLS handshake, authentication) for `/health`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// No TLS, no authentication (a broker on loopback or a private network).
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL authentication without TLS: credentials in clear, for test brokers only.
    SaslPlaintext,
    /// SASL authentication over TLS (managed Kafka).
    SaslSsl,
}

impl SecurityProtocol {
    /// The spelling of the flag and of librdkafka's `security.protocol`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "plaintext" => Ok(Self::Plaintext),
            "ssl" => Ok(Self::Ssl),
            "sasl_plaintext" => Ok(Self::SaslPlaintext),
            "sasl_ssl" => Ok(Self::SaslSsl),
            _ => Err(format!(
                "unknown security protocol {s:?}: one of plaintext, ssl, sasl_plaintext, sasl_ssl"
            )),
        }
    }
}

/// `sasl.mechanism`: the ones librdkafka implements without Cyrus SASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// Username and password sent as they are (only over TLS outside tests).
    Plain,
    /// RFC 7677 SCRAM with SHA-256.
    ScramSha256,
    /// RFC 5802 SCRAM with SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    /// The spelling of the flag and of librdkafka's `sasl.mechanism`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl FromStr for SaslMechanism {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            _ => Err(format!(
                "unknown SASL mechanism {s:?}: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"
            )),
        }
    }
}

/// A password: shown as `***` by `Debug` and `Display`; only the client configuration reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Password {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// SASL username and password.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The SASL user.
    pub username: String,
    /// Its password.
    pub password: Password,
}

/// What [`KafkaConnection::new`] refuses: combinations that would silently not do what the
/// operator asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectionError {
    /// No bootstrap server.
    #[error("--kafka-brokers is empty: give host:port[,host:port…]")]
    NoBrokers,
    /// SASL without a mechanism.
    #[error("--kafka-security-protocol {0} needs --kafka-sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")]
    NoMechanism(&'static str),
    /// SASL without credentials.
    #[error("--kafka-security-protocol {0} needs KAFKA_USERNAME and KAFKA_PASSWORD")]
    NoCredentials(&'static str),
    /// Only one of username and password.
    #[error("KAFKA_USERNAME and KAFKA_PASSWORD go together: {0} is not set")]
    HalfCredentials(&'static str),
    /// A mechanism or credentials that a non-SASL protocol would never send.
    #[error(
        "{what} is set but --kafka-security-protocol {protocol} does not use SASL (use sasl_ssl)"
    )]
    SaslUnused {
        /// What was given.
        what: &'static str,
        /// The protocol.
        protocol: &'static str,
    },
    /// A CA file for a protocol without TLS.
    #[error("--kafka-ca is set but --kafka-security-protocol {0} does not use TLS (use ssl or sasl_ssl)")]
    CaUnused(&'static str),
    /// The CA file cannot be read or holds no certificate.
    #[error("--kafka-ca {path}: {reason}")]
    BadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The last error librdkafka reported from the brokers' side of any client of one connection:
/// the cause behind a request that merely timed out (a refused certificate, a wrong password).
#[derive(Clone, Default)]
pub struct BrokerErrors(Arc<Mutex<Option<String>>>);

impl BrokerErrors {
    /// The last error, if any.
    pub fn last(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the last error (after a round that reached the brokers).
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn record(&self, error: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }
}

impl fmt::Debug for BrokerErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BrokerErrors").field(&self.last()).finish()
    }
}

/// The client context of every client we make: librdkafka's error callback lands in
/// [`BrokerErrors`] (its messages name the broker and the cause, never the credentials) and in
/// the log.
#[derive(Clone, Default)]
pub struct Reporting {
    errors: BrokerErrors,
}

impl ClientContext for Reporting {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(error = %error, reason, "kafka client error");
        self.errors.record(format!("{error}: {reason}"));
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        // librdkafka's own log (handshake details among them) at our levels.
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(fac, "librdkafka: {log_message}"),
        }
    }
}

impl ConsumerContext for Reporting {}

/// How to reach the brokers; cloning shares [`BrokerErrors`].
#[derive(Clone)]
pub struct KafkaConnection {
    brokers: String,
    protocol: SecurityProtocol,
    mechanism: Option<SaslMechanism>,
    credentials: Option<Credentials>,
    ca: Option<PathBuf>,
    context: Reporting,
}

impl fmt::Debug for KafkaConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConnection")
            .field("brokers", &self.brokers)
            .field("protocol", &self.protocol)
            .field("mechanism", &self.mechanism)
            .field("credentials", &self.credentials)
            .field("ca", &self.ca)
            .finish()
    }
}

impl KafkaConnection {
    /// Plain text to `brokers` (loopback brokers, tests).
    pub fn plaintext(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            protocol: SecurityProtocol::Plaintext,
            mechanism: None,
            credentials: None,
            ca: None,
            context: Reporting::default(),
        }
    }

    /// A checked connection: SASL needs a mechanism and both credentials, and neither may be
    /// given without SASL; a CA file needs TLS and must hold a PEM certificate.
    pub fn new(
        brokers: impl Into<String>,
        protocol: SecurityProtocol,
        mechanism: Option<SaslMechanism>,
        username: Option<String>,
        password: Option<Password>,
        ca: Option<PathBuf>,
    ) -> Result<Self, ConnectionError> {
        let brokers = brokers.into();
        if brokers.trim().is_empty() {
            return Err(ConnectionError::NoBrokers);
        }
        let p = protocol.as_str();
        let credentials = match (username, password) {
            (Some(username), Some(password)) => Some(Credentials { username, password }),
            (None, None) => None,
            (Some(_), None) => return Err(ConnectionError::HalfCredentials("KAFKA_PASSWORD")),
            (None, Some(_)) => return Err(ConnectionError::HalfCredentials("KAFKA_USERNAME")),
        };
        if protocol.sasl() {
            if mechanism.is_none() {
                return Err(ConnectionError::NoMechanism(p));
            }
            if credentials.is_none() {
                return Err(ConnectionError::NoCredentials(p));
            }
        } else if mechanism.is_some() {
            return Err(ConnectionError::SaslUnused {
                what: "--kafka-sasl-mechanism",
                protocol: p,
            });
        } else if credentials.is_some() {
            return Err(ConnectionError::SaslUnused {
                what: "KAFKA_USERNAME/KAFKA_PASSWORD",
                protocol: p,
            });
        }
        if let Some(path) = &ca {
            if !protocol.tls() {
                return Err(ConnectionError::CaUnused(p));
            }
            check_ca(path)?;
        }
        Ok(Self {
            brokers,
            protocol,
            mechanism,
            credentials,
            ca,
            context: Reporting::default(),
        })
    }

    /// The bootstrap servers (no secret in them: safe to log).
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// The security protocol.
    pub fn protocol(&self) -> SecurityProtocol {
        self.protocol
    }

    /// What the brokers' side last reported as wrong.
    pub fn errors(&self) -> &BrokerErrors {
        &self.context.errors
    }

    /// The context to create clients with (`create_with_context`).
    pub fn context(&self) -> Reporting {
        self.context.clone()
    }

    /// Client settings shared by every client; each adds its own.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", "omninode-bridge")
            .set("security.protocol", self.protocol.as_str());
        if let Some(m) = self.mechanism {
            c.set("sasl.mechanism", m.as_str());
        }
        if let Some(cred) = &self.credentials {
            c.set("sasl.username", &cred.username)
                .set("sasl.password", &cred.password.0);
        }
        if let Some(ca) = &self.ca {
            c.set("ssl.ca.location", ca.to_string_lossy());
        }
        c
    }
}

/// A CA file must be readable and hold at least one PEM certificate: checked at start, since
/// librdkafka would only say so when the first client is created.
fn check_ca(path: &Path) -> Result<(), ConnectionError> {
    let bad = |reason: String| ConnectionError::BadCa {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if !text
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl(
        mechanism: Option<SaslMechanism>,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<KafkaConnection, ConnectionError> {
        KafkaConnection::new(
            "b:9093",
            SecurityProtocol::SaslSsl,
            mechanism,
            user.map(Into::into),
            password.map(Password::new),
            None,
        )
    }

    #[test]
    fn the_client_configuration_carries_protocol_mechanism_credentials_and_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&ca, cert.cert.pem()).unwrap();
        let k = KafkaConnection::new(
            "b1:9093,b2:9093",
            SecurityProtocol::SaslSsl,
            Some(SaslMechanism::ScramSha512),
            Some("svc-bridge".into()),
            Some(Password::new("pw-Secret-42")),
            Some(ca.clone()),
        )
        .unwrap();
        let c = k.client_config();
        assert_eq!(c.get("bootstrap.servers"), Some("b1:9093,b2:9093"));
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("sasl.username"), Some("svc-bridge"));
        assert_eq!(c.get("sasl.password"), Some("pw-Secret-42"));
        assert_eq!(c.get("ssl.ca.location"), Some(ca.to_str().unwrap()));
        // librdkafka accepts the whole configuration (an unknown key or value fails here).
        let _: rdkafka::consumer::BaseConsumer<Reporting> =
            c.create_with_context(k.context()).unwrap();
        let plain = KafkaConnection::plaintext("b:9092").client_config();
        assert_eq!(plain.get("security.protocol"), Some("plaintext"));
        assert_eq!(plain.get("sasl.password"), None);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let k = sasl(
            Some(SaslMechanism::Plain),
            Some("svc-bridge"),
            Some("pw-Secret-42"),
        )
        .unwrap();
        let shown = format!("{k:?}");
        assert!(!shown.contains("pw-Secret-42"), "{shown}");
        assert!(shown.contains("svc-bridge"), "{shown}");
        assert_eq!(format!("{}", Password::new("pw-Secret-42")), "***");
    }

    #[test]
    fn combinations_that_would_not_do_what_was_asked_are_refused() {
        use ConnectionError::*;
        assert_eq!(
            sasl(None, Some("u"), Some("p")).unwrap_err(),
            NoMechanism("sasl_ssl")
        );
        assert_eq!(
            sasl(Some(SaslMechanism::Plain), None, None).unwrap_err(),
            NoCredentials("sasl_ssl")
        );
        assert_eq!(
            sasl(Some(SaslMechanism::Plain), Some("u"), None).unwrap_err(),
            HalfCredentials("KAFKA_PASSWORD")
        );
        let plain = |m, u: Option<&str>, ca: Option<PathBuf>| {
            KafkaConnection::new(
                "b:9092",
                SecurityProtocol::Plaintext,
                m,
                u.map(Into::into),
                u.map(Password::new),
                ca,
            )
        };
        assert!(matches!(
            plain(Some(SaslMechanism::Plain), None, None),
            Err(SaslUnused { .. })
        ));
        assert!(matches!(
            plain(None, Some("u"), None),
            Err(SaslUnused { .. })
        ));
        assert_eq!(
            plain(None, None, Some("/nonexistent".into())).unwrap_err(),
            CaUnused("plaintext")
        );
        let missing = KafkaConnection::new(
            "b:9093",
            SecurityProtocol::Ssl,
            None,
            None,
            None,
            Some("/nonexistent/ca.pem".into()),
        )
        .unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("--kafka-ca /nonexistent/ca.pem: "),
            "{missing}"
        );
        assert_eq!(
            KafkaConnection::new(" ", SecurityProtocol::Plaintext, None, None, None, None)
                .unwrap_err(),
            NoBrokers
        );
        assert_eq!("SASL_SSL".parse(), Ok(SecurityProtocol::SaslSsl));
        assert_eq!("scram-sha-256".parse(), Ok(SaslMechanism::ScramSha256));
        assert!("kerberos".parse::<SaslMechanism>().is_err());
    }
}

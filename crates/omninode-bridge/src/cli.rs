//! Command line and configuration: one typed struct per command, every flag with an
//! environment fallback (SPEC §1).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bridge_api::{
    ApiKey, RateLimit, DEFAULT_BODY_BUDGET_BYTES, DEFAULT_MAX_CONTENT_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
};
use bridge_events::monitor::MonitorConfig;
use bridge_events::{KafkaConnection, Password, RelayConfig, SaslMechanism, SecurityProtocol};
use bridge_store::{DatabaseUrl, PgOptions};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// OmniNode Bridge: verifiable identity for every file.
#[derive(Debug, Parser)]
#[command(name = "omninode-bridge", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Log format (default: pretty on a terminal, else json).
    #[arg(long, global = true, env = "ONEX_LOG_FORMAT", value_enum)]
    pub(crate) log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP API and the background nodes.
    Serve(Box<ServeArgs>),
    /// Print BLAKE3 hashes like b3sum (`-` reads stdin), or verify them with --check.
    Hash(HashArgs),
    /// Stamp files offline; prints the stamped content or rewrites the files.
    Stamp(StampArgs),
    /// Remove stamps exactly (the bytes before stamping); prints the result or rewrites the
    /// files; with --in-place a sidecar is removed.
    Unstamp(UnstampArgs),
    /// Validate the stamps in files offline; exit 0 only if every file is validly stamped.
    Verify(VerifyArgs),
    /// Apply database migrations and exit.
    Migrate(StoreArgs),
    /// Work with signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Work with node contracts.
    #[command(subcommand)]
    Contracts(ContractsCommand),
    /// Create or list the Kafka topics of SPEC §7.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Publish codegen events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Run a C2SP witness for other logs: cosign their checkpoints (SPEC §13).
    Witness(WitnessArgs),
    /// Audit a log from its tiles, watch namespaces, detect forks (SPEC §14).
    Monitor(MonitorArgs),
}

/// Output of `monitor`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum MonitorFormat {
    /// One line per entry or alert.
    Text,
    /// One JSON object per line.
    Json,
}

/// `monitor`: trusts the log for nothing (SPEC §14).
#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    /// The log's tile prefix: `URL/checkpoint` and `URL/tile/...` (the service's is
    /// `https://HOST/log`; a static copy of the tiles works the same).
    #[arg(long, value_name = "URL")]
    pub(crate) log: String,
    /// The log's verifier key (`<origin>+<id>+<key>`, `GET /log/key`), or a file holding it.
    #[arg(long, value_name = "VKEY|FILE")]
    pub(crate) log_key: String,
    /// A tlog-policy file: checkpoints must carry cosignatures meeting its quorum.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// Where the monitor keeps what it verified (and evidence of a fork).
    #[arg(long, value_name = "DIR")]
    pub(crate) state: PathBuf,
    /// Report the entries of this namespace (repeatable); without, the log is audited and
    /// only alerts are reported.
    #[arg(long = "namespace", value_name = "NS")]
    pub(crate) namespaces: Vec<String>,
    /// An OpenSSH `allowed_signers` file: entries signed by other keys raise UNTRUSTED_KEY.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: Option<PathBuf>,
    /// Keep watching: a round every --interval.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Time between rounds with --follow (e.g. 30s, 5m).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) interval: Duration,
    /// Start at the log's current checkpoint instead of auditing it from index 0 (no state
    /// yet only).
    #[arg(long)]
    pub(crate) from_now: bool,
    /// A witness's monitoring prefix: its view of the log (`URL/<sha256(origin)>/checkpoint`)
    /// must be consistent with the log's.
    #[arg(long, value_name = "URL")]
    pub(crate) witness: Option<String>,
    /// Output.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: MonitorFormat,
    /// Longest wait for one answer of the log (each request is tried 4 times).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

/// `witness`: a C2SP tlog-witness server.
#[derive(Debug, Args)]
pub(crate) struct WitnessArgs {
    /// HTTP listen address (POST /add-checkpoint, GET /<sha256(origin) hex>/checkpoint).
    #[arg(long, env = "ONEX_WITNESS_BIND", default_value = "127.0.0.1:8054")]
    pub(crate) bind: SocketAddr,
    /// The witness's Ed25519 key, OpenSSH format (`keys generate --witness` writes one).
    #[arg(long, env = "ONEX_WITNESS_KEY")]
    pub(crate) key: PathBuf,
    /// Also cosign with ML-DSA-44: a PEM PKCS#8 key in RFC 9881's seed-only form
    /// (`keys generate --witness --ml-dsa` writes one).
    #[arg(long, env = "ONEX_WITNESS_ML_DSA_KEY")]
    pub(crate) ml_dsa_key: Option<PathBuf>,
    /// The cosigner name of the witness's signature lines (a schema-less URL).
    #[arg(long, env = "ONEX_WITNESS_NAME")]
    pub(crate) name: String,
    /// A tlog-policy file: its `log <vkey>` lines are the logs this witness cosigns.
    #[arg(long, env = "ONEX_WITNESS_POLICY")]
    pub(crate) policy: PathBuf,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Write an Ed25519 key pair in OpenSSH format to DIR (`stamp_ed25519`, mode 0600, and
    /// `stamp_ed25519.pub`) and print its `allowed_signers` line.
    Generate {
        /// Directory for the key files (created if missing; existing keys are never replaced).
        dir: PathBuf,
        /// Principal of the `allowed_signers` line.
        #[arg(long, env = "ONEX_SIGNER_IDENTITY", default_value = "omninode-bridge")]
        identity: String,
        /// A witness key instead (`witness_ed25519`): prints its vkey (type 0x04) for the
        /// `witness` lines of logs' policies.
        #[arg(long, requires = "name")]
        witness: bool,
        /// The witness's cosigner name (a schema-less URL, e.g. witness.example.com/w1).
        #[arg(long, requires = "witness")]
        name: Option<String>,
        /// With --witness: also an ML-DSA-44 key (`witness_ml_dsa_44.pem`), its vkey (0x06)
        /// on a second line.
        #[arg(long, requires = "witness")]
        ml_dsa: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Validate a codegen event payload (JSON file, `-` for stdin) against its topic's schema,
    /// wrap it in the envelope and send it; an invalid one goes to the DLQ with the error
    /// (exit 1).
    Publish {
        /// A codegen topic, e.g. omninode_codegen_request_analyze_v1.
        #[arg(long)]
        topic: String,
        /// The payload.
        file: PathBuf,
        #[command(flatten)]
        kafka: KafkaArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TopicsCommand {
    /// Create every topic of the catalogue that does not exist yet (idempotent).
    Create(TopicsArgs),
    /// List the topics on the brokers with their partition counts.
    List(TopicsArgs),
}

/// Where the topics go.
#[derive(Debug, Args)]
pub(crate) struct TopicsArgs {
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
    /// Prefix of event topic names.
    #[arg(long = "env", env = "ONEX_ENV", default_value = "dev")]
    pub(crate) environment: String,
    /// Node contracts directory (default: the built-in contracts).
    #[arg(long, env = "ONEX_CONTRACTS")]
    pub(crate) contracts: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ContractsCommand {
    /// Load and validate the contracts in DIR (resolving `$ref`) and print the resolved form.
    Check {
        /// Directory holding orchestrator/, reducer/ and registry/ contracts.
        dir: PathBuf,
    },
}

/// Where state lives.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArgs {
    /// Embedded SQLite database and other local state.
    #[arg(long, env = "ONEX_DATA_DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,
    /// `postgres://…` selects PostgreSQL; unset → SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<DatabaseUrl>,
    /// PostgreSQL: connections kept open.
    #[arg(long, env = "ONEX_DB_POOL_MIN", default_value_t = PgOptions::DEFAULT_MIN_CONNECTIONS)]
    pub(crate) db_pool_min: u32,
    /// PostgreSQL: most connections open at once.
    #[arg(long, env = "ONEX_DB_POOL_MAX", default_value_t = PgOptions::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) db_pool_max: u32,
    /// PostgreSQL: longest wait for a pooled connection before answering 503 (ms).
    #[arg(long, env = "ONEX_DB_ACQUIRE_TIMEOUT_MS", default_value_t = PgOptions::DEFAULT_ACQUIRE_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) db_acquire_timeout_ms: u64,
    /// PostgreSQL: how long the database circuit breaker stays open before probing (ms).
    #[arg(long, env = "ONEX_DB_BREAKER_OPEN_MS", default_value_t = PgOptions::DEFAULT_BREAKER_OPEN_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) db_breaker_open_ms: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// HTTP listen address.
    #[arg(long, env = "ONEX_BIND", default_value = "127.0.0.1:8053")]
    pub(crate) bind: SocketAddr,
    /// PEM certificate chain of the HTTPS listener (with --tls-key; reloaded on SIGHUP).
    #[arg(long, env = "ONEX_TLS_CERT", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC) of the HTTPS listener.
    #[arg(long, env = "ONEX_TLS_KEY", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Kafka (unset brokers → events stay in the local event log).
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
    /// Kafka: how long a send may wait for the broker before it fails and is retried (ms).
    #[arg(long, env = "ONEX_KAFKA_MESSAGE_TIMEOUT_MS", default_value_t = RelayConfig::DEFAULT_MESSAGE_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(100..=300_000))]
    pub(crate) kafka_message_timeout_ms: u64,
    /// Kafka: largest event sent; a larger one goes to its dead-letter topic (bytes).
    #[arg(long, env = "ONEX_KAFKA_MAX_MESSAGE_BYTES", default_value_t = RelayConfig::DEFAULT_MAX_MESSAGE_BYTES, value_parser = clap::value_parser!(u64).range(256..=100_000_000))]
    pub(crate) kafka_max_message_bytes: u64,
    /// Kafka: how long the relay's claim keeps other relays off outbox rows; after a crash,
    /// the rows it held are sent again once it expires (ms).
    #[arg(long, env = "ONEX_RELAY_LEASE_MS", default_value_t = RelayConfig::DEFAULT_LEASE_MS, value_parser = clap::value_parser!(u64).range(100..))]
    pub(crate) relay_lease_ms: u64,
    /// Kafka: DLQ messages (all dead-letter topics together) that trigger one alert on
    /// omninode_system_alerts.
    #[arg(long, env = "ONEX_DLQ_ALERT_THRESHOLD", default_value_t = MonitorConfig::DEFAULT_THRESHOLD, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) dlq_alert_threshold: u64,
    /// Fault injection for crash tests: exit the process right after the broker confirmed a
    /// batch holding an event of this type, before the outbox rows are marked sent.
    #[arg(
        long,
        env = "ONEX_FAULT_EXIT_AFTER_PUBLISH",
        hide = true,
        value_name = "EVENT_TYPE"
    )]
    pub(crate) fault_exit_after_publish: Option<String>,
    /// Fault injection for supervision tests: the background task of this name (`reducer`,
    /// `relay`, `dlq-monitor`, `registry-sweeper`, `own-nodes`) panics shortly after start.
    #[arg(long, env = "ONEX_FAULT_PANIC_TASK", hide = true, value_name = "TASK")]
    pub(crate) fault_panic_task: Option<String>,
    /// Prefix of event topic names.
    #[arg(long = "env", env = "ONEX_ENV", default_value = "dev")]
    pub(crate) environment: String,
    /// API key, `key` or `key=ns1|ns2` (repeatable; env: comma-separated). Enables auth.
    #[arg(
        long = "api-key",
        env = "ONEX_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub(crate) api_keys: Vec<ApiKey>,
    /// Node contracts directory (default: the built-in contracts).
    #[arg(long, env = "ONEX_CONTRACTS")]
    pub(crate) contracts: Option<PathBuf>,
    /// Optional intelligence service.
    #[arg(long, env = "ONEXTREE_SERVICE_URL")]
    pub(crate) onextree_url: Option<String>,
    /// Limit for JSON `content` (bytes; suffixes KiB, MiB, GiB accepted).
    #[arg(long, env = "ONEX_MAX_CONTENT_BYTES", value_parser = parse_size, default_value_t = DEFAULT_MAX_CONTENT_BYTES as u64)]
    pub(crate) max_content_bytes: u64,
    /// Limit for raw/multipart uploads to /hash (streamed, never buffered whole).
    #[arg(long, env = "ONEX_MAX_UPLOAD_BYTES", value_parser = parse_size, default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    pub(crate) max_upload_bytes: u64,
    /// Bytes of JSON request bodies held in memory at once, over all requests; past it a
    /// request is answered 503 SERVER_BUSY with Retry-After (and a single body larger than
    /// the whole budget 413).
    #[arg(long, env = "ONEX_BODY_BUDGET_BYTES", value_parser = parse_size, default_value_t = DEFAULT_BODY_BUDGET_BYTES as u64)]
    pub(crate) body_budget_bytes: u64,
    /// One log line per request (`--log-requests false`: none; errors and everything else are
    /// still logged, and the request metrics stay).
    #[arg(long, env = "ONEX_LOG_REQUESTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) log_requests: bool,
    /// Token bucket per API key (per client IP without auth), e.g. `500/s`.
    #[arg(long, env = "ONEX_RATE_LIMIT")]
    pub(crate) rate_limit: Option<RateLimit>,
    /// Allow a non-loopback bind without API keys.
    #[arg(long, env = "ONEX_ALLOW_UNAUTHENTICATED")]
    pub(crate) allow_unauthenticated: bool,
    /// A tlog-policy file: its `witness <name> <vkey> <url>` lines are the witnesses the log
    /// asks to cosign its checkpoints, its `group`/`quorum` lines what a witnessed checkpoint
    /// needs (SPEC §13).
    #[arg(long, env = "ONEX_WITNESS_POLICY")]
    pub(crate) witness_policy: Option<PathBuf>,
    /// At most one add-checkpoint per witness per this long (e.g. 100ms, 1s).
    #[arg(long, env = "ONEX_WITNESS_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub(crate) witness_interval: Duration,
    /// How long `POST /stamp?wait=witnessed` waits for a witnessed checkpoint (e.g. 5s).
    #[arg(long, env = "ONEX_WITNESS_WAIT", default_value = "5s", value_parser = parse_duration)]
    pub(crate) witness_wait: Duration,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
}

/// How the Kafka clients reach the brokers (SPEC §12), for `serve`, `topics` and `events`.
#[derive(Debug, Args)]
pub(crate) struct KafkaArgs {
    /// Kafka bootstrap servers (comma-separated).
    #[arg(long, env = "KAFKA_BROKERS")]
    pub(crate) kafka_brokers: Option<String>,
    /// Kafka: plaintext, ssl, sasl_plaintext or sasl_ssl.
    #[arg(long, env = "ONEX_KAFKA_SECURITY_PROTOCOL", default_value = "plaintext", value_parser = clap::value_parser!(SecurityProtocol))]
    pub(crate) kafka_security_protocol: SecurityProtocol,
    /// Kafka SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (credentials from KAFKA_USERNAME and
    /// KAFKA_PASSWORD).
    #[arg(long, env = "ONEX_KAFKA_SASL_MECHANISM", value_parser = clap::value_parser!(SaslMechanism))]
    pub(crate) kafka_sasl_mechanism: Option<SaslMechanism>,
    /// Kafka: PEM file of the CA that signed the brokers' certificates (default: the system's).
    #[arg(long, env = "ONEX_KAFKA_CA")]
    pub(crate) kafka_ca: Option<PathBuf>,
    /// Kafka SASL user.
    #[arg(long, env = "KAFKA_USERNAME")]
    pub(crate) kafka_username: Option<String>,
    /// Kafka SASL password: set KAFKA_PASSWORD (a flag would show in the process list).
    #[arg(long, env = "KAFKA_PASSWORD", hide_env_values = true, hide = true)]
    pub(crate) kafka_password: Option<Password>,
}

impl KafkaArgs {
    /// The checked connection, or `None` without brokers.
    pub(crate) fn connection(&self) -> anyhow::Result<Option<KafkaConnection>> {
        let Some(brokers) = &self.kafka_brokers else {
            if self.kafka_security_protocol != SecurityProtocol::Plaintext
                || self.kafka_sasl_mechanism.is_some()
                || self.kafka_ca.is_some()
            {
                anyhow::bail!(
                    "Kafka settings are given but --kafka-brokers (KAFKA_BROKERS) is not"
                );
            }
            return Ok(None);
        };
        Ok(Some(KafkaConnection::new(
            brokers.clone(),
            self.kafka_security_protocol,
            self.kafka_sasl_mechanism,
            self.kafka_username.clone(),
            self.kafka_password.clone(),
            self.kafka_ca.clone(),
        )?))
    }

    /// The connection of a command that needs the brokers.
    pub(crate) fn required(&self) -> anyhow::Result<KafkaConnection> {
        self.connection()?
            .ok_or_else(|| anyhow::anyhow!("--kafka-brokers (KAFKA_BROKERS) is required"))
    }
}

/// The stamp and log keys (SPEC §11).
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// OpenSSH Ed25519 private key that signs stamps, mode 0600 (default:
    /// <data-dir>/keys/stamp_ed25519, made at first start and reused).
    #[arg(long, env = "ONEX_SIGNING_KEY")]
    pub(crate) signing_key: Option<PathBuf>,
    /// A retired key whose stamps still verify as TRUSTED: a `.pub` file or a private key
    /// (repeatable; env: comma-separated).
    #[arg(long = "verify-key", env = "ONEX_VERIFY_KEYS", value_delimiter = ',')]
    pub(crate) verify_keys: Vec<PathBuf>,
    /// OpenSSH Ed25519 private key that signs log checkpoints, mode 0600 (default:
    /// <data-dir>/keys/log_ed25519, made at first start and reused).
    #[arg(long, env = "ONEX_LOG_KEY")]
    pub(crate) log_key: Option<PathBuf>,
    /// Principal of the stamp keys in /keys/allowed_signers.
    #[arg(long, env = "ONEX_SIGNER_IDENTITY", default_value = "omninode-bridge")]
    pub(crate) signer_identity: String,
    /// Name of the transparency log: a schema-less URL such as `bridge.example.com/log`.
    #[arg(long, env = "ONEX_LOG_ORIGIN")]
    pub(crate) log_origin: Option<String>,
    /// Benchmark anchor only: make unsigned stamps, as before signing existed.
    #[arg(long, env = "ONEX_NO_SIGN", hide = true)]
    pub(crate) no_sign: bool,
    /// Benchmark anchor only: sign stamps but keep no transparency log (what signing alone
    /// costs, beside `--no-sign`).
    #[arg(long, env = "ONEX_NO_LOG", hide = true)]
    pub(crate) no_log: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HashArgs {
    /// Files to hash (`-` = stdin).
    #[arg(required_unless_present = "check")]
    pub(crate) files: Vec<PathBuf>,
    /// Verify the `<hash>  <path>` lines of this file instead.
    #[arg(long, short = 'c', conflicts_with = "files")]
    pub(crate) check: Option<PathBuf>,
}

/// Stamp formats on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StampKind {
    /// Multi-line block with every field.
    Rich,
    /// One line.
    Lightweight,
}

#[derive(Debug, Args)]
pub(crate) struct StampArgs {
    /// Files to stamp.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Tenant namespace.
    #[arg(long, short = 'n')]
    pub(crate) namespace: String,
    /// Stamp format.
    #[arg(long = "type", value_enum, default_value = "rich")]
    pub(crate) kind: StampKind,
    /// Rewrite the files (atomically) instead of printing; binary types and JSON get a
    /// `FILE.onex-stamp` sidecar.
    #[arg(long)]
    pub(crate) in_place: bool,
    /// Sign the stamps with this OpenSSH Ed25519 private key; without it they are UNSIGNED.
    #[arg(long, env = "ONEX_SIGNING_KEY")]
    pub(crate) key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct UnstampArgs {
    /// Files to unstamp.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Rewrite the files (atomically) instead of printing; delete a `FILE.onex-stamp` sidecar.
    #[arg(long)]
    pub(crate) in_place: bool,
}

/// The trust level `verify --require` asks for.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum RequiredTrust {
    /// Signed by a key of `--trust`.
    Trusted,
    /// Trusted, and proven to be in the transparency log.
    Logged,
    /// Logged, against a checkpoint whose cosignatures meet `--policy`'s quorum.
    Witnessed,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Files to verify (a `FILE.onex-stamp` sidecar is used when present).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// An OpenSSH `allowed_signers` file: stamps signed by its keys are TRUSTED (e.g. the
    /// service's `GET /keys/allowed_signers`).
    #[arg(long)]
    pub(crate) trust: Option<PathBuf>,
    /// Exit 1 unless every file is valid at this trust level or above.
    #[arg(long, value_enum)]
    pub(crate) require: Option<RequiredTrust>,
    /// Write `statement`, `stamp.sig` and `allowed_signers` here, for `ssh-keygen -Y verify`
    /// (one file only).
    #[arg(long, value_name = "DIR")]
    pub(crate) export: Option<PathBuf>,
    /// Principal written to the exported `allowed_signers` when `--trust` does not name the
    /// key.
    #[arg(long, default_value = "omninode-bridge")]
    pub(crate) identity: String,
    /// The log's verifier key (`GET /log/key`: `<origin>+<id>+<key>`), or a file holding it:
    /// a stamp whose tlog-proof verifies against it is LOGGED.
    #[arg(long, value_name = "VKEY|FILE")]
    pub(crate) log_key: Option<String>,
    /// The stamp's `c2sp.org/tlog-proof@v1` (one file only; default: `FILE.tlog-proof`).
    #[arg(long, value_name = "FILE")]
    pub(crate) proof: Option<PathBuf>,
    /// A tlog-policy file (SPEC §13): its `log` lines are the logs accepted (unless
    /// --log-key is given), and a logged stamp whose checkpoint's cosignatures meet its
    /// quorum is WITNESSED.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
}

/// Parses `1048576`, `10MiB`, `1GiB`, `512KiB` (also KB/MB/GB as powers of 1000).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 10MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))?;
    if v == 0 {
        return Err("size must be greater than 0".into());
    }
    Ok(v)
}

/// A duration with its unit: `100ms`, `1s`, `30s`, `5m`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration: a number and a unit, e.g. 100ms, 1s, 5m");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The parsed configuration may be logged or shown in a panic: no secret in its `Debug`.
    #[test]
    fn debug_output_hides_the_database_password_and_api_keys() {
        let cli = Cli::try_parse_from([
            "x",
            "serve",
            "--database-url",
            "postgres://app:pw-Secret-42@db:5432/bridge",
            "--api-key",
            "key-Secret-0123=ns1",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("pw-Secret-42"), "{shown}");
        assert!(!shown.contains("key-Secret-0123"), "{shown}");
        assert!(shown.contains("app:***@db:5432/bridge"), "{shown}");
        let kafka = Cli::try_parse_from([
            "x",
            "serve",
            "--kafka-brokers",
            "b:9093",
            "--kafka-security-protocol",
            "sasl_ssl",
            "--kafka-sasl-mechanism",
            "SCRAM-SHA-256",
            "--kafka-username",
            "svc",
            "--kafka-password",
            "kpw-Secret-77",
        ])
        .unwrap();
        let Command::Serve(s) = &kafka.command else {
            panic!("serve")
        };
        let connection = s.kafka.connection().unwrap().unwrap();
        for shown in [format!("{kafka:?}"), format!("{connection:?}")] {
            assert!(!shown.contains("kpw-Secret-77"), "{shown}");
            assert!(shown.contains("svc"), "{shown}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert_eq!(parse_size("1 GiB").unwrap(), 1 << 30);
        assert!(parse_size("0").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5TB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn api_keys_from_flags() {
        let cli = Cli::try_parse_from([
            "x",
            "serve",
            "--api-key",
            "abcdefgh12=ns1|ns2",
            "--api-key",
            "zyxwvuts98",
        ])
        .unwrap();
        let Command::Serve(s) = cli.command else {
            panic!("serve")
        };
        assert_eq!(s.api_keys.len(), 2);
        assert!(Cli::try_parse_from(["x", "serve", "--api-key", "short"]).is_err());
        assert!(Cli::try_parse_from(["x", "serve", "--rate-limit", "fast"]).is_err());
    }

    #[test]
    fn durations_take_a_unit() {
        use std::time::Duration;
        assert_eq!(
            super::parse_duration("100ms"),
            Ok(Duration::from_millis(100))
        );
        assert_eq!(super::parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(super::parse_duration("5m"), Ok(Duration::from_secs(300)));
        for bad in ["", "1", "ms", "1h", "-1s", "0s", "1.5s", " 1s"] {
            assert!(super::parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}

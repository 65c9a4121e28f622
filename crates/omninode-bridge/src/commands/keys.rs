//! `keys generate DIR`: a new Ed25519 key pair in OpenSSH format (what `ssh-keygen -t ed25519`
//! writes), the private key readable by its owner only, and its `allowed_signers` line on
//! stdout so `ssh-keygen -Y verify` can trust it (SPEC §11).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use bridge_api::{KeyStatus, PublishedKey, ServiceKeys};
use bridge_core::signature::{KeyId, StampSigner, TrustedKey};
use bridge_core::tlog::LogSigner;
use bridge_core::witness::Cosigner;
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, HashAlg, PrivateKey};

use crate::cli::{KeyArgs, KeysCommand};
use crate::keyfiles;
/// File name of a generated stamp key (`.pub` beside it).
const KEY_FILE: &str = "stamp_ed25519";
/// File name of the generated log key.
const LOG_KEY_FILE: &str = "log_ed25519";
/// Where `serve` keeps the keys it generates, under the data directory.
const KEYS_DIR: &str = "keys";

pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate {
            dir,
            witness: true,
            name: Some(name),
            ml_dsa,
            ..
        } => {
            for vkey in generate_witness(&dir, &name, ml_dsa)? {
                println!("{vkey}");
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Generate { dir, identity, .. } => {
            let line = generate(&dir, &identity)?;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes `DIR/stamp_ed25519` (0600) and `DIR/stamp_ed25519.pub`, never over existing files;
/// the key's `allowed_signers` line.
fn generate(dir: &Path, identity: &str) -> anyhow::Result<String> {
    check_identity(identity)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let private_path = dir.join(KEY_FILE);
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).context("generating a key")?;
    keyfiles::write_pair(&private_path, &key)?;
    eprintln!(
        "wrote {} and {} ({})",
        private_path.display(),
        keyfiles::public_path(&private_path).display(),
        key.fingerprint(HashAlg::Sha256)
    );
    Ok(TrustedKey::new(key.public_key().clone(), identity).allowed_signers_line())
}

/// Writes `DIR/witness_ed25519` (0600, `.pub` beside it) and, with `ml_dsa`,
/// `DIR/witness_ml_dsa_44.pem` (0600), never over existing files; their vkeys.
fn generate_witness(dir: &Path, name: &str, ml_dsa: bool) -> anyhow::Result<Vec<String>> {
    use ssh_key::rand_core::RngCore;
    // Check the name before writing anything.
    bridge_core::tlog::check_name(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let private_path = dir.join(WITNESS_KEY_FILE);
    let ml_path = dir.join(WITNESS_ML_DSA_FILE);
    if ml_dsa && ml_path.exists() {
        bail!("{} exists: refusing to overwrite a key", ml_path.display());
    }
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).context("generating a key")?;
    keyfiles::write_pair(&private_path, &key)?;
    let ed = key
        .key_data()
        .ed25519()
        .map(|k| ed25519_dalek::SigningKey::from_bytes(k.private.as_ref()))
        .context("an Ed25519 key")?;
    let mut vkeys = vec![Cosigner::ed25519(name, ed)
        .map_err(|e| anyhow::anyhow!("--name: {e}"))?
        .key()
        .vkey()];
    eprintln!("wrote {}", private_path.display());
    if ml_dsa {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        keyfiles::write_ml_dsa_seed(&ml_path, &seed)?;
        vkeys.push(
            Cosigner::ml_dsa_44(name, &seed)
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?
                .key()
                .vkey(),
        );
        eprintln!("wrote {}", ml_path.display());
    }
    Ok(vkeys)
}

/// File name of a generated witness key.
const WITNESS_KEY_FILE: &str = "witness_ed25519";
/// File name of a generated ML-DSA-44 witness key.
const WITNESS_ML_DSA_FILE: &str = "witness_ml_dsa_44.pem";

/// A principal that an `allowed_signers` line can carry as is.
pub(crate) fn check_identity(identity: &str) -> anyhow::Result<()> {
    if identity.is_empty()
        || identity
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == ',')
    {
        bail!("signer identity must be non-empty, without spaces, commas or quotes: {identity:?}");
    }
    Ok(())
}

/// The service's keys: the stamp signing key (`--signing-key`, else made at first start under
/// `<data-dir>/keys/`), the retired ones (`--verify-key`), and the log key (`--log-key`, the
/// same way; kept apart from the stamp key: one key per kind of signature).
pub(crate) fn service_keys(args: &KeyArgs, data_dir: &Path) -> anyhow::Result<Keys> {
    check_identity(&args.signer_identity).context("--signer-identity")?;
    if let Some(origin) = &args.log_origin {
        if origin.is_empty()
            || origin.contains("://")
            || origin.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            bail!("--log-origin must be a schema-less URL without spaces, e.g. bridge.example.com/log: {origin:?}");
        }
    }
    let dir = data_dir.join(KEYS_DIR);
    let stamp = load_or_make(args.signing_key.as_deref(), &dir.join(KEY_FILE), "stamp")?;
    let log = load_or_make(args.log_key.as_deref(), &dir.join(LOG_KEY_FILE), "log")?;
    if log.signer.id() == stamp.signer.id() {
        bail!(
            "--log-key {} is the stamp signing key: use one key per kind of signature",
            log.path.display()
        );
    }
    let mut published = vec![PublishedKey {
        public: stamp.signer.public_key().clone(),
        status: KeyStatus::Active,
        created: stamp.created,
    }];
    for path in &args.verify_keys {
        let (public, created) = keyfiles::read_public(path)?;
        let id = KeyId::of(&public);
        if published.iter().any(|k| k.id() == id) {
            continue;
        }
        tracing::info!(key_id = %id, file = %path.display(), "retired stamp key still verifies");
        published.push(PublishedKey {
            public,
            status: KeyStatus::Retired,
            created,
        });
    }
    let log_key = PublishedKey {
        public: log.signer.public_key().clone(),
        status: KeyStatus::Active,
        created: log.created,
    };
    let origin = args
        .log_origin
        .clone()
        .unwrap_or_else(|| DEFAULT_LOG_ORIGIN.to_owned());
    let log_signer = LogSigner::new(&origin, log.signer.private_key())
        .map_err(|e| anyhow::anyhow!("--log-origin: {e}"))?;
    let published = ServiceKeys::new(
        &args.signer_identity,
        published,
        Some(log_key),
        Some(origin),
    )
    .with_log_vkey(log_signer.vkey());
    Ok(Keys {
        stamp: Arc::new(stamp.signer),
        log: Arc::new(log_signer),
        published,
    })
}

/// The log's origin when `--log-origin` is not given: a placeholder name, to be replaced by
/// the public URL of a log others keep checkpoints of.
const DEFAULT_LOG_ORIGIN: &str = "omninode-bridge.local/log";

/// What `serve` signs with, and what it publishes.
pub(crate) struct Keys {
    /// Signs stamps.
    pub(crate) stamp: Arc<StampSigner>,
    /// Signs the log's checkpoints.
    pub(crate) log: Arc<LogSigner>,
    /// `/keys`, `/log/key` and the trust keyring.
    pub(crate) published: ServiceKeys,
}

/// The key of `--flag FILE`, or the default file, made if missing.
fn load_or_make(
    given: Option<&Path>,
    default: &Path,
    kind: &str,
) -> anyhow::Result<keyfiles::LoadedKey> {
    let (key, made) = match given {
        Some(path) => (keyfiles::read_private(path)?, false),
        None => keyfiles::read_or_generate(default)?,
    };
    tracing::info!(
        key_id = %key.signer.id(),
        file = %key.path.display(),
        generated = made,
        "{kind} key"
    );
    Ok(key)
}

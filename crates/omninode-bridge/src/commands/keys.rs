//! `keys generate DIR`: a new Ed25519 key pair in OpenSSH format (what `ssh-keygen -t ed25519`
//! writes), the private key readable by its owner only, and its `allowed_signers` line on
//! stdout so `ssh-keygen -Y verify` can trust it (SPEC §11).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};

use crate::cli::KeysCommand;

/// The SSHSIG namespace of stamp signatures.
pub(crate) const STAMP_NAMESPACE: &str = "omninode-stamp-v1";
/// File name of a generated key (`.pub` beside it).
const KEY_FILE: &str = "stamp_ed25519";

pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate { dir, identity } => {
            let line = generate(&dir, &identity)?;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes `DIR/stamp_ed25519` (0600) and `DIR/stamp_ed25519.pub`, never over existing files;
/// the key's `allowed_signers` line.
fn generate(dir: &Path, identity: &str) -> anyhow::Result<String> {
    if identity.is_empty() || identity.chars().any(|c| c.is_whitespace() || c == '"') {
        bail!("--identity must be non-empty, without spaces or quotes: {identity:?}");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let private_path = dir.join(KEY_FILE);
    let public_path = dir.join(format!("{KEY_FILE}.pub"));
    for p in [&private_path, &public_path] {
        if p.exists() {
            bail!("{} exists: refusing to overwrite a key", p.display());
        }
    }
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).context("generating a key")?;
    let private = key
        .to_openssh(LineEnding::LF)
        .context("encoding the private key")?;
    let public = key
        .public_key()
        .to_openssh()
        .context("encoding the public key")?;
    write_private(&private_path, private.as_bytes())?;
    std::fs::write(&public_path, format!("{public}\n"))
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    eprintln!(
        "wrote {} and {} ({})",
        private_path.display(),
        public_path.display(),
        key.fingerprint(HashAlg::Sha256)
    );
    Ok(format!(
        "{identity} namespaces=\"{STAMP_NAMESPACE}\" {public}"
    ))
}

/// Creates the private key file with mode 0600 from the start (never briefly readable).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

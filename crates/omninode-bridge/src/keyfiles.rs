//! Key files on disk: reading OpenSSH keys with the checks a server owes its operator (owner-
//! only permissions, Ed25519, no passphrase), and making the default keys at first start.
//!
//! Every error names the file and what is wrong with it in one line, and never quotes the
//! file's content.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bridge_core::signature::{KeyError, StampSigner};
use chrono::{DateTime, Utc};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, LineEnding, PrivateKey, PublicKey};

/// A private key read from (or written to) a file.
pub(crate) struct LoadedKey {
    pub(crate) signer: StampSigner,
    pub(crate) path: PathBuf,
    /// When the file was last written: the key's creation, for keys made here.
    pub(crate) created: Option<DateTime<Utc>>,
}

fn modified(path: &Path) -> Option<DateTime<Utc>> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from)
}

/// Refuses a private key file others can read or write (as `ssh` does).
fn check_private_mode(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read key file {}", path.display()))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "key file {} has mode {mode:04o}: a private key must be readable by its owner only (chmod 600 {})",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}

fn key_error(path: &Path, e: KeyError) -> anyhow::Error {
    anyhow::anyhow!("key file {}: {e}", path.display())
}

/// Reads an unencrypted Ed25519 OpenSSH private key, owner-only.
pub(crate) fn read_private(path: &Path) -> anyhow::Result<LoadedKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    if PublicKey::from_openssh(text.trim()).is_ok() {
        bail!(
            "key file {} holds a public key; a signing key must be the private key",
            path.display()
        );
    }
    check_private_mode(path)?;
    let signer = StampSigner::from_openssh(&text).map_err(|e| key_error(path, e))?;
    Ok(LoadedKey {
        signer,
        path: path.to_owned(),
        created: modified(path),
    })
}

/// Reads a public key: a `.pub` line, or the public half of a private key file.
pub(crate) fn read_public(path: &Path) -> anyhow::Result<(PublicKey, Option<DateTime<Utc>>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let created = modified(path);
    if let Ok(public) = PublicKey::from_openssh(text.trim()) {
        if public.algorithm() != Algorithm::Ed25519 {
            bail!(
                "key file {}: the key is {}, but stamp keys must be Ed25519",
                path.display(),
                public.algorithm()
            );
        }
        return Ok((public, created));
    }
    let loaded = read_private(path).map_err(|_| {
        anyhow::anyhow!(
            "key file {} is neither an OpenSSH public key nor a usable private key",
            path.display()
        )
    })?;
    Ok((loaded.signer.public_key().clone(), created))
}

/// The key at `path`, or (`generate`) a new one written there, mode 0600 from the start,
/// with its `.pub` beside it, in a directory only the owner can enter.
pub(crate) fn read_or_generate(path: &Path) -> anyhow::Result<(LoadedKey, bool)> {
    if path.exists() {
        return Ok((read_private(path)?, false));
    }
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).context("generating a key")?;
    write_pair(path, &key)?;
    Ok((read_private(path)?, true))
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes `path` (0600, never over an existing file) and `path.pub`.
pub(crate) fn write_pair(path: &Path, key: &PrivateKey) -> anyhow::Result<()> {
    let public_path = public_path(path);
    for p in [path, public_path.as_path()] {
        if p.exists() {
            bail!("{} exists: refusing to overwrite a key", p.display());
        }
    }
    let private = key
        .to_openssh(LineEnding::LF)
        .context("encoding the private key")?;
    let public = key
        .public_key()
        .to_openssh()
        .context("encoding the public key")?;
    write_private(path, private.as_bytes())?;
    std::fs::write(&public_path, format!("{public}\n"))
        .with_context(|| format!("cannot write {}", public_path.display()))
}

/// `FILE.pub` beside `FILE`.
pub(crate) fn public_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// The DER of an ML-DSA-44 PKCS#8 `PrivateKeyInfo` in RFC 9881's seed-only form, up to the
/// 32-byte seed: version 0, the id-ml-dsa-44 OID (2.16.840.1.101.3.4.3.17), and an OCTET STRING
/// holding `[0] IMPLICIT seed`. Written out rather than pulling `pkcs8` and `der` in for one
/// fixed shape; it is what pyca `cryptography` and OpenSSL 3.5 read as an ML-DSA-44 key.
const ML_DSA_44_PKCS8_PREFIX: [u8; 22] = [
    0x30, 0x34, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x03, 0x11, 0x04, 0x22, 0x80, 0x20,
];
/// The PEM label of a PKCS#8 private key (its BEGIN and END lines are built from it).
const PEM_LABEL: &str = "PRIVATE KEY";

/// Reads an ML-DSA-44 private key (PEM PKCS#8, seed-only form), owner-only: its seed.
pub(crate) fn read_ml_dsa_seed(path: &Path) -> anyhow::Result<[u8; 32]> {
    use base64::Engine;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    check_private_mode(path)?;
    let body: String = text
        .trim()
        .strip_prefix(&format!("-----BEGIN {PEM_LABEL}-----"))
        .and_then(|t| t.strip_suffix(&format!("-----END {PEM_LABEL}-----")))
        .map(|b| b.split_whitespace().collect())
        .with_context(|| {
            format!(
                "key file {}: expected a PEM {PEM_LABEL} block (an ML-DSA-44 PKCS#8 key)",
                path.display()
            )
        })?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .filter(|d| d.len() == 54 && d.starts_with(&ML_DSA_44_PKCS8_PREFIX))
        .with_context(|| {
            format!(
                "key file {}: not an ML-DSA-44 private key in the seed-only PKCS#8 form (RFC 9881)",
                path.display()
            )
        })?;
    Ok(der[22..].try_into().expect("54 - 22 bytes"))
}

/// Writes an ML-DSA-44 seed as a PEM PKCS#8 key (0600, never over an existing file).
pub(crate) fn write_ml_dsa_seed(path: &Path, seed: &[u8; 32]) -> anyhow::Result<()> {
    use base64::Engine;
    if path.exists() {
        bail!("{} exists: refusing to overwrite a key", path.display());
    }
    let mut der = ML_DSA_44_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(seed);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    let pem = format!(
        "-----BEGIN {PEM_LABEL}-----\n{}\n-----END {PEM_LABEL}-----\n",
        lines.join("\n")
    );
    write_private(path, pem.as_bytes())
}

/// Writes a new private key file: owner-only (0600), never over an existing file, synced.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

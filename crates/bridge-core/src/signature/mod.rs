//! Stamp signatures (SPEC §11): an OpenSSH SSHSIG (Ed25519, `sha512`, namespace
//! `omninode-stamp-v1`) over a stamp's statement, so that `ssh-keygen -Y verify` checks it, and
//! the trust a verifier puts in the key that made it.
//!
//! Verification and trust are separate on purpose: whether a signature verifies depends only
//! on the stamp (the SSHSIG blob carries its public key), whether its key is trusted depends on
//! who asks. A stamp signed by a key nobody trusts is `UNTRUSTED_KEY`, never tampering.

mod allowed_signers;
mod keyring;
mod signer;
mod trusted;
mod verify;

use std::fmt;

use serde::Serialize;
use ssh_key::HashAlg;
pub use ssh_key::PublicKey;

pub use allowed_signers::AllowedSignersError;
pub use keyring::Keyring;
pub use signer::{KeyError, SignError, StampSigner};
pub use trusted::TrustedKey;
pub use verify::{armor, decode_signature, verify_statement, SignatureInvalid};

/// The SSHSIG namespace of stamp signatures.
pub const STAMP_NAMESPACE: &str = "omninode-stamp-v1";

/// A key's id: its OpenSSH SHA-256 fingerprint (`SHA256:…`, what `ssh-keygen -l` prints).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// The id of a public key.
    pub fn of(key: &PublicKey) -> Self {
        Self(key.fingerprint(HashAlg::Sha256).to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` has the shape of a key id (`SHA256:` and 43 unpadded base64 characters).
    pub fn is_well_formed(s: &str) -> bool {
        s.strip_prefix("SHA256:").is_some_and(|b| {
            b.len() == 43
                && b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
        })
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How much a verifier can rely on a valid stamp (SPEC §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Trust {
    /// No signature that verifies: integrity only (an old or offline stamp).
    Unsigned,
    /// The signature verifies, but its key is not one the verifier trusts.
    UntrustedKey,
    /// Signed by a trusted key.
    Trusted,
    /// Trusted, and an inclusion proof verifies against a checkpoint of the log.
    Logged,
    /// Logged, and the proof's checkpoint carries cosignatures that meet a witness policy's
    /// quorum (SPEC §13).
    Witnessed,
}

impl Trust {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "UNSIGNED",
            Self::UntrustedKey => "UNTRUSTED_KEY",
            Self::Trusted => "TRUSTED",
            Self::Logged => "LOGGED",
            Self::Witnessed => "WITNESSED",
        }
    }
}

/// The `key:` and `signature:` values a signed stamp carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampSignature {
    /// Id of the signing key.
    pub key: KeyId,
    /// The SSHSIG blob, base64 on one line.
    pub signature: String,
}

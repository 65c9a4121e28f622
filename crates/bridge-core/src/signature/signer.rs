//! The stamp signing key: an unencrypted OpenSSH Ed25519 private key.

use std::fmt;

use base64::Engine;
use ed25519_dalek::Signer as _;
use ssh_encoding::Encode;
use ssh_key::{Algorithm, HashAlg, PrivateKey, PublicKey, Signature, SshSig};

use super::{KeyId, StampSignature, STAMP_NAMESPACE};

/// Why a private key cannot sign stamps. Messages never include key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not an OpenSSH private key at all.
    #[error("not an OpenSSH private key ({0})")]
    Parse(String),
    /// Protected by a passphrase (a server cannot type one).
    #[error("the key is protected by a passphrase; the service needs an unencrypted key")]
    Encrypted,
    /// Another algorithm than Ed25519.
    #[error("the key is {0}, but stamp keys must be Ed25519 (ssh-keygen -t ed25519)")]
    Algorithm(String),
}

/// Signing failed (only for a statement the encoder rejects; Ed25519 itself cannot fail).
#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(String);

/// A key that signs stamp statements. `Debug` shows its id only.
#[derive(Clone)]
pub struct StampSigner {
    key: PrivateKey,
    /// The same key, expanded once: `PrivateKey::sign` re-derives it (a scalar
    /// multiplication) on every call, which was most of a signature's cost.
    expanded: ed25519_dalek::SigningKey,
    id: KeyId,
}

impl fmt::Debug for StampSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StampSigner")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl StampSigner {
    /// A signer over `key`, which must be an unencrypted Ed25519 key.
    pub fn new(key: PrivateKey) -> Result<Self, KeyError> {
        if key.is_encrypted() {
            return Err(KeyError::Encrypted);
        }
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(KeyError::Algorithm(key.algorithm().to_string()));
        }
        let pair = key
            .key_data()
            .ed25519()
            .ok_or_else(|| KeyError::Algorithm(key.algorithm().to_string()))?;
        let expanded = ed25519_dalek::SigningKey::from_bytes(pair.private.as_ref());
        if expanded.verifying_key().as_bytes() != pair.public.as_ref() {
            return Err(KeyError::Parse("its public half does not match".into()));
        }
        let id = KeyId::of(key.public_key());
        Ok(Self { key, expanded, id })
    }

    /// A new random Ed25519 key (tests, benchmarks, fuzzing: no key is ever committed).
    pub fn generate() -> Self {
        let key = PrivateKey::random(&mut ssh_key::rand_core::OsRng, Algorithm::Ed25519)
            .expect("the OS has randomness");
        Self::new(key).expect("an Ed25519 key")
    }

    /// A signer from the text of an OpenSSH private key file.
    pub fn from_openssh(text: &str) -> Result<Self, KeyError> {
        let key = PrivateKey::from_openssh(text).map_err(|e| match e {
            // Built with Ed25519 only, ssh-key cannot even read other key types.
            ssh_key::Error::AlgorithmUnknown | ssh_key::Error::AlgorithmUnsupported { .. } => {
                KeyError::Algorithm("not Ed25519".into())
            }
            e => KeyError::Parse(e.to_string()),
        })?;
        Self::new(key)
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The private key (to write it to a file; never to log or answer with).
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// Signs a rendered statement: the SSHSIG blob in base64, with this key's id.
    pub fn sign(&self, statement: &str) -> Result<StampSignature, SignError> {
        // What `PrivateKey::sign` does, with the expanded key kept: the SSHSIG signed data
        // (magic, namespace, reserved, hash name, SHA-512 of the message) signed by Ed25519.
        let err = |e: ssh_key::Error| SignError(e.to_string());
        let data = SshSig::signed_data(STAMP_NAMESPACE, HashAlg::Sha512, statement.as_bytes())
            .map_err(err)?;
        let raw = self.expanded.sign(&data);
        let signature = Signature::new(Algorithm::Ed25519, raw.to_bytes().to_vec()).map_err(err)?;
        let sig = SshSig::new(
            self.key.public_key().key_data().clone(),
            STAMP_NAMESPACE,
            HashAlg::Sha512,
            signature,
        )
        .map_err(err)?;
        let mut blob = Vec::with_capacity(192);
        sig.encode(&mut blob)
            .map_err(|e| SignError(e.to_string()))?;
        Ok(StampSignature {
            key: self.id.clone(),
            signature: base64::engine::general_purpose::STANDARD.encode(blob),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_id_and_no_key_material() {
        let signer = StampSigner::generate();
        let shown = format!("{signer:?} {signer:#?}");
        assert!(shown.contains(signer.id().as_str()), "{shown}");
        let pem = signer
            .private_key()
            .to_openssh(ssh_key::LineEnding::LF)
            .unwrap();
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!shown.contains(line), "{shown}");
        }
        let seed = signer.expanded.to_bytes();
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.to_lowercase().contains(&hex[..16]), "{shown}");
        assert!(
            !shown.contains(&format!("{}, {}", seed[0], seed[1])),
            "{shown}"
        );
    }

    #[test]
    fn a_damaged_key_is_refused_without_quoting_it() {
        // A key made now (none is committed), its body cut in half.
        let key = PrivateKey::random(&mut ssh_key::rand_core::OsRng, Algorithm::Ed25519).unwrap();
        let pem = key.to_openssh(ssh_key::LineEnding::LF).unwrap();
        let lines: Vec<&str> = pem.lines().collect();
        let body = &lines[1..lines.len() - 1];
        let cut = format!(
            "{}\n{}\n{}\n",
            lines[0],
            body[..body.len() / 2].join("\n"),
            lines[lines.len() - 1]
        );
        let e = StampSigner::from_openssh(&cut).unwrap_err();
        assert!(matches!(e, KeyError::Parse(_)), "{e}");
        for line in body {
            assert!(!e.to_string().contains(line), "{e}");
        }
        // The whole key is accepted.
        assert_eq!(
            StampSigner::from_openssh(&pem).unwrap().id(),
            &KeyId::of(key.public_key())
        );
    }
}

//! The keys a verifier trusts: the service's own (active and retired) or an `allowed_signers`
//! file's.

use super::allowed_signers::{self, AllowedSignersError};
use super::trusted::TrustedKey;
use super::KeyId;

/// A set of trusted keys; empty trusts nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<TrustedKey>,
}

impl Keyring {
    /// A keyring of these keys (the first of equal ids wins).
    pub fn new(keys: impl IntoIterator<Item = TrustedKey>) -> Self {
        let mut ring = Self::default();
        for k in keys {
            ring.add(k);
        }
        ring
    }

    /// Adds a key unless one with its id is there.
    pub fn add(&mut self, key: TrustedKey) {
        if self.get(&key.id).is_none() {
            self.keys.push(key);
        }
    }

    /// The Ed25519 keys of an `allowed_signers` file that may sign in the stamp namespace.
    pub fn from_allowed_signers(text: &str) -> Result<Self, AllowedSignersError> {
        Ok(Self::new(allowed_signers::parse(text)?))
    }

    /// The trusted key with this id.
    pub fn get(&self, id: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| &k.id == id)
    }

    /// The trusted key with this id, if `id` is one.
    pub fn find(&self, id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.id.as_str() == id)
    }

    /// All keys, in the order added.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The whole keyring as an `allowed_signers` file.
    pub fn allowed_signers(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.allowed_signers_line() + "\n")
            .collect()
    }
}

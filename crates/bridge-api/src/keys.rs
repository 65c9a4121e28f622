//! The service's public keys (SPEC §11): the stamp key that signs now, the retired ones whose
//! stamps still verify, and the log key. Built once at start; what `/keys`,
//! `/keys/allowed_signers` and the trust levels of `/validate` are answered from.

use bridge_core::signature::{KeyId, Keyring, PublicKey, TrustedKey};
use chrono::{DateTime, Utc};

/// Whether a stamp key signs new stamps or only verifies old ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new stamps.
    Active,
    /// Only verifies stamps made before a rotation.
    Retired,
}

impl KeyStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

/// A public key the service publishes.
#[derive(Clone, Debug)]
pub struct PublishedKey {
    /// The key.
    pub public: PublicKey,
    /// Active or retired (the log key is always active).
    pub status: KeyStatus,
    /// When the key file was written, if known.
    pub created: Option<DateTime<Utc>>,
}

impl PublishedKey {
    /// Its id.
    pub fn id(&self) -> KeyId {
        KeyId::of(&self.public)
    }
}

/// Every key the service publishes, and the trust they give.
#[derive(Clone, Debug, Default)]
pub struct ServiceKeys {
    identity: String,
    stamp: Vec<PublishedKey>,
    log: Option<PublishedKey>,
    log_origin: Option<String>,
    log_vkey: Option<String>,
    keyring: Keyring,
}

impl ServiceKeys {
    /// The stamp keys (the active one first, then the retired ones) under the principal
    /// `identity`, and the log key with the log's origin.
    pub fn new(
        identity: &str,
        stamp: Vec<PublishedKey>,
        log: Option<PublishedKey>,
        log_origin: Option<String>,
    ) -> Self {
        let keyring = Keyring::new(
            stamp
                .iter()
                .map(|k| TrustedKey::new(k.public.clone(), identity)),
        );
        Self {
            identity: identity.to_owned(),
            stamp,
            log,
            log_origin,
            log_vkey: None,
            keyring,
        }
    }

    /// Publishes the log's verifier key (`GET /log/key`).
    pub fn with_log_vkey(mut self, vkey: String) -> Self {
        self.log_vkey = Some(vkey);
        self
    }

    /// The log's verifier key in note `vkey` form.
    pub fn log_vkey(&self) -> Option<&str> {
        self.log_vkey.as_deref()
    }

    /// The principal of the stamp keys.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The stamp keys, active first.
    pub fn stamp_keys(&self) -> &[PublishedKey] {
        &self.stamp
    }

    /// The log key.
    pub fn log_key(&self) -> Option<&PublishedKey> {
        self.log.as_ref()
    }

    /// The log's origin line, when configured.
    pub fn log_origin(&self) -> Option<&str> {
        self.log_origin.as_deref()
    }

    /// What a stamp's signature must be made by to be `TRUSTED` here.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}

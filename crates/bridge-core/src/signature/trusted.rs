//! A key a verifier trusts, and its `allowed_signers` line.

use ssh_key::PublicKey;

use super::{KeyId, STAMP_NAMESPACE};

/// One trusted key and the principals it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key's id.
    pub id: KeyId,
    /// The key.
    pub public: PublicKey,
    /// Who the key belongs to (the `allowed_signers` principals).
    pub principals: Vec<String>,
}

impl TrustedKey {
    /// A trusted key standing for `principal`.
    pub fn new(public: PublicKey, principal: &str) -> Self {
        Self {
            id: KeyId::of(&public),
            public,
            principals: vec![principal.to_owned()],
        }
    }

    /// Its line in an `allowed_signers` file, restricted to the stamp namespace.
    pub fn allowed_signers_line(&self) -> String {
        let key = self
            .public
            .to_openssh()
            .expect("an Ed25519 public key always encodes");
        format!(
            "{} namespaces=\"{STAMP_NAMESPACE}\" {key}",
            self.principals.join(",")
        )
    }
}

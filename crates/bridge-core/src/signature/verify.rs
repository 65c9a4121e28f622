//! Checking a stamp's signature: the SSHSIG blob decodes canonically, is ours (namespace,
//! hash, algorithm, the key the stamp names) and verifies over the statement.

use base64::Engine;
use ssh_encoding::{Decode, Encode, Reader};
use ssh_key::{Algorithm, HashAlg, LineEnding, PublicKey, SshSig};

use super::{KeyId, STAMP_NAMESPACE};

/// Why a stamp's signature does not verify (reported as `SIGNATURE_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignatureInvalid(pub String);

fn invalid(why: impl Into<String>) -> SignatureInvalid {
    SignatureInvalid(why.into())
}

/// Decodes the one-line base64 SSHSIG blob of a stamp. Strict: canonical base64 with padding
/// and no trailing bytes, so one blob has one spelling and a changed character never passes.
pub fn decode_signature(text: &str) -> Result<SshSig, SignatureInvalid> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| invalid("signature is not canonical base64"))?;
    let mut reader: &[u8] = &bytes;
    let sig = SshSig::decode(&mut reader).map_err(|_| invalid("signature is not an SSHSIG"))?;
    if !reader.is_finished() {
        return Err(invalid("signature has bytes after its SSHSIG"));
    }
    // The version is not part of the signed data, and the decoder takes any version up to
    // its own: pin it, and require the one encoding, so no byte of the blob is free.
    let mut again = Vec::with_capacity(bytes.len());
    if sig.version() != SshSig::VERSION || sig.encode(&mut again).is_err() || again != bytes {
        return Err(invalid("signature is not a canonical SSHSIG v1"));
    }
    Ok(sig)
}

/// The blob as the armored file `ssh-keygen -Y verify -s` reads.
pub fn armor(sig: &SshSig) -> String {
    sig.to_pem(LineEnding::LF)
        .expect("a decoded signature encodes again")
}

/// Verifies `signature` (base64 SSHSIG) over `statement`, made by the key the stamp names as
/// `key`. The public key returned is the one that signed.
pub fn verify_statement(
    statement: &str,
    key: &str,
    signature: &str,
) -> Result<PublicKey, SignatureInvalid> {
    let sig = decode_signature(signature)?;
    if sig.namespace() != STAMP_NAMESPACE {
        return Err(invalid(format!(
            "signature is for namespace {:?}, not {STAMP_NAMESPACE}",
            sig.namespace()
        )));
    }
    if sig.hash_alg() != HashAlg::Sha512 {
        return Err(invalid("signature does not use sha512"));
    }
    if sig.algorithm() != Algorithm::Ed25519 {
        return Err(invalid("signature is not Ed25519"));
    }
    let public = PublicKey::from(sig.public_key().clone());
    let id = KeyId::of(&public);
    if id.as_str() != key {
        return Err(invalid(format!(
            "signature was made by {id}, not by the stamp's key {key}"
        )));
    }
    public
        .verify(STAMP_NAMESPACE, statement.as_bytes(), &sig)
        .map_err(|_| invalid("signature does not verify over the stamp's statement"))?;
    Ok(public)
}

//! C2SP tlog-cosignature: witness keys as note `vkey`s, and cosignatures over checkpoints, both
//! types of the spec: Ed25519 `cosignature/v1` (signature type `0x04`) and ML-DSA-44
//! `subtree/v1` (`0x06`, through RustCrypto's `ml-dsa`). A cosignature is a note signature
//! whose bytes are an 8-byte big-endian timestamp followed by the signature.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, Verifier as _};
use ml_dsa::signature::Keypair as _;
use ml_dsa::MlDsa44;

use crate::tlog::{
    check_name, key_id_of, split_vkey, Hash, NoteError, NoteSignature, VerifiedCheckpoint,
};

/// Signature type of Ed25519 `cosignature/v1`.
pub const ED25519_COSIGNATURE: u8 = 0x04;
/// Signature type of ML-DSA-44 `subtree/v1` cosignatures.
pub const ML_DSA_44_COSIGNATURE: u8 = 0x06;
/// ML-DSA-44 public key length (FIPS 204).
const ML_DSA_44_PUBLIC: usize = 1312;
/// ML-DSA-44 signature length (FIPS 204).
const ML_DSA_44_SIGNATURE: usize = 2420;
/// The `subtree/v1` message's label, NUL included.
const SUBTREE_LABEL: &[u8; 12] = b"subtree/v1\n\0";

fn err(why: impl Into<String>) -> NoteError {
    NoteError(why.into())
}

/// The message an Ed25519 witness signs: `cosignature/v1`, `time <t>`, then the checkpoint's
/// text (its body with extension lines, without signatures).
fn ed25519_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// The `cosigned_message` an ML-DSA-44 witness signs for a checkpoint (start 0, end = size).
fn subtree_message(
    cosigner: &str,
    time: u64,
    origin: &str,
    cp: &VerifiedCheckpoint,
) -> Result<Vec<u8>, NoteError> {
    let name =
        u8::try_from(cosigner.len()).map_err(|_| err("a cosigner name is at most 255 bytes"))?;
    let origin_len =
        u8::try_from(origin.len()).map_err(|_| err("a log origin is at most 255 bytes"))?;
    let mut m = Vec::with_capacity(12 + 1 + 255 + 8 + 1 + 255 + 16 + 32);
    m.extend_from_slice(SUBTREE_LABEL);
    m.push(name);
    m.extend_from_slice(cosigner.as_bytes());
    m.extend_from_slice(&time.to_be_bytes());
    m.push(origin_len);
    m.extend_from_slice(origin.as_bytes());
    m.extend_from_slice(&0u64.to_be_bytes());
    m.extend_from_slice(&cp.size.to_be_bytes());
    m.extend_from_slice(&cp.root.0);
    Ok(m)
}

/// What a witness key verifies with.
#[derive(Clone)]
enum Public {
    Ed25519(ed25519_dalek::VerifyingKey),
    MlDsa44(Box<ml_dsa::VerifyingKey<MlDsa44>>),
}

/// A witness's public key: its name (the cosigner name of its signature lines), key id and
/// key, as read from a `vkey` `<name>+<hex id>+<base64(type || key)>`.
#[derive(Clone)]
pub struct CosignerKey {
    name: String,
    id: u32,
    public: Public,
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CosignerKey({}+{:08x}, {})",
            self.name,
            self.id,
            self.kind()
        )
    }
}

/// A checked cosignature: who made it and when (POSIX seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The cosigner's name.
    pub name: String,
    /// Its timestamp.
    pub time: u64,
}

impl CosignerKey {
    /// Reads a witness `vkey` (type `0x04` Ed25519 or `0x06` ML-DSA-44), checking its key id.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, alg, public) = split_vkey(vkey, "witness")?;
        let public = public.as_slice();
        let public = match alg {
            ED25519_COSIGNATURE => {
                let bytes: [u8; 32] = public
                    .try_into()
                    .map_err(|_| err("an Ed25519 key is 32 bytes"))?;
                Public::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                        .map_err(|_| err("not an Ed25519 public key"))?,
                )
            }
            ML_DSA_44_COSIGNATURE => {
                let enc = ml_dsa::EncodedVerifyingKey::<MlDsa44>::try_from(public)
                    .map_err(|_| err(format!("an ML-DSA-44 key is {ML_DSA_44_PUBLIC} bytes")))?;
                Public::MlDsa44(Box::new(ml_dsa::VerifyingKey::decode(&enc)))
            }
            0x01 => {
                return Err(err(
                    "this is a log key (type 0x01), not a witness cosignature key (0x04 or 0x06)",
                ))
            }
            other => {
                return Err(err(format!(
                    "witness key type 0x{other:02x} is not a cosignature type (0x04 Ed25519, 0x06 ML-DSA-44)"
                )))
            }
        };
        Ok(Self {
            name: name.to_owned(),
            id,
            public,
        })
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `Ed25519` or `ML-DSA-44`.
    pub fn kind(&self) -> &'static str {
        match self.public {
            Public::Ed25519(_) => "Ed25519",
            Public::MlDsa44(_) => "ML-DSA-44",
        }
    }

    /// The key bytes, type byte first (what the key id hashes).
    fn typed_bytes(&self) -> Vec<u8> {
        match &self.public {
            Public::Ed25519(k) => [&[ED25519_COSIGNATURE][..], k.as_bytes()].concat(),
            Public::MlDsa44(k) => [&[ML_DSA_44_COSIGNATURE][..], k.encode().as_slice()].concat(),
        }
    }

    /// Whether two keys wrap the same public key (whatever their names): duplicates.
    pub fn same_key(&self, other: &Self) -> bool {
        self.typed_bytes() == other.typed_bytes()
    }

    /// The `vkey` text.
    pub fn vkey(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(self.typed_bytes())
        )
    }

    /// Whether a note signature line is this key's (name and id both match).
    pub fn claims(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.id == self.id
    }

    /// Verifies this key's cosignature `sig` over the checkpoint whose text is `text` (origin
    /// `origin`, tree `cp`); its timestamp.
    pub fn verify(
        &self,
        text: &str,
        origin: &str,
        cp: &VerifiedCheckpoint,
        sig: &[u8],
    ) -> Result<u64, NoteError> {
        let bad = || err(format!("the cosignature of {} does not verify", self.name));
        let (time, sig) = sig.split_at_checked(8).ok_or_else(bad)?;
        let time = u64::from_be_bytes(time.try_into().expect("8 bytes"));
        if time > i64::MAX as u64 {
            return Err(bad());
        }
        match &self.public {
            Public::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| bad())?;
                k.verify(&ed25519_message(text, time), &sig)
                    .map_err(|_| bad())?;
            }
            Public::MlDsa44(k) => {
                if sig.len() != ML_DSA_44_SIGNATURE {
                    return Err(bad());
                }
                let sig = ml_dsa::Signature::<MlDsa44>::try_from(sig).map_err(|_| bad())?;
                let msg = subtree_message(&self.name, time, origin, cp)?;
                if !k.verify_with_context(&msg, &[], &sig) {
                    return Err(bad());
                }
            }
        }
        Ok(time)
    }
}

/// The secret half of a witness: signs cosignatures. Never printed.
#[derive(Clone)]
enum Secret {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    MlDsa44(Box<ml_dsa::SigningKey<MlDsa44>>),
}

/// A witness's signing key with its cosigner name.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    id: u32,
    secret: Secret,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// An Ed25519 (`cosignature/v1`) cosigner named `name`.
    pub fn ed25519(name: &str, key: ed25519_dalek::SigningKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let id = key_id_of(
            name,
            ED25519_COSIGNATURE,
            key.verifying_key().as_bytes().as_slice(),
        );
        Ok(Self {
            name: name.to_owned(),
            id,
            secret: Secret::Ed25519(Box::new(key)),
        })
    }

    /// An ML-DSA-44 (`subtree/v1`) cosigner named `name`, from its 32-byte FIPS 204 seed.
    pub fn ml_dsa_44(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        if name.len() > 255 {
            return Err(err("an ML-DSA-44 cosigner name is at most 255 bytes"));
        }
        let key = ml_dsa::SigningKey::<MlDsa44>::from_seed(&(*seed).into());
        let id = key_id_of(
            name,
            ML_DSA_44_COSIGNATURE,
            key.verifying_key().encode().as_slice(),
        );
        Ok(Self {
            name: name.to_owned(),
            id,
            secret: Secret::MlDsa44(Box::new(key)),
        })
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half.
    pub fn key(&self) -> CosignerKey {
        let public = match &self.secret {
            Secret::Ed25519(k) => Public::Ed25519(k.verifying_key()),
            Secret::MlDsa44(k) => Public::MlDsa44(Box::new(k.verifying_key())),
        };
        CosignerKey {
            name: self.name.clone(),
            id: self.id,
            public,
        }
    }

    /// The cosignature, as a note signature, of the checkpoint whose text is `text` (origin
    /// `origin`, tree `cp`) at POSIX time `time`.
    pub fn cosign(
        &self,
        text: &str,
        origin: &str,
        cp: &VerifiedCheckpoint,
        time: u64,
    ) -> Result<NoteSignature, NoteError> {
        let mut sig = time.to_be_bytes().to_vec();
        match &self.secret {
            Secret::Ed25519(k) => {
                sig.extend_from_slice(&k.sign(&ed25519_message(text, time)).to_bytes());
            }
            Secret::MlDsa44(k) => {
                let msg = subtree_message(&self.name, time, origin, cp)?;
                let s: ml_dsa::Signature<MlDsa44> = ml_dsa::signature::Signer::sign(&**k, &msg);
                sig.extend_from_slice(s.encode().as_slice());
            }
        }
        Ok(NoteSignature {
            name: self.name.clone(),
            id: self.id,
            sig,
        })
    }
}

/// The root hash of the empty tree, SHA-256 of nothing (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    use sha2::Digest;
    Hash(sha2::Sha256::digest([]).into())
}

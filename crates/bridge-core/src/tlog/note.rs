//! Checkpoints as C2SP signed notes (Ed25519, signature type `0x01`), and the log's verifier
//! key in the note `vkey` form `<name>+<hex key id>+<base64(0x01 || public key)>`.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

use super::Hash;

/// Signature type byte of Ed25519 note signatures.
const ED25519: u8 = 0x01;

/// A note, key or checkpoint we cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoteError(pub String);

fn err(why: impl Into<String>) -> NoteError {
    NoteError(why.into())
}

/// Checks a log origin / key name: non-empty, no spaces, no `+`, no control characters.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(err(format!(
            "key name {name:?} must be non-empty, without spaces or '+'"
        )));
    }
    Ok(())
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    key_id_of(name, ED25519, public)
}

/// A note key id: `SHA-256(name || 0x0A || signature type || public key)[:4]`, big-endian.
pub fn key_id_of(name: &str, sig_type: u8, public: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', sig_type]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The checkpoint body: origin, tree size, base64 root hash.
fn body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root.0))
}

/// Signs the log's checkpoints.
#[derive(Clone)]
pub struct LogSigner {
    origin: String,
    key: ed25519_dalek::SigningKey,
    id: u32,
}

impl fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSigner")
            .field("origin", &self.origin)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// A signer for the log named `origin` with an Ed25519 key.
    pub fn new(origin: &str, key: &ssh_key::PrivateKey) -> Result<Self, NoteError> {
        check_name(origin)?;
        let pair = key
            .key_data()
            .ed25519()
            .ok_or_else(|| err("the log key must be Ed25519"))?;
        check_name(origin)?;
        let key = ed25519_dalek::SigningKey::from_bytes(pair.private.as_ref());
        let id = key_id(origin, key.verifying_key().as_bytes());
        Ok(Self {
            origin: origin.to_owned(),
            key,
            id,
        })
    }

    /// A signer with a new random key (tests and benchmarks).
    pub fn generate(origin: &str) -> Result<Self, NoteError> {
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .map_err(|e| err(e.to_string()))?;
        Self::new(origin, &key)
    }

    /// The log's origin (and key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key, `<origin>+<key id>+<base64 key>`.
    pub fn vkey(&self) -> String {
        let mut k = vec![ED25519];
        k.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.origin, self.id, B64.encode(k))
    }

    /// The signed checkpoint note of a tree of `size` entries with root `root`.
    pub fn checkpoint(&self, size: u64, root: &Hash) -> String {
        self.sign_note(&body(&self.origin, size, root))
    }

    /// `text` (ending in a newline) as a note signed by this key.
    pub fn sign_note(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        format!("{text}\n\u{2014} {} {}\n", self.origin, B64.encode(blob))
    }

    /// The verifier of this signer's notes.
    pub fn verifier(&self) -> LogVerifier {
        LogVerifier {
            name: self.origin.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }
}

/// Verifies checkpoints of one log.
#[derive(Clone, Debug)]
pub struct LogVerifier {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

/// Splits a note verifier key `<name>+<hex key id>+<base64(type || key)>` (`what`: "log",
/// "witness", for messages): its name, id, signature type and key bytes, the name checked and
/// the id proven to be the one of name, type and key.
pub fn split_vkey<'v>(vkey: &'v str, what: &str) -> Result<(&'v str, u32, u8, Vec<u8>), NoteError> {
    let mut parts = vkey.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(format!("a {what} key is <name>+<key id>+<base64 key>")));
    };
    check_name(name)?;
    let id = (id.len() == 8
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| u32::from_str_radix(id, 16).ok())
    .flatten()
    .ok_or_else(|| err("the key id must be 8 lowercase hex digits"))?;
    let raw = B64
        .decode(key)
        .map_err(|_| err(format!("the {what} key is not base64")))?;
    let (alg, public) = raw
        .split_first()
        .ok_or_else(|| err(format!("empty {what} key")))?;
    if key_id_of(name, *alg, public) != id {
        return Err(err("the key id does not match the key"));
    }
    Ok((name, id, *alg, public.to_vec()))
}

/// What a verified checkpoint says.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

impl LogVerifier {
    /// Reads a `vkey` (`<name>+<hex key id>+<base64(0x01 || key)>`), checking its id.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, alg, public) = split_vkey(vkey, "log")?;
        if alg != ED25519 {
            return Err(err("the log key is not an Ed25519 note key"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| err("an Ed25519 key is 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| err("not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Verifies a checkpoint note signed by this key and reads its size and root.
    pub fn verify(&self, note: &str) -> Result<VerifiedCheckpoint, NoteError> {
        let text = self.open(note)?;
        let (origin, cp) = parse_checkpoint(text)?;
        if origin != self.name {
            return Err(err(format!(
                "checkpoint of {origin:?}, not of {:?}",
                self.name
            )));
        }
        Ok(cp)
    }

    /// The verifier key, `<origin>+<key id>+<base64 key>`.
    pub fn vkey(&self) -> String {
        let mut k = vec![ED25519];
        k.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(k))
    }

    /// The log's origin (the key's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a note signature line is this key's (name and id both match).
    pub fn claims(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.id == self.id
    }

    /// The raw Ed25519 public key (two vkeys of one key are duplicates in a policy).
    pub fn public_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Verifies a note signed by this key (others' signatures are ignored); its text.
    pub fn open<'n>(&self, note: &'n str) -> Result<&'n str, NoteError> {
        let (text, sigs) = split_note(note)?;
        let mut verified = false;
        // Unknown keys are ignored; a known one must verify.
        for s in sigs
            .iter()
            .filter(|s| s.name == self.name && s.id == self.id)
        {
            let sig = ed25519_dalek::Signature::from_slice(&s.sig)
                .map_err(|_| err("not an Ed25519 signature"))?;
            self.key
                .verify(text.as_bytes(), &sig)
                .map_err(|_| err("the log's signature does not verify"))?;
            verified = true;
        }
        if !verified {
            return Err(err("no signature by the log's key"));
        }
        Ok(text)
    }
}

/// Most signature lines a note may carry: C2SP asks verifiers to accept at least 16.
pub const MAX_NOTE_SIGNATURES: usize = 64;

/// One signature line of a note: `— <name> base64(key id || signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 32-bit key id.
    pub id: u32,
    /// The signature bytes after the key id.
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The line, newline included.
    pub fn line(&self) -> String {
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&self.sig);
        format!("\u{2014} {} {}\n", self.name, B64.encode(blob))
    }
}

/// Splits a signed note into its text (ending in a newline) and its signature lines, checking
/// the grammar of C2SP signed-note (no control characters, the last blank line as separator,
/// at most [`MAX_NOTE_SIGNATURES`] lines). Nothing is verified here.
pub fn split_note(note: &str) -> Result<(&str, Vec<NoteSignature>), NoteError> {
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(err("a note holds no control characters"));
    }
    if !note.ends_with('\n') {
        return Err(err("a note ends with a newline"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| err("a note's text and signatures are separated by a blank line"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let bad_line = || err("a signature line is '\u{2014} <name> <base64>'");
    let mut out = Vec::new();
    for line in sigs.lines() {
        if out.len() == MAX_NOTE_SIGNATURES {
            return Err(err(format!(
                "a note carries at most {MAX_NOTE_SIGNATURES} signatures"
            )));
        }
        let (name, sig) = line
            .strip_prefix("\u{2014} ")
            .and_then(|l| l.split_once(' '))
            .ok_or_else(bad_line)?;
        if name.is_empty() || name.contains('+') || sig.contains(' ') {
            return Err(bad_line());
        }
        let Ok(blob) = B64.decode(sig) else {
            return Err(err("a signature is not base64"));
        };
        if blob.len() < 5 {
            return Err(err("a signature is too short"));
        }
        out.push(NoteSignature {
            name: name.to_owned(),
            id: u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]),
            sig: blob[4..].to_vec(),
        });
    }
    if out.is_empty() {
        return Err(err("a note carries at least one signature"));
    }
    Ok((text, out))
}

/// Reads a checkpoint's text (C2SP tlog-checkpoint: origin, decimal size, base64 root, then
/// optional non-empty extension lines): its origin, size and root.
pub fn parse_checkpoint(text: &str) -> Result<(&str, VerifiedCheckpoint), NoteError> {
    let mut lines = text.lines();
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| err("a checkpoint starts with its origin"))?;
    let size = lines
        .next()
        .filter(|s| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (*s == "0" || !s.starts_with('0'))
        })
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| err("the tree size is not a decimal"))?;
    let root = lines
        .next()
        .and_then(|r| B64.decode(r).ok())
        .and_then(|r| <[u8; 32]>::try_from(r).ok())
        .ok_or_else(|| err("the root hash is not 32 bytes of base64"))?;
    if lines.any(str::is_empty) {
        return Err(err("a checkpoint's extension lines are not empty"));
    }
    Ok((
        origin,
        VerifiedCheckpoint {
            size,
            root: Hash(root),
        },
    ))
}

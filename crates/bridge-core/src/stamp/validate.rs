//! Validation: find the stamp, remove it exactly, hash the rest, compare.

use serde::Serialize;

use super::fields::{Located, ParsedStamp, StampFormat};
use super::locate::{locate, parse_fields, FieldError};
use crate::hash::{hash_bytes, Blake3Hex};
use crate::signature::{verify_statement, KeyId, Keyring, Trust};

/// Why content is or is not validly stamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The stamp's hash matches the content (and `expected_hash`, if given).
    Valid,
    /// No stamp at the stamp position.
    NoStamp,
    /// The content (or `expected_hash`) does not match the stamp's hash.
    HashMismatch,
    /// A stamp that cannot be parsed or whose own checksum fails.
    MalformedStamp,
    /// A stamp of a `metadata_version` we do not know.
    UnsupportedVersion,
    /// The content matches, but the stamp's signature does not verify: the stamp's fields
    /// were altered, or the signature was not made over them.
    SignatureInvalid,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::NoStamp => "NO_STAMP",
            Self::HashMismatch => "HASH_MISMATCH",
            Self::MalformedStamp => "MALFORMED_STAMP",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::SignatureInvalid => "SIGNATURE_INVALID",
        }
    }
}

/// The result of validating content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    /// Outcome.
    pub reason: Reason,
    /// How many stamps were found (0 or 1: a stamp is never nested).
    pub stamps_found: usize,
    /// BLAKE3 of the content with the stamp removed (of all of it if none was found).
    pub current_hash: Blake3Hex,
    /// The size of what `current_hash` covers.
    pub original_size: u64,
    /// The stamp, when one was parsed.
    pub stamp: Option<ParsedStamp>,
    /// Human-readable detail for anything but `VALID`.
    pub detail: Option<String>,
    /// Line of a malformed stamp.
    pub line: Option<usize>,
    /// The key whose signature verified over the stamp, for a valid signed stamp.
    pub signed_by: Option<KeyId>,
}

impl Validation {
    /// Whether the content is validly stamped.
    pub fn is_valid(&self) -> bool {
        self.reason == Reason::Valid
    }

    /// How far a verifier trusting `ring` can rely on this stamp (`LOGGED` needs a proof,
    /// which is checked elsewhere).
    pub fn trust(&self, ring: &Keyring) -> Trust {
        match &self.signed_by {
            Some(id) if self.is_valid() && ring.get(id).is_some() => Trust::Trusted,
            Some(_) if self.is_valid() => Trust::UntrustedKey,
            _ => Trust::Unsigned,
        }
    }
}

/// Validates an in-content stamp, optionally against a hash the caller expects.
pub fn validate(content: &[u8], expected: Option<&Blake3Hex>) -> Validation {
    match locate(content) {
        Located::Found { start, end, stamp } => {
            let mut rest = Vec::with_capacity(content.len() - (end - start));
            rest.extend_from_slice(&content[..start]);
            rest.extend_from_slice(&content[end..]);
            compare(&rest, *stamp, expected)
        }
        Located::NoStamp => not_found(content, Reason::NoStamp, 0, None, None),
        Located::Malformed { line, message } => not_found(
            content,
            Reason::MalformedStamp,
            1,
            Some(format!("line {line}: {message}")),
            Some(line),
        ),
        Located::Unsupported { version } => not_found(
            content,
            Reason::UnsupportedVersion,
            1,
            Some(format!(
                "metadata_version {version:?} is not supported (only 0.1)"
            )),
            None,
        ),
    }
}

/// Validates a sidecar document (`FILE.onex-stamp`) against the file's content.
pub fn validate_sidecar(content: &[u8], sidecar: &str, expected: Option<&Blake3Hex>) -> Validation {
    let mut fields = Vec::new();
    let mut pos = 0;
    for line in sidecar.split_inclusive('\n') {
        let Some((key, value)) = line.strip_suffix('\n').and_then(|l| l.split_once(": ")) else {
            let n = sidecar[..pos].matches('\n').count() + 1;
            return not_found(
                content,
                Reason::MalformedStamp,
                1,
                Some(format!("line {n}: expected 'key: value'")),
                Some(n),
            );
        };
        fields.push((pos, key, value));
        pos += line.len();
    }
    if fields.is_empty() {
        return not_found(content, Reason::NoStamp, 0, None, None);
    }
    match parse_fields(&fields, StampFormat::Sidecar, None) {
        Ok(stamp) => compare(content, stamp, expected),
        Err(FieldError::Unsupported(v)) => not_found(
            content,
            Reason::UnsupportedVersion,
            1,
            Some(format!("metadata_version {v:?} is not supported")),
            None,
        ),
        Err(FieldError::At(p, msg)) => {
            let n = sidecar[..p].matches('\n').count() + 1;
            not_found(
                content,
                Reason::MalformedStamp,
                1,
                Some(format!("line {n}: {msg}")),
                Some(n),
            )
        }
        Err(FieldError::Missing(msg)) => {
            not_found(content, Reason::MalformedStamp, 1, Some(msg), None)
        }
    }
}

fn compare(rest: &[u8], stamp: ParsedStamp, expected: Option<&Blake3Hex>) -> Validation {
    let current_hash = hash_bytes(rest);
    let legacy = matches!(
        stamp.format,
        StampFormat::LegacyRich | StampFormat::LegacyLightweight
    );
    // The Python original hashed its content after stripping surrounding whitespace.
    let matches = current_hash == stamp.file_hash
        || (legacy && hash_bytes(rest.trim_ascii()) == stamp.file_hash);
    let size_ok = stamp.file_size.is_none_or(|n| n == rest.len() as u64) || legacy;
    let expected_ok = expected.is_none_or(|e| *e == stamp.file_hash);
    let mut signed_by = None;
    let (reason, detail) = if !matches || !size_ok {
        (
            Reason::HashMismatch,
            Some("content does not match the stamp's file_hash".to_owned()),
        )
    } else if !expected_ok {
        (
            Reason::HashMismatch,
            Some("stamp's file_hash differs from expected_hash".to_owned()),
        )
    } else {
        match check_signature(&stamp, &current_hash, rest.len() as u64) {
            Ok(by) => {
                signed_by = by;
                (Reason::Valid, None)
            }
            Err(why) => (Reason::SignatureInvalid, Some(why)),
        }
    };
    Validation {
        reason,
        stamps_found: 1,
        current_hash,
        original_size: rest.len() as u64,
        stamp: Some(stamp),
        detail,
        line: None,
        signed_by,
    }
}

/// Verifies a signed stamp over its statement; `Ok(None)` for an unsigned one.
fn check_signature(
    stamp: &ParsedStamp,
    hash: &Blake3Hex,
    size: u64,
) -> Result<Option<KeyId>, String> {
    let (Some(statement), Some(key), Some(sig)) = (
        stamp.statement_for(hash, size),
        stamp.key.as_deref(),
        stamp.signature.as_deref(),
    ) else {
        return Ok(None);
    };
    let statement = statement.map_err(|e| e.to_string())?;
    let public = verify_statement(&statement, key, sig).map_err(|e| e.to_string())?;
    Ok(Some(KeyId::of(&public)))
}

fn not_found(
    content: &[u8],
    reason: Reason,
    found: usize,
    detail: Option<String>,
    line: Option<usize>,
) -> Validation {
    Validation {
        reason,
        stamps_found: found,
        current_hash: hash_bytes(content),
        original_size: content.len() as u64,
        stamp: None,
        detail,
        line,
        signed_by: None,
    }
}

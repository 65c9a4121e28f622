//! A log entry (SPEC §11: the stamp's statement, then `signature <base64 SSHSIG>`) read back
//! strictly: the nine statement lines in their order, each value as the service writes it,
//! and the statement rendered again from the parsed values must be the entry's bytes, so an
//! entry has one spelling and a monitor reports exactly what was signed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::signature::{verify_statement, KeyId, Keyring};
use crate::statement::Statement;
use crate::Blake3Hex;

/// An entry that is not a stamp's statement and signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedEntry(pub String);

fn bad(why: impl Into<String>) -> MalformedEntry {
    MalformedEntry(why.into())
}

/// A stamp as its log entry says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEntry {
    /// Tenant namespace.
    pub namespace: String,
    /// The stamp's id.
    pub stamp_id: Uuid,
    /// BLAKE3 of the content.
    pub file_hash: String,
    /// Its size.
    pub file_size: u64,
    /// Detected type.
    pub content_type: String,
    /// Relative path, if the client gave one.
    pub file_path: Option<String>,
    /// When it was stamped (RFC 3339, milliseconds, `Z`).
    pub created_at: String,
    /// Id of the signing key.
    pub key: String,
    /// The statement's bytes (what the signature covers).
    pub statement: String,
    /// The SSHSIG, base64.
    pub signature: String,
}

const FIELDS: [&str; 8] = [
    "namespace",
    "stamp_id",
    "file_hash",
    "file_size",
    "content_type",
    "file_path",
    "created_at",
    "key",
];

/// Reads an entry.
pub fn parse_entry(bytes: &[u8]) -> Result<LoggedEntry, MalformedEntry> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| bad("does not end with a newline"))?;
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.len() != 10 {
        return Err(bad(format!(
            "{} lines, a stamp's entry has 10 (the statement's nine and its signature)",
            lines.len()
        )));
    }
    if lines[0] != crate::statement::STATEMENT_HEADER {
        return Err(bad(format!(
            "first line {:?}, not {}",
            lines[0],
            crate::statement::STATEMENT_HEADER
        )));
    }
    let mut values = [""; 8];
    for (i, field) in FIELDS.iter().enumerate() {
        values[i] = lines[i + 1]
            .strip_prefix(field)
            .and_then(|v| v.strip_prefix(' '))
            .ok_or_else(|| bad(format!("line {} is not '{field} <value>'", i + 2)))?;
    }
    let signature = lines[9]
        .strip_prefix("signature ")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the last line is not 'signature <base64>'"))?;
    let [namespace, stamp_id, file_hash, file_size, content_type, file_path, created_at, key] =
        values;
    crate::Namespace::parse(namespace).map_err(|e| bad(format!("namespace: {e}")))?;
    let stamp_id = Uuid::parse_str(stamp_id).map_err(|_| bad("stamp_id is not a UUID"))?;
    let hash = Blake3Hex::parse(file_hash).map_err(|e| bad(format!("file_hash: {e}")))?;
    let size = file_size
        .parse::<u64>()
        .map_err(|_| bad("file_size is not a decimal"))?;
    let time: DateTime<Utc> = DateTime::parse_from_rfc3339(created_at)
        .map_err(|_| bad("created_at is not an RFC 3339 time"))?
        .with_timezone(&Utc);
    if !KeyId::is_well_formed(key) {
        return Err(bad("key is not a SHA256: key id"));
    }
    let path = (file_path != "-").then_some(file_path);
    let statement = Statement {
        namespace,
        stamp_id,
        file_hash: &hash,
        file_size: size,
        content_type,
        file_path: path,
        created_at: time,
        key,
    }
    .render()
    .map_err(|e| bad(e.to_string()))?;
    let signed_len = text.len() - lines[9].len() - 1;
    if statement != text[..signed_len] {
        return Err(bad("the statement is not in its one canonical spelling"));
    }
    Ok(LoggedEntry {
        namespace: namespace.to_owned(),
        stamp_id,
        file_hash: file_hash.to_owned(),
        file_size: size,
        content_type: content_type.to_owned(),
        file_path: path.map(str::to_owned),
        created_at: created_at.to_owned(),
        key: key.to_owned(),
        statement,
        signature: signature.to_owned(),
    })
}

/// What a monitor concludes of an entry's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryVerdict {
    /// Signed by a key of the trust list.
    Trusted,
    /// The signature verifies, by a key the trust list does not hold.
    UntrustedKey,
    /// The signature does not verify (or is not the stamp key's).
    SignatureInvalid(String),
}

/// Checks an entry's SSHSIG over its statement, and its key against `trust`.
pub fn check_entry(e: &LoggedEntry, trust: &Keyring) -> EntryVerdict {
    match verify_statement(&e.statement, &e.key, &e.signature) {
        Ok(public) if trust.get(&KeyId::of(&public)).is_some() => EntryVerdict::Trusted,
        Ok(_) => EntryVerdict::UntrustedKey,
        Err(why) => EntryVerdict::SignatureInvalid(why.to_string()),
    }
}

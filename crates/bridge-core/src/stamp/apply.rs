//! Stamping a piece of content end to end: unstamp, hash, detect, render, insert.

use std::borrow::Cow;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use uuid::Uuid;

use super::fields::StampFields;
use super::locate::remove;
use super::render::{insert, newline_of, render_block, render_sidecar};
use crate::domain::StampType;
use crate::filetype::{detect, FileKind, Treatment};
use crate::hash::{hash_bytes, Blake3Hex};
use crate::signature::{SignError, StampSigner};
use crate::statement::StatementError;

/// Content with any existing stamp removed, and its hash: what a stamp is computed over.
#[derive(Debug)]
pub struct Original<'a> {
    /// The original bytes (never nested stamps: an existing stamp is removed first).
    pub bytes: Cow<'a, [u8]>,
    /// BLAKE3 of `bytes`.
    pub hash: Blake3Hex,
}

impl<'a> Original<'a> {
    /// Removes an existing stamp (restamping replaces, never nests) and hashes the rest.
    pub fn of(content: &'a [u8]) -> Self {
        let bytes = remove(content);
        let hash = hash_bytes(&bytes);
        Self { bytes, hash }
    }
}

/// A freshly made stamp.
#[derive(Clone, Debug)]
pub struct Stamped {
    /// The fields written.
    pub fields: StampFields,
    /// Detected type of the original.
    pub kind: FileKind,
    /// The stamp text (block in the file's syntax, or the sidecar document).
    pub stamp_text: String,
    /// The stamped content; `None` for sidecar types, which are never modified.
    pub stamped: Option<Vec<u8>>,
    /// The statement the signature covers (signed stamps only): also the log entry's start.
    pub statement: Option<String>,
}

/// Inputs of a new stamp that do not come from the content.
#[derive(Clone, Debug)]
pub struct StampRequest<'a> {
    /// Tenant namespace (already validated).
    pub namespace: &'a str,
    /// Client's relative path (already validated), used for type detection too.
    pub file_path: Option<&'a str>,
    /// Rich or lightweight.
    pub stamp_type: StampType,
    /// Id for the new stamp.
    pub stamp_id: Uuid,
    /// Creation time.
    pub now: DateTime<Utc>,
    /// Signs the stamp when given; else the stamp is unsigned (integrity only).
    pub signer: Option<&'a StampSigner>,
}

/// Why a stamp could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// A field the statement cannot carry (validated inputs never have one).
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Stamps `original` (see [`Original::of`]), signing it when the request has a signer.
pub fn stamp(original: &Original<'_>, req: &StampRequest<'_>) -> Result<Stamped, StampError> {
    let kind = detect(&original.bytes, req.file_path);
    // The stamp and the statement say milliseconds: keep no more, so the stored time, the
    // stamp and the signed statement are one value.
    let created_at = req
        .now
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(req.now);
    let mut fields = StampFields {
        stamp_id: req.stamp_id,
        file_hash: original.hash,
        namespace: req.namespace.to_owned(),
        content_type: kind.content_type.clone(),
        file_size: original.bytes.len() as u64,
        file_path: req.file_path.map(str::to_owned),
        created_at,
        signature: None,
    };
    let statement = match req.signer {
        Some(signer) => {
            let statement = fields.statement(signer.id().as_str())?;
            fields.signature = Some(signer.sign(&statement)?);
            Some(statement)
        }
        None => None,
    };
    let (stamp_text, stamped) = match kind.treatment {
        Treatment::Comment(style) => {
            let nl = newline_of(&original.bytes);
            let block = render_block(&fields, req.stamp_type, style, nl);
            let stamped = insert(&original.bytes, &block, nl);
            (block, Some(stamped))
        }
        Treatment::Sidecar => (render_sidecar(&fields), None),
    };
    Ok(Stamped {
        fields,
        kind,
        stamp_text,
        stamped,
        statement,
    })
}

/// Re-applies a stored stamp text to its original (for idempotent replies).
pub fn reapply(original: &[u8], stamp_text: &str, treatment: Treatment) -> Option<Vec<u8>> {
    match treatment {
        Treatment::Comment(_) => Some(insert(original, stamp_text, newline_of(original))),
        Treatment::Sidecar => None,
    }
}

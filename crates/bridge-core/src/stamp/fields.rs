//! What a stamp says: the fields written into a new stamp and the fields read back.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::filetype::CommentStyle;
use crate::hash::Blake3Hex;
use crate::signature::{SignatureInvalid, StampSignature};
use crate::statement::{Statement, StatementError};

/// The fields of a stamp to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampFields {
    /// Unique id of this stamp (UUIDv7: time-ordered).
    pub stamp_id: Uuid,
    /// BLAKE3 of the original (unstamped) bytes.
    pub file_hash: Blake3Hex,
    /// Tenant namespace.
    pub namespace: String,
    /// Detected MIME type.
    pub content_type: String,
    /// Size of the original bytes.
    pub file_size: u64,
    /// Relative path the client gave, if any.
    pub file_path: Option<String>,
    /// When the stamp was made (whole milliseconds: what the stamp and statement can say).
    pub created_at: DateTime<Utc>,
    /// The signature over the statement of these fields, if signed.
    pub signature: Option<StampSignature>,
}

impl StampFields {
    /// `created_at` as written in rich stamps and sidecars (RFC 3339, milliseconds, `Z`).
    pub fn created_at_text(&self) -> String {
        self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The statement (SPEC §11) of these fields, as signed by the key `key`.
    pub fn statement(&self, key: &str) -> Result<String, StatementError> {
        Statement {
            namespace: &self.namespace,
            stamp_id: self.stamp_id,
            file_hash: &self.file_hash,
            file_size: self.file_size,
            content_type: &self.content_type,
            file_path: self.file_path.as_deref(),
            created_at: self.created_at,
            key,
        }
        .render()
    }
}

/// Which format a stamp that was found is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StampFormat {
    /// O.N.E. v0.1 rich block.
    Rich,
    /// O.N.E. v0.1 lightweight line.
    Lightweight,
    /// The Python original's `<!-- ONEX_METADATA_START -->` block.
    LegacyRich,
    /// The Python original's lightweight line (no checksum).
    LegacyLightweight,
    /// A sidecar document.
    Sidecar,
}

/// A stamp read back from content or a sidecar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParsedStamp {
    /// Format of the stamp.
    pub format: StampFormat,
    /// Comment syntax it was written in (none for sidecars).
    #[serde(skip)]
    pub style: Option<CommentStyle>,
    /// `metadata_version` (rich), or the original's `protocol_version`.
    pub metadata_version: Option<String>,
    /// `stamp_id` / `uid`.
    pub stamp_id: Option<String>,
    /// The hash the stamp claims for the original content.
    pub file_hash: Blake3Hex,
    /// Namespace, when the format carries one.
    pub namespace: Option<String>,
    /// Content type, when the format carries one.
    pub content_type: Option<String>,
    /// Original size, when the format carries one.
    pub file_size: Option<u64>,
    /// File path, when present.
    pub file_path: Option<String>,
    /// Creation time as written.
    pub created_at: Option<String>,
    /// Id of the key that signed it (`SHA256:…`), for signed stamps.
    pub key: Option<String>,
    /// The SSHSIG blob in base64, for signed stamps.
    pub signature: Option<String>,
}

impl ParsedStamp {
    /// The statement this stamp's signature must cover, with the file's actual hash and size
    /// in place of the stamp's (equal for a stamp that validates), so that checking it checks
    /// the file too. `None` for formats that cannot carry a signature.
    pub fn statement_for(
        &self,
        file_hash: &Blake3Hex,
        file_size: u64,
    ) -> Option<Result<String, SignatureInvalid>> {
        let key = self.key.as_deref()?;
        let bad = |what: &str| SignatureInvalid(format!("the stamp's {what} cannot be signed"));
        Some((|| {
            let stamp_id = self
                .stamp_id
                .as_deref()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| bad("stamp_id"))?;
            let text = self
                .created_at
                .as_deref()
                .ok_or_else(|| bad("created_at"))?;
            let created_at = DateTime::parse_from_rfc3339(text)
                .map_err(|_| bad("created_at"))?
                .with_timezone(&Utc);
            // The statement spells the time one way; any other spelling was not signed.
            if created_at.to_rfc3339_opts(SecondsFormat::Millis, true) != text {
                return Err(bad("created_at spelling"));
            }
            Statement {
                namespace: self.namespace.as_deref().ok_or_else(|| bad("namespace"))?,
                stamp_id,
                file_hash,
                file_size,
                content_type: self
                    .content_type
                    .as_deref()
                    .ok_or_else(|| bad("content_type"))?,
                file_path: self.file_path.as_deref(),
                created_at,
                key,
            }
            .render()
            .map_err(|e| SignatureInvalid(e.to_string()))
        })())
    }
}

/// The outcome of looking for a stamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// No stamp at the stamp position.
    NoStamp,
    /// A well-formed stamp occupying `start..end` of the content.
    Found {
        /// First byte of the stamp (including its own newlines).
        start: usize,
        /// One past its last byte.
        end: usize,
        /// What it says.
        stamp: Box<ParsedStamp>,
    },
    /// Something that starts like a stamp but is not a valid one.
    Malformed {
        /// 1-based line number of the offending line.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A well-formed block with a `metadata_version` we do not know.
    Unsupported {
        /// The version found.
        version: String,
    },
}

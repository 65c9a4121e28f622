//! What a stamp says: the fields written into a new stamp and the fields read back.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::filetype::CommentStyle;
use crate::hash::Blake3Hex;

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
    /// When the stamp was made.
    pub created_at: DateTime<Utc>,
}

impl StampFields {
    /// `created_at` as written in rich stamps and sidecars (RFC 3339, milliseconds, `Z`).
    pub fn created_at_text(&self) -> String {
        self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)
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

//! The O.N.E. v0.1 stamp: a metadata block placed at the top of a text file inside its
//! comment syntax, or a sidecar document for binary types and JSON.
//!
//! The rule this module keeps: stamping then removing returns the input byte for byte, and
//! any single byte changed in a stamped file makes validation fail. The first comes from
//! inserting the block at one fixed, recomputable position (after the file's head: a BOM, a
//! shebang line, an XML declaration, front matter, a coding cookie, mode line or Dockerfile
//! parser directives; see `head`) and removing exactly that range; the second from `file_hash` covering the
//! original bytes, and the stamp's own fields being covered by its signature (SPEC §11) or,
//! for an unsigned stamp, by a `stamp_checksum`.

mod apply;
mod fields;
mod head;
mod legacy;
mod locate;
mod render;
mod syntax;
mod validate;

pub use apply::{reapply, stamp, Original, StampError, StampRequest, Stamped};
pub use fields::{Located, ParsedStamp, StampFields, StampFormat};
pub use locate::{locate, remove};
pub use render::{insert, newline_of, render_block, render_sidecar};
pub use validate::{validate, validate_sidecar, Reason, Validation};

/// The only metadata version this implementation writes and accepts.
pub const METADATA_VERSION: &str = "0.1";

/// Suffix of a sidecar stamp file next to the file it stamps.
pub const SIDECAR_SUFFIX: &str = ".onex-stamp";

#[cfg(test)]
mod tests;

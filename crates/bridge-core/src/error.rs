//! Domain errors: every way a value from outside can be rejected, with the offending field.

/// Result alias for the domain crate.
pub type Result<T> = std::result::Result<T, DomainError>;

/// A value that failed validation; `field` names the input it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The namespace does not match `^[a-zA-Z0-9_.-]{1,255}$`.
    #[error("namespace must match ^[a-zA-Z0-9_.-]{{1,255}}$: {0}")]
    InvalidNamespace(String),
    /// The file path is absolute, has a `..` component, a control character or is too long.
    #[error("invalid file_path: {0}")]
    InvalidFilePath(String),
    /// A hash that is not 64 lowercase hex digits (optionally prefixed `blake3:`).
    #[error("file hash must be 64 lowercase hex digits, optionally prefixed 'blake3:'")]
    InvalidHash,
    /// An unknown stamp type.
    #[error("stamp_type must be 'rich' or 'lightweight', got '{0}'")]
    InvalidStampType(String),
}

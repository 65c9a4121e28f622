//! The contract loader's error: every variant names the file (and key path).

/// Why a contract could not be loaded; every variant names the file (and key path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// A file (the root or a `$ref` target) does not exist.
    #[error("{file}: not found{}", referenced_from.as_ref().map(|(f, k)| format!(" (referenced from {f} at {k})")).unwrap_or_default())]
    Missing {
        /// The missing file.
        file: String,
        /// Where the `$ref` to it was (file, key path).
        referenced_from: Option<(String, String)>,
    },
    /// A file is not valid YAML.
    #[error("{file}: invalid YAML: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// `$ref`s that lead back to themselves.
    #[error("{file} at {key}: $ref cycle: {chain}")]
    Cycle {
        /// File of the `$ref` that closes the cycle.
        file: String,
        /// Its key path.
        key: String,
        /// The chain of references.
        chain: String,
    },
    /// A bad `$ref`, an unknown key, a wrong type or a rule of the contract broken.
    #[error("{file} at {key}: {message}")]
    Invalid {
        /// The file the offending key comes from.
        file: String,
        /// Key path in the resolved contract (`workflow.steps[1].timeout_ms`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

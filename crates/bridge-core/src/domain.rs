//! Validated domain types: parse, don't validate. Holding one means the value is legal.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};

/// A tenant namespace: `^[a-zA-Z0-9_.-]{1,255}$`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Namespace(String);

impl Namespace {
    /// Validates a namespace.
    pub fn parse(s: &str) -> Result<Self> {
        let ok = (1..=255).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::InvalidNamespace(truncate(s, 64)))
        }
    }

    /// The namespace text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Maximum length of a `file_path`, in characters.
pub const MAX_FILE_PATH: usize = 4096;

/// A relative file path without `..`, NUL or other control characters, ≤ 4096 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RelativePath(String);

impl RelativePath {
    /// Validates a relative path.
    pub fn parse(s: &str) -> Result<Self> {
        let err = |why: &str| Err(DomainError::InvalidFilePath(why.to_owned()));
        if s.is_empty() {
            return err("must not be empty");
        }
        // Characters, as JSON Schema's maxLength counts them (the OpenAPI document says 4096).
        if s.chars().count() > MAX_FILE_PATH {
            return err("longer than 4096 characters");
        }
        if s.chars().any(char::is_control) {
            return err("contains NUL or a control character");
        }
        if s.starts_with('/') || s.starts_with('\\') || s.as_bytes().get(1) == Some(&b':') {
            return err("must be relative");
        }
        if s.split(['/', '\\']).any(|c| c == "..") {
            return err("must not contain a '..' component");
        }
        Ok(Self(s.to_owned()))
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension (lowercased), if any.
    pub fn extension(&self) -> Option<String> {
        extension_of(&self.0)
    }
}

/// The lowercased extension of the last component of a path.
pub fn extension_of(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Which stamp format to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StampType {
    /// The multi-line block with every field (default).
    #[default]
    Rich,
    /// One line `ONEX:uid=…,hash=…,ts=…`.
    Lightweight,
}

impl StampType {
    /// Parses `rich` or `lightweight`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "rich" => Ok(Self::Rich),
            "lightweight" => Ok(Self::Lightweight),
            other => Err(DomainError::InvalidStampType(truncate(other, 32))),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rich => "rich",
            Self::Lightweight => "lightweight",
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn namespace_rules() {
        assert!(Namespace::parse("my_app.v2-x").is_ok());
        assert!(Namespace::parse(&"a".repeat(255)).is_ok());
        assert!(Namespace::parse(&"a".repeat(256)).is_err());
        assert!(Namespace::parse("").is_err());
        assert!(Namespace::parse("a b").is_err());
        assert!(Namespace::parse("a/b").is_err());
        assert!(Namespace::parse("é").is_err());
    }

    #[test]
    fn path_rules() {
        assert!(RelativePath::parse("src/app.py").is_ok());
        assert!(RelativePath::parse("a..b/c").is_ok());
        for bad in ["/etc/passwd", "../x", "a/../b", "a\0b", "", "C:\\x", "a\nb"] {
            assert!(RelativePath::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RelativePath::parse(&"a".repeat(4097)).is_err());
        assert_eq!(
            RelativePath::parse("x/y.PY")
                .unwrap()
                .extension()
                .as_deref(),
            Some("py")
        );
        assert_eq!(extension_of(".bashrc"), None);
    }

    proptest! {
        #[test]
        fn namespace_accepts_exactly_its_alphabet(s in "\\PC{0,300}") {
            let legal = !s.is_empty() && s.len() <= 255
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            prop_assert_eq!(Namespace::parse(&s).is_ok(), legal);
        }

        #[test]
        fn accepted_paths_never_escape(s in "[a-z./\\\\]{0,20}") {
            if let Ok(p) = RelativePath::parse(&s) {
                prop_assert!(!p.as_str().starts_with('/'));
                prop_assert!(p.as_str().split(['/', '\\']).all(|c| c != ".."));
            }
        }
    }
}

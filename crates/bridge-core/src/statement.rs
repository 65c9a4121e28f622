//! The signed statement of a stamp (SPEC §11): nine LF-terminated lines, in a fixed order,
//! with the values as stored. Its bytes are what the SSHSIG signature covers and what the
//! transparency log's entry starts with, so the rendering is exact and refuses any value that
//! could add or split a line.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::hash::Blake3Hex;

/// First line: the statement's format and version.
pub const STATEMENT_HEADER: &str = "omninode-stamp/v1";

/// What a stamp's signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// Tenant namespace.
    pub namespace: &'a str,
    /// The stamp.
    pub stamp_id: Uuid,
    /// BLAKE3 of the original content.
    pub file_hash: &'a Blake3Hex,
    /// Its size.
    pub file_size: u64,
    /// Detected MIME type.
    pub content_type: &'a str,
    /// Client's relative path (`-` when absent).
    pub file_path: Option<&'a str>,
    /// Creation time (written with milliseconds, `Z`).
    pub created_at: DateTime<Utc>,
    /// `SHA256:…` fingerprint of the signing key.
    pub key: &'a str,
}

/// A value the statement cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("statement field {field} holds a control character or is empty")]
pub struct StatementError {
    /// The field.
    pub field: &'static str,
}

impl Statement<'_> {
    /// The exact bytes that are signed.
    pub fn render(&self) -> Result<String, StatementError> {
        let text = |field: &'static str, v: &str| {
            if v.is_empty() || v.chars().any(char::is_control) {
                Err(StatementError { field })
            } else {
                Ok(())
            }
        };
        text("namespace", self.namespace)?;
        text("content_type", self.content_type)?;
        text("key", self.key)?;
        let path = self.file_path.unwrap_or("-");
        text("file_path", path)?;
        Ok(format!(
            "{STATEMENT_HEADER}\nnamespace {}\nstamp_id {}\nfile_hash {}\nfile_size {}\n\
             content_type {}\nfile_path {path}\ncreated_at {}\nkey {}\n",
            self.namespace,
            self.stamp_id,
            self.file_hash.as_str(),
            self.file_size,
            self.content_type,
            self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.key,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash() -> Blake3Hex {
        Blake3Hex::parse("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
            .unwrap()
    }

    #[test]
    fn renders_the_spec_lines_exactly() {
        let h = hash();
        let s = Statement {
            namespace: "my_app",
            stamp_id: Uuid::parse_str("0190f3a2-1111-7000-8000-000000000001").unwrap(),
            file_hash: &h,
            file_size: 1234,
            content_type: "text/x-python",
            file_path: Some("src/app.py"),
            created_at: DateTime::parse_from_rfc3339("2026-11-26T12:34:56.789Z")
                .unwrap()
                .with_timezone(&Utc),
            key: "SHA256:4hQxfbBwL1iyn01eVY2eTjSm8qeBfFxXEognH4AIunY",
        };
        assert_eq!(
            s.render().unwrap(),
            "omninode-stamp/v1\n\
             namespace my_app\n\
             stamp_id 0190f3a2-1111-7000-8000-000000000001\n\
             file_hash af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\n\
             file_size 1234\n\
             content_type text/x-python\n\
             file_path src/app.py\n\
             created_at 2026-11-26T12:34:56.789Z\n\
             key SHA256:4hQxfbBwL1iyn01eVY2eTjSm8qeBfFxXEognH4AIunY\n"
        );
        // No path: `-`; whole seconds still get milliseconds.
        let t = DateTime::parse_from_rfc3339("2026-11-26T12:34:56Z")
            .unwrap()
            .with_timezone(&Utc);
        let bare = Statement {
            file_path: None,
            created_at: t,
            ..s.clone()
        }
        .render()
        .unwrap();
        assert!(bare.contains("\nfile_path -\n"), "{bare}");
        assert!(
            bare.contains("\ncreated_at 2026-11-26T12:34:56.000Z\n"),
            "{bare}"
        );
        assert_eq!(bare.lines().count(), 9);
    }

    #[test]
    fn a_value_that_would_add_a_line_is_refused() {
        let h = hash();
        let base = Statement {
            namespace: "ns",
            stamp_id: Uuid::nil(),
            file_hash: &h,
            file_size: 1,
            content_type: "text/plain",
            file_path: None,
            created_at: Utc::now(),
            key: "SHA256:x",
        };
        let path = Statement {
            file_path: Some("a\nkey SHA256:forged"),
            ..base.clone()
        };
        assert_eq!(path.render().unwrap_err().field, "file_path");
        let ct = Statement {
            content_type: "text/plain\r",
            ..base.clone()
        };
        assert_eq!(ct.render().unwrap_err().field, "content_type");
        assert!(Statement { key: "", ..base }.render().is_err());
    }
}

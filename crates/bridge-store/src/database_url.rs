//! The database URL as a secret: it may hold a password, so `Debug` and `Display` show it
//! with the password replaced, and only [`DatabaseUrl::expose`] gives the real text (to the
//! driver, nowhere else).

use std::fmt;
use std::str::FromStr;

/// A database URL whose password never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password; for the database driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the password (if any) replaced by `***`; unparsable text is hidden whole
    /// past its scheme, since it could be anything.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                u.to_string()
            }
            Err(_) => match self.0.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://***"),
                None => "***".into(),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl From<String> for DatabaseUrl {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_prints() {
        let u = DatabaseUrl::new("postgres://app:s3cr3t-pw@db.example:5432/bridge?sslmode=require");
        for shown in [format!("{u:?}"), u.to_string(), u.redacted()] {
            assert!(!shown.contains("s3cr3t-pw"), "{shown}");
            assert!(shown.contains("app:***@db.example:5432/bridge"), "{shown}");
        }
        assert!(u.expose().contains("s3cr3t-pw"));
        // Not a URL at all: nothing of it is shown past the scheme.
        let odd = DatabaseUrl::new("postgres://app:pw@[broken");
        assert_eq!(odd.to_string(), "postgres://***");
        assert_eq!(DatabaseUrl::new("no scheme pw").to_string(), "***");
    }
}

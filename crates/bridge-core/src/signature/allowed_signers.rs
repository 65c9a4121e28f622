//! The OpenSSH `allowed_signers` file (ssh-keygen(1), "ALLOWED SIGNERS"):
//! `principals [options] keytype base64-key [comment]` per line.
//!
//! Hand-written because ssh-key 0.6 reads `authorized_keys` and `known_hosts` but not this
//! format. Only what a stamp verifier needs: Ed25519 keys whose `namespaces=` (if any) admits
//! ours. Other key types cannot have signed a stamp and are skipped; `cert-authority` and the
//! validity options are refused rather than silently ignored, since ignoring them would trust
//! more than the file says.

use ssh_key::{Algorithm, PublicKey};

use super::trusted::TrustedKey;
use super::{KeyId, STAMP_NAMESPACE};

/// A line of an `allowed_signers` file we cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed_signers line {line}: {message}")]
pub struct AllowedSignersError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits on whitespace outside double quotes.
fn tokens(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match (c, start) {
            ('"', _) => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            (c, Some(s)) if c.is_whitespace() && !quoted => {
                out.push(&line[s..i]);
                start = None;
            }
            (c, None) if !c.is_whitespace() => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    out
}

/// Splits an options field on commas outside double quotes.
fn options(field: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in field.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&field[start..]);
    out
}

/// OpenSSH's pattern match: `*` any run, `?` one character.
fn glob(pattern: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-")
}

pub(super) fn parse(text: &str) -> Result<Vec<TrustedKey>, AllowedSignersError> {
    let mut keys = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| AllowedSignersError {
            line: n + 1,
            message,
        };
        let t = tokens(line);
        let (principals, rest) = t.split_first().expect("a non-empty line has a token");
        let (opts, rest) = match rest.first() {
            Some(o) if !is_key_type(o) => (Some(*o), &rest[1..]),
            _ => (None, rest),
        };
        let [key_type, key_b64, ..] = rest else {
            return Err(err("expected 'principals [options] keytype key'".into()));
        };
        let mut admits_ours = true;
        for opt in opts.map(options).unwrap_or_default() {
            let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
            match name.to_ascii_lowercase().as_str() {
                "namespaces" => {
                    let list = value.trim_matches('"');
                    admits_ours = list.split(',').any(|p| glob(p, STAMP_NAMESPACE));
                }
                "cert-authority" | "valid-after" | "valid-before" => {
                    return Err(err(format!("option '{name}' is not supported")))
                }
                other => return Err(err(format!("unknown option '{other}'"))),
            }
        }
        if *key_type != Algorithm::Ed25519.as_str() {
            continue;
        }
        let public = PublicKey::from_openssh(&format!("{key_type} {key_b64}"))
            .map_err(|_| err("the key is not a valid ssh-ed25519 public key".into()))?;
        if admits_ours {
            keys.push(TrustedKey {
                id: KeyId::of(&public),
                public,
                principals: principals.split(',').map(str::to_owned).collect(),
            });
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAzCPsuftbjJWmiN7Oq3rQLKEAvG7VBM65FxMrTCqtfX";

    #[test]
    fn reads_principals_namespaces_and_skips_what_cannot_sign_stamps() {
        let text = format!(
            "# comment\n\n\
             alice@example.com,bob {KEY} a comment\n\
             ci namespaces=\"git,omninode-*\" {KEY}\n\
             other namespaces=\"git\" {KEY}\n\
             rsa ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ\n"
        );
        let keys = parse(&text).unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert_eq!(keys[0].principals, ["alice@example.com", "bob"]);
        assert_eq!(keys[1].principals, ["ci"]);
        assert!(KeyId::is_well_formed(keys[0].id.as_str()));
    }

    #[test]
    fn refuses_what_it_would_otherwise_misread() {
        for (text, want) in [
            (format!("x cert-authority {KEY}"), "not supported"),
            (
                format!("x valid-before=\"20300101\" {KEY}"),
                "not supported",
            ),
            (format!("x frobnicate {KEY}"), "unknown option"),
            ("x ssh-ed25519".to_owned(), "expected"),
            ("x ssh-ed25519 AAAAnotakey".to_owned(), "not a valid"),
        ] {
            let e = parse(&format!("# one\n{text}\n")).unwrap_err();
            assert_eq!(e.line, 2);
            assert!(e.message.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn globs_like_openssh() {
        assert!(glob("omninode-*", "omninode-stamp-v1"));
        assert!(glob("*", ""));
        assert!(glob("omninode-stamp-v?", "omninode-stamp-v1"));
        assert!(!glob("git", "omninode-stamp-v1"));
        assert!(!glob("omninode-stamp-v", "omninode-stamp-v1"));
    }
}

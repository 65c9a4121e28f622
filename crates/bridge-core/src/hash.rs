//! BLAKE3 hashing and the `Blake3Hex` newtype (64 lowercase hex digits).

use std::fmt;

use crate::error::{DomainError, Result};

/// A BLAKE3 digest as 64 lowercase hex digits; holding one means it is well-formed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blake3Hex([u8; 64]);

impl Blake3Hex {
    /// Parses `<64 lowercase hex>` or `blake3:<64 lowercase hex>`.
    pub fn parse(s: &str) -> Result<Self> {
        let hex = s.strip_prefix("blake3:").unwrap_or(s);
        let bytes = hex.as_bytes();
        if bytes.len() != 64 || !bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DomainError::InvalidHash);
        }
        let mut out = [0u8; 64];
        out.copy_from_slice(bytes);
        Ok(Self(out))
    }

    /// The hex digits without prefix.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored (see `parse` and `From<blake3::Hash>`).
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }

    /// The `blake3:`-prefixed form used inside stamps.
    pub fn prefixed(&self) -> String {
        format!("blake3:{}", self.as_str())
    }
}

impl From<blake3::Hash> for Blake3Hex {
    fn from(h: blake3::Hash) -> Self {
        let mut out = [0u8; 64];
        out.copy_from_slice(h.to_hex().as_bytes());
        Self(out)
    }
}

impl fmt::Display for Blake3Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Blake3Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Debug for Blake3Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blake3Hex({})", self.as_str())
    }
}

/// Inputs at least this large are hashed with blake3's rayon-parallel tree mode. Below it the
/// hand-off to another thread costs about what it saves, and under load the other core is
/// busy serving requests anyway (measured in `benches/hashing.rs`).
pub const PARALLEL_THRESHOLD: usize = 4 << 20;

/// Hashes a whole buffer; large buffers use both cores.
pub fn hash_bytes(data: &[u8]) -> Blake3Hex {
    if data.len() >= PARALLEL_THRESHOLD {
        let mut h = blake3::Hasher::new();
        h.update_rayon(data);
        h.finalize().into()
    } else {
        blake3::hash(data).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_blake3_reference_vector() {
        // BLAKE3 of the empty input, from the reference test vectors.
        assert_eq!(
            hash_bytes(b"").as_str(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn parallel_and_serial_agree() {
        let data = vec![7u8; PARALLEL_THRESHOLD + 12345];
        assert_eq!(hash_bytes(&data), Blake3Hex::from(blake3::hash(&data)));
    }

    #[test]
    fn parse_accepts_prefix_and_rejects_bad_forms() {
        let h = hash_bytes(b"x");
        assert_eq!(Blake3Hex::parse(&h.prefixed()).unwrap(), h);
        assert_eq!(Blake3Hex::parse(h.as_str()).unwrap(), h);
        assert!(Blake3Hex::parse(&h.as_str().to_uppercase()).is_err());
        assert!(Blake3Hex::parse(&h.as_str()[..63]).is_err());
        assert!(Blake3Hex::parse("sha256:00").is_err());
        assert!(Blake3Hex::parse(&format!("{}0", h.as_str())).is_err());
    }
}

//! `c2sp.org/tlog-proof@v1`: an entry's index, its inclusion proof and the checkpoint it is
//! proven against, as one text that verifies offline.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::note::{LogVerifier, VerifiedCheckpoint};
use super::{check_record, record_hash, Hash};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A proof that cannot be read or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofError(pub String);

/// An inclusion proof with its checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct TlogProof {
    /// The entry's index.
    pub index: u64,
    /// Hashes from the leaf's sibling up to the root's child.
    pub path: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        writeln!(f, "index {}", self.index)?;
        for h in &self.path {
            writeln!(f, "{}", B64.encode(h.0))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl TlogProof {
    /// Reads a proof (an `extra` line is accepted and ignored: it is not authenticated).
    pub fn parse(text: &str) -> Result<Self, ProofError> {
        let bad = |why: &str| ProofError(format!("not a tlog-proof: {why}"));
        let rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| bad("first line must be c2sp.org/tlog-proof@v1"))?;
        let (head, checkpoint) = rest
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.lines().peekable();
        if lines.peek().is_some_and(|l| l.starts_with("extra ")) {
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .filter(|n| !n.is_empty() && (*n == "0" || !n.starts_with('0')))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("expected 'index <decimal>'"))?;
        let path = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|h| <[u8; 32]>::try_from(h).ok())
                    .map(Hash)
                    .ok_or_else(|| bad("a proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if path.len() > 64 {
            return Err(bad("longer than any tree's proof"));
        }
        Ok(Self {
            index,
            path,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies the checkpoint with the log's key and that `entry` is at `index` in it.
    pub fn verify(
        &self,
        log: &LogVerifier,
        entry: &[u8],
    ) -> Result<VerifiedCheckpoint, ProofError> {
        let cp = log
            .verify(&self.checkpoint)
            .map_err(|e| ProofError(format!("checkpoint: {e}")))?;
        if self.index >= cp.size {
            return Err(ProofError(format!(
                "index {} is beyond the checkpoint's tree of {}",
                self.index, cp.size
            )));
        }
        check_record(&self.path, cp.size, cp.root, self.index, record_hash(entry))
            .map_err(|_| ProofError("the inclusion proof does not verify".into()))?;
        Ok(cp)
    }
}

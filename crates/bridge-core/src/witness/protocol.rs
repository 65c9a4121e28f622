//! C2SP tlog-witness `add-checkpoint`: the request body (old size, consistency proof, blank
//! line, checkpoint), the `text/x.tlog.size` body of a 409, and the witness's checks in the
//! order the spec gives them, as a pure function of the request and the stored state.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::tlog::{check_tree, parse_checkpoint, split_note, Hash, LogVerifier, NoteSignature};

use super::cosign::empty_root;

/// Most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;
/// The media type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A request body that does not follow tlog-witness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

/// An `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq)]
pub struct AddCheckpoint {
    /// The size the client believes the witness last cosigned.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

fn decimal(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0')))
        .then(|| s.parse().ok())
        .flatten()
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old)?;
        for h in &self.proof {
            writeln!(f, "{}", B64.encode(h.0))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl AddCheckpoint {
    /// Reads a request body.
    pub fn parse(body: &str) -> Result<Self, ProtocolError> {
        let bad = |why: &str| ProtocolError(why.to_owned());
        let (head, checkpoint) = body.split_once("\n\n").ok_or_else(|| {
            bad("the body is an old size line, proof lines, an empty line, then the checkpoint")
        })?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(decimal)
            .ok_or_else(|| bad("the first line must be 'old <decimal size>'"))?;
        let proof = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|h| <[u8; 32]>::try_from(h).ok())
                    .map(Hash)
                    .ok_or_else(|| bad("a consistency proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        Ok(Self {
            old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// Reads the body of a 409 (`text/x.tlog.size`): a decimal and a newline.
pub fn parse_size(body: &str) -> Option<u64> {
    body.strip_suffix('\n').and_then(decimal)
}

/// What a witness stores of a log: the latest checkpoint it cosigned.
#[derive(Clone, Debug, PartialEq)]
pub struct WitnessedState {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// Why a witness refuses a request; each maps to the status tlog-witness gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body does not follow the protocol.
    #[error("{0}")]
    Malformed(String),
    /// 404: no trusted key for the checkpoint's origin.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no signature by a trusted key of that origin verifies.
    #[error("no trusted signature of {0:?} verifies")]
    Forbidden(String),
    /// 400: old size above the checkpoint's.
    #[error("old size {old} is above the checkpoint's size {size}")]
    OldTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// 409 with `text/x.tlog.size`: the old size is not the latest cosigned.
    #[error("old size {old} is not the latest cosigned size {latest}")]
    SizeMismatch {
        /// The request's old size.
        old: u64,
        /// The latest cosigned size.
        latest: u64,
    },
    /// 422: the consistency proof does not verify (or an empty tree's root is wrong).
    #[error("{0}")]
    Inconsistent(String),
    /// 409: same size as the latest cosigned, another root.
    #[error("size {0} was cosigned with another root hash")]
    RootMismatch(u64),
}

impl Refusal {
    /// The HTTP status tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldTooLarge { .. } => 400,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::Forbidden(_) => 403,
            Refusal::SizeMismatch { .. } | Refusal::RootMismatch(_) => 409,
            Refusal::Inconsistent(_) => 422,
        }
    }

    /// Whether this may be evidence of a log's misbehaviour (a signed checkpoint that does
    /// not extend what was cosigned): worth keeping.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Refusal::Inconsistent(_) | Refusal::RootMismatch(_))
    }
}

/// A request that passed every check: what to cosign and store.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    /// The log's origin.
    pub origin: String,
    /// The checkpoint's text (what a cosignature covers).
    pub text: String,
    /// Its tree.
    pub state: WitnessedState,
    /// The log's signatures that verified (what a witness keeps beside its own).
    pub log_signatures: Vec<NoteSignature>,
}

/// The checks of tlog-witness, in its order, against the stored state of the checkpoint's
/// origin (`stored`: `None` if never cosigned). `keys` gives the trusted keys of an origin.
pub fn check<'k>(
    req: &AddCheckpoint,
    keys: impl Fn(&str) -> Option<&'k [LogVerifier]>,
    stored: Option<&WitnessedState>,
) -> Result<Accepted, Refusal> {
    let (text, sigs) =
        split_note(&req.checkpoint).map_err(|e| Refusal::Malformed(format!("checkpoint: {e}")))?;
    let (origin, cp) =
        parse_checkpoint(text).map_err(|e| Refusal::Malformed(format!("checkpoint: {e}")))?;
    let trusted = keys(origin).ok_or_else(|| Refusal::UnknownOrigin(origin.to_owned()))?;
    let verified: Vec<&LogVerifier> = trusted
        .iter()
        .filter(|k| k.open(&req.checkpoint).is_ok())
        .collect();
    if verified.is_empty() {
        return Err(Refusal::Forbidden(origin.to_owned()));
    }
    let log_signatures = sigs
        .into_iter()
        .filter(|s| verified.iter().any(|k| k.claims(s)))
        .collect();
    if req.old > cp.size {
        return Err(Refusal::OldTooLarge {
            old: req.old,
            size: cp.size,
        });
    }
    let latest = stored.map_or(0, |s| s.size);
    if req.old != latest {
        return Err(Refusal::SizeMismatch {
            old: req.old,
            latest,
        });
    }
    if req.old == 0 {
        if !req.proof.is_empty() {
            return Err(Refusal::Inconsistent(
                "the proof must be empty from old size 0".into(),
            ));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(Refusal::Inconsistent(
                "an empty tree's root is SHA-256 of nothing".into(),
            ));
        }
        // A stored empty tree has the one empty root, checked when it was stored.
    } else {
        let old_root = stored.expect("old > 0 matched a stored size").root;
        if req.old == cp.size {
            if cp.root != old_root {
                return Err(Refusal::RootMismatch(cp.size));
            }
            if !req.proof.is_empty() {
                return Err(Refusal::Inconsistent(
                    "the proof between equal sizes is empty".into(),
                ));
            }
        } else {
            check_tree(&req.proof, cp.size, cp.root, req.old, old_root).map_err(|_| {
                Refusal::Inconsistent(format!(
                    "the consistency proof from {} to {} does not verify",
                    req.old, cp.size
                ))
            })?;
        }
    }
    Ok(Accepted {
        origin: origin.to_owned(),
        text: text.to_owned(),
        state: WitnessedState {
            size: cp.size,
            root: cp.root,
        },
        log_signatures,
    })
}

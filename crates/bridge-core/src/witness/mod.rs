//! Witnessed checkpoints (SPEC §13, C2SP tlog-witness, tlog-cosignature, tlog-policy): the
//! pure formats and checks both sides share. A log asks witnesses to cosign its checkpoints;
//! a witness checks each new checkpoint is consistent with the last it cosigned; a verifier
//! trusts a checkpoint only with a quorum of cosignatures. The HTTP client loop, the witness
//! server and their storage sit above this module.

mod cosign;
mod policy;
mod protocol;

pub use cosign::{
    empty_root, Cosigned, Cosigner, CosignerKey, ED25519_COSIGNATURE, ML_DSA_44_COSIGNATURE,
};
pub use policy::{Policy, PolicyError, PolicyLog, PolicyWitness, WitnessedCheckpoint};
pub use protocol::{
    check, parse_size, Accepted, AddCheckpoint, ProtocolError, Refusal, WitnessedState,
    MAX_PROOF_LINES, SIZE_CONTENT_TYPE,
};

#[cfg(test)]
mod tests;

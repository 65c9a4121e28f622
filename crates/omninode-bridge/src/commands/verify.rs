//! `verify`: offline validation; a `FILE.onex-stamp` sidecar is used when present. Reports
//! each file's reason and trust level (SPEC §11); `--require` turns a trust level into the exit
//! code, `--export` writes what `ssh-keygen -Y verify` needs to check a signature itself.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bridge_core::signature::{armor, decode_signature, Keyring, Trust, TrustedKey};
use bridge_core::stamp::{self, Validation};
use bridge_core::tlog::{self, LogVerifier, TlogProof};
use ssh_key::PublicKey;

use super::keys::check_identity;
use super::stamp::sidecar_path;
use crate::cli::{RequiredTrust, VerifyArgs};

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if args.export.is_some() && args.files.len() != 1 {
        bail!("--export writes one stamp's files: give exactly one FILE");
    }
    if args.proof.is_some() && args.files.len() != 1 {
        bail!("--proof is one stamp's proof: give exactly one FILE");
    }
    let policy = args
        .policy
        .as_deref()
        .map(super::witness::read_policy)
        .transpose()?;
    // The logs a proof may come from: --log-key, else the policy's `log` lines.
    let logs: Vec<LogVerifier> = match (args.log_key.as_deref(), &policy) {
        (Some(k), _) => vec![read_log_key(k)?],
        (None, Some(p)) => p.logs().iter().map(|l| l.key.clone()).collect(),
        (None, None) => Vec::new(),
    };
    check_identity(&args.identity)?;
    let ring = match &args.trust {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Keyring::from_allowed_signers(&text).with_context(|| format!("{}", path.display()))?
        }
        None => Keyring::default(),
    };
    let mut all_ok = true;
    for path in &args.files {
        let v = validate_file(path)?;
        let mut trust = v.trust(&ring);
        let proof_path = args.proof.clone().unwrap_or_else(|| proof_path(path));
        let proof = proof_path
            .exists()
            .then(|| std::fs::read_to_string(&proof_path))
            .transpose()
            .with_context(|| format!("{}", proof_path.display()))?;
        let mut log_note = None;
        if let (Some(text), true) = (&proof, trust >= Trust::Trusted) {
            match (logs.is_empty(), logged(text, &v)) {
                (true, _) => {
                    log_note = Some(
                        "a log proof is here; give --log-key or --policy to check it".to_owned(),
                    )
                }
                (false, Err(e)) => log_note = Some(format!("log proof: {e}")),
                (false, Ok((proof, entry))) => match verify_proof(&proof, &logs, &entry) {
                    Ok((key, cp)) => {
                        trust = Trust::Logged;
                        let mut note =
                            format!("logged at index {} of a tree of {}", proof.index, cp.size);
                        if let Some(p) = &policy {
                            match p.verify(&proof.checkpoint, Some(key)) {
                                Ok(w) if w.quorum_met => {
                                    trust = Trust::Witnessed;
                                    note.push_str(&format!(
                                        ", witnessed by {} (quorum {} met)",
                                        names(&w),
                                        p.quorum_name()
                                    ));
                                }
                                Ok(w) => note.push_str(&format!(
                                    ", cosigned by {} only: quorum {} not met",
                                    names(&w),
                                    p.quorum_name()
                                )),
                                Err(e) => note.push_str(&format!(", cosignatures: {e}")),
                            }
                        }
                        log_note = Some(note);
                    }
                    Err(e) => log_note = Some(format!("log proof does not verify: {e}")),
                },
            }
        }
        let detail = match (&v.detail, &v.signed_by) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(id)) => Some(match ring.get(id) {
                Some(k) => format!("signed by {id}, {}", k.principals.join(",")),
                None => format!("signed by {id}, a key not in --trust"),
            }),
            (None, None) if v.is_valid() => Some("no signature".to_owned()),
            (None, None) => None,
        };
        let status = if v.is_valid() {
            format!("{} {}", v.reason.as_str(), trust.as_str())
        } else {
            v.reason.as_str().to_owned()
        };
        let detail = match (detail, log_note) {
            (Some(d), Some(l)) => Some(format!("{d}; {l}")),
            (d, l) => d.or(l),
        };
        match detail {
            Some(d) => println!("{}: {status} ({d})", path.display()),
            None => println!("{}: {status}", path.display()),
        }
        let needed = match args.require {
            None => Trust::Unsigned,
            Some(RequiredTrust::Trusted) => Trust::Trusted,
            Some(RequiredTrust::Logged) => Trust::Logged,
            Some(RequiredTrust::Witnessed) => Trust::Witnessed,
        };
        if v.is_valid() && trust < needed {
            eprintln!(
                "{}: {} is below the required {}{}",
                path.display(),
                trust.as_str(),
                needed.as_str(),
                match (needed, trust) {
                    (Trust::Logged, t) if t < Trust::Logged =>
                        " (a verified tlog-proof and --log-key are needed)",
                    (Trust::Witnessed, t) if t < Trust::Logged =>
                        " (a verified tlog-proof and --policy are needed)",
                    (Trust::Witnessed, _) =>
                        " (the proof's checkpoint must carry cosignatures meeting --policy's quorum)",
                    _ => "",
                }
            );
        }
        all_ok &= v.is_valid() && trust >= needed;
        if let Some(dir) = &args.export {
            export(dir, &v, &ring, &args.identity)?;
            if let Some(text) = &proof {
                let p = dir.join("stamp.tlog-proof");
                std::fs::write(&p, text)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn validate_file(path: &Path) -> anyhow::Result<Validation> {
    let content = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let sidecar = sidecar_path(path);
    let v = if sidecar.exists() {
        let text =
            std::fs::read_to_string(&sidecar).with_context(|| format!("{}", sidecar.display()))?;
        stamp::validate_sidecar(&content, &text, None)
    } else {
        stamp::validate(&content, None)
    };
    Ok(v)
}

/// Writes `statement` (over the file as it is now, so the stock tool checks the file too),
/// `stamp.sig` (armored SSHSIG) and `allowed_signers`.
fn export(dir: &Path, v: &Validation, ring: &Keyring, identity: &str) -> anyhow::Result<()> {
    let Some(stamp) = &v.stamp else {
        bail!("--export: the file has no stamp");
    };
    let (Some(signature), Some(statement)) = (
        stamp.signature.as_deref(),
        stamp.statement_for(&v.current_hash, v.original_size),
    ) else {
        bail!("--export: the stamp is not signed");
    };
    let statement = statement.context("--export")?;
    let sig = decode_signature(signature).context("--export")?;
    let public = PublicKey::from(sig.public_key().clone());
    let signer = ring
        .keys()
        .iter()
        .find(|k| k.public.key_data() == public.key_data())
        .cloned()
        .unwrap_or_else(|| TrustedKey::new(public, identity));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write("statement", &statement)?;
    write("stamp.sig", &armor(&sig))?;
    write(
        "allowed_signers",
        &format!("{}\n", signer.allowed_signers_line()),
    )?;
    eprintln!(
        "wrote {dir}/statement, stamp.sig, allowed_signers; check with:\n  ssh-keygen -Y verify -f {dir}/allowed_signers -I {principal} -n {ns} -s {dir}/stamp.sig < {dir}/statement",
        dir = dir.display(),
        principal = signer.principals[0],
        ns = bridge_core::signature::STAMP_NAMESPACE,
    );
    Ok(())
}

/// `FILE.tlog-proof` next to `FILE`.
fn proof_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tlog-proof");
    std::path::PathBuf::from(s)
}

/// A vkey given as is, or the first line of a file holding it.
pub(crate) fn read_log_key(given: &str) -> anyhow::Result<LogVerifier> {
    let text = if Path::new(given).is_file() {
        std::fs::read_to_string(given).with_context(|| format!("cannot read {given}"))?
    } else {
        given.to_owned()
    };
    LogVerifier::from_vkey(text.lines().next().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("--log-key: {e}"))
}

/// The proof verified against the first of `logs` whose checkpoint it is.
fn verify_proof<'k>(
    proof: &TlogProof,
    logs: &'k [LogVerifier],
    entry: &[u8],
) -> anyhow::Result<(&'k LogVerifier, tlog::VerifiedCheckpoint)> {
    let mut last = None;
    for key in logs {
        match proof.verify(key, entry) {
            Ok(cp) => return Ok((key, cp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no log key"), anyhow::Error::from))
}

/// The witnesses whose cosignatures verified, for a message.
fn names(w: &bridge_core::witness::WitnessedCheckpoint) -> String {
    if w.cosigned.is_empty() {
        return "no witness".into();
    }
    w.cosigned
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The proof, and the log entry the stamp must be: its statement and signature line.
fn logged(text: &str, v: &Validation) -> anyhow::Result<(TlogProof, Vec<u8>)> {
    let proof = TlogProof::parse(text)?;
    let stamp = v.stamp.as_ref().context("no stamp")?;
    let signature = stamp
        .signature
        .as_deref()
        .context("the stamp is not signed")?;
    let statement = stamp
        .statement_for(&v.current_hash, v.original_size)
        .context("the stamp is not signed")??;
    Ok((proof, tlog::entry(&statement, signature)))
}

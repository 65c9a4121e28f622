//! C2SP tlog-policy files: the logs a verifier accepts, the witnesses it knows (with their
//! submission URLs, for a log that asks them), and the quorum a checkpoint's cosignatures
//! must meet. Errors name the line. Names are compared as the bytes they are; the file must be
//! UTF-8 (the spec allows other high-bit octets, we refuse them with a clear error).

use std::collections::HashMap;

use crate::tlog::{parse_checkpoint, split_note, LogVerifier, NoteError, VerifiedCheckpoint};

use super::cosign::{Cosigned, CosignerKey};

/// Limits we hold a policy to (the spec recommends supporting at least 32 of each).
const MAX_LOGS: usize = 64;
const MAX_WITNESSES: usize = 64;
const MAX_GROUPS: usize = 64;

/// A policy file we cannot use: the line (1-based; 0 for the file as a whole) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if *line > 0 { format!("line {line}: ") } else { String::new() })]
pub struct PolicyError {
    /// The line, from 1; 0 when no line is to blame.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A log the policy accepts.
#[derive(Clone, Debug)]
pub struct PolicyLog {
    /// Its checkpoint key (the name is the origin).
    pub key: LogVerifier,
    /// Its URL, if given.
    pub url: Option<String>,
}

/// A witness the policy knows.
#[derive(Clone, Debug)]
pub struct PolicyWitness {
    /// The policy's own name for it (used by groups and the quorum).
    pub name: String,
    /// Its cosignature key.
    pub key: CosignerKey,
    /// Its submission prefix, if given.
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
struct Group {
    name: String,
    k: usize,
    members: Vec<Member>,
}

/// A parsed policy.
#[derive(Clone, Debug)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None`: `quorum none`.
    quorum: Option<Member>,
}

/// A checkpoint checked against a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct WitnessedCheckpoint {
    /// The log's origin.
    pub origin: String,
    /// Its size and root.
    pub checkpoint: VerifiedCheckpoint,
    /// The policy's witnesses whose cosignatures verified (policy name, cosigner, time).
    pub cosigned: Vec<(String, Cosigned)>,
    /// Whether those meet the quorum.
    pub quorum_met: bool,
}

fn whitespace(b: char) -> bool {
    b == ' ' || b == '\t'
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut names: HashMap<String, Member> = HashMap::new();
        let mut quorum_seen = false;
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            let fail = |message: String| PolicyError { line: n, message };
            if let Some(c) = raw.chars().find(|c| c.is_ascii_control() && *c != '\t') {
                return Err(fail(format!(
                    "control character 0x{:02x} (only tab and newline are allowed)",
                    c as u32
                )));
            }
            let line = raw.trim_matches(whitespace);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split(whitespace).filter(|w| !w.is_empty()).collect();
            match words[0] {
                "log" => {
                    let (vkey, url) = match words[1..] {
                        [vkey] => (vkey, None),
                        [vkey, url] => (vkey, Some(url.to_owned())),
                        _ => return Err(fail("expected 'log <vkey> [<url>]'".into())),
                    };
                    let key =
                        LogVerifier::from_vkey(vkey).map_err(|e| fail(format!("log key: {e}")))?;
                    if p.logs
                        .iter()
                        .any(|l| l.key.public_bytes() == key.public_bytes())
                    {
                        return Err(fail("duplicate log key".into()));
                    }
                    if p.logs.len() == MAX_LOGS {
                        return Err(fail(format!("more than {MAX_LOGS} logs")));
                    }
                    p.logs.push(PolicyLog { key, url });
                }
                "witness" => {
                    let (name, vkey, url) = match words[1..] {
                        [name, vkey] => (name, vkey, None),
                        [name, vkey, url] => (name, vkey, Some(url.to_owned())),
                        _ => return Err(fail("expected 'witness <name> <vkey> [<url>]'".into())),
                    };
                    let key = CosignerKey::from_vkey(vkey)
                        .map_err(|e| fail(format!("witness {name}: {e}")))?;
                    if p.witnesses.iter().any(|w| w.key.same_key(&key)) {
                        return Err(fail(format!("witness {name}: duplicate witness key")));
                    }
                    if p.witnesses.len() == MAX_WITNESSES {
                        return Err(fail(format!("more than {MAX_WITNESSES} witnesses")));
                    }
                    define(&mut names, name, Member::Witness(p.witnesses.len())).map_err(fail)?;
                    p.witnesses.push(PolicyWitness {
                        name: name.to_owned(),
                        key,
                        url,
                    });
                }
                "group" => {
                    let [_, name, threshold, members @ ..] = &words[..] else {
                        return Err(fail("expected 'group <name> all|any|<k> <name>...'".into()));
                    };
                    if members.is_empty() {
                        return Err(fail(format!("group {name} has no members")));
                    }
                    let mut list = Vec::new();
                    for m in members {
                        let member = *names.get(*m).ok_or_else(|| {
                            fail(format!(
                                "group {name}: {m} is not defined on an earlier line"
                            ))
                        })?;
                        if list.contains(&member) {
                            return Err(fail(format!("group {name}: {m} is listed twice")));
                        }
                        list.push(member);
                    }
                    let k = match *threshold {
                        "all" => list.len(),
                        "any" => 1,
                        k => k
                            .parse::<usize>()
                            .ok()
                            .filter(|k| {
                                (1..=list.len()).contains(k) && !threshold.starts_with('0')
                            })
                            .ok_or_else(|| {
                                fail(format!(
                                    "group {name}: threshold {k:?} must be all, any or a decimal from 1 to {}",
                                    list.len()
                                ))
                            })?,
                    };
                    if p.groups.len() == MAX_GROUPS {
                        return Err(fail(format!("more than {MAX_GROUPS} groups")));
                    }
                    define(&mut names, name, Member::Group(p.groups.len())).map_err(fail)?;
                    p.groups.push(Group {
                        name: (*name).to_owned(),
                        k,
                        members: list,
                    });
                }
                "quorum" => {
                    let [_, name] = words[..] else {
                        return Err(fail("expected 'quorum <name>'".into()));
                    };
                    if quorum_seen {
                        return Err(fail("a policy has exactly one quorum line".into()));
                    }
                    quorum_seen = true;
                    p.quorum = if name == "none" {
                        None
                    } else {
                        Some(*names.get(name).ok_or_else(|| {
                            fail(format!("quorum {name}: not defined on an earlier line"))
                        })?)
                    };
                }
                other => {
                    return Err(fail(format!(
                        "unknown keyword {other:?} (log, witness, group, quorum)"
                    )))
                }
            }
        }
        if !quorum_seen {
            return Err(PolicyError {
                line: 0,
                message: "no quorum line (write 'quorum none' to require no cosignatures)".into(),
            });
        }
        Ok(p)
    }

    /// The logs.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Whether the quorum is `none`.
    pub fn needs_no_cosignature(&self) -> bool {
        self.quorum.is_none()
    }

    /// The quorum line, as written (`none`, or the witness or group name).
    pub fn quorum_name(&self) -> &str {
        match self.quorum {
            None => "none",
            Some(Member::Witness(i)) => &self.witnesses[i].name,
            Some(Member::Group(i)) => &self.groups[i].name,
        }
    }

    /// The policy as a tlog-policy file without URLs (what a verifier needs: logs, witnesses,
    /// groups, quorum), for publishing.
    pub fn public_text(&self) -> String {
        let mut out = String::new();
        for l in &self.logs {
            out.push_str(&format!("log {}\n", l.key.vkey()));
        }
        for w in &self.witnesses {
            out.push_str(&format!("witness {} {}\n", w.name, w.key.vkey()));
        }
        let name = |m: &Member| match *m {
            Member::Witness(i) => self.witnesses[i].name.as_str(),
            Member::Group(i) => self.groups[i].name.as_str(),
        };
        for g in &self.groups {
            let members: Vec<&str> = g.members.iter().map(name).collect();
            out.push_str(&format!("group {} {} {}\n", g.name, g.k, members.join(" ")));
        }
        out.push_str(&format!("quorum {}\n", self.quorum_name()));
        out
    }

    /// Whether witnesses `cosigned` (indexes into [`Policy::witnesses`]) meet the quorum.
    pub fn quorum_met(&self, cosigned: &[bool]) -> bool {
        self.quorum.is_none_or(|q| self.met(q, cosigned))
    }

    fn met(&self, m: Member, cosigned: &[bool]) -> bool {
        match m {
            Member::Witness(i) => cosigned.get(i).copied().unwrap_or(false),
            Member::Group(g) => {
                let g = &self.groups[g];
                g.members.iter().filter(|m| self.met(**m, cosigned)).count() >= g.k
            }
        }
    }

    /// Verifies a checkpoint note: signed by one of the policy's logs (by `log` when given,
    /// else by any), every cosignature of a known witness checked (one that fails rejects the
    /// note, as signed-note asks), and whether they meet the quorum.
    pub fn verify(
        &self,
        note: &str,
        log: Option<&LogVerifier>,
    ) -> Result<WitnessedCheckpoint, NoteError> {
        let checkpoint = match log {
            Some(l) => l.verify(note)?,
            None => {
                let mut last = NoteError("the policy names no log".into());
                let mut found = None;
                for l in &self.logs {
                    match l.key.verify(note) {
                        Ok(cp) => {
                            found = Some(cp);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                found.ok_or(last)?
            }
        };
        let (text, sigs) = split_note(note)?;
        let (origin, _) = parse_checkpoint(text)?;
        let cosigned = self.cosignatures(text, origin, &checkpoint, &sigs)?;
        let mut by = vec![false; self.witnesses.len()];
        for (i, _) in &cosigned {
            by[*i] = true;
        }
        Ok(WitnessedCheckpoint {
            origin: origin.to_owned(),
            quorum_met: self.quorum_met(&by),
            checkpoint,
            cosigned: cosigned
                .into_iter()
                .map(|(i, c)| (self.witnesses[i].name.clone(), c))
                .collect(),
        })
    }

    /// The cosignatures among `sigs` by the policy's witnesses, each verified (index into
    /// [`Policy::witnesses`] and what it says); a known key whose signature fails is an error.
    pub fn cosignatures(
        &self,
        text: &str,
        origin: &str,
        cp: &VerifiedCheckpoint,
        sigs: &[crate::tlog::NoteSignature],
    ) -> Result<Vec<(usize, Cosigned)>, NoteError> {
        let mut out: Vec<(usize, Cosigned)> = Vec::new();
        for s in sigs {
            let Some(i) = self.witnesses.iter().position(|w| w.key.claims(s)) else {
                continue;
            };
            let time = self.witnesses[i].key.verify(text, origin, cp, &s.sig)?;
            if !out.iter().any(|(j, _)| *j == i) {
                out.push((
                    i,
                    Cosigned {
                        name: s.name.clone(),
                        time,
                    },
                ));
            }
        }
        Ok(out)
    }
}

fn define(names: &mut HashMap<String, Member>, name: &str, m: Member) -> Result<(), String> {
    if name == "none" {
        return Err("the name none is reserved".into());
    }
    if names.insert(name.to_owned(), m).is_some() {
        return Err(format!("{name} is defined twice"));
    }
    Ok(())
}

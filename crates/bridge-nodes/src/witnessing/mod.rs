//! The log side of witnessing (SPEC §13): ask the policy's witnesses to cosign the log's
//! checkpoints (C2SP tlog-witness), keep what they answer, and publish the newest checkpoint
//! whose cosignatures meet the quorum.
//!
//! Rounds: at most once per `interval`, the newest log-signed checkpoint goes to every witness
//! that has not cosigned it and has no request in flight, all at once (keep-alive, a
//! timeout), each with the consistency proof from the size that witness last cosigned (kept
//! in the database, learned from a 409). So all witnesses are asked about the same
//! checkpoint and their cosignatures meet on one size; a slow one joins a later round and
//! never holds the others up. Only the instance holding the lease talks to witnesses; the
//! others read the witnessed checkpoint it stored.

mod client;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bridge_core::tlog::{self, NoteSignature};
use bridge_core::witness::Policy;
use bridge_store::log::{with_hashes, Dyn};
use bridge_store::{Cosignature, Evidence, LogCheckpoint, Store, WitnessSize, WitnessingWrite};
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use client::{Answer, Client};

/// The lease's name in the database.
const LEASE: &str = "witnesses";
/// How long a lease lasts without renewal: another instance takes over after this.
const LEASE_TTL: Duration = Duration::from_secs(10);
/// Longest wait for one witness's answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How the log asks its witnesses.
#[derive(Clone, Debug)]
pub struct WitnessingSpec {
    /// The policy: witnesses (with their submission URLs) and the quorum.
    pub policy: Policy,
    /// At most one request per witness per interval.
    pub interval: Duration,
    /// How long `?wait=witnessed` waits for a witnessed checkpoint.
    pub wait: Duration,
}

/// A checkpoint whose cosignatures meet the quorum.
#[derive(Clone, Debug, PartialEq)]
pub struct Witnessed {
    /// Tree size.
    pub size: u64,
    /// The note: the log's signature and every kept cosignature.
    pub note: Arc<str>,
}

/// What `/health` and the metrics show of one witness.
#[derive(Clone, Debug, Default)]
pub struct WitnessView {
    /// The size it last cosigned (or named in a 409), if known.
    pub size: Option<u64>,
    /// When it last cosigned.
    pub last_cosigned_at: Option<DateTime<Utc>>,
    /// Its last failure (cleared by a cosignature).
    pub last_error: Option<String>,
    /// Requests by outcome (`200`, `409`, …, `error`, `invalid`).
    pub requests: BTreeMap<String, u64>,
}

struct WitnessState {
    /// The policy's witness index.
    index: usize,
    /// Its submission prefix; `None`: listed for verification only, never asked.
    url: Option<String>,
    view: Mutex<WitnessView>,
    in_flight: AtomicBool,
}

/// The witnessing of one log: shared by the loop and the API.
pub struct Witnessing {
    spec: WitnessingSpec,
    witnesses: Vec<WitnessState>,
    witnessed: watch::Sender<Option<Witnessed>>,
    leader: AtomicBool,
    client: Client,
    /// When this process began witnessing (the lag of a witness never heard from).
    started: Instant,
    /// Cosignature lines gathered per checkpoint size (policy witness index, line): the
    /// quorum is decided here, without a read of the store.
    cosigned: Mutex<BTreeMap<u64, Vec<(usize, String)>>>,
    /// What is learned and not yet written.
    pending: Mutex<WitnessingWrite>,
}

impl std::fmt::Debug for Witnessing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnessing")
            .field("witnesses", &self.witnesses.len())
            .field("quorum", &self.spec.policy.quorum_name())
            .finish_non_exhaustive()
    }
}

impl Witnessing {
    /// Witnessing by `spec`'s policy.
    pub fn new(spec: WitnessingSpec) -> Result<Self, String> {
        let witnesses = spec
            .policy
            .witnesses()
            .iter()
            .enumerate()
            .map(|(index, w)| WitnessState {
                index,
                url: w.url.clone(),
                view: Mutex::new(WitnessView::default()),
                in_flight: AtomicBool::new(false),
            })
            .collect();
        Ok(Self {
            client: Client::new(REQUEST_TIMEOUT)?,
            witnesses,
            witnessed: watch::channel(None).0,
            leader: AtomicBool::new(false),
            started: Instant::now(),
            cosigned: Mutex::new(BTreeMap::new()),
            pending: Mutex::new(WitnessingWrite::default()),
            spec,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.spec.policy
    }

    /// Whether checkpoints need cosignatures at all (`quorum none` does not).
    pub fn enforced(&self) -> bool {
        !self.spec.policy.needs_no_cosignature()
    }

    /// The newest witnessed checkpoint known here.
    pub fn witnessed(&self) -> Option<Witnessed> {
        self.witnessed.borrow().clone()
    }

    /// Waits (up to `--witness-wait`) for a witnessed checkpoint that includes entry `index`.
    pub async fn wait_for(&self, index: u64) -> Option<Witnessed> {
        let mut rx = self.witnessed.subscribe();
        let covered = |w: &Option<Witnessed>| w.as_ref().is_some_and(|w| w.size > index);
        let waited = tokio::time::timeout(self.spec.wait, rx.wait_for(covered)).await;
        match waited {
            Ok(Ok(w)) => w.clone(),
            _ => None,
        }
    }

    /// How long this process has been witnessing.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether this instance holds the lease (talks to the witnesses).
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// Each witness of the policy: its policy name and what is known of it.
    pub fn views(&self) -> Vec<(String, WitnessView)> {
        self.witnesses
            .iter()
            .map(|w| {
                (
                    self.spec.policy.witnesses()[w.index].name.clone(),
                    w.view.lock().expect("not poisoned").clone(),
                )
            })
            .collect()
    }

    /// Whether the witnesses that answered well last time could meet the quorum now.
    pub fn quorum_reachable(&self) -> bool {
        let ok: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| {
                let v = w.view.lock().expect("not poisoned");
                v.last_error.is_none() && v.last_cosigned_at.is_some()
            })
            .collect();
        self.spec.policy.quorum_met(&ok)
    }

    /// Makes `w` the witnessed checkpoint if it is newer; whether it was.
    fn publish(&self, w: Witnessed) -> bool {
        self.witnessed.send_if_modified(|cur| {
            // Larger, or the same with more cosignatures (a witness that answered late).
            if cur
                .as_ref()
                .is_none_or(|c| (c.size, c.note.len()) < (w.size, w.note.len()))
            {
                *cur = Some(w);
                true
            } else {
                false
            }
        })
    }

    /// Runs until `stop`: takes the lease when free and asks the witnesses while holding it;
    /// otherwise follows what the holder stores.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>, stop: CancellationToken) {
        let holder = uuid::Uuid::new_v4();
        let poll =
            (self.spec.interval / 4).clamp(Duration::from_millis(5), Duration::from_millis(250));
        let mut last_round: Option<Instant> = None;
        let mut last_lease: Option<Instant> = None;
        let mut followed: Option<Instant> = None;
        if let Ok(Some(cp)) = store.witnessed_checkpoint().await {
            self.publish(Witnessed {
                size: cp.size,
                note: cp.note.into(),
            });
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    // Keep what was learned, and hand the lease over at once rather than
                    // after it expires: a restarted or another instance asks the witnesses
                    // without a gap, from the sizes just written.
                    if self.is_leader() {
                        self.flush(store.as_ref()).await;
                        let _ = store.take_lease(LEASE, holder, Duration::ZERO).await;
                    }
                    return;
                }
                _ = tokio::time::sleep(poll) => {}
            }
            if last_lease.is_none_or(|t| t.elapsed() >= LEASE_TTL / 3) {
                let was = self.is_leader();
                let now = match store.take_lease(LEASE, holder, LEASE_TTL).await {
                    Ok(held) => held,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot take the witnesses' lease");
                        false
                    }
                };
                last_lease = Some(Instant::now());
                self.leader.store(now, Ordering::Relaxed);
                if now && !was {
                    tracing::info!("this instance now asks the witnesses");
                    self.load_sizes(store.as_ref()).await;
                }
            }
            if !self.is_leader() {
                if followed.is_none_or(|t| t.elapsed() >= self.spec.interval) {
                    followed = Some(Instant::now());
                    if let Ok(Some(cp)) = store.witnessed_checkpoint().await {
                        self.publish(Witnessed {
                            size: cp.size,
                            note: cp.note.into(),
                        });
                    }
                }
                continue;
            }
            self.flush(store.as_ref()).await;
            if last_round.is_some_and(|t| t.elapsed() < self.spec.interval) {
                continue;
            }
            let Ok(Some(cp)) = store.log_checkpoint().await else {
                continue;
            };
            let cp = Arc::new(cp);
            let mut sent = false;
            for w in 0..self.witnesses.len() {
                if self.due(w, cp.size) {
                    sent = true;
                    self.witnesses[w].in_flight.store(true, Ordering::Relaxed);
                    let (me, store, cp) = (self.clone(), store.clone(), cp.clone());
                    tokio::spawn(async move {
                        me.ask(w, store.as_ref(), &cp).await;
                        me.witnesses[w].in_flight.store(false, Ordering::Relaxed);
                    });
                }
            }
            if sent {
                last_round = Some(Instant::now());
            }
        }
    }

    /// Whether witness `w` should be asked about a checkpoint of `size` now.
    fn due(&self, w: usize, size: u64) -> bool {
        let st = &self.witnesses[w];
        st.url.is_some()
            && !st.in_flight.load(Ordering::Relaxed)
            && st.view.lock().expect("not poisoned").size != Some(size)
    }

    async fn load_sizes(&self, store: &dyn Store) {
        match store.witness_sizes().await {
            Ok(sizes) => {
                for w in &self.witnesses {
                    let vkey = self.spec.policy.witnesses()[w.index].key.vkey();
                    let size = sizes.iter().find(|s| s.witness == vkey).map(|s| s.size);
                    w.view.lock().expect("not poisoned").size = size;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the witnesses' sizes"),
        }
    }

    fn note(&self, w: usize, f: impl FnOnce(&mut WitnessView)) {
        f(&mut self.witnesses[w].view.lock().expect("not poisoned"));
    }

    fn fail(&self, w: usize, label: &str, why: String) {
        let name = &self.spec.policy.witnesses()[self.witnesses[w].index].name;
        tracing::warn!(witness = %name, outcome = label, "{why}");
        self.note(w, |v| {
            *v.requests.entry(label.to_owned()).or_default() += 1;
            v.last_error = Some(why);
        });
    }

    /// One add-checkpoint to witness `w` about `cp`, and what its answer means.
    async fn ask(&self, w: usize, store: &dyn Store, cp: &LogCheckpoint) {
        let url = self.witnesses[w].url.as_deref().expect("due() checked");
        let old = self.witnesses[w]
            .view
            .lock()
            .expect("not poisoned")
            .size
            .unwrap_or(0);
        if old > cp.size {
            self.fail(
                w,
                "ahead",
                format!(
                    "it says it cosigned a tree of {old} entries, larger than ours ({}): a fork?",
                    cp.size
                ),
            );
            return;
        }
        let proof = if old == 0 {
            Vec::new()
        } else {
            match with_hashes(store, |r| tlog::prove_tree(cp.size, old, &Dyn(r))).await {
                Ok(p) => p,
                Err(e) => return self.fail(w, "error", format!("cannot prove consistency: {e}")),
            }
        };
        let request = bridge_core::witness::AddCheckpoint {
            old,
            proof,
            checkpoint: cp.note.clone(),
        };
        let answer = self.client.add_checkpoint(url, &request).await;
        let label = answer.label();
        match answer {
            Answer::Cosigned(body) => match self.verify(w, &cp.note, &body) {
                Ok(line) => {
                    self.learned(w, cp.size, Some(line.line()));
                    self.note(w, |v| {
                        *v.requests.entry(label).or_default() += 1;
                        v.size = Some(cp.size);
                        v.last_cosigned_at = Some(Utc::now());
                        v.last_error = None;
                    });
                    self.try_quorum(cp);
                }
                Err(why) => self.fail(w, "invalid", why),
            },
            Answer::Size(n) => {
                if n > cp.size {
                    self.evidence(store, w, &request, 409, &format!("{n}\n"))
                        .await;
                    return self.fail(
                        w,
                        &label,
                        format!("it has cosigned {n} entries, more than our {}", cp.size),
                    );
                }
                self.learned(w, n, None);
                self.note(w, |v| {
                    *v.requests.entry(label).or_default() += 1;
                    v.size = Some(n);
                    v.last_error = Some(format!(
                        "it had cosigned {n} entries (409); next round proves from there"
                    ));
                });
            }
            Answer::Refused(status, body) => {
                if status == 422 || status == 409 {
                    self.evidence(store, w, &request, status, &body).await;
                }
                self.fail(w, &label, format!("refused ({status}): {}", body.trim()));
            }
            Answer::Failed(why) => self.fail(w, &label, why),
        }
    }

    /// The witness's verified cosignature among the lines of a 200.
    fn verify(&self, w: usize, note: &str, body: &str) -> Result<NoteSignature, String> {
        let key = &self.spec.policy.witnesses()[self.witnesses[w].index].key;
        // The answer's lines appended to the checkpoint make a note (tlog-witness).
        let joined = format!("{note}{body}");
        let (text, sigs) = tlog::split_note(&joined).map_err(|e| format!("bad answer: {e}"))?;
        let (origin, cp) = tlog::parse_checkpoint(text).map_err(|e| e.to_string())?;
        let mut found = None;
        for s in sigs.into_iter().filter(|s| key.claims(s)) {
            key.verify(text, origin, &cp, &s.sig)
                .map_err(|e| e.to_string())?;
            found = Some(s);
        }
        found.ok_or_else(|| format!("no cosignature by {} in its answer", key.name()))
    }

    /// Publishes the checkpoint of `cp` as witnessed if the cosignatures gathered for its size
    /// meet the quorum (and queues it for the database).
    fn try_quorum(&self, cp: &LogCheckpoint) {
        let got = {
            let map = self.cosigned.lock().expect("not poisoned");
            map.get(&cp.size).cloned().unwrap_or_default()
        };
        let ws = self.spec.policy.witnesses();
        let mut by = vec![false; ws.len()];
        for (i, _) in &got {
            by[*i] = true;
        }
        if !self.spec.policy.quorum_met(&by) {
            return;
        }
        // The lines in the policy's order, so every instance writes the same note.
        let mut got = got;
        got.sort_by_key(|(i, _)| *i);
        let lines: String = got.iter().map(|(_, l)| l.as_str()).collect();
        let note = format!("{}{lines}", cp.note);
        if self.publish(Witnessed {
            size: cp.size,
            note: note.as_str().into(),
        }) {
            self.pending.lock().expect("not poisoned").witnessed = Some((cp.size, note));
            // Cosignatures of smaller trees can no longer make a newer witnessed checkpoint.
            self.cosigned
                .lock()
                .expect("not poisoned")
                .retain(|size, _| *size >= cp.size);
        }
    }

    /// Queues what a witness now has (and its cosignature line) for the next write.
    fn learned(&self, w: usize, size: u64, line: Option<String>) {
        let vkey = self.spec.policy.witnesses()[self.witnesses[w].index]
            .key
            .vkey();
        if let Some(line) = &line {
            self.cosigned
                .lock()
                .expect("not poisoned")
                .entry(size)
                .or_default()
                .push((self.witnesses[w].index, line.clone()));
        }
        let mut p = self.pending.lock().expect("not poisoned");
        p.sizes.retain(|s| s.witness != vkey);
        p.sizes.push(WitnessSize {
            witness: vkey.clone(),
            size,
        });
        if let Some(line) = line {
            p.cosignatures.push((
                size,
                Cosignature {
                    witness: vkey,
                    line,
                },
            ));
        }
    }

    /// Writes what was learned since the last write, in one transaction (a round's answers
    /// cost the store one commit). A failed write is kept for the next.
    async fn flush(&self, store: &dyn Store) {
        let write = std::mem::take(&mut *self.pending.lock().expect("not poisoned"));
        if write.is_empty() {
            return;
        }
        if let Err(e) = store.record_witnessing(&write).await {
            tracing::warn!(error = %e, "cannot keep what the witnesses answered; retrying");
            let mut p = self.pending.lock().expect("not poisoned");
            let newer = std::mem::take(&mut *p);
            *p = write;
            p.sizes
                .retain(|s| !newer.sizes.iter().any(|n| n.witness == s.witness));
            p.sizes.extend(newer.sizes);
            p.cosignatures.extend(newer.cosignatures);
            if newer.witnessed.is_some() {
                p.witnessed = newer.witnessed;
            }
        }
    }

    async fn evidence(
        &self,
        store: &dyn Store,
        w: usize,
        request: &bridge_core::witness::AddCheckpoint,
        status: u16,
        answer: &str,
    ) {
        let pw = &self.spec.policy.witnesses()[self.witnesses[w].index];
        let request = request.to_string();
        tracing::error!(witness = %pw.name, status, %request, %answer, "a witness refused our checkpoint: possible evidence of a fork (kept)");
        let e = Evidence {
            witness: pw.key.vkey(),
            status,
            request,
            answer: answer.to_owned(),
        };
        if let Err(err) = store.keep_evidence(&e).await {
            tracing::error!(error = %err, "cannot keep the evidence");
        }
    }
}

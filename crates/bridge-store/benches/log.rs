//! The transparency log at scale (issue 16): a tree of `OMNINODE_BENCH_LOG_ENTRIES` (default
//! 1,000,000) entries built through `Store::record_stamp` from 64 concurrent writers on the
//! embedded store (group commit, every commit fsync'd, one signed checkpoint per commit), then
//! an inclusion proof served from the stored hashes and checked against the signed checkpoint.
//!
//! Side by side in the same run: the rate of the same bare-stamp writes without a log (the
//! anchor), and the logged rate of the first and the last 10 % of the build (a log whose
//! appends slowed as it grew would show here: each commit reads only the frontier, at most 64
//! hashes). Reports time, rate, the process's peak RSS, and the database's size.
//!
//! `OMNINODE_BENCH_LOG_DIR` keeps the built store there (scripts/bench serves it);
//! `OMNINODE_BENCH_LOG_KEY` is the OpenSSH private key that signs the checkpoints (else one is
//! generated); `OMNINODE_BENCH_LOG_ORIGIN` the log's origin. It writes `stamp-ids.txt` (a sample
//! of stamp ids) and `tile-paths.txt` (every full tile's path) beside the database.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bridge_core::hash::hash_bytes;
use bridge_core::tlog::{self, LogSigner, LogVerifier, TilePath, TlogProof};
use bridge_store::log::{with_hashes, Dyn};
use bridge_store::{EventRow, SqliteStore, StampOutcome, StampRecord, StampWrite, Store};
use chrono::Utc;
use uuid::Uuid;

const WRITERS: usize = 64;
/// Every this many stamps, one id goes to `stamp-ids.txt`.
const SAMPLE_EVERY: usize = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is not valid")))
        .unwrap_or(default)
}

/// The rows of the bare stamp path (stamp + its STAMP_CREATED) and, when logged, an entry of
/// realistic length: a §11 statement (~330 bytes) and an SSHSIG line (252 base64 characters).
fn write(i: usize, logged: bool) -> StampWrite {
    let content = format!("print({i})  # log bench\n");
    let file_hash = hash_bytes(content.as_bytes()).to_string();
    let stamp_id = Uuid::now_v7();
    let correlation_id = Uuid::new_v4();
    let now = Utc::now();
    let statement = format!(
        "omninode-stamp-statement/v1\nstamp_id {stamp_id}\nfile_hash blake3:{file_hash}\n\
         namespace bench\ncontent_type text/x-python\nfile_size {}\nfile_path bench/f{i}.py\n\
         created_at {}\nkey SHA256:{}\n",
        content.len(),
        now.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        "k".repeat(43)
    );
    let signature = "s".repeat(252);
    let stamp = StampRecord {
        stamp_id,
        namespace: "bench".into(),
        file_hash,
        content_type: "text/x-python".into(),
        file_size: content.len() as i64,
        file_path: Some(format!("bench/f{i}.py")),
        stamp_type: "rich".into(),
        sidecar: false,
        stamp: "# ---BEGIN ONEX STAMP---\n".repeat(13),
        metadata: None,
        op_id: None,
        workflow_id: None,
        correlation_id,
        created_at: now,
        signing_key: Some(format!("SHA256:{}", "k".repeat(43))),
        signature: Some(signature.clone()),
        log_index: None,
        log_proof: None,
    };
    let event = EventRow {
        event_id: Uuid::now_v7(),
        event_type: bridge_core::EventType::StampCreated,
        topic: None,
        message_key: "bench".into(),
        correlation_id,
        workflow_id: None,
        namespace: Some("bench".into()),
        payload: "{\"envelope_version\":\"1.0\"}".repeat(12),
        created_at: now,
    };
    StampWrite {
        stamp,
        workflow: None,
        events: vec![event],
        entry: logged.then(|| tlog::entry(&statement, &signature)),
    }
}

/// Seconds for the stamps `from..to`, written by 64 writers; the sampled stamp ids and one
/// entry with its index (for the proof).
struct Run {
    seconds: f64,
    sampled: Vec<Uuid>,
    probe: Option<(u64, Vec<u8>)>,
}

async fn build(store: &Arc<SqliteStore>, from: usize, to: usize, logged: bool) -> Run {
    let next = Arc::new(AtomicUsize::new(from));
    let sampled = Arc::new(Mutex::new(Vec::new()));
    let probe = Arc::new(Mutex::new(None));
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (store, next, sampled, probe) =
                (store.clone(), next.clone(), sampled.clone(), probe.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    let w = write(i, logged);
                    let (id, entry) = (w.stamp.stamp_id, w.entry.clone());
                    let StampOutcome::Created(rec) = store.record_stamp(w).await.unwrap() else {
                        panic!("stamp {i} was not new");
                    };
                    assert_eq!(rec.log_index.is_some(), logged, "stamp {i}: log index");
                    if i % SAMPLE_EVERY == 0 {
                        sampled.lock().unwrap().push(id);
                    }
                    if i == from + (to - from) / 2 {
                        *probe.lock().unwrap() = rec.log_index.map(|i| i as u64).zip(entry);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let sampled = std::mem::take(&mut *sampled.lock().unwrap());
    let probe = probe.lock().unwrap().take();
    Run {
        seconds,
        sampled,
        probe,
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_mib(dir: &Path) -> f64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0) as f64
        / (1 << 20) as f64
}

/// The proof of `index` against the newest checkpoint, read as the API reads it.
async fn serve_proof(store: &SqliteStore, index: u64) -> TlogProof {
    let cp = store.log_checkpoint().await.unwrap().expect("a checkpoint");
    let path = with_hashes(store, |r| tlog::prove_record(cp.size, index, &Dyn(r)))
        .await
        .unwrap();
    TlogProof {
        index,
        path,
        checkpoint: cp.note,
    }
}

fn signer(origin: &str) -> LogSigner {
    match std::env::var_os("OMNINODE_BENCH_LOG_KEY") {
        Some(path) => {
            let key = ssh_key::PrivateKey::read_openssh_file(Path::new(&path)).unwrap();
            LogSigner::new(origin, &key).unwrap()
        }
        None => LogSigner::generate(origin).unwrap(),
    }
}

fn main() {
    let entries: usize = env_or("OMNINODE_BENCH_LOG_ENTRIES", 1_000_000);
    let origin: String = env_or(
        "OMNINODE_BENCH_LOG_ORIGIN",
        "omninode-bridge.local/log".into(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = std::env::var_os("OMNINODE_BENCH_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("logged"));
    let tenth = (entries / 10).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // The anchor first, on its own store: a tenth of the writes, no log.
    let unlogged = rt.block_on(async {
        let store = Arc::new(
            SqliteStore::open(&tmp.path().join("unlogged"))
                .await
                .unwrap(),
        );
        build(&store, 0, tenth, false).await
    });
    let anchor = tenth as f64 / unlogged.seconds;

    let signer = Arc::new(signer(&origin));
    let verifier = LogVerifier::from_vkey(&signer.vkey()).unwrap();
    let rss_before = status_kib("VmRSS");
    let (runs, proof_run, served, first_proof_ms, proof_ms, store_size) = rt.block_on(async {
        let store = Arc::new(
            SqliteStore::open_logged(&dir, Some(signer.clone()))
                .await
                .unwrap(),
        );
        let mut runs = Vec::new();
        let mut at = 0;
        while at < entries {
            let to = (at + tenth).min(entries);
            runs.push((to - at, build(&store, at, to, true).await));
            at = to;
        }
        // The proof of an entry near the middle of the build, against the 1,000,000 tree.
        let (_, middle) = &runs[runs.len() / 2];
        let (index, entry) = middle.probe.clone().expect("a logged probe");
        let t = Instant::now();
        let proof = serve_proof(&store, index).await;
        let first_proof_ms = t.elapsed().as_secs_f64() * 1e3;
        let cp = proof.verify(&verifier, &entry).expect("the proof verifies");
        // Then a steady rate over the sampled stamps: index lookup and proof.
        let ids: Vec<Uuid> = runs.iter().flat_map(|(_, r)| r.sampled.clone()).collect();
        let t = Instant::now();
        let mut served = 0;
        for id in ids.iter().take(2000) {
            let idx = store.log_index_of(*id).await.unwrap().expect("logged");
            std::hint::black_box(serve_proof(&store, idx).await);
            served += 1;
        }
        let proof_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(served);
        let ids_file = dir.join("stamp-ids.txt");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&ids_file).unwrap());
        for id in &ids {
            writeln!(f, "{id}").unwrap();
        }
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(dir.join("tile-paths.txt")).unwrap());
        // Every full hash tile of every level, and every full entry bundle.
        let mut width = cp.size / tlog::TILE_WIDTH;
        let mut level = 0u8;
        while width > 0 {
            for n in 0..width {
                writeln!(f, "{}", tile(Some(level), n)).unwrap();
            }
            width /= tlog::TILE_WIDTH;
            level += 1;
        }
        for n in 0..cp.size / tlog::TILE_WIDTH {
            writeln!(f, "{}", tile(None, n)).unwrap();
        }
        (runs, cp, served, first_proof_ms, proof_ms, dir_mib(&dir))
    });
    let total: f64 = runs.iter().map(|(_, r)| r.seconds).sum();
    let rate = |(n, r): &(usize, Run)| *n as f64 / r.seconds;
    let (first, last) = (rate(&runs[0]), rate(runs.last().unwrap()));
    println!(
        "log/sqlite unlogged bare stamps      {anchor:>9.0} stamps/s ({tenth} stamps; the anchor)"
    );
    println!(
        "log/sqlite tree of {entries} built  {total:>8.1} s, {:.0} stamps/s ({:.3} x the anchor)",
        entries as f64 / total,
        entries as f64 / total / anchor
    );
    println!(
        "log/sqlite first 10 % / last 10 %    {first:>9.0} / {last:.0} stamps/s ({:.3} x: the append rate as the tree grows)",
        last / first
    );
    println!(
        "log/sqlite peak RSS                  {:>9.1} MiB (resident before the build {:.1} MiB; the whole bench process)",
        status_kib("VmHWM") as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!("log/sqlite database on disk          {store_size:>9.1} MiB");
    println!(
        "log/sqlite proof served              {first_proof_ms:>9.2} ms the first (index near {}, tree {}, verified against the signed checkpoint); {proof_ms:.3} ms each over {served} more",
        proof_run.size / 2,
        proof_run.size
    );
}

/// A full tile's path, as C2SP spells it.
fn tile(level: Option<u8>, index: u64) -> String {
    TilePath {
        level,
        index,
        partial: None,
    }
    .to_string()
}

//! A log for the monitor's benchmark (SPEC §9, §14; run by `scripts/bench-monitor`):
//! `OMNINODE_BENCH_LOG_ENTRIES` (default 1,000,000) stamps, each with a real statement and a
//! real SSHSIG (Ed25519) as the service writes them, built through `Store::record_stamp` on the
//! embedded store in `OMNINODE_BENCH_LOG_DIR` (checkpoints signed with the OpenSSH key at
//! `OMNINODE_BENCH_LOG_KEY`). It writes the stamp key's `allowed_signers` beside the database.
//!
//! Then the anchor the monitor is measured against: the machine's rate of checking those
//! entries' signatures (read back, parsed and SSHSIG-verified exactly as the monitor does,
//! `bridge_core::monitor::check_entry`), on all cores, with nothing else around it: the
//! physical limit of an audit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bridge_core::hash::hash_bytes;
use bridge_core::monitor::{check_entry, parse_entry, EntryVerdict};
use bridge_core::signature::{Keyring, StampSigner, TrustedKey};
use bridge_core::statement::Statement;
use bridge_core::tlog::{self, LogSigner};
use bridge_store::{EventRow, SqliteStore, StampOutcome, StampRecord, StampWrite, Store};
use chrono::Utc;
use rayon::prelude::*;
use uuid::Uuid;

const WRITERS: usize = 64;

fn write(i: usize, signer: &StampSigner) -> StampWrite {
    let content = format!("print({i})  # monitor bench\n");
    let hash = hash_bytes(content.as_bytes());
    let stamp_id = Uuid::now_v7();
    let now = Utc::now();
    let namespace = format!("tenant{}", i % 10);
    let path = format!("bench/f{i}.py");
    let statement = Statement {
        namespace: &namespace,
        stamp_id,
        file_hash: &hash,
        file_size: content.len() as u64,
        content_type: "text/x-python",
        file_path: Some(&path),
        created_at: now,
        key: signer.id().as_str(),
    }
    .render()
    .unwrap();
    let sig = signer.sign(&statement).unwrap();
    let correlation_id = Uuid::new_v4();
    StampWrite {
        stamp: StampRecord {
            stamp_id,
            namespace: namespace.clone(),
            file_hash: hash.to_string(),
            content_type: "text/x-python".into(),
            file_size: content.len() as i64,
            file_path: Some(path),
            stamp_type: "rich".into(),
            sidecar: false,
            stamp: "# ---BEGIN ONEX STAMP---\n".repeat(13),
            metadata: None,
            op_id: None,
            workflow_id: None,
            correlation_id,
            created_at: now,
            signing_key: Some(signer.id().to_string()),
            signature: Some(sig.signature.clone()),
            log_index: None,
            log_proof: None,
        },
        workflow: None,
        events: vec![EventRow {
            event_id: Uuid::now_v7(),
            event_type: bridge_core::EventType::StampCreated,
            topic: None,
            message_key: namespace.clone(),
            correlation_id,
            workflow_id: None,
            namespace: Some(namespace),
            payload: "{}".into(),
            created_at: now,
        }],
        entry: Some(tlog::entry(&statement, &sig.signature)),
    }
}

fn main() {
    let entries: usize = std::env::var("OMNINODE_BENCH_LOG_ENTRIES")
        .map(|v| v.parse().expect("a count"))
        .unwrap_or(1_000_000);
    let dir =
        PathBuf::from(std::env::var_os("OMNINODE_BENCH_LOG_DIR").expect("OMNINODE_BENCH_LOG_DIR"));
    let key = ssh_key::PrivateKey::read_openssh_file(Path::new(
        &std::env::var_os("OMNINODE_BENCH_LOG_KEY").expect("OMNINODE_BENCH_LOG_KEY"),
    ))
    .unwrap();
    let log = Arc::new(LogSigner::new("omninode-bridge.local/log", &key).unwrap());
    let signer = Arc::new(StampSigner::generate());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("allowed_signers"),
        TrustedKey::new(signer.public_key().clone(), "bench").allowed_signers_line() + "\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let store = rt.block_on(async {
        let store = Arc::new(SqliteStore::open_logged(&dir, Some(log)).await.unwrap());
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (store, next, signer) = (store.clone(), next.clone(), signer.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= entries {
                            break;
                        }
                        let w = write(i, &signer);
                        let StampOutcome::Created(_) = store.record_stamp(w).await.unwrap() else {
                            panic!("stamp {i} was not new");
                        };
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        store
    });
    let built = started.elapsed().as_secs_f64();
    println!(
        "monitor log: {entries} signed stamps built in {built:.1} s ({:.0}/s)",
        entries as f64 / built
    );

    // The anchor: every entry's signature checked on all cores, as the monitor checks it.
    // Read in chunks (the whole log would be ~600 MB); only the checking is timed.
    let trust = Keyring::new([TrustedKey::new(signer.public_key().clone(), "bench")]);
    let (mut trusted, mut secs) = (0, 0.0);
    for start in (0..entries as u64).step_by(1 << 16) {
        let end = (start + (1 << 16)).min(entries as u64);
        let chunk = rt.block_on(async { store.log_entries(start, end).await.unwrap() });
        let t = Instant::now();
        trusted += chunk
            .par_iter()
            .filter(|e| check_entry(&parse_entry(e).unwrap(), &trust) == EntryVerdict::Trusted)
            .count();
        secs += t.elapsed().as_secs_f64();
    }
    assert_eq!(trusted, entries);
    println!(
        "monitor anchor: {entries} entries parsed and SSHSIG-verified on {} cores in {secs:.2} s = {:.0} entries/s (the Ed25519-verify limit)",
        rayon::current_num_threads(),
        entries as f64 / secs
    );
}

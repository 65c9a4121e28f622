//! The workflow's cost per stamp against the bare stamp path, side by side in one run, on
//! fresh SQLite stores (every commit fsync'd), 64 concurrent callers, distinct contents.
//!
//! bare:     unstamp + hash, stamp, one durable write of the stamp and its STAMP_CREATED event
//!           (what `POST /stamp` did before workflows)
//! workflow: `Orchestrator::stamp` with the built-in contract: the five steps, the FSM, and
//!           the stamp + execution + 5 steps + 2 transitions + 10 events in one transaction
//!
//! signed:   the same workflow with every stamp signed (SSHSIG, Ed25519) in `stamp_creation`
//!
//! Goals: the workflow costs at most 2× the bare path (issue 3); signed workflows run at
//! ≥ 95 % of the unsigned rate (issue 15; the HTTP figure is in `scripts/bench` 4d).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bridge_core::contract::{builtin::Builtin, load};
use bridge_core::signature::StampSigner;
use bridge_core::stamp::{self, Original};
use bridge_core::{Namespace, RelativePath, StampType};
use bridge_nodes::{Orchestrator, StampInput};
use bridge_store::{EventRow, SqliteStore, StampWrite, Store};
use chrono::Utc;
use uuid::Uuid;

const STAMPS: usize = 10_000;
const CALLERS: usize = 64;

fn inputs(tag: &str) -> Vec<StampInput> {
    (0..STAMPS)
        .map(|i| StampInput {
            content: format!("print({i})  # {tag} bench\n").into_bytes(),
            namespace: Namespace::parse("bench").unwrap(),
            file_path: Some(RelativePath::parse(&format!("bench/f{i}.py")).unwrap()),
            stamp_type: StampType::Rich,
            metadata: None,
            op_id: None,
            correlation_id: Uuid::new_v4(),
        })
        .collect()
}

async fn bare(store: Arc<dyn Store>, input: StampInput) {
    let original = Original::of(&input.content);
    let req = input.stamp_request(Uuid::now_v7(), Utc::now(), None);
    let made = stamp::stamp(&original, &req).unwrap();
    let stamp = input.stamp_record(&original, &made, Uuid::now_v7());
    let env = bridge_core::envelope::Envelope::of(
        bridge_nodes::orchestrator::stamp_created(&stamp),
        input.correlation_id,
        "orchestrator",
        req.now,
    );
    let event = EventRow {
        event_id: env.event_id,
        event_type: bridge_core::EventType::StampCreated,
        topic: None,
        message_key: stamp.namespace.clone(),
        correlation_id: input.correlation_id,
        workflow_id: stamp.workflow_id,
        namespace: Some(stamp.namespace.clone()),
        payload: env.to_json(),
        created_at: req.now,
    };
    store
        .record_stamp(StampWrite {
            stamp,
            workflow: None,
            events: vec![event],
            entry: None,
        })
        .await
        .unwrap();
}

/// Runs `inputs` through `f` from CALLERS tasks; stamps per second.
async fn drive<F, Fut>(inputs: Vec<StampInput>, f: F) -> f64
where
    F: Fn(StampInput) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let queue = Arc::new(Mutex::new(inputs));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let queue = queue.clone();
            let f = f.clone();
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap().pop();
                    let Some(input) = next else { break };
                    f(input).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    STAMPS as f64 / started.elapsed().as_secs_f64()
}

/// This process's user + system CPU time so far (Linux `/proc/self/stat`, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let d1 = tempfile::tempdir().unwrap();
        let s1: Arc<dyn Store> = Arc::new(SqliteStore::open(d1.path()).await.unwrap());
        let bare_rate = drive(inputs("bare"), move |i| bare(s1.clone(), i)).await;

        let d2 = tempfile::tempdir().unwrap();
        let s2: Arc<dyn Store> = Arc::new(SqliteStore::open(d2.path()).await.unwrap());
        let orchestrator = Orchestrator::new(s2.clone(), load(&Builtin).unwrap().orchestrator, "bench").unwrap();
        let wf_rate = drive(inputs("workflow"), move |i| {
            let o = orchestrator.clone();
            async move {
                o.stamp(i).await.unwrap();
            }
        })
        .await;
        assert_eq!(s2.pending_events().await.unwrap(), 10 * STAMPS as u64, "every workflow's events are durable");

        // Signed vs unsigned, alternating (this machine's neighbours move single runs), the
        // median ratio of adjacent runs.
        let mut ratios = Vec::new();
        let mut cpu_ratios = Vec::new();
        for round in 0..3 {
            let mut rates = [0.0; 2];
            let mut cpu = [0.0; 2];
            for (slot, sign) in [(0, false), (1, true)] {
                let d = tempfile::tempdir().unwrap();
                let s: Arc<dyn Store> = Arc::new(SqliteStore::open(d.path()).await.unwrap());
                let mut o = Orchestrator::new(s, load(&Builtin).unwrap().orchestrator, "bench").unwrap();
                if sign {
                    o = o.with_signer(Arc::new(StampSigner::generate()));
                }
                let tag = format!("{round}-{sign}");
                let before = cpu_seconds();
                rates[slot] = drive(inputs(&tag), move |i| {
                    let o = o.clone();
                    async move {
                        let r = o.stamp(i).await.unwrap();
                        assert_eq!(r.record.signature.is_some(), sign);
                    }
                })
                .await;
                cpu[slot] = (cpu_seconds() - before) / STAMPS as f64 * 1e6;
            }
            println!(
                "workflow/round {round}: unsigned {:>8.0} stamps/s {:>5.0} us CPU each   signed {:>8.0} stamps/s {:>5.0} us CPU each",
                rates[0], cpu[0], rates[1], cpu[1]
            );
            ratios.push(rates[1] / rates[0]);
            cpu_ratios.push(cpu[0] / cpu[1]);
        }
        ratios.sort_by(f64::total_cmp);
        cpu_ratios.sort_by(f64::total_cmp);

        println!("workflow/bare stamp path       {bare_rate:>10.0} stamps/s (stamp + 1 event)");
        println!("workflow/full workflow         {wf_rate:>10.0} stamps/s (stamp + execution + 5 steps + 2 transitions + 10 events)");
        println!("workflow/cost per stamp        {:>10.2} x the bare path (goal <= 2.0)", bare_rate / wf_rate);
        println!("workflow/signed vs unsigned    {:>10.2} x the unsigned rate (median of 3; goal >= 0.95)", ratios[1]);
        println!("workflow/signed by CPU         {:>10.2} x (unsigned CPU per stamp / signed, median of 3)", cpu_ratios[1]);
    });
}

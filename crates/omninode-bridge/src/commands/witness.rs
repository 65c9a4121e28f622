//! `witness`: the bridge as a C2SP witness for other logs (SPEC §13), so that two
//! organisations running the bridge can witness each other. Its state (the latest cosigned
//! checkpoint of each log) lives in the configured database, like `serve`'s.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use bridge_api::witness::{witness_router, Witness};
use bridge_core::witness::{Cosigner, Policy};
use bridge_store::{PgStore, SqliteStore, WitnessStore};

use super::{backend, Backend};
use crate::cli::WitnessArgs;
use crate::keyfiles;

pub(crate) async fn run(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    let policy = read_policy(&args.policy)?;
    let key = keyfiles::read_private(&args.key)?;
    let ed = key
        .signer
        .private_key()
        .key_data()
        .ed25519()
        .map(|k| ed25519_dalek::SigningKey::from_bytes(k.private.as_ref()))
        .with_context(|| format!("key file {}: not Ed25519", args.key.display()))?;
    let mut cosigners =
        vec![Cosigner::ed25519(&args.name, ed).map_err(|e| anyhow::anyhow!("--name: {e}"))?];
    if let Some(path) = &args.ml_dsa_key {
        let seed = keyfiles::read_ml_dsa_seed(path)?;
        cosigners.push(
            Cosigner::ml_dsa_44(&args.name, &seed).map_err(|e| anyhow::anyhow!("--name: {e}"))?,
        );
    }
    let store = open(&args).await?;
    let witness = Witness::new(cosigners, &policy, store)
        .map_err(|e| anyhow::anyhow!("--policy {}: {e}", args.policy.display()))?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let mut origins: Vec<&str> = witness.origins().collect();
    origins.sort_unstable();
    tracing::info!(%addr, name = %args.name, vkeys = ?witness.vkeys(), logs = ?origins, "witness serving");
    // The first stdout line tells scripts (and tests binding port 0) where we listen.
    println!("listening on http://{addr}");
    std::io::stdout().flush()?;
    let app = witness_router(Arc::new(witness));
    axum::serve(listener, app)
        .with_graceful_shutdown(stop())
        .await
        .context("serving")?;
    tracing::info!("witness stopped");
    Ok(ExitCode::SUCCESS)
}

/// Reads a tlog-policy file; its errors name the file and the line.
pub(crate) fn read_policy(path: &std::path::Path) -> anyhow::Result<Policy> {
    let text = std::fs::read(path)
        .with_context(|| format!("cannot read policy file {}", path.display()))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!(
            "policy file {}: not UTF-8 (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    Policy::parse(&text).map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))
}

async fn open(args: &WitnessArgs) -> anyhow::Result<Arc<dyn WitnessStore>> {
    Ok(match backend(&args.store)? {
        Backend::Sqlite => {
            Arc::new(SqliteStore::open(&args.store.data_dir).await.map_err(|e| {
                anyhow::anyhow!(e).context(format!(
                    "cannot open the embedded store in {}",
                    args.store.data_dir.display()
                ))
            })?)
        }
        Backend::Postgres(options) => Arc::new(
            PgStore::connect(options)
                .await
                .map_err(|e| anyhow::anyhow!(e).context("cannot open the PostgreSQL store"))?,
        ),
    })
}

/// SIGTERM or SIGINT.
async fn stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

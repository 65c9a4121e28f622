//! One module per subcommand.

mod contracts;
mod events;
mod hash;
mod keys;
mod migrate;
mod monitor;
mod serve;
mod stamp;
mod topics;
mod unstamp;
mod verify;
mod witness;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use std::time::Duration;

use bridge_store::{PgOptions, PgStore, SqliteStore, Store};

use crate::cli::{Command, StoreArgs};

/// Runs a subcommand; the exit code says success, a negative answer (1) or bad input (2).
pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Hash(args) => hash::run(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Stamp(args) => stamp::run(args),
        Command::Unstamp(args) => unstamp::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Migrate(args) => migrate::run(args).await,
        Command::Contracts(cmd) => contracts::run(cmd),
        Command::Topics(cmd) => topics::run(cmd).await,
        Command::Events(cmd) => events::run(cmd).await,
        Command::Witness(args) => witness::run(args).await,
        Command::Monitor(args) => monitor::run(args).await,
    }
}

/// The backend a database URL selects.
enum Backend {
    Sqlite,
    Postgres(PgOptions),
}

fn backend(args: &StoreArgs) -> anyhow::Result<Backend> {
    match args.database_url.as_ref().map(|u| (u, u.expose())) {
        None => Ok(Backend::Sqlite),
        Some((url, text))
            if text.starts_with("postgres://") || text.starts_with("postgresql://") =>
        {
            if args.db_pool_min > args.db_pool_max {
                bail!(
                    "--db-pool-min ({}) exceeds --db-pool-max ({})",
                    args.db_pool_min,
                    args.db_pool_max
                );
            }
            let mut options = PgOptions::new(url.clone());
            options.min_connections = args.db_pool_min;
            options.max_connections = args.db_pool_max;
            options.acquire_timeout = Duration::from_millis(args.db_acquire_timeout_ms);
            options.breaker.open_ms = args.db_breaker_open_ms;
            Ok(Backend::Postgres(options))
        }
        Some((_, text)) if text.starts_with("sqlite:") => {
            bail!("use --data-dir for the embedded store instead of a sqlite: URL")
        }
        Some(_) => bail!("unsupported --database-url scheme: expected postgres://"),
    }
}

/// Opens the configured store, applying pending migrations.
async fn open_store(
    args: &StoreArgs,
    log: Option<Arc<bridge_core::tlog::LogSigner>>,
) -> anyhow::Result<Arc<dyn Store>> {
    match backend(args)? {
        Backend::Sqlite => {
            let store = SqliteStore::open_logged(&args.data_dir, log)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(e).context(format!(
                        "cannot open the embedded store in {}",
                        args.data_dir.display()
                    ))
                })?;
            Ok(Arc::new(store))
        }
        Backend::Postgres(mut options) => {
            options.log = log;
            // Display redacts the password.
            tracing::info!(database = %options.url, "opening the PostgreSQL store");
            let store = PgStore::connect(options)
                .await
                .map_err(|e| anyhow::anyhow!(e).context("cannot open the PostgreSQL store"))?;
            Ok(Arc::new(store))
        }
    }
}

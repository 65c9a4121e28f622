//! One module per subcommand.

mod contracts;
mod hash;
mod migrate;
mod serve;
mod stamp;
mod verify;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use bridge_store::{SqliteStore, Store};

use crate::cli::{Command, StoreArgs};

/// Runs a subcommand; the exit code says success, a negative answer (1) or bad input (2).
pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Hash(args) => hash::run(args),
        Command::Stamp(args) => stamp::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Migrate(args) => migrate::run(args).await,
        Command::Contracts(cmd) => contracts::run(cmd),
    }
}

/// The backend a database URL selects.
enum Backend {
    Sqlite,
}

fn backend(args: &StoreArgs) -> anyhow::Result<Backend> {
    match args.database_url.as_deref() {
        None => Ok(Backend::Sqlite),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            bail!("the PostgreSQL backend is not available in this build yet; unset DATABASE_URL to use the embedded SQLite store")
        }
        Some(url) if url.starts_with("sqlite:") => {
            bail!("use --data-dir for the embedded store instead of a sqlite: URL")
        }
        Some(_) => bail!("unsupported --database-url scheme: expected postgres://"),
    }
}

/// Opens the configured store, applying pending migrations.
async fn open_store(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    match backend(args)? {
        Backend::Sqlite => {
            let store = SqliteStore::open(&args.data_dir).await.map_err(|e| {
                anyhow::anyhow!(e).context(format!(
                    "cannot open the embedded store in {}",
                    args.data_dir.display()
                ))
            })?;
            Ok(Arc::new(store))
        }
    }
}

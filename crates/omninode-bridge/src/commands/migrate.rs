//! `migrate`: apply pending migrations to the configured database and exit.

use std::process::ExitCode;

use anyhow::Context;
use bridge_store::{PgStore, SqliteStore};

use super::{backend, Backend};
use crate::cli::StoreArgs;

pub(crate) async fn run(args: StoreArgs) -> anyhow::Result<ExitCode> {
    match backend(&args)? {
        Backend::Sqlite => SqliteStore::migrate(&args.data_dir)
            .await
            .with_context(|| format!("migrating {}", args.data_dir.display()))?,
        Backend::Postgres(options) => PgStore::migrate(options.url.expose())
            .await
            .context("migrating the PostgreSQL database")?,
    }
    println!("migrations applied");
    Ok(ExitCode::SUCCESS)
}

//! Structured logs: pretty on a terminal, JSON lines otherwise (`--log-format`).

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

mod json;

/// Installs the global subscriber (filter from `RUST_LOG`, default `info`); keep the guard
/// until exit: dropping it writes out what is still queued.
pub(crate) fn init(format: Option<LogFormat>) -> WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let format = format.unwrap_or(if std::io::stderr().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    // One line per request: written inline, the write(2) and its wait were ~8 % of a
    // `POST /hash`. A writer thread takes the lines instead and writes whatever queued up
    // while it was busy in one call (through a buffer it flushes whenever the queue is
    // empty, so an idle service's lines are not held back). Not lossy: a full queue makes
    // the logging thread wait rather than drop lines.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => builder.event_format(json::JsonLines).init(),
        LogFormat::Pretty => builder.init(),
    }
    guard
}

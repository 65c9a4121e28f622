//! `omninode-bridge`: the service (`serve`) and the offline tools (`hash`, `stamp`, `verify`,
//! `migrate`) in one binary.

mod cli;
mod commands;
mod keyfiles;
mod logging;
mod sumline;
mod supervisor;
mod tls;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let _log = logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

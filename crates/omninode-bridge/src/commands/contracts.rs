//! `contracts check DIR`: load the node contracts from a directory, resolving `$ref`, and
//! print the resolved form (or the error naming file and key).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use bridge_core::contract::{self, builtin::Builtin, ContractSource, Contracts};

use crate::cli::ContractsCommand;

/// Contract files under a directory. Paths are the resolver's normalised relative paths,
/// which never contain `..`, so nothing outside the directory is read.
pub(crate) struct DirSource(pub(crate) PathBuf);

impl ContractSource for DirSource {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

/// The contracts `serve` runs with: `dir` if given, else the built-in ones.
pub(crate) fn load(dir: Option<&Path>) -> anyhow::Result<Contracts> {
    match dir {
        Some(d) => {
            anyhow::ensure!(
                d.is_dir(),
                "contracts directory {} does not exist",
                d.display()
            );
            contract::load(&DirSource(d.to_owned()))
                .with_context(|| format!("invalid contracts in {}", d.display()))
        }
        None => contract::load(&Builtin).context("built-in contracts are invalid"),
    }
}

pub(crate) fn run(cmd: ContractsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ContractsCommand::Check { dir } => {
            let contracts = load(Some(&dir))?;
            print!("{}", serde_norway::to_string(&contracts)?);
            eprintln!("contracts in {} are valid", dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `verify`: offline validation; a `FILE.onex-stamp` sidecar is used when present.

use std::process::ExitCode;

use anyhow::Context;
use bridge_core::stamp;

use super::stamp::sidecar_path;
use crate::cli::VerifyArgs;

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut all_valid = true;
    for path in &args.files {
        let content = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        let sidecar = sidecar_path(path);
        let v = if sidecar.exists() {
            let text = std::fs::read_to_string(&sidecar)
                .with_context(|| format!("{}", sidecar.display()))?;
            stamp::validate_sidecar(&content, &text, None)
        } else {
            stamp::validate(&content, None)
        };
        match &v.detail {
            Some(d) => println!("{}: {} ({d})", path.display(), v.reason.as_str()),
            None => println!("{}: {}", path.display(), v.reason.as_str()),
        }
        all_valid &= v.is_valid();
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

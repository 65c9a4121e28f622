//! `unstamp`: removes a stamp exactly, giving back the bytes from before stamping (whatever
//! signed it: removal needs no key). Prints the result, or with `--in-place` rewrites the file
//! atomically; a sidecar is deleted with `--in-place` (the file itself was never changed).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bridge_core::stamp::{self, Located};

use super::stamp::{sidecar_path, write_atomic};
use crate::cli::UnstampArgs;

pub(crate) fn run(args: UnstampArgs) -> anyhow::Result<ExitCode> {
    if args.files.len() > 1 && !args.in_place {
        bail!("unstamping several files to stdout would mix them: pass --in-place");
    }
    let mut all_stamped = true;
    for path in &args.files {
        let content = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        let sidecar = sidecar_path(path);
        if sidecar.exists() {
            if args.in_place {
                std::fs::remove_file(&sidecar)
                    .with_context(|| format!("cannot remove {}", sidecar.display()))?;
                eprintln!("removed {}", sidecar.display());
            } else {
                std::io::stdout().write_all(&content)?;
            }
            continue;
        }
        let found = matches!(stamp::locate(&content), Located::Found { .. });
        if !found {
            eprintln!("{}: no stamp", path.display());
            all_stamped = false;
        }
        let original = stamp::remove(&content);
        if args.in_place {
            if found {
                write_atomic(path, &original)?;
                eprintln!("unstamped {}", path.display());
            }
        } else {
            std::io::stdout().write_all(&original)?;
        }
    }
    Ok(if all_stamped {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

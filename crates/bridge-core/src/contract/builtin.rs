//! The shipped contracts (`contracts/` at the repository root), compiled into the binary so
//! that `serve` works with no files around it.

use super::ContractSource;

const FILES: &[(&str, &str)] = &[
    (
        "orchestrator/contract.yaml",
        include_str!("../../../../contracts/orchestrator/contract.yaml"),
    ),
    (
        "orchestrator/workflow.yaml",
        include_str!("../../../../contracts/orchestrator/workflow.yaml"),
    ),
    (
        "orchestrator/routing.yaml",
        include_str!("../../../../contracts/orchestrator/routing.yaml"),
    ),
    (
        "orchestrator/events.yaml",
        include_str!("../../../../contracts/orchestrator/events.yaml"),
    ),
    (
        "reducer/contract.yaml",
        include_str!("../../../../contracts/reducer/contract.yaml"),
    ),
    (
        "reducer/aggregation.yaml",
        include_str!("../../../../contracts/reducer/aggregation.yaml"),
    ),
    (
        "registry/contract.yaml",
        include_str!("../../../../contracts/registry/contract.yaml"),
    ),
    (
        "registry/health.yaml",
        include_str!("../../../../contracts/registry/health.yaml"),
    ),
    (
        "registry/events.yaml",
        include_str!("../../../../contracts/registry/events.yaml"),
    ),
    (
        "shared/fsm.yaml",
        include_str!("../../../../contracts/shared/fsm.yaml"),
    ),
];

/// The built-in copies of `contracts/`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Builtin;

impl Builtin {
    /// Every built-in file's path (relative to the contracts root).
    pub fn paths() -> impl ExactSizeIterator<Item = &'static str> {
        FILES.iter().map(|(p, _)| *p)
    }
}

impl ContractSource for Builtin {
    fn read(&self, path: &str) -> Option<String> {
        FILES
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, text)| (*text).to_owned())
    }
}

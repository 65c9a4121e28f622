//! `topics create|list`, and the catalogue `serve`'s relay creates on (re)connect.

use std::process::ExitCode;

use anyhow::{bail, Context};
use bridge_core::contract::Contracts;
use bridge_core::topics::{catalogue as build, TopicSpec, BUILTIN_YAML};
use bridge_events::admin::{ensure_topics, list_topics};

use crate::cli::{TopicsArgs, TopicsCommand};

/// `--env` prefixes topic names: only characters Kafka allows, and no dots of its own.
pub(crate) fn check_env(env: &str) -> anyhow::Result<()> {
    if env.is_empty()
        || !env
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
    {
        bail!("--env must be letters, digits, '_' or '-' (it prefixes topic names)");
    }
    Ok(())
}

/// The topic catalogue: config/topics.yaml plus the contracts' event topics for `env`.
pub(crate) fn catalogue(contracts: &Contracts, env: &str) -> anyhow::Result<Vec<TopicSpec>> {
    let events = contracts
        .orchestrator
        .events
        .for_env(env)
        .merged(&contracts.registry.events.for_env(env));
    build(BUILTIN_YAML, &events).context("topic catalogue")
}

pub(crate) async fn run(cmd: TopicsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TopicsCommand::Create(args) => {
            let kafka = args.kafka.required()?;
            let specs = specs(&args)?;
            let created = ensure_topics(&kafka, &specs)
                .await
                .with_context(|| format!("creating topics on {}", kafka.brokers()))?;
            let mut lines = String::new();
            for s in &specs {
                let state = if created.contains(&s.name) {
                    "created"
                } else {
                    "exists"
                };
                lines += &format!("{state}\t{}\t{} partitions\n", s.name, s.partitions);
            }
            print_all(&lines)
        }
        TopicsCommand::List(args) => {
            let kafka = args.kafka.required()?;
            let topics = list_topics(&kafka)
                .await
                .with_context(|| format!("listing topics on {}", kafka.brokers()))?;
            let lines: String = topics
                .iter()
                .map(|(name, partitions)| format!("{name}\t{partitions}\n"))
                .collect();
            print_all(&lines)
        }
    }
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
fn print_all(text: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn specs(args: &TopicsArgs) -> anyhow::Result<Vec<TopicSpec>> {
    check_env(&args.environment)?;
    let contracts = super::contracts::load(args.contracts.as_deref())?;
    catalogue(&contracts, &args.environment)
}

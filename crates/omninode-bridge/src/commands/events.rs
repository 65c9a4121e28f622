//! `events publish --topic T FILE`: one codegen event, validated, enveloped and sent.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bridge_events::codegen::{CodegenTopic, CODEGEN_TOPICS};
use bridge_events::publish::{publish, Published};

use crate::cli::EventsCommand;

/// Largest payload file read.
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

pub(crate) async fn run(cmd: EventsCommand) -> anyhow::Result<ExitCode> {
    let EventsCommand::Publish { topic, file, kafka } = cmd;
    let kafka = kafka.required()?;
    let Some(t) = CodegenTopic::find(&topic) else {
        let known: Vec<&str> = CODEGEN_TOPICS.iter().map(|t| t.topic).collect();
        bail!(
            "no codegen schema for topic '{topic}'; one of: {}",
            known.join(", ")
        );
    };
    let mut raw = String::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_PAYLOAD_BYTES + 1)
            .read_to_string(&mut raw)
    } else {
        std::fs::File::open(&file)
            .with_context(|| format!("cannot open {}", file.display()))?
            .take(MAX_PAYLOAD_BYTES + 1)
            .read_to_string(&mut raw)
    };
    read.with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?;
    if raw.len() as u64 > MAX_PAYLOAD_BYTES {
        bail!(
            "{} is larger than {MAX_PAYLOAD_BYTES} bytes",
            file.display()
        );
    }
    match publish(&kafka, t, &raw)
        .await
        .with_context(|| format!("publishing to {}", kafka.brokers()))?
    {
        Published::Sent {
            topic,
            partition,
            offset,
            event_id,
        } => {
            println!("sent\t{topic}\t{partition}\t{offset}\t{event_id}");
            Ok(ExitCode::SUCCESS)
        }
        Published::DeadLettered { dlq, error } => {
            println!("dead-lettered\t{dlq}\t{error}");
            Ok(ExitCode::from(1))
        }
    }
}

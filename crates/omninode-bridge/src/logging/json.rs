//! JSON lines in the shape of tracing-subscriber's `json().flatten_event(true)`:
//! `{"timestamp":…,"level":…,<the event's fields>,"target":…}`, one object a line.
//!
//! Written here because that formatter sends each piece of a line through an io-to-fmt adaptor
//! that checks UTF-8 piece by piece: ~17,600 instructions for one request line, a fifth of a
//! 1 KiB `POST /hash` (callgrind; ~8,200 here; docs/benchmarks.md, issue 20). Here a line is
//! built in one buffer, every key and value escaped by serde_json, and written once. Spans are
//! not shown: the service opens none.

use std::fmt;

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter (see module doc).
pub(crate) struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut time = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut time))?;
        let meta = event.metadata();
        let mut line = Line(Vec::with_capacity(256));
        line.0.push(b'{');
        line.entry("timestamp", &time);
        line.entry("level", meta.level().as_str());
        event.record(&mut line);
        line.entry("target", meta.target());
        line.0.pop(); // the comma after the last entry
        line.0.extend_from_slice(b"}\n");
        writer.write_str(std::str::from_utf8(&line.0).map_err(|_| fmt::Error)?)
    }
}

/// A line being built: `"key":value,` entries.
struct Line(Vec<u8>);

impl Line {
    fn entry(&mut self, key: &str, value: impl Serialize) {
        // Into a Vec, serde_json fails only on a map with non-string keys: none here.
        let _ = serde_json::to_writer(&mut self.0, key);
        self.0.push(b':');
        let _ = serde_json::to_writer(&mut self.0, &value);
        self.0.push(b',');
    }
}

/// As tracing-serde records fields: numbers and booleans as such, anything else as its
/// `Debug` text (a message, a `%value`, a `?value`).
impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field.name(), value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field.name(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field.name(), value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field.name(), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field.name(), format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    fn events() {
        let id = uuid::Uuid::new_v4();
        tracing::info!(
            correlation_id = %id,
            method = "POST",
            route = "/hash",
            status = 200u16,
            duration_ms = 0.25,
            "request"
        );
        tracing::warn!(
            error = ?std::io::Error::other("disk \"full\"\n"),
            count = -3i64,
            ok = false,
            "tab\there, quote \" and é"
        );
        tracing::error!(ratio = f64::NAN, big = u64::MAX, "{} of {}", 1, 2);
    }

    fn lines(out: &Captured) -> Vec<String> {
        String::from_utf8(out.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn lines_are_those_of_tracing_subscribers_json_formatter_byte_for_byte_but_the_time() {
        let (ours, theirs) = (Captured::default(), Captured::default());
        tracing::subscriber::with_default(
            tracing_subscriber::fmt()
                .with_writer(ours.clone())
                .event_format(JsonLines)
                .finish(),
            events,
        );
        tracing::subscriber::with_default(
            tracing_subscriber::fmt()
                .with_writer(theirs.clone())
                .json()
                .flatten_event(true)
                .finish(),
            events,
        );
        let (ours, theirs) = (lines(&ours), lines(&theirs));
        assert_eq!(ours.len(), 3);
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            let (mut va, mut vb): (Value, Value) = (
                serde_json::from_str(a).unwrap(),
                serde_json::from_str(b).unwrap(),
            );
            let (ta, tb) = (va["timestamp"].take(), vb["timestamp"].take());
            assert!(ta.as_str().unwrap().ends_with('Z'), "{a}");
            assert_eq!(ta.as_str().unwrap().len(), tb.as_str().unwrap().len());
            // The correlation ids are random: compare the lines without them too.
            let (ca, cb) = (va["correlation_id"].take(), vb["correlation_id"].take());
            assert_eq!(ca.is_string(), cb.is_string());
            assert_eq!(va, vb, "\nours:   {a}\ntheirs: {b}");
            // The same keys in the same order, so line-oriented tools see the same text.
            let keys = |l: &str| -> Vec<String> {
                l.split("\":")
                    .map(|p| p.rsplit("\"").next().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(keys(a), keys(b));
        }
    }
}

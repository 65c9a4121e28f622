//! Service-side hashing against the raw `blake3` crate, side by side in one run (SPEC §9:
//! within 10 %). `service/hash_bytes` is what `/hash` JSON and the CLI use; `service/unstamp_hash`
//! is what `/stamp` does (look for an existing stamp, then hash). The streamed `/hash` upload
//! is measured through its handler's own code in `bridge-api`'s `hash_stream` bench.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

use bridge_core::hash::hash_bytes;
use bridge_core::stamp::Original;

fn content(len: usize) -> Vec<u8> {
    // Text-like bytes, so the stamp locator takes its usual path.
    (0..len)
        .map(|i| b"abcdefghij klmnopqrstuvwxyz\n"[i % 28])
        .collect()
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    for (label, len) in [("1KiB", 1 << 10), ("100KiB", 100 << 10), ("1MiB", 1 << 20)] {
        let data = content(len);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("raw_blake3", label), &data, |b, d| {
            b.iter(|| blake3::hash(black_box(d)))
        });
        g.bench_with_input(
            BenchmarkId::new("service_hash_bytes", label),
            &data,
            |b, d| b.iter(|| hash_bytes(black_box(d))),
        );
        g.bench_with_input(
            BenchmarkId::new("service_unstamp_hash", label),
            &data,
            |b, d| b.iter(|| Original::of(black_box(d)).hash),
        );
        // The anchor again, last: the mean of both runs cancels drift across the group.
        g.bench_with_input(
            BenchmarkId::new("raw_blake3_again", label),
            &data,
            |b, d| b.iter(|| blake3::hash(black_box(d))),
        );
    }
    g.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);

//! SPEC §9: hashing in the service within 10 % of the raw `blake3` crate, 1 KiB–1 MiB. The
//! service side is the streamed `POST /hash` handler's own path (`hash_stream`: each chunk
//! hashed as it arrives, the size check, the head kept for type detection, then detection),
//! fed 16 KiB `Bytes` chunks as hyper hands them over; the anchor hashes the same bytes whole
//! with `blake3::hash`, once before and once after (their mean cancels drift).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::FutureExt;
use std::hint::black_box;

use bytes::Bytes;

const CHUNK: usize = 16 << 10;

fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghij klmnopqrstuvwxyz\n"[i % 28])
        .collect()
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash_stream");
    for (label, len) in [("1KiB", 1 << 10), ("100KiB", 100 << 10), ("1MiB", 1 << 20)] {
        let data = content(len);
        let whole = Bytes::from(data.clone());
        let chunks: Vec<Bytes> = (0..len)
            .step_by(CHUNK)
            .map(|i| whole.slice(i..(i + CHUNK).min(len)))
            .collect();
        assert_eq!(
            bridge_api::bench::hash_stream(
                futures_util::stream::iter(chunks.iter().cloned().map(Ok)),
                u64::MAX
            )
            .now_or_never()
            .flatten()
            .as_deref(),
            Some(blake3::hash(&data).to_hex().as_str()),
            "the handler's digest is blake3's"
        );
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("raw_blake3", label), &data, |b, d| {
            b.iter(|| blake3::hash(black_box(d)))
        });
        g.bench_with_input(
            BenchmarkId::new("handler_hash_stream", label),
            &chunks,
            |b, chunks| {
                b.iter(|| {
                    // Every chunk is ready, as in a body already received: one poll runs it all.
                    let stream =
                        futures_util::stream::iter(black_box(chunks).iter().cloned().map(Ok));
                    bridge_api::bench::hash_stream(stream, u64::MAX)
                        .now_or_never()
                        .flatten()
                })
            },
        );
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

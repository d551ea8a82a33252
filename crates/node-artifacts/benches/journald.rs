//! Throughput of the journald parser on generated inputs: a 500,000-line
//! `short` kubelet journal (klog parsing included) and 1,000,000 export
//! entries.
//!
//! The parsed journal of each iteration is freed outside the timed region
//! (`iter_batched` with one iteration per batch, so only one model of up
//! to 2 GB is alive at a time): the figure is the parse itself.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use node_artifacts::journald::{self, JournalFormat, ParseOptions};
use node_artifacts::time::Timestamp;

/// 2025-01-15T10:00:00Z: the collection time of the generated journals.
const COLLECTED: Timestamp = Timestamp(1_736_935_200_000_000);

fn kubelet_short(c: &mut Criterion) {
    let input = fixture_gen::journald::kubelet_short(500_000, 42);
    let options = ParseOptions {
        reference_time: Some(COLLECTED),
        format: None,
    };
    let mut group = c.benchmark_group("journald");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("kubelet_short_500k_lines", |b| {
        b.iter_batched(
            || (),
            |()| journald::parse(black_box(input.as_bytes()), &options),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn export(c: &mut Criterion) {
    let input = fixture_gen::journald::export(1_000_000, 42);
    let options = ParseOptions {
        reference_time: None,
        format: Some(JournalFormat::Export),
    };
    let mut group = c.benchmark_group("journald");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("export_1m_entries", |b| {
        b.iter_batched(
            || (),
            |()| journald::parse(black_box(&input), &options),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, kubelet_short, export);
criterion_main!(benches);

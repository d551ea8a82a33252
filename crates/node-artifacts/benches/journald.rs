//! Throughput of the journald parser on generated inputs: a 500,000-line
//! `short` kubelet journal (klog headers only: the store parses klog pairs
//! on demand) and 1,000,000 export entries; and, on the parsed kubelet
//! journal, a scan of every entry's severity and text through views and the
//! materialising of every fifth entry (klog pairs parsed), which is what a
//! rule's candidates cost.
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

fn kubelet_views(c: &mut Criterion) {
    let input = fixture_gen::journald::kubelet_short(500_000, 42);
    let options = ParseOptions {
        reference_time: Some(COLLECTED),
        format: None,
    };
    let Ok(parsed) = journald::parse(input.as_bytes(), &options) else {
        return;
    };
    let journal = parsed.value;
    let mut group = c.benchmark_group("journald");
    group.sample_size(10);
    group.bench_function("kubelet_views_scan_500k", |b| {
        b.iter(|| {
            journal
                .views()
                .filter(|view| view.severity() >= Some(journald::Severity::Error))
                .map(|view| view.text().map_or(0, str::len))
                .sum::<usize>()
        });
    });
    group.bench_function("kubelet_materialise_100k", |b| {
        b.iter_batched(
            || (),
            |()| {
                (0..journal.len())
                    .step_by(5)
                    .filter_map(|index| journal.entry(index))
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, kubelet_short, export, kubelet_views);
criterion_main!(benches);

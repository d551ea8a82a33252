//! Throughput of the dmesg parser on a generated million-line `dmesg`
//! (about 70 MB), and of event recognition over the parsed log.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use node_artifacts::dmesg;

fn bench(c: &mut Criterion) {
    let input = fixture_gen::dmesg::plain(1_000_000, 42);
    let mut group = c.benchmark_group("dmesg");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("parse_plain_1m_lines", |b| {
        b.iter(|| dmesg::parse(black_box(&input)))
    });
    let log = dmesg::parse(&input).expect("generated dmesg parses").value;
    group.bench_function("events_1m_lines", |b| {
        b.iter(|| dmesg::events(black_box(&log)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Criterion benchmarks for the conntrack parser and the streaming aggregate
//! on generated tables of 262,144 and 1,048,576 entries (`nf_conntrack_max`
//! values seen on large nodes).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn tables(c: &mut Criterion) {
    // `cargo test --all-targets` runs each benchmark once as a smoke test,
    // unoptimised; small tables keep that quick. `cargo bench` passes
    // `--bench` and measures the real sizes.
    let sizes: [usize; 2] = if std::env::args().any(|arg| arg == "--bench") {
        [262_144, 1_048_576]
    } else {
        [4_096, 16_384]
    };
    for entries in sizes {
        let input = fixture_gen::conntrack::table(entries, 42);
        let mut group = c.benchmark_group(format!("conntrack/{entries}"));
        group.sample_size(10);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("parse", |b| {
            b.iter(|| node_artifacts::conntrack::parse(black_box(&input)))
        });
        group.bench_function("aggregate", |b| {
            b.iter(|| node_artifacts::conntrack::aggregate(black_box(&input)))
        });
        group.bench_function("parse+index", |b| {
            b.iter(|| {
                let parsed = node_artifacts::conntrack::parse(black_box(&input));
                parsed.map(|parsed| parsed.value.table.unreplied_count())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, tables);
criterion_main!(benches);

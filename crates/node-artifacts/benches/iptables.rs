//! Throughput of the iptables-save parser and of the Kubernetes view on a
//! kube-proxy node with 5,000 services × 3 endpoints (about 75,000 lines).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use node_artifacts::iptables::{self, kube::KubeView};

fn bench_iptables(c: &mut Criterion) {
    let input = fixture_gen::iptables::kube_proxy_ruleset(5_000, 3);
    let mut group = c.benchmark_group("iptables");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(20);
    group.bench_function("parse_5000x3", |b| {
        b.iter(|| iptables::parse(black_box(&input)))
    });
    let ruleset = iptables::parse(&input)
        .map(|p| p.value)
        .unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("render_5000x3", |b| b.iter(|| black_box(&ruleset).render()));
    group.bench_function("kube_view_5000x3", |b| {
        b.iter(|| KubeView::new(black_box(&ruleset)))
    });
    group.finish();
}

criterion_group!(benches, bench_iptables);
criterion_main!(benches);

//! Trace cost on kube-proxy's ruleset for 5,000 services × 3 endpoints
//! (`fixture_gen::iptables::kube_proxy_ruleset`, about 75,000 lines).
//!
//! `prepare+trace` is what a one-off [`analysis::trace::trace`] call costs
//! (chain indexes built, then one walk); `trace` is one more flow on a
//! prepared [`Tracer`].

#![allow(missing_docs, reason = "criterion macros")]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::IpAddr;

use analysis::trace::{Flow, FlowProtocol, TraceOptions, Tracer};
use criterion::{Criterion, criterion_group, criterion_main};
use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

const ROUTES: &str = "default via 192.168.0.1 dev eth0 proto dhcp src 192.168.30.117 metric 512
192.168.0.0/16 dev eth0 proto kernel scope link src 192.168.30.117 metric 512
local 192.168.30.117 dev eth0 table local proto kernel scope host src 192.168.30.117
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
";

fn snapshot() -> NodeSnapshot {
    let mut files = BTreeMap::new();
    files.insert(
        "networking/iptables-save.txt".to_owned(),
        FileBytes::new(fixture_gen::iptables::kube_proxy_ruleset(5_000, 3).into_bytes()),
    );
    files.insert("networking/iproute.txt".to_owned(), FileBytes::from(ROUTES));
    NodeSnapshot::build(SnapshotInput {
        name: None,
        files: &files,
        rejected: &[],
        newest_file_time: None,
    })
}

fn bench(c: &mut Criterion) {
    let snapshot = snapshot();
    // Service 4001 of the generator: 10.100.15.163:9090/tcp, three endpoints.
    let flow = Flow::new(IpAddr::from([10, 100, 15, 163]), 9090, FlowProtocol::Tcp)
        .from_src(IpAddr::from([192, 168, 70, 9]))
        .in_iface("eni0a1b2c3d4e5");
    let mut group = c.benchmark_group("trace/5000-services");
    group.sample_size(20);
    group.bench_function("prepare+trace", |b| {
        b.iter(|| analysis::trace::trace(black_box(&snapshot), &flow, TraceOptions::default()));
    });
    let tracer = Tracer::new(&snapshot);
    group.bench_function("trace", |b| {
        b.iter(|| tracer.trace(black_box(&flow), TraceOptions::default()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Throughput of the "extra" node artifact parsers on generated inputs of
//! realistic large-node size (5,000 services, 1,000 pod veths, …).
//!
//! Run with `cargo bench -p node-artifacts --bench extra -- --warm-up-time 1
//! --measurement-time 5`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixture_gen::extra as generate;
use node_artifacts::{ethtool, iproute, iptables_list, ipvs, ps, sysctl};

type Case = (&'static str, String, fn(&str));

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("extra");
    let cases: Vec<Case> = vec![
        (
            "iptables_list/nat-5000-services",
            generate::iptables_nat_listing(5000),
            |t| {
                let _ = std::hint::black_box(iptables_list::parse(t));
            },
        ),
        (
            // Parse, then read every rule back from its packed row: what a
            // caller that walks the whole listing pays.
            "iptables_list/nat-5000-services-read-every-rule",
            generate::iptables_nat_listing(5000),
            |t| {
                if let Ok(parsed) = iptables_list::parse(t) {
                    let rules = parsed.value.rules().map(|(_, rule)| rule.options.len());
                    std::hint::black_box(rules.sum::<usize>());
                }
            },
        ),
        ("sysctl/1000-interfaces", generate::sysctl_all(1000), |t| {
            let _ = std::hint::black_box(sysctl::parse(t));
        }),
        (
            "iproute/20000-pod-routes",
            generate::ip_route(20_000),
            |t| {
                let _ = std::hint::black_box(iproute::parse_routes(t));
            },
        ),
        (
            "ethtool/16-interfaces-32-queues",
            generate::ethtool(16, 32),
            |t| {
                let _ = std::hint::black_box(ethtool::parse(t));
            },
        ),
        (
            "ipvs/5000-services-3-servers",
            generate::ipvsadm(5000, 3),
            |t| {
                let _ = std::hint::black_box(ipvs::parse(t));
            },
        ),
        ("ipset/20000-members", generate::ipset(20_000), |t| {
            let _ = std::hint::black_box(ipvs::ipset::parse(t));
        }),
        ("ps/1000-pods", generate::ps(1000), |t| {
            let _ = std::hint::black_box(ps::parse(t));
        }),
    ];
    for (name, text, parse) in &cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| b.iter(|| parse(std::hint::black_box(text))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

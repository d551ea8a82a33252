//! Fuzzes the packet tracer on arbitrary rulesets: the bytes are the node's
//! `iptables-save` (and, split at the first NUL, its `ip route` table); a few
//! fixed flows are traced. Nothing may panic, every trace must end every
//! branch, and branch probabilities must sum to 1.

#![no_main]

use std::collections::BTreeMap;
use std::net::IpAddr;

use analysis::trace::{Flow, FlowProtocol, TraceOptions, Tracer};
use libfuzzer_sys::fuzz_target;
use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

fuzz_target!(|data: &[u8]| {
    let (rules, routes) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let mut files = BTreeMap::new();
    files.insert("networking/iptables-save.txt".to_owned(), FileBytes::from(rules));
    files.insert("networking/ip6tables-save.txt".to_owned(), FileBytes::from(rules));
    files.insert("networking/iproute.txt".to_owned(), FileBytes::from(routes));
    let snapshot = NodeSnapshot::build(SnapshotInput {
        name: None,
        files: &files,
        rejected: &[],
        newest_file_time: None,
    });
    let tracer = Tracer::new(&snapshot);
    let flows = [
        Flow::new(IpAddr::from([10, 100, 0, 10]), 53, FlowProtocol::Udp)
            .from_src(IpAddr::from([192, 168, 1, 5]))
            .in_iface("eni0a1b2c3d4e5"),
        Flow::new(IpAddr::from([192, 168, 30, 117]), 30080, FlowProtocol::Tcp).in_iface("eth0"),
        Flow::new(IpAddr::from([10, 0, 0, 1]), 443, FlowProtocol::Tcp).local(),
        Flow::new("fd00::10".parse().expect("ipv6"), 443, FlowProtocol::Tcp)
            .from_src("fd00::20".parse().expect("ipv6")),
    ];
    for flow in &flows {
        let trace = tracer.trace(flow, TraceOptions::default());
        assert!(!trace.branches.is_empty());
        let total: f64 = trace.branches.iter().map(|b| b.probability).sum();
        assert!((total - 1.0).abs() < 1e-6, "probabilities sum to {total}");
        let _ = trace.to_string();
    }
});

//! Traces on the scenario bundles and the trace fixtures, with known answers.

use std::net::IpAddr;

use analysis::trace::{Flow, FlowProtocol, Outcome, TraceOptions, Tracer, trace};
use node_artifacts::iptables::Table;

use crate::{scenario, snapshot_of};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn assert_sums_to_one(t: &analysis::trace::Trace) {
    let total: f64 = t.branches.iter().map(|b| b.probability).sum();
    assert!((total - 1.0).abs() < 1e-9, "probabilities sum to {total}");
}

#[test]
fn dns_without_endpoints_is_rejected_by_the_named_rule() {
    let snapshot = scenario("dns-no-endpoints");
    let flow = Flow::new(ip("172.20.0.10"), 53, FlowProtocol::Udp)
        .from_src(ip("10.0.70.200"))
        .in_iface("eni5e6f7a8b9c0");
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert_eq!(t.branches.len(), 1);
    match &t.branches[0].outcome {
        Outcome::Rejected { rule, with } => {
            assert_eq!(rule.table, Table::Filter);
            assert_eq!(rule.chain, "KUBE-SERVICES");
            assert_eq!(rule.line, 46);
            assert!(
                rule.text
                    .contains("kube-system/kube-dns:dns has no endpoints")
            );
            assert_eq!(with, "icmp-port-unreachable");
        }
        other => panic!("expected a REJECT, got {other:?}"),
    }
    assert_sums_to_one(&t);
    insta::assert_snapshot!("dns_no_endpoints", t.to_string());
}

#[test]
fn service_with_three_endpoints_branches_into_thirds() {
    let snapshot = scenario("conntrack-exhaustion");
    let flow = Flow::new(ip("172.20.33.180"), 80, FlowProtocol::Tcp)
        .from_src(ip("10.0.50.75"))
        .in_iface("eni0b1c2d3e4f5");
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert_eq!(t.endpoints.len(), 3, "{t}");
    let mut addresses: Vec<String> = t
        .endpoints
        .iter()
        .map(|e| e.address.unwrap().to_string())
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["10.0.45.12", "10.0.66.5", "10.0.9.231"]);
    for e in &t.endpoints {
        assert!((e.probability - 1.0 / 3.0).abs() < 1e-6, "{e:?}");
        assert_eq!(e.port, Some(8080));
        assert_eq!(e.service.as_deref(), Some("shop/catalog:http"));
    }
    assert_sums_to_one(&t);
    // Pod to pod inside the VPC: forwarded, no source NAT.
    for b in &t.branches {
        assert!(matches!(b.outcome, Outcome::Accepted { .. }), "{b:?}");
        assert!(b.snat.is_none(), "{b:?}");
    }
    insta::assert_snapshot!("three_endpoints", t.to_string());
}

#[test]
fn pod_to_pod_flow_is_dropped_by_the_policy_rule() {
    let snapshot = snapshot_of(&[
        (
            "networking/iptables-save.txt",
            "trace/pod-to-pod-drop/iptables-save.txt",
        ),
        (
            "networking/iproute.txt",
            "trace/pod-to-pod-drop/iproute.txt",
        ),
    ]);
    let tracer = Tracer::new(&snapshot);
    let denied = Flow::new(ip("192.168.2.10"), 5432, FlowProtocol::Tcp)
        .from_src(ip("192.168.3.30"))
        .in_iface("eni3c4d5e6f7a8");
    let t = tracer.trace(&denied, TraceOptions::default());
    match &t.branches[0].outcome {
        Outcome::Dropped { rule } => {
            assert_eq!((rule.chain.as_str(), rule.line), ("POD-POLICY-DB", 14));
        }
        other => panic!("expected a DROP, got {other:?}"),
    }
    insta::assert_snapshot!("pod_to_pod_drop", t.to_string());

    // The allowed client is accepted and goes out on the database pod's veth.
    let allowed = Flow::new(ip("192.168.2.10"), 5432, FlowProtocol::Tcp)
        .from_src(ip("192.168.1.20"))
        .in_iface("eni1a2b3c4d5e6");
    let t = tracer.trace(&allowed, TraceOptions::default());
    assert_eq!(
        t.branches[0].outcome,
        Outcome::Accepted {
            delivery: "forwarded",
            out_iface: Some("eni2b3c4d5e6f7".to_owned()),
        }
    );
    // Without the input interface the policy jump cannot be decided.
    let unknown =
        Flow::new(ip("192.168.2.10"), 5432, FlowProtocol::Tcp).from_src(ip("192.168.3.30"));
    let t = tracer.trace(&unknown, TraceOptions::default());
    match &t.branches[0].outcome {
        Outcome::Undetermined {
            rule: Some(rule),
            reason,
        } => {
            assert_eq!(rule.line, 9);
            assert!(reason.contains("input interface"), "{reason}");
        }
        other => panic!("expected undetermined, got {other:?}"),
    }
    // To the internet: the VPC CNI's SNAT to the node's primary address.
    let out = Flow::new(ip("52.94.1.1"), 443, FlowProtocol::Tcp)
        .from_src(ip("192.168.1.20"))
        .in_iface("eni1a2b3c4d5e6");
    let t = tracer.trace(&out, TraceOptions::default());
    let snat = t.branches[0].snat.as_ref().expect("snat");
    assert_eq!(snat.to_source, Some(ip("192.168.0.10")));
    assert_eq!(snat.rule.chain, "AWS-SNAT-CHAIN-0");
    assert!(snat.random_fully);
}

#[test]
fn node_port_flow_reaches_the_endpoints_masqueraded() {
    let snapshot = scenario("conntrack-exhaustion");
    let flow = Flow::new(ip("10.0.33.71"), 31380, FlowProtocol::Tcp)
        .from_src(ip("10.0.200.9"))
        .in_iface("eth0");
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert!(!t.endpoints.is_empty(), "{t}");
    assert_sums_to_one(&t);
    for b in &t.branches {
        assert!(matches!(b.outcome, Outcome::Accepted { .. }), "{t}");
        // KUBE-MARK-MASQ's 0x4000 was carried to KUBE-POSTROUTING, which
        // clears it again before masquerading.
        assert_eq!(b.mark & 0x4000, 0, "cleared by KUBE-POSTROUTING");
        let snat = b.snat.as_ref().expect("masquerade");
        assert_eq!(snat.kind, "masquerade");
        assert_eq!(snat.rule.chain, "KUBE-POSTROUTING");
    }
    insta::assert_snapshot!("node_port", t.to_string());
}

#[test]
fn ipv6_service_and_node_port() {
    let snapshot = snapshot_of(&[
        (
            "networking/ip6tables-save.txt",
            "trace/ipv6/ip6tables-save.txt",
        ),
        ("networking/ip6route.txt", "trace/ipv6/ip6route.txt"),
    ]);
    let tracer = Tracer::new(&snapshot);
    let flow = Flow::new(ip("fd00:172:20::80"), 443, FlowProtocol::Tcp)
        .from_src(ip("2600:1f14:aaa:bb01::b"))
        .in_iface("eni6b6b6b6b6b6");
    let t = tracer.trace(&flow, TraceOptions::default());
    assert_eq!(t.family, "ipv6");
    assert_eq!(t.endpoints.len(), 2);
    for e in &t.endpoints {
        assert!((e.probability - 0.5).abs() < 1e-9);
    }
    assert_sums_to_one(&t);
    insta::assert_snapshot!("ipv6_service", t.to_string());

    let node_port = Flow::new(ip("2600:1f14:aaa:bb00::10"), 30443, FlowProtocol::Tcp)
        .from_src(ip("2600:1f14:aaa:cc00::99"))
        .in_iface("eth0");
    let t = tracer.trace(&node_port, TraceOptions::default());
    assert_eq!(t.endpoints.len(), 2, "{t}");
    assert!(t.branches.iter().all(|b| b.snat.is_some()), "{t}");
    insta::assert_snapshot!("ipv6_node_port", t.to_string());
}

#[test]
fn generated_ruleset_uses_the_index() {
    let mut files = std::collections::BTreeMap::new();
    files.insert(
        "networking/iptables-save.txt".to_owned(),
        node_artifacts::shared::FileBytes::from(
            fixture_gen::iptables::kube_proxy_ruleset(500, 3).into_bytes(),
        ),
    );
    let snapshot =
        node_artifacts::snapshot::NodeSnapshot::build(node_artifacts::snapshot::SnapshotInput {
            name: None,
            files: &files,
            rejected: &[],
            newest_file_time: None,
        });
    // Service 401: 10.100.1.147:9090/tcp.
    let flow = Flow::new(ip("10.100.1.147"), 9090, FlowProtocol::Tcp)
        .from_src(ip("192.168.70.9"))
        .in_iface("eni0a1b2c3d4e5");
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert_eq!(t.endpoints.len(), 3, "{t}");
    assert!(
        t.steps_total < 60,
        "the KUBE-SERVICES hop must not visit every rule: {} visits",
        t.steps_total
    );
    // Without a routing table the node's addresses are unknown: said, not guessed.
    assert!(!t.local_addresses_known);
    assert!(
        t.branches
            .iter()
            .all(|b| matches!(b.outcome, Outcome::Undetermined { rule: None, .. }))
    );
}

#[test]
fn established_flows_skip_nat_and_find_conntrack_entries() {
    let snapshot = scenario("conntrack-exhaustion");
    let mut flow = Flow::new(ip("172.20.0.10"), 53, FlowProtocol::Udp)
        .from_src(ip("10.0.50.75"))
        .in_iface("eni0b1c2d3e4f5");
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert!(t.conntrack.total > 0, "{t}");
    flow.ct_state = node_artifacts::iptables::CtState::Established;
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert!(t.steps.iter().all(|s| s.table != Table::Nat), "{t}");
    assert!(t.notes.iter().any(|n| n.contains("nat table")));
    // The connection mark comes from the existing entries, so the VPC CNI's
    // CONNMARK restore is decided rather than undetermined.
    assert!(t.notes.iter().any(|n| n.contains("connection mark")), "{t}");
    assert!(
        t.branches
            .iter()
            .all(|b| !matches!(b.outcome, Outcome::Undetermined { .. })),
        "{t}"
    );
}

#[test]
fn json_is_serializable() {
    let snapshot = scenario("dns-no-endpoints");
    let flow = Flow::new(ip("172.20.0.10"), 53, FlowProtocol::Tcp)
        .from_src(ip("10.0.70.200"))
        .in_iface("eni5e6f7a8b9c0");
    let t = trace(&snapshot, &flow, TraceOptions::default());
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["branches"][0]["outcome"]["outcome"], "rejected");
    assert_eq!(json["flow"]["protocol"], "tcp");
}

#[test]
fn branch_limit_truncates_without_losing_probability() {
    let snapshot = scenario("conntrack-exhaustion");
    let flow = Flow::new(ip("172.20.33.180"), 80, FlowProtocol::Tcp)
        .from_src(ip("10.0.50.75"))
        .in_iface("eni0b1c2d3e4f5");
    let t = trace(
        &snapshot,
        &flow,
        TraceOptions {
            max_branches: 2,
            max_steps: 5,
            ..TraceOptions::default()
        },
    );
    assert_eq!(t.steps.len(), 5);
    assert!(t.steps_total > 5);
    assert_eq!(t.branches.len(), 3, "{t}");
    assert!(
        t.branches
            .iter()
            .any(|b| matches!(b.outcome, Outcome::Truncated { .. }))
    );
    assert_sums_to_one(&t);
}

#[test]
fn locally_generated_flow_walks_output() {
    let snapshot = scenario("dns-no-endpoints");
    let flow = Flow::new(ip("172.20.0.10"), 53, FlowProtocol::Udp)
        .from_src(ip("10.0.70.12"))
        .local();
    let t = trace(&snapshot, &flow, TraceOptions::default());
    assert!(t.steps.iter().any(|s| s.chain == "OUTPUT"), "{t}");
    assert!(t.steps.iter().all(|s| s.chain != "PREROUTING"), "{t}");
    assert!(
        matches!(t.branches[0].outcome, Outcome::Rejected { .. }),
        "{t}"
    );
}

mod prop {
    use std::collections::BTreeMap;

    use analysis::trace::{Flow, FlowProtocol, TraceOptions, Tracer};
    use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};
    use proptest::prelude::*;

    const CHAINS: [&str; 4] = ["A", "B", "C", "D"];
    const MATCHES: [&str; 10] = [
        "",
        "-s 10.0.0.0/8 ",
        "! -d 10.100.0.10/32 ",
        "-i eni+ ",
        "-p udp -m udp --dport 53 ",
        "-m mark --mark 0x4000/0x4000 ",
        "-m statistic --mode random --probability 0.25 ",
        "-m conntrack --ctstate NEW ",
        "-m recent --rcheck --name x ",
        "-m addrtype --dst-type LOCAL ",
    ];

    fn target(choice: u8, chain: usize) -> String {
        match choice % 9 {
            0 => "-j ACCEPT".to_owned(),
            1 => "-j DROP".to_owned(),
            2 => "-j RETURN".to_owned(),
            3 => format!("-j {}", CHAINS[chain % 4]),
            4 => format!("-g {}", CHAINS[chain % 4]),
            5 => "-j MARK --set-xmark 0x4000/0x4000".to_owned(),
            6 => "-j REJECT --reject-with icmp-port-unreachable".to_owned(),
            7 => "-j LOG".to_owned(),
            _ => "-j DNAT --to-destination 10.0.1.5:8080".to_owned(),
        }
    }

    fn ruleset(rules: &[(usize, usize, u8, usize)]) -> String {
        let mut out = String::new();
        for table in ["filter", "nat"] {
            out.push_str(&format!("*{table}\n"));
            for builtin in ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"] {
                out.push_str(&format!(":{builtin} ACCEPT [0:0]\n"));
            }
            for c in CHAINS {
                out.push_str(&format!(":{c} - [0:0]\n"));
            }
            for &(chain, m, t, to) in rules {
                let chain = [
                    "PREROUTING",
                    "FORWARD",
                    "OUTPUT",
                    "POSTROUTING",
                    "A",
                    "B",
                    "C",
                    "D",
                ][chain % 8];
                out.push_str(&format!(
                    "-A {chain} {}{}\n",
                    MATCHES[m % 10],
                    target(t, to)
                ));
            }
            out.push_str("COMMIT\n");
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any ruleset of these shapes (loops included) traces without a
        /// panic, ends every branch, and keeps the probabilities summing to 1.
        #[test]
        fn traces_end_and_sum_to_one(
            rules in proptest::collection::vec((0usize..8, 0usize..10, any::<u8>(), 0usize..4), 0..40),
            local in any::<bool>(),
        ) {
            let mut files = BTreeMap::new();
            files.insert("networking/iptables-save.txt".to_owned(), ruleset(&rules).into_bytes().into());
            files.insert(
                "networking/iproute.txt".to_owned(),
                b"default via 10.0.0.1 dev eth0\nlocal 10.0.0.10 dev eth0 table local proto kernel scope host src 10.0.0.10\n".to_vec().into(),
            );
            let snapshot = NodeSnapshot::build(SnapshotInput {
                name: None,
                files: &files,
                rejected: &[],
                newest_file_time: None,
            });
            let mut flow = Flow::new([10, 100, 0, 10].into(), 53, FlowProtocol::Udp)
                .from_src([10, 0, 3, 4].into())
                .in_iface("eni1234");
            if local {
                flow = flow.local();
            }
            let t = Tracer::new(&snapshot).trace(&flow, TraceOptions::default());
            prop_assert!(!t.branches.is_empty());
            let total: f64 = t.branches.iter().map(|b| b.probability).sum();
            prop_assert!((total - 1.0).abs() < 1e-9, "sum {}", total);
            let _ = t.to_string();
        }
    }
}

#[test]
fn protocols_parse() {
    assert_eq!("TCP".parse::<FlowProtocol>().unwrap(), FlowProtocol::Tcp);
    assert_eq!("17".parse::<FlowProtocol>().unwrap(), FlowProtocol::Udp);
    assert_eq!(
        "icmp".parse::<FlowProtocol>().unwrap_err().to_string(),
        "unknown protocol `icmp` (expected tcp, udp or sctp)"
    );
}

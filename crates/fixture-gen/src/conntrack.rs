//! `conntrack -L` tables of a busy EKS node.
//!
//! The mix follows what one node running kube-proxy (iptables mode) and the
//! VPC CNI holds: pod-to-Service TCP flows DNATed from a ClusterIP
//! (`172.20.0.0/16`) to a pod IP anywhere in the cluster (`10.0.0.0/16`), many
//! `TIME_WAIT` leftovers, DNS over UDP to the cluster DNS Service
//! `172.20.0.10:53` DNATed to CoreDNS pods (some `[UNREPLIED]`), SNATed egress
//! to a few hundred AWS and SaaS endpoints, half-open `SYN_SENT` attempts, and
//! a little ICMP. Sources are mostly the node's own pods (a large node runs a
//! few hundred), plus pods of other nodes reaching Services through this
//! node. Lines are written exactly as
//! libnetfilter_conntrack's default printer writes them (`%-8s %u` protocol
//! column, single blanks, no trailing blank).

use crate::rng::SplitMix64;

use std::fmt::Write;

/// Writes a table of `entries` lines, deterministic in `seed`.
pub fn table(entries: usize, seed: u64) -> String {
    let mut rng = SplitMix64(seed ^ 0x636f_6e6e_7472_6163);
    let mut out = String::with_capacity(entries * 160);
    let coredns = [[10, 0, 3, 17], [10, 0, 9, 201]];
    for _ in 0..entries {
        let roll = rng.below(100);
        let pod = source_ip(&mut rng);
        let sport = 32_768 + rng.below(28_000) as u16;
        let mark = if rng.below(10) == 0 { 16_384 } else { 0 };
        let use_count = 1 + u32::from(rng.below(20) == 0);
        // Writing into a String cannot fail.
        let _ = match roll {
            // Pod → Service ClusterIP, DNATed to a backend pod, established.
            0..=39 => {
                let (vip, port, target_port) = service(&mut rng);
                let backend = pod_ip(&mut rng);
                writeln!(
                    out,
                    "tcp      6 {} ESTABLISHED src={} dst={} sport={sport} dport={port} src={} dst={} sport={target_port} dport={sport} [ASSURED] mark={mark} use={use_count}",
                    86_000 + rng.below(400),
                    ip(pod),
                    ip(vip),
                    ip(backend),
                    ip(pod),
                )
            }
            // Closed Service connections waiting out TIME_WAIT.
            40..=59 => {
                let (vip, port, target_port) = service(&mut rng);
                let backend = pod_ip(&mut rng);
                writeln!(
                    out,
                    "tcp      6 {} TIME_WAIT src={} dst={} sport={sport} dport={port} src={} dst={} sport={target_port} dport={sport} [ASSURED] mark={mark} use={use_count}",
                    rng.below(120),
                    ip(pod),
                    ip(vip),
                    ip(backend),
                    ip(pod),
                )
            }
            // DNS to the cluster DNS Service, DNATed to a CoreDNS pod.
            60..=84 => {
                let backend = coredns[rng.below(2) as usize];
                if rng.below(8) == 0 {
                    writeln!(
                        out,
                        "udp      17 {} src={} dst=172.20.0.10 sport={sport} dport=53 [UNREPLIED] src={} dst={} sport=53 dport={sport} mark={mark} use={use_count}",
                        rng.below(30),
                        ip(pod),
                        ip(backend),
                        ip(pod),
                    )
                } else {
                    writeln!(
                        out,
                        "udp      17 {} src={} dst=172.20.0.10 sport={sport} dport=53 src={} dst={} sport=53 dport={sport} mark={mark} use={use_count}",
                        rng.below(30),
                        ip(pod),
                        ip(backend),
                        ip(pod),
                    )
                }
            }
            // Egress to the internet, SNATed to the node's primary address.
            85..=92 => {
                let remote = egress_ip(&mut rng);
                let node = [10, 0, 0, 10 + rng.below(3) as u8];
                let node_port = 1_024 + rng.below(60_000) as u16;
                writeln!(
                    out,
                    "tcp      6 {} ESTABLISHED src={} dst={} sport={sport} dport=443 src={} dst={} sport=443 dport={node_port} [ASSURED] mark={mark} use={use_count}",
                    86_000 + rng.below(400),
                    ip(pod),
                    ip(remote),
                    ip(remote),
                    ip(node),
                )
            }
            // Half-open connection attempts.
            93..=96 => {
                let (vip, port, target_port) = service(&mut rng);
                let backend = pod_ip(&mut rng);
                writeln!(
                    out,
                    "tcp      6 {} SYN_SENT src={} dst={} sport={sport} dport={port} [UNREPLIED] src={} dst={} sport={target_port} dport={sport} mark={mark} use={use_count}",
                    rng.below(120),
                    ip(pod),
                    ip(vip),
                    ip(backend),
                    ip(pod),
                )
            }
            // Health-check pings.
            _ => {
                let peer = pod_ip(&mut rng);
                let id = rng.below(65_536);
                writeln!(
                    out,
                    "icmp     1 {} src={} dst={} type=8 code=0 id={id} src={} dst={} type=0 code=0 id={id} mark=0 use=1",
                    rng.below(30),
                    ip(pod),
                    ip(peer),
                    ip(peer),
                    ip(pod),
                )
            }
        };
    }
    out
}

/// A Service: ClusterIP, port, target port. A few hundred Services, skewed so
/// that some are much busier than others.
fn service(rng: &mut SplitMix64) -> ([u8; 4], u16, u16) {
    // Squaring a uniform draw skews towards low indexes: hot Services.
    let draw = rng.below(600);
    let index = (draw * draw / 600) as u8;
    let ports = [
        (443, 8443),
        (80, 8080),
        (8080, 8080),
        (5432, 5432),
        (6379, 6379),
    ];
    let (port, target_port) = ports[usize::from(index % 5)];
    (
        [172, 20, index / 16 + 1, index.wrapping_mul(7)],
        port,
        target_port,
    )
}

/// One of the node's 250 pods most of the time, else a pod elsewhere.
fn source_ip(rng: &mut SplitMix64) -> [u8; 4] {
    if rng.below(10) < 9 {
        let local = rng.below(250) as u8;
        [10, 0, 12 + local / 128, 4 + local % 128]
    } else {
        pod_ip(rng)
    }
}

/// One of 400 egress endpoints (AWS APIs, ECR, S3, SaaS).
fn egress_ip(rng: &mut SplitMix64) -> [u8; 4] {
    let index = rng.below(400) as u32;
    let hashed = index.wrapping_mul(2_654_435_761);
    [
        52,
        94 + (index % 2) as u8,
        (hashed >> 8) as u8,
        (hashed >> 24) as u8,
    ]
}

fn pod_ip(rng: &mut SplitMix64) -> [u8; 4] {
    [10, 0, 1 + rng.below(60) as u8, rng.byte()]
}

fn ip(octets: [u8; 4]) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(octets)
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn deterministic_and_sized() {
        let first = table(1_000, 7);
        assert_eq!(first, table(1_000, 7));
        assert_ne!(first, table(1_000, 8));
        assert_eq!(first.lines().count(), 1_000);
        assert!(!first.lines().any(|line| line.ends_with(' ')));
    }
}

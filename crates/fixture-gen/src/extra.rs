//! Generators for the "extra" node artifacts: `iptables -nvL` listings,
//! `sysctl --all`, `ip route show table all`, `ethtool -S`, `ipvsadm`,
//! `ipset --list`, `ps fauxwww`.
//!
//! Each takes a size and returns the text the real tool would print, in the
//! form the EKS log collector stores it. Values come from a small
//! deterministic sequence, so the same size always gives the same bytes.

use std::fmt::Write as _;

/// A tiny linear congruential generator: deterministic, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// iptables' `print_num`: exact up to 99999, then rounded K/M/G/T.
fn iptables_num(n: u64) -> String {
    if n <= 99_999 {
        return n.to_string();
    }
    let mut v = n;
    for suffix in ["K", "M", "G", "T"] {
        v = (v + 500) / 1000;
        if v <= 9999 {
            return format!("{v}{suffix}");
        }
    }
    format!("{v}P")
}

fn service_ip(i: usize) -> String {
    format!("172.20.{}.{}", (i / 250) % 250, i % 250 + 1)
}

fn pod_ip(i: usize) -> String {
    format!(
        "10.{}.{}.{}",
        1 + (i / 62_500) % 200,
        (i / 250) % 250,
        i % 250 + 1
    )
}

/// A kube-proxy `iptables -nvL --table nat` listing for `n_services`
/// services with two endpoints each, with the collector's rule total.
pub fn iptables_nat_listing(n_services: usize) -> String {
    let mut rng = Lcg(7);
    let mut out = String::with_capacity(n_services * 1200);
    let mut n_rules = 0usize;
    let header = " pkts bytes target     prot opt in     out     source               destination         \n";
    let _ = writeln!(
        out,
        "Chain PREROUTING (policy ACCEPT 2093K packets, 1234M bytes)"
    );
    out.push_str(header);
    let _ = writeln!(
        out,
        " 412K   25M KUBE-SERVICES  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes service portals */"
    );
    n_rules += 1;
    out.push('\n');
    let _ = writeln!(out, "Chain KUBE-SERVICES (2 references)");
    out.push_str(header);
    for i in 0..n_services {
        let (p, b) = (rng.next() % 5_000_000, rng.next() % 900_000_000);
        let _ = writeln!(
            out,
            "{:>5} {:>5} KUBE-SVC-{:016X}  tcp  --  *      *       0.0.0.0/0            {:<20} /* ns-{}/svc-{}:http cluster IP */ tcp dpt:80",
            iptables_num(p),
            iptables_num(b),
            i,
            service_ip(i),
            i % 50,
            i
        );
        n_rules += 1;
    }
    out.push('\n');
    for i in 0..n_services {
        let _ = writeln!(out, "Chain KUBE-SVC-{i:016X} (1 references)");
        out.push_str(header);
        let _ = writeln!(
            out,
            "    0     0 KUBE-MARK-MASQ  tcp  --  *      *      !10.0.0.0/16          {:<20} /* ns-{}/svc-{}:http cluster IP */ tcp dpt:80",
            service_ip(i),
            i % 50,
            i
        );
        for e in 0..2 {
            let p = rng.next() % 200_000;
            let _ = writeln!(
                out,
                "{:>5} {:>5} KUBE-SEP-{:08X}{:08X}  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* ns-{}/svc-{}:http -> {}:8080 */{}",
                iptables_num(p),
                iptables_num(p * 60),
                i,
                e,
                i % 50,
                i,
                pod_ip(i * 2 + e),
                if e == 0 {
                    " statistic mode random probability 0.50000000000"
                } else {
                    ""
                }
            );
        }
        n_rules += 3;
        out.push('\n');
    }
    let _ = write!(out, "=======\nTotal Number of Rules: {n_rules}\n");
    out
}

/// `sysctl --all` with per-interface keys for `n_interfaces` pod veths.
pub fn sysctl_all(n_interfaces: usize) -> String {
    let mut out = String::with_capacity(n_interfaces * 2400 + 4096);
    for (k, v) in [
        ("fs.file-max", "9223372036854775807"),
        ("kernel.pid_max", "4194304"),
        ("net.core.somaxconn", "4096"),
        ("net.ipv4.ip_local_port_range", "32768\t60999"),
        ("net.ipv4.neigh.default.gc_thresh1", "0"),
        ("net.ipv4.neigh.default.gc_thresh2", "15360"),
        ("net.ipv4.neigh.default.gc_thresh3", "16384"),
        ("net.netfilter.nf_conntrack_count", "1873"),
        ("net.netfilter.nf_conntrack_max", "131072"),
    ] {
        let _ = writeln!(out, "{k} = {v}");
    }
    let keys = [
        "accept_local",
        "accept_redirects",
        "accept_source_route",
        "arp_accept",
        "arp_announce",
        "arp_filter",
        "arp_ignore",
        "forwarding",
        "log_martians",
        "proxy_arp",
        "rp_filter",
        "route_localnet",
        "send_redirects",
        "src_valid_mark",
        "tag",
    ];
    for i in 0..n_interfaces {
        for k in keys {
            let v = if k == "rp_filter" { "2" } else { "0" };
            let _ = writeln!(out, "net.ipv4.conf.eni{i:011x}.{k} = {v}");
        }
        for k in [
            "accept_ra",
            "disable_ipv6",
            "forwarding",
            "hop_limit",
            "mtu",
        ] {
            let _ = writeln!(out, "net.ipv6.conf.eni{i:011x}.{k} = 1");
        }
    }
    out
}

/// `ip route show table all` for a node with `n_pods` pod routes.
pub fn ip_route(n_pods: usize) -> String {
    let mut out = String::with_capacity(n_pods * 50 + 1024);
    out.push_str("default via 10.0.0.1 dev eth1 table 2 \n10.0.0.1 dev eth1 table 2 scope link \n");
    out.push_str("default via 10.0.0.1 dev eth0 proto dhcp src 10.0.12.34 metric 512 \n");
    out.push_str("10.0.0.0/19 dev eth0 proto kernel scope link src 10.0.12.34 metric 512 \n");
    for i in 0..n_pods {
        let _ = writeln!(out, "{} dev eni{i:011x} scope link ", pod_ip(i));
    }
    out.push_str("local 10.0.12.34 dev eth0 table local proto kernel scope host src 10.0.12.34 \n");
    out
}

/// The collector's `ethtool.txt` for `n_interfaces` ENA interfaces with
/// `n_queues` queues each.
pub fn ethtool(n_interfaces: usize, n_queues: usize) -> String {
    let mut rng = Lcg(11);
    let mut out = String::new();
    for i in 0..n_interfaces {
        let _ = writeln!(out, "Interface eth{i}\nNIC statistics:");
        for c in [
            "tx_timeout",
            "suspend",
            "resume",
            "wd_expired",
            "interface_up",
            "interface_down",
            "bw_in_allowance_exceeded",
            "bw_out_allowance_exceeded",
            "pps_allowance_exceeded",
            "conntrack_allowance_available",
            "conntrack_allowance_exceeded",
            "linklocal_allowance_exceeded",
        ] {
            let _ = writeln!(out, "     {c}: {}", rng.next() % 3);
        }
        for q in 0..n_queues {
            for c in [
                "tx_cnt",
                "tx_bytes",
                "tx_queue_stop",
                "rx_cnt",
                "rx_bytes",
                "rx_csum_bad",
            ] {
                let _ = writeln!(out, "     queue_{q}_{c}: {}", rng.next());
            }
        }
        out.push_str("\n\n");
    }
    out
}

/// The collector's `ipvsadm.txt` for `n_services` virtual services with
/// `n_servers` real servers each.
pub fn ipvsadm(n_services: usize, n_servers: usize) -> String {
    let mut out = String::new();
    out.push_str(
        "add:service/server \tprotocol \tvirtual-server \tscheduler algorithm \treal-server \n",
    );
    for i in 0..n_services {
        let _ = writeln!(out, "-A -t {}:80 -s rr", service_ip(i));
        for s in 0..n_servers {
            let _ = writeln!(
                out,
                "-a -t {}:80 -r {}:8080 -m -w 1",
                service_ip(i),
                pod_ip(i * n_servers + s)
            );
        }
    }
    for columns in [
        "CPS    InPPS   OutPPS    InBPS   OutBPS",
        "Conns   InPkts  OutPkts  InBytes OutBytes",
    ] {
        let _ = writeln!(out, "IP Virtual Server version 1.2.1 (size=4096)");
        let _ = writeln!(
            out,
            "Prot LocalAddress:Port                 {columns}\n  -> RemoteAddress:Port"
        );
        for i in 0..n_services {
            let _ = writeln!(
                out,
                "TCP  {:<33}{:>5}{:>9}{:>9}{:>9}{:>9}",
                format!("{}:80", service_ip(i)),
                1,
                2,
                3,
                4,
                5
            );
            for s in 0..n_servers {
                let _ = writeln!(
                    out,
                    "  -> {:<33}{:>5}{:>9}{:>9}{:>9}{:>9}",
                    format!("{}:8080", pod_ip(i * n_servers + s)),
                    1,
                    2,
                    3,
                    4,
                    5
                );
            }
        }
        out.push('\n');
    }
    out
}

/// The collector's `ipset.txt` with a `KUBE-CLUSTER-IP` set of `n_members`.
pub fn ipset(n_members: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nRevision: 6\nHeader: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x4d2a0f39\nSize in memory: {}\nReferences: 2\nNumber of entries: {n_members}\nMembers:",
        600 + n_members * 24
    );
    for i in 0..n_members {
        let _ = writeln!(out, "{},tcp:80", service_ip(i));
    }
    out.push_str("\n\ncreate KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x4d2a0f39\n");
    for i in 0..n_members {
        let _ = writeln!(out, "add KUBE-CLUSTER-IP {},tcp:80", service_ip(i));
    }
    out
}

/// `ps fauxwww --headers` with `n_pods` pods (shim, pause, app each).
pub fn ps(n_pods: usize) -> String {
    let mut out = String::from(
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n",
    );
    out.push_str("root        3012  2.1  1.5 1932340 123456 ?      Ssl  09:58   1:23 /usr/bin/kubelet --config /etc/kubernetes/kubelet/config.json --v=2\n");
    for i in 0..n_pods {
        let pid = 10_000 + i * 3;
        let _ = writeln!(
            out,
            "root       {pid:>5}  0.0  0.1 1238000 11000 ?       Sl   09:58   0:02 /usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id {i:064x} -address /run/containerd/containerd.sock"
        );
        let _ = writeln!(
            out,
            "65535      {:>5}  0.0  0.0    972     4 ?        Ss   09:58   0:00  \\_ /pause",
            pid + 1
        );
        let _ = writeln!(
            out,
            "1000       {:>5}  0.3  0.6 760000 50000 ?        Sl   09:58   0:09  \\_ /app/server --port=8080 --name=pod-{i}",
            pid + 2
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        assert_eq!(iptables_nat_listing(10), iptables_nat_listing(10));
        assert!(iptables_nat_listing(10).ends_with("Total Number of Rules: 41\n"));
        assert_eq!(ip_route(5).lines().count(), 10);
        assert_eq!(
            ipset(3).lines().filter(|l| l.starts_with("add ")).count(),
            3
        );
        assert_eq!(iptables_num(99_999), "99999");
        assert_eq!(iptables_num(100_000), "100K");
        assert_eq!(iptables_num(12_345_678), "12M");
    }
}

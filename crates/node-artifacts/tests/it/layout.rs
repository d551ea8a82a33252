//! Tests of `node_artifacts::layout`: the kind table, metadata, snapshot ids
//! and the coverage report.

use std::collections::BTreeSet;

use node_artifacts::layout::{
    ArtifactKind, CollectionTimeSource, Coverage, CoverageStatus, FileCoverage, IptablesTable,
    KIND_TABLE, NodeNameSource, classify, metadata_from, node_name_from, snapshot_id,
};
use node_artifacts::time::Timestamp;

#[track_caller]
fn check(path: &str, expect: &str) {
    assert_eq!(classify(path).name(), expect, "{path}");
}

#[test]
fn every_known_path() {
    // One line per collector path (bundle-layout.md), with its kind's name.
    let table = [
        ("networking/iptables-save.txt", "iptables-save"),
        ("networking/ip6tables-save.txt", "ip6tables-save"),
        ("networking/iptables.txt", "iptables-list"),
        ("networking/iptables-filter.txt", "iptables-list-filter"),
        ("networking/iptables-nat.txt", "iptables-list-nat"),
        ("networking/iptables-mangle.txt", "iptables-list-mangle"),
        ("networking/ip6tables.txt", "ip6tables-list"),
        ("networking/ip6tables-filter.txt", "ip6tables-list-filter"),
        ("networking/ip6tables-nat.txt", "ip6tables-list-nat"),
        ("networking/ip6tables-mangle.txt", "ip6tables-list-mangle"),
        ("networking/conntrack.txt", "conntrack"),
        ("networking/conntrack6.txt", "conntrack6"),
        ("networking/iproute.txt", "ip-route"),
        ("networking/ip6route.txt", "ip6-route"),
        ("networking/iprule.txt", "ip-rule"),
        ("networking/ip6rule.txt", "ip6-rule"),
        ("networking/resolv.conf", "resolv-conf"),
        ("networking/ethtool.txt", "ethtool"),
        ("networking/ipvsadm.txt", "ipvsadm"),
        ("networking/ipset.txt", "ipset"),
        (
            "networking/configure-multicard-interfaces.txt",
            "multicard-interfaces-journal",
        ),
        ("networking/ifconfig.txt", "recognised"),
        ("networking/ping_amazon.com.txt", "recognised"),
        ("networking/ping_public.ecr.aws.txt", "recognised"),
        ("networking/curl_api_server.txt", "recognised"),
        ("networking/systemd-network/10-eth0.network", "recognised"),
        ("networking/ebpf-data.txt", "recognised"),
        ("networking/ebpf-maps-data.txt", "recognised"),
        ("kernel/dmesg.boot", "dmesg-boot"),
        ("kernel/dmesg.current", "dmesg-current"),
        ("kernel/dmesg.human.current", "dmesg-human"),
        ("kernel/uname.txt", "recognised"),
        ("modinfo/lustre", "recognised"),
        ("modinfo/ip_vs", "recognised"),
        ("kubelet/kubelet.log", "kubelet-journal"),
        ("kubelet/kubelet-config.json", "kubelet-config"),
        ("kubelet/config.json", "kubelet-config"),
        ("kubelet/config.json.d/00-nodeadm.conf", "kubelet-config"),
        ("kubelet/kubelet_service.txt", "recognised"),
        ("kubelet/kubelet-eks_service.txt", "recognised"),
        ("kubelet/svc.log", "recognised"),
        ("kubelet/kubeconfig.yaml", "recognised"),
        ("nodeadm/nodeadm-config.log", "nodeadm-journal"),
        ("nodeadm/nodeadm-run.log", "nodeadm-journal"),
        ("nodeadm/nodeadm-boot-hook.log", "nodeadm-journal"),
        ("nodeadm/udev-net-manager_eth1.log", "nodeadm-journal"),
        ("docker/docker.log", "docker-journal"),
        ("docker/docker-info.txt", "recognised"),
        ("docker/docker-ps.txt", "recognised"),
        ("containerd/containerd-log.txt", "containerd-journal"),
        ("containerd/containerd-config.txt", "recognised"),
        ("containerd/containerd-version.txt", "recognised"),
        ("containerd/containerd-tasks.txt", "recognised"),
        ("containerd/containerd.1234.stacks.log", "recognised"),
        ("containerd/soci-snapshotter/config.toml", "recognised"),
        (
            "sandbox-image/sandbox-image-log.txt",
            "sandbox-image-journal",
        ),
        ("system/instance-id.txt", "instance-id"),
        ("system/region.txt", "region"),
        ("system/availability-zone.txt", "availability-zone"),
        ("system/ps.txt", "ps"),
        ("system/procstat.txt", "procstat"),
        ("system/top.txt", "recognised"),
        ("system/selinux.txt", "recognised"),
        ("system/pkglist.txt", "recognised"),
        ("system/systemd-analyze.svg", "recognised"),
        ("system/allprocstat.txt", "recognised"),
        ("system/large_environments.txt", "recognised"),
        ("system/cpu_throttling.txt", "recognised"),
        ("system/io_throttling.txt", "recognised"),
        ("system/ps-threads.txt", "recognised"),
        ("system/netstat.txt", "recognised"),
        ("system/services.txt", "recognised"),
        ("system/last_reboot.txt", "recognised"),
        ("storage/inodes.txt", "inodes"),
        ("storage/mounts.txt", "mounts"),
        ("storage/lsblk.txt", "recognised"),
        ("storage/xfs.txt", "recognised"),
        ("storage/lvs.txt", "recognised"),
        ("storage/pvs.txt", "recognised"),
        ("storage/vgs.txt", "recognised"),
        ("storage/fstab.txt", "recognised"),
        ("storage/pod_local_storage.txt", "recognised"),
        ("var_log/messages", "messages"),
        ("var_log/syslog", "messages"),
        ("var_log/kube-proxy.log", "kube-proxy-log"),
        (
            "var_log/kube-proxy-5cpw6_kube-system_kube-proxy-5f380df5ab1c.log",
            "kube-proxy-log",
        ),
        (
            "var_log/containers/kube-proxy-x7k2p_kube-system_kube-proxy-0123abcd.log",
            "kube-proxy-log",
        ),
        (
            "var_log/pods/kube-system_kube-proxy-x7k2p_1234/kube-proxy/0.log",
            "kube-proxy-log",
        ),
        ("var_log/aws-routed-eni/ipamd.log", "ipamd-log"),
        ("var_log/aws-routed-eni/plugin.log", "cni-plugin-log"),
        (
            "var_log/aws-routed-eni/egress-v6-plugin.log",
            "cni-plugin-log",
        ),
        (
            "var_log/aws-routed-eni/network-policy-agent.log",
            "recognised",
        ),
        (
            "var_log/containers/aws-node-abcde_kube-system_aws-node-1.log",
            "recognised",
        ),
        (
            "var_log/pods/kube-system_coredns-1/coredns/0.log",
            "recognised",
        ),
        ("var_log/cloud-init-output.log", "recognised"),
        ("var_log/user-data.log", "recognised"),
        ("var_log/cron", "recognised"),
        (
            "var_log/unattended-upgrades/unattended-upgrades.log",
            "recognised",
        ),
        ("ipamd/ipamd-env-settings.json", "ipamd-env-settings"),
        ("ipamd/enis.json", "ipamd-enis"),
        ("ipamd/pods.json", "recognised"),
        ("ipamd/metrics.json", "recognised"),
        ("ipamd/networkutils-env-settings.json", "recognised"),
        ("ipamd/eni-configs.json", "recognised"),
        ("ipamd/ipam.json", "recognised"),
        ("sysctls/sysctl_all.txt", "sysctl"),
        (
            "cni/cni-configuration-variables-containerd.json",
            "cni-config-variables",
        ),
        ("cni/cni-configuration-variables-dockerd.txt", "recognised"),
        ("cni/10-aws.conflist", "cni-conflist"),
        ("cni/05-multus.conflist", "cni-conflist"),
        ("cni/aws-cni-support.sh", "recognised"),
        ("gpu/nvidia-bug-report.log", "recognised"),
        // Not the collector's.
        ("README.md", "unknown"),
        ("networking/iptables-raw.txt", "unknown"),
        ("kernel/dmesg.boot.old", "unknown"),
        ("Kernel/dmesg.boot", "unknown"),
        ("var_log/containers", "unknown"),
        ("", "unknown"),
    ];
    for (path, expect) in table {
        check(path, expect);
    }
    assert_eq!(
        classify("networking/iptables-nat.txt"),
        ArtifactKind::IptablesList {
            table: Some(IptablesTable::Nat)
        }
    );
    assert_eq!(
        classify("system/top.txt"),
        ArtifactKind::Recognised {
            description: "top snapshot"
        }
    );
    // Every table row is exercised above (no dead rows).
    for (pattern, kind) in KIND_TABLE {
        let covered = table
            .iter()
            .any(|(path, _)| classify(path) == *kind && glob_like(pattern, path));
        assert!(covered, "no test path for row {pattern}");
    }
}

/// Whether `path` is a plausible instance of `pattern` (its literal prefix).
fn glob_like(pattern: &str, path: &str) -> bool {
    let literal = pattern.split('*').next().unwrap_or(pattern);
    path.starts_with(literal)
}

#[test]
fn exact_rows_are_not_shadowed() {
    for (pattern, kind) in KIND_TABLE {
        if !pattern.contains('*') {
            assert_eq!(
                classify(pattern),
                *kind,
                "{pattern} is shadowed by an earlier row"
            );
        }
    }
}

#[test]
fn names_round_trip() {
    let named = ArtifactKind::named();
    let names: BTreeSet<&str> = named.iter().map(ArtifactKind::name).collect();
    assert_eq!(names.len(), named.len(), "names are unique");
    for kind in &named {
        let name = kind.name();
        assert_eq!(ArtifactKind::from_name(name), Some(*kind));
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{name} is kebab-case"
        );
        let sample = kind
            .sample_path()
            .unwrap_or_else(|| panic!("{name} has no path"));
        assert_eq!(classify(sample), *kind, "{name}");
        assert!(!kind.description().is_empty());
    }
    assert_eq!(ArtifactKind::from_name("recognised"), None);
    assert_eq!(ArtifactKind::from_name("unknown"), None);
    assert_eq!(ArtifactKind::from_name("Conntrack"), None);
    assert_eq!(ArtifactKind::Unknown.canonical_path(), None);
    assert_eq!(ArtifactKind::NodeadmJournal.canonical_path(), None);
    assert_eq!(
        ArtifactKind::KubeProxyLog.canonical_path(),
        Some("var_log/kube-proxy.log")
    );
    assert_eq!(
        serde_json::to_string(&ArtifactKind::IptablesList { table: None }).unwrap(),
        "\"iptables-list\""
    );
}

fn lookup<'a>(files: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a [u8]> {
    move |path| {
        files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, c)| c.as_bytes())
    }
}

#[test]
fn metadata_sources_and_conflicts() {
    let files = [
        ("system/instance-id.txt", "i-0aaaaaaaaaaaaaaaa\n"),
        ("system/availability-zone.txt", "eu-west-1b\n"),
        ("system/region.txt", "<html>404 - Not Found</html>\n"),
        (
            "containerd/containerd-log.txt",
            "-- Logs begin at Thu 2025-11-20 08:00:00 UTC. --\nNov 20 08:00:01 ip-172-31-5-9.eu-west-1.compute.internal containerd[880]: time=\"…\" level=info\n",
        ),
    ];
    let meta = metadata_from(
        Some("eks_i-0bbbbbbbbbbbbbbbb_2025-11-20_0930-UTC_0.7.9.tar.gz"),
        &lookup(&files),
    );
    assert_eq!(meta.instance_id.as_deref(), Some("i-0aaaaaaaaaaaaaaaa"));
    assert_eq!(meta.availability_zone.as_deref(), Some("eu-west-1b"));
    assert_eq!(meta.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        meta.node_name.as_deref(),
        Some("ip-172-31-5-9.eu-west-1.compute.internal")
    );
    assert_eq!(meta.node_name_source, Some(NodeNameSource::JournalHostname));
    assert_eq!(
        meta.notes,
        [
            "system/region.txt ignored: unexpected content `<html>404 - Not Found</html>`",
            "system/instance-id.txt says i-0aaaaaaaaaaaaaaaa but the archive name says i-0bbbbbbbbbbbbbbbb",
        ]
    );

    let nothing = metadata_from(None, &lookup(&[]));
    assert_eq!(
        nothing.collection_time_source,
        CollectionTimeSource::Unknown
    );
    assert_eq!(nothing.instance_id, None);
    let with_time = nothing.with_file_time(Some(Timestamp(1_000_000)));
    assert_eq!(with_time.collection_time, Some(Timestamp(1_000_000)));
    assert_eq!(
        with_time.collection_time_source,
        CollectionTimeSource::FileTimes
    );

    let serialized = serde_json::to_value(&with_time).unwrap();
    assert_eq!(serialized["collection_time"], "1970-01-01T00:00:01.000000Z");
    assert_eq!(serialized["collection_time_source"], "file-times");
}

#[test]
fn node_names() {
    let kubelet = b"Nov 20 09:00:01 localhost kubelet[1]: I1120 \"Attempting to register node\" node=\"ip-10-1-2-3.ec2.internal\"\n";
    assert_eq!(
        node_name_from([&kubelet[..]]),
        Some((
            "ip-10-1-2-3.ec2.internal".to_owned(),
            NodeNameSource::KubeletRegistration
        ))
    );
    // Registration wins over an earlier text's host name.
    let journal = b"Nov 20 09:00:01 myhost systemd[1]: Started.\n";
    assert_eq!(
        node_name_from([&journal[..], &kubelet[..]]).map(|(n, _)| n),
        Some("ip-10-1-2-3.ec2.internal".to_owned())
    );
    assert_eq!(node_name_from([&b"-- No entries --\n"[..]]), None);
    assert_eq!(node_name_from([&b"node=\"bad name\"\n"[..]]), None);
}

#[test]
fn snapshot_id_is_pinned() {
    let files: [(&str, &[u8]); 2] = [
        ("system/region.txt", b"us-west-2\n"),
        ("kernel/dmesg.boot", b""),
    ];
    // The scheme is a contract: ids from older releases must still resolve.
    // If this changes, bump the scheme version (`s2_`).
    assert_eq!(
        snapshot_id(files.into_iter()),
        "s1_12e4819521be512bc59d628b"
    );
}

#[test]
fn coverage_report() {
    let rows = vec![
        FileCoverage::new(
            "networking/conntrack.txt",
            8123,
            CoverageStatus::Parsed {
                parser: "conntrack".to_owned(),
                lines: 60,
                unparsed_lines: 1,
            },
        ),
        FileCoverage::new("system/top.txt", 2210, CoverageStatus::RecognisedNotParsed),
        FileCoverage::new("notes.txt", 12, CoverageStatus::Unknown),
        FileCoverage::new(
            "../etc/passwd",
            0,
            CoverageStatus::Rejected {
                reason: "path has a `..` segment".to_owned(),
            },
        ),
    ];
    assert_eq!(rows[1].kind, classify("system/top.txt"));
    assert_eq!(rows[3].kind, ArtifactKind::Unknown);
    let coverage = Coverage::from_files(rows);
    assert_eq!(coverage.totals.files, 4);
    assert_eq!(coverage.totals.bytes, 8123 + 2210 + 12);
    assert_eq!(coverage.totals.unparsed_lines, 1);
    assert!(coverage.file("notes.txt").is_some());
    insta::assert_snapshot!(coverage.to_string());
    insta::assert_snapshot!(serde_json::to_string_pretty(&coverage).unwrap());
}

proptest::proptest! {
    /// Classification and name parsing take any text without panicking, and
    /// metadata reading takes any file contents.
    #[test]
    fn arbitrary_inputs_never_panic(path in "\\PC*", content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let kind = classify(&path);
        let _ = ArtifactKind::from_name(&path);
        proptest::prop_assert!(!kind.name().is_empty());
        let files = |p: &str| (p.starts_with("system/") || p.starts_with("kubelet/")).then_some(&content[..]);
        let _ = metadata_from(Some(&path), &files);
        let _ = node_artifacts::layout::parse_archive_name(&path);
    }
}

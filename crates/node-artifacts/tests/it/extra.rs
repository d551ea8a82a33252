//! The remaining node artifacts (sysctl, ip route/rule, resolv.conf,
//! ethtool, ipvsadm/ipset, iptables -nvL, VPC CNI, kubelet config, storage,
//! ps): fixture snapshots, conformance on the moby listings in the corpus,
//! and no-panic properties.
//!
//! Fixtures live in `fixtures/<module>/{valid,invalid}/`; a valid fixture
//! must parse without any diagnostic, an invalid one must produce at least
//! one. Each fixture has one snapshot rendered for people to read.

// Helpers outside `#[test]` functions render fixtures; a panic there is a
// test failure too.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::Path;

use node_artifacts::diag::Diagnostic;
use node_artifacts::shared::FileBytes;
use node_artifacts::{
    ethtool, iproute, iptables_list, ipvs, kubelet_config, procstat, ps, resolv, storage, sysctl,
    vpc_cni,
};
use proptest::prelude::*;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn is_valid(path: &Path) -> bool {
    path.parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "valid")
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Appends the diagnostics, and checks the valid/invalid expectation.
fn finish(path: &Path, mut out: String, diagnostics: &[Diagnostic]) -> String {
    if is_valid(path) {
        assert!(
            diagnostics.is_empty(),
            "{}: valid fixture has diagnostics: {diagnostics:?}",
            path.display()
        );
    } else {
        assert!(
            !diagnostics.is_empty(),
            "{}: invalid fixture has no diagnostic",
            path.display()
        );
    }
    writeln!(out, "-- diagnostics: {}", diagnostics.len()).unwrap();
    for d in diagnostics {
        writeln!(out, "line {}: {}", d.line, d.reason).unwrap();
    }
    out
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn unparsed_lines(out: &mut String, unparsed: &[node_artifacts::Unparsed]) {
    for u in unparsed {
        writeln!(
            out,
            "  unparsed line {}: {:?} ({})",
            u.line, u.raw, u.reason
        )
        .unwrap();
    }
}

// ---------------------------------------------------------------- sysctl

fn render_sysctl(path: &Path) -> String {
    let text = read(path);
    let parsed = sysctl::parse(&text).unwrap();
    let s = &parsed.value;
    let mut out = String::new();
    writeln!(
        out,
        "entries: {} (distinct keys {})",
        s.entries.len(),
        s.map.len()
    )
    .unwrap();
    writeln!(out, "nf_conntrack_max: {}", opt(s.nf_conntrack_max())).unwrap();
    writeln!(out, "nf_conntrack_count: {}", opt(s.nf_conntrack_count())).unwrap();
    writeln!(out, "ip_local_port_range: {:?}", s.ip_local_port_range()).unwrap();
    writeln!(
        out,
        "rp_filter by interface: {:?}",
        s.rp_filter_by_interface()
    )
    .unwrap();
    writeln!(out, "somaxconn: {}", opt(s.somaxconn())).unwrap();
    writeln!(out, "neigh gc_thresh v4: {:?}", s.neigh_gc_thresh()).unwrap();
    writeln!(out, "neigh gc_thresh v6: {:?}", s.neigh6_gc_thresh()).unwrap();
    writeln!(out, "pid_max: {}", opt(s.pid_max())).unwrap();
    writeln!(out, "file_max: {}", opt(s.file_max())).unwrap();
    for e in s
        .entries
        .iter()
        .filter(|e| e.value.is_empty() || e.value.contains('\t'))
    {
        writeln!(out, "  line {}: {} = {:?}", e.line, e.key, e.value).unwrap();
    }
    for n in &s.noise {
        writeln!(out, "  noise line {}: {:?}", n.line, n.kind).unwrap();
    }
    unparsed_lines(&mut out, &s.unparsed);
    finish(path, out, &parsed.diagnostics)
}

#[test]
fn sysctl_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "sysctl/*/*",
        |path| {
            insta::assert_snapshot!(render_sysctl(path));
        }
    );
}

// ---------------------------------------------------------------- iproute

fn render_route(r: &iproute::Route) -> String {
    let dest = match &r.destination {
        iproute::Destination::Default => "default".to_owned(),
        iproute::Destination::Prefix(p) => format!("{}/{}", p.addr, p.len),
    };
    let mut s = format!(
        "line {} {:?} {dest} table={:?}",
        r.line, r.route_type, r.table
    );
    let mut kv = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            write!(s, " {k}={v}").unwrap();
        }
    };
    kv("via", r.gateway.map(|g| g.to_string()));
    kv("dev", r.dev.clone());
    kv("proto", r.proto.clone());
    kv("scope", r.scope.clone());
    kv("src", r.src.map(|g| g.to_string()));
    kv("metric", r.metric.map(|m| m.to_string()));
    kv("pref", r.pref.clone());
    if !r.flags.is_empty() {
        write!(s, " flags={:?}", r.flags).unwrap();
    }
    if !r.other.is_empty() {
        write!(s, " other={:?}", r.other).unwrap();
    }
    for h in &r.nexthops {
        write!(
            s,
            "\n    nexthop via={} dev={} weight={} flags={:?}",
            opt(h.gateway),
            opt(h.dev.as_ref()),
            opt(h.weight),
            h.flags
        )
        .unwrap();
    }
    s
}

fn render_iproute(path: &Path) -> String {
    let text = read(path);
    let name = file_name(path);
    let mut out = String::new();
    if name.contains("rule") {
        let parsed = iproute::parse_rules(&text);
        for r in &parsed.value.rules {
            let pfx = |p: &Option<iproute::Prefix>| {
                p.map_or_else(|| "all".to_owned(), |p| format!("{}/{}", p.addr, p.len))
            };
            writeln!(
                out,
                "line {} prio {}{} from {} to {} iif={} oif={} fwmark={:?} -> {:?} {:?}",
                r.line,
                r.priority,
                if r.not { " NOT" } else { "" },
                pfx(&r.from),
                if r.to.is_some() {
                    pfx(&r.to)
                } else {
                    "-".to_owned()
                },
                opt(r.iif.as_ref()),
                opt(r.oif.as_ref()),
                r.fwmark,
                r.action,
                r.other
            )
            .unwrap();
        }
        unparsed_lines(&mut out, &parsed.value.unparsed);
        return finish(path, out, &parsed.diagnostics);
    }
    let parsed = iproute::parse_routes(&text);
    let table = &parsed.value;
    writeln!(out, "tables: {:?}", table.tables()).unwrap();
    writeln!(
        out,
        "default routes: {:?}",
        table.default_routes().map(|r| r.line).collect::<Vec<_>>()
    )
    .unwrap();
    for r in &table.routes {
        writeln!(out, "{}", render_route(r)).unwrap();
    }
    unparsed_lines(&mut out, &table.unparsed);
    finish(path, out, &parsed.diagnostics)
}

#[test]
fn iproute_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "iproute/*/*",
        |path| {
            insta::assert_snapshot!(render_iproute(path));
        }
    );
}

// ---------------------------------------------------------------- resolv

fn render_resolv(path: &Path) -> String {
    let parsed = resolv::parse(&read(path));
    let c = &parsed.value;
    let mut out = String::new();
    for n in &c.nameservers {
        writeln!(
            out,
            "nameserver {} (line {}, as {:?})",
            n.addr, n.line, n.raw
        )
        .unwrap();
    }
    writeln!(
        out,
        "effective: {:?}",
        c.effective_nameservers()
            .iter()
            .map(|n| n.addr.to_string())
            .collect::<Vec<_>>()
    )
    .unwrap();
    writeln!(out, "search: {:?}", c.search).unwrap();
    writeln!(out, "options: {:?}", c.options).unwrap();
    writeln!(
        out,
        "ndots={} timeout={} attempts={}",
        opt(c.ndots()),
        opt(c.timeout()),
        opt(c.attempts())
    )
    .unwrap();
    for cm in &c.comments {
        writeln!(out, "comment line {}: {}", cm.line, cm.text).unwrap();
    }
    unparsed_lines(&mut out, &c.unparsed);
    finish(path, out, &parsed.diagnostics)
}

#[test]
fn resolv_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "resolv/*/*",
        |path| {
            insta::assert_snapshot!(render_resolv(path));
        }
    );
}

// ---------------------------------------------------------------- ethtool

fn render_ethtool(path: &Path) -> String {
    let parsed = ethtool::parse(&read(path)).unwrap();
    let s = &parsed.value;
    let mut out = String::new();
    for i in &s.interfaces {
        writeln!(
            out,
            "interface {:?} (line {}): stats_header={} counters={} ena={} queues={}",
            i.name,
            i.line,
            i.has_stats_header,
            i.counters.len(),
            i.is_ena(),
            i.queue_counters()
                .iter()
                .map(|q| q.0)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        )
        .unwrap();
        for c in ethtool::ALLOWANCE_COUNTERS {
            if let Some(v) = i.counter(c) {
                writeln!(out, "    {c}: {v}").unwrap();
            }
        }
        for m in &i.messages {
            writeln!(out, "    message: {m}").unwrap();
        }
        unparsed_lines(&mut out, &i.unparsed);
    }
    writeln!(out, "allowance exceeded: {:?}", s.allowance_exceeded()).unwrap();
    unparsed_lines(&mut out, &s.unparsed);
    finish(path, out, &parsed.diagnostics)
}

#[test]
fn ethtool_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "ethtool/*/*",
        |path| {
            insta::assert_snapshot!(render_ethtool(path));
        }
    );
}

// ---------------------------------------------------------------- ipvs

fn render_ipvs(path: &Path) -> String {
    let text = read(path);
    let mut out = String::new();
    if file_name(path).starts_with("ipset") {
        let parsed = ipvs::ipset::parse(&text);
        let d = &parsed.value;
        writeln!(out, "kube-proxy sets: {}", d.has_kube_proxy_sets()).unwrap();
        for (section, sets) in [("list", &d.listed), ("save", &d.saved)] {
            for s in sets {
                writeln!(
                    out,
                    "{section} {} (line {}) type={} entries={} members={:?}",
                    s.name,
                    s.line,
                    opt(s.set_type.as_ref()),
                    opt(s.number_of_entries),
                    s.members
                )
                .unwrap();
                unparsed_lines(&mut out, &s.unparsed);
            }
        }
        unparsed_lines(&mut out, &d.unparsed);
        return finish(path, out, &parsed.diagnostics);
    }
    let parsed = ipvs::parse(&text);
    let v = &parsed.value;
    writeln!(
        out,
        "has services: {} module missing: {}",
        v.has_services(),
        v.module_missing
    )
    .unwrap();
    for s in &v.services {
        writeln!(
            out,
            "service {:?} {} sched={} persistent={} other={:?}",
            s.protocol,
            s.address,
            opt(s.scheduler.as_ref()),
            opt(s.persistent),
            s.other
        )
        .unwrap();
        for r in &s.real_servers {
            writeln!(
                out,
                "    -> {} {:?} weight={}",
                r.address,
                r.forwarding,
                opt(r.weight)
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "without servers: {:?}",
        v.services_without_servers()
            .map(|s| s.address.as_str())
            .collect::<Vec<_>>()
    )
    .unwrap();
    for t in &v.tables {
        writeln!(
            out,
            "table (line {}) {} columns {:?}",
            t.line, t.version, t.service_columns
        )
        .unwrap();
        for s in &t.services {
            writeln!(
                out,
                "    {:?} {} {:?} servers={}",
                s.protocol,
                s.address,
                s.values,
                s.real_servers.len()
            )
            .unwrap();
        }
    }
    for m in &v.messages {
        writeln!(out, "message: {m}").unwrap();
    }
    unparsed_lines(&mut out, &v.unparsed);
    finish(path, out, &parsed.diagnostics)
}

#[test]
fn ipvs_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "ipvs/*/*",
        |path| {
            insta::assert_snapshot!(render_ipvs(path));
        }
    );
}

// ---------------------------------------------------------------- iptables -nvL

fn render_listing(listing: &iptables_list::Listing) -> String {
    let mut out = String::new();
    for c in &listing.chains {
        let counters = match (c.packets, c.bytes) {
            (Some(p), Some(b)) => format!(" {} pkts {} bytes", p.value, b.value),
            _ => String::new(),
        };
        writeln!(
            out,
            "chain {} (line {}) policy={}{} refs={}",
            c.name,
            c.line,
            opt(c.policy.as_ref()),
            counters,
            opt(c.references)
        )
        .unwrap();
        for r in &c.rules {
            writeln!(
                out,
                "    line {} [{}{}:{}] {:?} {} opt={} in={} out={} {} -> {} | {}{}",
                r.line,
                r.num.map(|n| format!("#{n} ")).unwrap_or_default(),
                opt(r.packets.map(|c| c.value)),
                opt(r.bytes.map(|c| c.value)),
                r.target,
                r.prot,
                opt(r.opt.as_ref()),
                opt(r.in_iface.as_ref()),
                opt(r.out_iface.as_ref()),
                r.source,
                r.destination,
                r.options,
                r.comment()
                    .map(|c| format!(" (comment {c:?})"))
                    .unwrap_or_default()
            )
            .unwrap();
        }
        unparsed_lines(&mut out, &c.unparsed);
    }
    writeln!(
        out,
        "rules: {} total line: {:?}",
        listing.rule_count(),
        listing.total_rules
    )
    .unwrap();
    unparsed_lines(&mut out, &listing.unparsed);
    out
}

fn render_iptables_list(path: &Path) -> String {
    let parsed = iptables_list::parse(&read(path)).unwrap();
    finish(path, render_listing(&parsed.value), &parsed.diagnostics)
}

#[test]
fn iptables_list_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "iptables_list/*/*",
        |path| {
            insta::assert_snapshot!(render_iptables_list(path));
        }
    );
}

/// `parse_file` over a file's shared bytes gives the listing `parse` gives
/// over its text, for every fixture (and a generated listing), and its rule
/// texts and chain names are slices of that very file, not copies.
#[test]
fn iptables_list_parse_file_equals_parse_and_slices_the_file() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/iptables_list"
    ));
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for sub in std::fs::read_dir(dir).unwrap() {
        let sub = sub.unwrap().path();
        for file in std::fs::read_dir(&sub).unwrap() {
            let file = file.unwrap().path();
            inputs.push((file.display().to_string(), std::fs::read(&file).unwrap()));
        }
    }
    inputs.sort();
    inputs.push((
        "generated".to_owned(),
        fixture_gen::extra::iptables_nat_listing(50).into_bytes(),
    ));
    assert!(inputs.len() >= 5, "{} inputs", inputs.len());
    let mut sliced = 0usize;
    for (name, bytes) in &inputs {
        let file = FileBytes::new(bytes.clone());
        let from_file = iptables_list::parse_file(&file);
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(from_file, iptables_list::parse(&text), "{name}");
        let Ok(parsed) = from_file else { continue };
        let range = file.as_bytes().as_ptr_range();
        let inside = |text: &str| text.is_empty() || range.contains(&text.as_ptr());
        for chain in &parsed.value.chains {
            assert!(inside(&chain.name), "{name}: chain {} copied", chain.name);
            for (index, rule) in chain.rules.iter().enumerate() {
                for part in [
                    &rule.target,
                    &rule.prot,
                    &rule.source,
                    &rule.destination,
                    &rule.options,
                ] {
                    assert!(inside(part), "{name}: {part:?} copied");
                }
                // A rule reads back from its own row of the listing.
                let raw = chain.rules.raw(index).unwrap();
                assert!(raw.contains(rule.destination.as_str()), "{name}: {raw}");
                assert_eq!(chain.rules.get(index), Some(rule));
                sliced += 1;
            }
            assert_eq!(chain.rules.get(chain.rules.len()), None);
        }
        // Serialising the packed rules gives what owned rules would.
        let json = serde_json::to_value(&parsed.value).unwrap();
        for (at, chain) in parsed.value.chains.iter().enumerate() {
            let rules: Vec<serde_json::Value> = chain
                .rules
                .iter()
                .map(|rule| serde_json::to_value(&rule).unwrap())
                .collect();
            assert_eq!(json["chains"][at]["rules"], serde_json::Value::Array(rules));
        }
    }
    assert!(sliced > 100, "only {sliced} rules");
}

/// The moby docs in the corpus hold `iptables -nvL --line-numbers` style
/// listings (with names such as `anywhere`) as indented code blocks: each
/// block starting with `Chain` must parse with no diagnostic.
#[test]
fn corpus_moby_listings_parse() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/iptables"
    ));
    if !dir.is_dir() {
        println!(
            "note: {} is absent; moby listing conformance skipped",
            dir.display()
        );
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| file_name(p).starts_with("moby__") && file_name(p).ends_with(".md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no moby listings in the corpus");
    let mut n_blocks = 0;
    let mut n_rules = 0;
    for path in files {
        let text = read(&path);
        for block in indented_blocks(&text) {
            if !block.starts_with("Chain ") {
                continue;
            }
            let parsed = iptables_list::parse(&block)
                .unwrap_or_else(|e| panic!("{}: {e}\n{block}", path.display()));
            assert!(
                parsed.diagnostics.is_empty(),
                "{}: {:?}\n{block}",
                path.display(),
                parsed.diagnostics
            );
            assert!(parsed.value.chains.iter().all(|c| c.unparsed.is_empty()));
            n_blocks += 1;
            n_rules += parsed.value.rule_count();
        }
    }
    assert!(n_blocks >= 4, "only {n_blocks} listing blocks found");
    assert!(n_rules >= 10, "only {n_rules} rules found");
}

/// Markdown code blocks indented by four spaces, with the indent removed.
fn indented_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(body) = line.strip_prefix("    ") {
            current.push_str(body);
            current.push('\n');
        } else if line.trim().is_empty() && !current.is_empty() {
            current.push('\n');
        } else if !current.is_empty() {
            blocks.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

// ---------------------------------------------------------------- VPC CNI

fn render_env(out: &mut String, env: &vpc_cni::AwsNodeEnv) {
    writeln!(out, "vars: {}", env.vars.len()).unwrap();
    writeln!(
        out,
        "WARM_IP_TARGET={} MINIMUM_IP_TARGET={} WARM_ENI_TARGET={} WARM_PREFIX_TARGET={} MAX_ENI={} MTU={}",
        opt(env.warm_ip_target),
        opt(env.minimum_ip_target),
        opt(env.warm_eni_target),
        opt(env.warm_prefix_target),
        opt(env.max_eni),
        opt(env.eni_mtu)
    )
    .unwrap();
    writeln!(
        out,
        "prefix_delegation={:?} external_snat={:?} randomize_snat={:?} exclude_snat={:?}",
        env.enable_prefix_delegation, env.external_snat, env.randomize_snat, env.exclude_snat_cidrs
    )
    .unwrap();
    writeln!(
        out,
        "node_port_support={:?} pod_eni={:?} sg_mode={:?} custom_network={:?} ipv4={:?} ipv6={:?} veth_prefix={:?} network_policy={:?}",
        env.node_port_support,
        env.enable_pod_eni,
        env.pod_security_group_enforcing_mode,
        env.custom_network_cfg,
        env.enable_ipv4,
        env.enable_ipv6,
        env.veth_prefix,
        env.network_policy
    )
    .unwrap();
}

fn render_vpc_cni(path: &Path) -> String {
    let text = read(path);
    let name = file_name(path);
    let mut out = String::new();
    let diagnostics = if name.starts_with("ipamd-env-settings") {
        let p = vpc_cni::parse_env_settings(&text).unwrap();
        render_env(&mut out, &p.value);
        p.diagnostics
    } else if name.starts_with("cni-configuration-variables") {
        let p = vpc_cni::parse_container_info(&text).unwrap();
        writeln!(out, "containers: {:?}", p.value.container_ids).unwrap();
        writeln!(out, "cni version: {:?}", p.value.cni_version()).unwrap();
        render_env(&mut out, &p.value.env);
        unparsed_lines(&mut out, &p.value.unparsed);
        p.diagnostics
    } else if name.starts_with("enis") {
        let p = vpc_cni::parse_enis(&text).unwrap();
        let e = &p.value;
        writeln!(
            out,
            "reported: total={} assigned={}; counted: assigned={} available={} prefixes={}",
            opt(e.total_ips),
            opt(e.assigned_ips),
            e.assigned(),
            e.available(),
            e.prefix_count()
        )
        .unwrap();
        for eni in &e.enis {
            writeln!(
                out,
                "{} device={} primary={} trunk={} efa={}",
                eni.id,
                opt(eni.device_number),
                eni.is_primary,
                eni.is_trunk,
                eni.is_efa
            )
            .unwrap();
            for c in &eni.cidrs {
                writeln!(out, "    {} prefix={}", c.cidr, c.is_prefix).unwrap();
                for a in &c.addresses {
                    writeln!(
                        out,
                        "        {} assigned={} pod={}/{}",
                        a.address,
                        a.assigned,
                        opt(a.pod_namespace.as_ref()),
                        opt(a.pod_name.as_ref())
                    )
                    .unwrap();
                }
            }
        }
        p.diagnostics
    } else if name.ends_with(".conflist") {
        let p = vpc_cni::parse_conflist(&text).unwrap();
        let c = &p.value;
        writeln!(
            out,
            "cniVersion={:?} name={:?} mtu={:?} vethPrefix={:?}",
            c.cni_version, c.name, c.mtu, c.veth_prefix
        )
        .unwrap();
        for pl in &c.plugins {
            writeln!(out, "plugin type={} name={:?}", pl.plugin_type, pl.name).unwrap();
        }
        p.diagnostics
    } else {
        let p = vpc_cni::parse_log(&text);
        for e in &p.value.entries {
            writeln!(
                out,
                "line {} {} {} {} {:?} {:?}",
                e.line,
                opt(e.time),
                opt(e.level.as_ref()),
                opt(e.caller.as_ref()),
                e.msg,
                e.fields
            )
            .unwrap();
        }
        writeln!(out, "errors: {}", p.value.errors().count()).unwrap();
        unparsed_lines(&mut out, &p.value.unparsed);
        p.diagnostics
    };
    finish(path, out, &diagnostics)
}

#[test]
fn vpc_cni_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "vpc_cni/*/*",
        |path| {
            insta::assert_snapshot!(render_vpc_cni(path));
        }
    );
}

// ---------------------------------------------------------------- kubelet config

fn render_kubelet(path: &Path) -> String {
    let p = kubelet_config::parse(&read(path)).unwrap();
    let c = &p.value;
    let mut out = String::new();
    writeln!(out, "kind={:?} apiVersion={:?}", c.kind, c.api_version).unwrap();
    writeln!(
        out,
        "maxPods={} clusterDNS={:?} clusterDomain={:?}",
        opt(c.max_pods),
        c.cluster_dns,
        c.cluster_domain
    )
    .unwrap();
    let threshold = |t: &kubelet_config::Threshold| match t {
        kubelet_config::Threshold::Quantity(q) => format!("{} (={} milli)", q.raw, q.milli),
        kubelet_config::Threshold::Percent { basis_points, raw } => {
            format!("{raw} (={basis_points} bp)")
        }
    };
    for (name, map) in [
        ("evictionHard", &c.eviction_hard),
        ("evictionSoft", &c.eviction_soft),
    ] {
        for (k, t) in map {
            writeln!(out, "{name} {k}: {}", threshold(t)).unwrap();
        }
    }
    for (k, v) in &c.eviction_soft_grace_period {
        writeln!(out, "evictionSoftGracePeriod {k}: {v}").unwrap();
    }
    for (name, map) in [
        ("kubeReserved", &c.kube_reserved),
        ("systemReserved", &c.system_reserved),
    ] {
        for (k, q) in map {
            writeln!(out, "{name} {k}: {} (={} milli)", q.raw, q.milli).unwrap();
        }
    }
    writeln!(
        out,
        "podPidsLimit={} serializeImagePulls={:?} maxParallelImagePulls={} cgroupDriver={:?} runtime={:?} providerID={:?}",
        opt(c.pod_pids_limit),
        c.serialize_image_pulls,
        opt(c.max_parallel_image_pulls),
        c.cgroup_driver,
        c.container_runtime_endpoint,
        c.provider_id
    )
    .unwrap();
    writeln!(out, "featureGates={:?}", c.feature_gates).unwrap();
    finish(path, out, &p.diagnostics)
}

#[test]
fn kubelet_config_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "kubelet_config/*/*",
        |path| {
            insta::assert_snapshot!(render_kubelet(path));
        }
    );
}

// ---------------------------------------------------------------- storage

fn render_df(out: &mut String, table: &storage::DfTable) {
    writeln!(out, "df columns: {:?}", table.columns).unwrap();
    for r in &table.rows {
        writeln!(
            out,
            "    line {} {} total={} ({}) used={} ({}) avail={} ({}) use={} on {}",
            r.line,
            r.filesystem,
            r.total,
            opt(r.total_n),
            r.used,
            opt(r.used_n),
            r.available,
            opt(r.available_n),
            r.use_percent
                .map_or_else(|| "-".to_owned(), |p| format!("{p}%")),
            r.mounted_on
        )
        .unwrap();
    }
    writeln!(
        out,
        "at least 90%: {:?}",
        table
            .at_least(90)
            .map(|r| r.mounted_on.as_str())
            .collect::<Vec<_>>()
    )
    .unwrap();
    unparsed_lines(out, &table.unparsed);
}

fn render_storage(path: &Path) -> String {
    let text = read(path);
    let mut out = String::new();
    if file_name(path).starts_with("inodes") {
        let p = storage::parse_df(&text);
        render_df(&mut out, &p.value);
        return finish(path, out, &p.diagnostics);
    }
    let p = storage::parse_mounts(&text);
    for m in &p.value.mounts {
        writeln!(
            out,
            "line {} {} on {} type {} ro={} options={}",
            m.line,
            m.device,
            m.mount_point,
            m.fs_type,
            m.read_only,
            m.options.len()
        )
        .unwrap();
    }
    writeln!(
        out,
        "unexpected read-only: {:?}",
        p.value
            .unexpected_read_only()
            .map(|m| m.mount_point.as_str())
            .collect::<Vec<_>>()
    )
    .unwrap();
    render_df(&mut out, &p.value.usage);
    unparsed_lines(&mut out, &p.value.unparsed);
    finish(path, out, &p.diagnostics)
}

#[test]
fn storage_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "storage/*/*",
        |path| {
            insta::assert_snapshot!(render_storage(path));
        }
    );
}

// ---------------------------------------------------------------- ps

fn render_ps(path: &Path) -> String {
    let p = ps::parse(&read(path)).unwrap();
    let l = &p.value;
    let mut out = String::new();
    writeln!(out, "columns: {:?}", l.columns).unwrap();
    if !l.repeated_headers.is_empty() {
        writeln!(out, "repeated headers at lines {:?}", l.repeated_headers).unwrap();
    }
    for pr in &l.processes {
        writeln!(
            out,
            "line {} pid={} user={} cpu={} mem={} rss={} stat={} depth={} exe={} cmd={:?}",
            pr.line,
            pr.pid,
            opt(pr.user.as_ref()),
            opt(pr.cpu_tenths),
            opt(pr.mem_tenths),
            opt(pr.rss_kib),
            opt(pr.stat.as_ref()),
            pr.depth,
            pr.executable(),
            pr.command
        )
        .unwrap();
    }
    for name in ["kubelet", "containerd", "kube-proxy", "aws-k8s-agent"] {
        writeln!(
            out,
            "find {name}: {:?}",
            l.by_name(name).map(|p| p.pid).collect::<Vec<_>>()
        )
        .unwrap();
    }
    writeln!(
        out,
        "zombies: {:?} uninterruptible: {:?}",
        l.processes
            .iter()
            .filter(|p| p.is_zombie())
            .map(|p| p.pid)
            .collect::<Vec<_>>(),
        l.processes
            .iter()
            .filter(|p| p.is_uninterruptible())
            .map(|p| p.pid)
            .collect::<Vec<_>>()
    )
    .unwrap();
    unparsed_lines(&mut out, &l.unparsed);
    finish(path, out, &p.diagnostics)
}

#[test]
fn ps_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "ps/*/*",
        |path| {
            insta::assert_snapshot!(render_ps(path));
        }
    );
}

// ---------------------------------------------------------------- procstat

fn render_procstat(path: &Path) -> String {
    let p = procstat::parse(&read(path)).unwrap();
    let s = &p.value;
    let mut out = String::new();
    if let Some(t) = &s.cpu_total {
        writeln!(
            out,
            "cpu total={} user={} system={} idle={} iowait={} steal={} (steal {} permille)",
            t.total(),
            t.user(),
            t.system(),
            t.idle(),
            t.iowait(),
            t.steal(),
            t.permille(t.steal())
        )
        .unwrap();
    }
    writeln!(
        out,
        "cpus: {:?}",
        s.cpus.iter().map(|c| c.0).collect::<Vec<_>>()
    )
    .unwrap();
    writeln!(
        out,
        "btime={} ctxt={} processes={} running={} blocked={} intr={} softirq={}",
        opt(s.btime),
        opt(s.ctxt),
        opt(s.processes),
        opt(s.procs_running),
        opt(s.procs_blocked),
        opt(s.intr_total),
        opt(s.softirq_total)
    )
    .unwrap();
    for (name, values) in &s.other {
        writeln!(out, "other {name}: {values:?}").unwrap();
    }
    unparsed_lines(&mut out, &s.unparsed);
    finish(path, out, &p.diagnostics)
}

#[test]
fn procstat_fixtures() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "procstat/*/*",
        |path| {
            insta::assert_snapshot!(render_procstat(path));
        }
    );
}

// ---------------------------------------------------------------- errors

#[track_caller]
fn check_err<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>, expect: &str) {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => assert_eq!(e.to_string(), expect),
    }
}

#[test]
fn not_that_format() {
    check_err(
        sysctl::parse("hello\n"),
        "not sysctl output: no `key = value` line",
    );
    check_err(
        ethtool::parse("hello\n"),
        "not ethtool statistics: no `Interface` header and no `NIC statistics:` line",
    );
    check_err(
        iptables_list::parse("hello\n"),
        "not an iptables listing: no `Chain` header",
    );
    check_err(
        ps::parse("hello\n"),
        "not a ps listing: no `PID` column in the first line",
    );
    check_err(
        kubelet_config::parse("[1]"),
        "kubelet configuration is not a json object",
    );
    check_err(
        vpc_cni::parse_enis("{\"a\":1}"),
        "unexpected json shape: no object with an `ENIs` field",
    );
    check_err(
        vpc_cni::parse_container_info("{\"ID\":\"x\"}"),
        "unexpected json shape: no `Spec.process.env` in any document",
    );
    assert!(matches!(
        vpc_cni::parse_conflist("not json"),
        Err(vpc_cni::Error::NotJson { .. })
    ));
}

// ---------------------------------------------------------------- properties

/// Line-oriented text made of pieces that the parsers treat specially, so
/// that random inputs reach deep into them.
fn artifact_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Chain INPUT (policy ACCEPT 1K packets, 2M bytes)\n".to_owned()),
        Just(" pkts bytes target     prot opt in     out     source               destination\n".to_owned()),
        Just("    0     0 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0 \n".to_owned()),
        Just("=======\nTotal Number of Rules: 1\n".to_owned()),
        Just("Interface eth0\nNIC statistics:\n     pps_allowance_exceeded: 3\n".to_owned()),
        Just("net.core.somaxconn = 4096\n".to_owned()),
        Just("default via 10.0.0.1 dev eth0\n\tnexthop via 10.0.0.1 dev eth0 weight 1\n".to_owned()),
        Just("0:\tfrom all lookup local\n".to_owned()),
        Just("-A -t 1.2.3.4:53 -s rr\n-a -t 1.2.3.4:53 -r 10.0.0.1:53 -m -w 1\n".to_owned()),
        Just("IP Virtual Server version 1.2.1 (size=4096)\nTCP  1.2.3.4:53 1 2\n  -> 10.0.0.1:53 1 2\n".to_owned()),
        Just("Name: X\nMembers:\n1.2.3.4\ncreate X hash:ip\nadd X 1.2.3.4\n".to_owned()),
        Just("Filesystem Size Used Avail Use% Mounted on\n/dev/x 1G 1G 0 100% /\n".to_owned()),
        Just("USER PID %CPU COMMAND\nroot 1 0.0  \\_ init\n".to_owned()),
        Just("nameserver 10.0.0.2\noptions ndots:5\n".to_owned()),
        "[ -~\t]{0,40}\n",
        "\\PC{0,20}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn parse_all(text: &str) {
    let _ = sysctl::parse(text);
    let _ = iproute::parse_routes(text);
    let _ = iproute::parse_rules(text);
    let _ = resolv::parse(text);
    let _ = ethtool::parse(text);
    let _ = ipvs::parse(text);
    let _ = ipvs::ipset::parse(text);
    let _ = storage::parse_mounts(text);
    let _ = storage::parse_df(text);
    let _ = vpc_cni::parse_log(text);
    let _ = vpc_cni::parse_env_settings(text);
    let _ = vpc_cni::parse_container_info(text);
    let _ = vpc_cni::parse_enis(text);
    let _ = vpc_cni::parse_conflist(text);
    let _ = kubelet_config::parse(text);
    let _ = procstat::parse(text);
    if let Ok(p) = iptables_list::parse(text) {
        // Every rule row of the listing is either a rule or kept unparsed.
        let kept: usize = p
            .value
            .chains
            .iter()
            .map(|c| c.rules.len() + c.unparsed.len())
            .sum();
        assert!(kept + p.value.unparsed.len() <= text.lines().count());
    }
    if let Ok(p) = ps::parse(text) {
        for pr in &p.value.processes {
            let _ = pr.executable();
        }
    }
}

proptest! {
    #[test]
    fn no_panic_on_artifact_like_text(text in artifact_like()) {
        parse_all(&text);
    }

    #[test]
    fn iptables_list_parse_file_equals_parse(text in artifact_like()) {
        let from_file = iptables_list::parse_file(&FileBytes::from(text.as_str()));
        prop_assert_eq!(from_file, iptables_list::parse(&text));
    }

    #[test]
    fn no_panic_on_any_text(text in "\\PC*") {
        parse_all(&text);
    }

    #[test]
    fn no_panic_on_json_like_text(text in "[{}\\[\\]\":,0-9a-zA-Z_ ]{0,80}") {
        parse_all(&text);
    }

    /// Every non-blank line of sysctl-like text is an entry, noise or
    /// unparsed: nothing is dropped.
    #[test]
    fn sysctl_keeps_every_line(lines in proptest::collection::vec("[a-z.=_ 0-9\t]{0,20}", 1..20)) {
        let text = lines.join("\n");
        if let Ok(p) = sysctl::parse(&text) {
            let non_blank = text.split('\n').filter(|l| !l.trim().is_empty()).count();
            prop_assert_eq!(p.value.entries.len() + p.value.noise.len() + p.value.unparsed.len(), non_blank);
        }
    }

    /// /proc/mounts octal escapes (`\040`, and out-of-range ones such as
    /// `\777` that cargo-fuzz found overflowing) never panic, and a path
    /// without backslashes comes back unchanged.
    #[test]
    fn proc_mounts_escapes(device in "[\\\\0-9a]{1,12}", mount_point in "[\\\\0-9a/]{1,12}") {
        let parsed = storage::parse_mounts(&format!("{device} {mount_point} ext4 rw 0 0\n"));
        prop_assert_eq!(parsed.value.mounts.len(), 1);
        if !mount_point.contains('\\') {
            prop_assert_eq!(&parsed.value.mounts[0].mount_point, &mount_point);
        }
    }

    /// Counters written by iptables' print_num come back as the same number.
    #[test]
    fn iptables_counters_round_trip(n in 0u64..100_000_000_000) {
        let printed = if n <= 99_999 { n.to_string() } else {
            let mut v = n;
            let mut suffix = "";
            for s in ["K", "M", "G", "T"] {
                v = (v + 500) / 1000;
                suffix = s;
                if v <= 9999 { break; }
            }
            format!("{v}{suffix}")
        };
        let c = iptables_list::Counter::parse(&printed).unwrap();
        prop_assert_eq!(c.rounded, n > 99_999);
        if !c.rounded { prop_assert_eq!(c.value, n); }
    }
}

// ---------------------------------------------------------------- generated inputs

/// Generated artifacts (the ones the benchmarks time) parse cleanly and
/// completely, so the benchmarks measure the full path.
#[test]
fn generated_inputs_parse_cleanly() {
    use fixture_gen::extra as generate;
    let listing = iptables_list::parse(&generate::iptables_nat_listing(300)).unwrap();
    assert!(
        listing.diagnostics.is_empty(),
        "{:?}",
        &listing.diagnostics[..1]
    );
    assert_eq!(listing.value.rule_count(), 1 + 300 + 300 * 3);
    assert_eq!(listing.value.chains.len(), 2 + 300);

    let sysctls = sysctl::parse(&generate::sysctl_all(100)).unwrap();
    assert!(sysctls.diagnostics.is_empty());
    assert_eq!(sysctls.value.rp_filter_by_interface().len(), 100);

    let routes = iproute::parse_routes(&generate::ip_route(1000));
    assert!(routes.diagnostics.is_empty());
    assert_eq!(routes.value.routes.len(), 1005);

    let stats = ethtool::parse(&generate::ethtool(4, 8)).unwrap();
    assert!(stats.diagnostics.is_empty());
    assert_eq!(stats.value.interfaces[3].queue_counters().len(), 8 * 6);

    let ipvs_state = ipvs::parse(&generate::ipvsadm(200, 3));
    assert!(
        ipvs_state.diagnostics.is_empty(),
        "{:?}",
        ipvs_state.diagnostics.first()
    );
    assert_eq!(ipvs_state.value.services.len(), 200);
    assert!(
        ipvs_state
            .value
            .services
            .iter()
            .all(|s| s.real_servers.len() == 3)
    );
    assert_eq!(ipvs_state.value.tables.len(), 2);

    let sets = ipvs::ipset::parse(&generate::ipset(500));
    assert!(sets.diagnostics.is_empty());
    assert_eq!(sets.value.saved[0].members.len(), 500);

    let processes = ps::parse(&generate::ps(100)).unwrap();
    assert!(processes.diagnostics.is_empty());
    assert_eq!(processes.value.by_name("pause").count(), 100);
}

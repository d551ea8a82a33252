//! iptables-save parser: corpus conformance, fixture snapshots, properties.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test helpers: a panic is a test failure, and notes belong in the test log"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use node_artifacts::iptables::kube::KubeView;
use node_artifacts::iptables::{self, Line, Ruleset, Table};
use serde_json::Value;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/iptables"
    ));
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        println!(
            "note: {} is absent; corpus conformance skipped",
            dir.display()
        );
        None
    }
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn unparsed(ruleset: &Ruleset) -> Vec<String> {
    ruleset
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Unparsed(u) => Some(format!("{}: {} ({})", u.line, u.raw, u.reason)),
            _ => None,
        })
        .collect()
}

/// Every iptables-save dump in the corpus parses with no unparsed line and
/// renders back byte for byte.
#[test]
fn corpus_dumps_round_trip() {
    let Some(dir) = corpus_dir() else { return };
    let mut checked = 0;
    for path in corpus_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".t") || name.ends_with(".md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = iptables::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bad = unparsed(&parsed.value);
        assert!(
            bad.is_empty(),
            "{name}: {} unparsed, first: {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        assert_eq!(parsed.value.render(), text, "{name}: render differs");
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} dumps checked");
}

/// Outcome of the netfilter `extensions/*.t` oracle lines.
#[derive(Debug, Default)]
struct OracleScore {
    ok_lines: usize,
    ok_rendered: usize,
    fail_lines: usize,
    fail_flagged: usize,
    mismatches: Vec<String>,
}

/// Runs one oracle fragment through the parser: the rule is placed in a
/// one-table dump, and its canonical rendering is compared with the save form
/// the oracle expects. Returns the canonical rendering and whether the parser
/// flagged anything (unparsed line or diagnostic).
fn oracle_fragment(table: &str, chain: &str, fragment: &str) -> (Option<String>, bool) {
    let dump = format!("*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {fragment}\nCOMMIT\n");
    let parsed = iptables::parse(&dump).unwrap();
    let flagged = !parsed.diagnostics.is_empty();
    let rule = parsed
        .value
        .rules()
        .next()
        .map(|(_, r)| r.to_canonical_string());
    (rule, flagged)
}

fn oracle_score(dir: &Path) -> OracleScore {
    let mut score = OracleScore::default();
    for path in corpus_files(dir) {
        if path.extension().and_then(|e| e.to_str()) != Some("t") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut chain = "INPUT".to_owned();
        let mut table = "filter".to_owned();
        for line in text.lines() {
            if let Some(chains) = line.strip_prefix(':') {
                chain = chains.split(',').next().unwrap().to_owned();
                continue;
            }
            if let Some(name) = line.strip_prefix('*') {
                table = name.to_owned();
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut fields = line.rsplitn(3, ';');
            let (Some(verdict), Some(expected), Some(fragment)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (rendered, flagged) = oracle_fragment(&table, &chain, fragment);
            match verdict {
                "OK" => {
                    score.ok_lines += 1;
                    let expected = if expected == "=" { fragment } else { expected };
                    let want = format!("-A {chain} {expected}");
                    if rendered.as_deref() == Some(want.as_str()) {
                        score.ok_rendered += 1;
                    } else {
                        score
                            .mismatches
                            .push(format!("want {want}\n got {rendered:?}"));
                    }
                }
                "FAIL" => {
                    score.fail_lines += 1;
                    if flagged {
                        score.fail_flagged += 1;
                    } else {
                        score
                            .mismatches
                            .push(format!("FAIL line accepted: {fragment}"));
                    }
                }
                _ => {}
            }
        }
    }
    score
}

/// The netfilter oracle: OK fragments must parse and render to the expected
/// save form. The floor records what this parser achieves today; it may rise,
/// never fall.
#[test]
fn corpus_extension_oracles() {
    let Some(dir) = corpus_dir() else { return };
    let score = oracle_score(&dir);
    println!(
        "oracle: {}/{} OK fragments render to the expected save form; {}/{} FAIL fragments flagged",
        score.ok_rendered, score.ok_lines, score.fail_flagged, score.fail_lines
    );
    for m in &score.mismatches {
        println!("{m}");
    }
    assert!(
        score.ok_lines >= 100,
        "only {} OK lines found",
        score.ok_lines
    );
    assert!(
        score.ok_rendered >= OK_FLOOR,
        "{} < floor {OK_FLOOR}",
        score.ok_rendered
    );
    assert!(
        score.fail_flagged >= FAIL_FLOOR,
        "{} < floor {FAIL_FLOOR}",
        score.fail_flagged
    );
}

const OK_FLOOR: usize = 100;
const FAIL_FLOOR: usize = 45;

fn fixtures_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/iptables"
    ))
    .to_path_buf()
}

fn read_fixture(relative: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(relative)).unwrap()
}

/// Drops nulls, `false`, empty arrays and objects; folds `{negated, value}`
/// into the value (or `{"not": value}`) and port ranges into `a` / `a:b`.
fn tidy(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            if map.len() == 2 && map.contains_key("negated") && map.contains_key("value") {
                let negated = map["negated"] == Value::Bool(true);
                let inner = tidy(map["value"].clone());
                return if negated {
                    serde_json::json!({ "not": inner })
                } else {
                    inner
                };
            }
            if map.len() == 2 && map.contains_key("first") && map.contains_key("last") {
                let (a, b) = (&map["first"], &map["last"]);
                return if a == b {
                    Value::String(a.to_string())
                } else {
                    Value::String(format!("{a}:{b}"))
                };
            }
            let cleaned: serde_json::Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, tidy(v)))
                .filter(|(_, v)| {
                    !matches!(v, Value::Null | Value::Bool(false)) && v != &Value::Array(vec![])
                })
                .filter(|(_, v)| !matches!(v, Value::Object(m) if m.is_empty()))
                .collect();
            Value::Object(cleaned)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(tidy).collect()),
        other => other,
    }
}

fn compact<T: serde::Serialize>(value: &T) -> String {
    tidy(serde_json::to_value(value).unwrap()).to_string()
}

/// Renders a parse result for a snapshot: a per-table/chain summary, each
/// rule's line, typed matches and target, the diagnostics, and the
/// Kubernetes view.
fn render_report(text: &str) -> String {
    let mut out = String::new();
    let parsed = match iptables::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => return format!("error: {e}\n"),
    };
    let ruleset = &parsed.value;
    let rules = ruleset.rules().count();
    let raw = ruleset.rules().filter(|(_, r)| r.raw.is_some()).count();
    writeln!(
        out,
        "lines: {}, rules: {rules} ({raw} kept verbatim), unparsed: {}",
        ruleset.line_count(),
        ruleset.unparsed_count()
    )
    .unwrap();
    writeln!(
        out,
        "family: {:?}, generated by: {:?}, nft: {}, incompatible tables: {:?}",
        ruleset.family(),
        ruleset.generated_by(),
        ruleset.is_nft(),
        ruleset.incompatible_tables()
    )
    .unwrap();
    writeln!(out, "render is byte-exact: {}", ruleset.render() == text).unwrap();
    for block in &ruleset.tables {
        writeln!(
            out,
            "\n*{} (line {}, COMMIT {:?}): {} chains, {} rules",
            block.table.name(),
            block.line,
            block.commit_line,
            block.chains.len(),
            block.rule_count()
        )
        .unwrap();
        for chain in &block.chains {
            let policy = chain
                .policy
                .as_ref()
                .map_or("-".to_owned(), |p| compact(p).trim_matches('"').to_owned());
            let counters = chain
                .counters
                .map_or(String::new(), |c| format!(" [{}:{}]", c.packets, c.bytes));
            writeln!(
                out,
                "  :{} {policy}{counters} (line {:?})",
                chain.name, chain.line
            )
            .unwrap();
            for rule in &chain.rules {
                let counters = rule
                    .counters
                    .map_or(String::new(), |c| format!("[{}:{}] ", c.packets, c.bytes));
                let matches: Vec<String> = rule.matches.iter().map(compact).collect();
                let target = rule
                    .target
                    .as_ref()
                    .map_or("(no target)".to_owned(), compact);
                let kept = if rule.raw.is_some() {
                    " (kept verbatim)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "    L{} {counters}{} => {target}{kept}",
                    rule.line,
                    matches.join(" ")
                )
                .unwrap();
            }
        }
    }
    let unparsed: Vec<_> = ruleset
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Unparsed(u) => Some(u),
            _ => None,
        })
        .collect();
    if !unparsed.is_empty() {
        writeln!(out, "\nunparsed lines:").unwrap();
        for u in unparsed {
            writeln!(out, "  L{}: {:?} ({})", u.line, u.raw, u.reason).unwrap();
        }
    }
    if !parsed.diagnostics.is_empty() {
        writeln!(out, "\ndiagnostics:").unwrap();
        for d in &parsed.diagnostics {
            writeln!(out, "  L{}: {}", d.line, d.reason).unwrap();
        }
    }
    out.push_str(&render_kube(&KubeView::new(ruleset)));
    out
}

fn render_kube(view: &KubeView) -> String {
    let mut out = String::new();
    if view.services.is_empty() && view.node_ports.is_empty() && !view.vpc_cni.is_present() {
        return out;
    }
    writeln!(out, "\nkubernetes services:").unwrap();
    for service in view.services() {
        let ip = service
            .cluster_ip
            .map_or("?".to_owned(), |ip| ip.to_string());
        let proto = service
            .protocol
            .as_ref()
            .map_or("?".into(), |p| p.as_str().to_string());
        let port = service.port.map_or("?".to_owned(), |p| p.to_string());
        let chain = service.svc_chain.as_deref().unwrap_or("-");
        writeln!(
            out,
            "  {} {ip} {proto}/{port} chain={chain} lines={:?}",
            service.key(),
            service.lines
        )
        .unwrap();
        for ext in &service.external_ips {
            writeln!(out, "    {} {} (L{})", ext.kind, ext.ip, ext.line).unwrap();
        }
        if service.endpoints.is_empty() {
            writeln!(
                out,
                "    no endpoints (reject rule: {:?})",
                service.no_endpoints_line
            )
            .unwrap();
        }
        for e in &service.endpoints {
            let address = e.address.map_or("?".to_owned(), |a| a.to_string());
            let port = e.port.map_or("?".to_owned(), |p| p.to_string());
            let probability = e
                .probability
                .map_or("rest".to_owned(), |p| format!("{p:.11}"));
            writeln!(out, "    -> {address} port {port} via {} p={probability} share={:.4} jump=L{} dnat={:?}{}", e.chain, e.share, e.jump_line, e.dnat_line, if e.affinity { " affinity" } else { "" }).unwrap();
        }
    }
    if !view.node_ports.is_empty() {
        writeln!(out, "node ports:").unwrap();
        for np in view.node_ports() {
            let proto = np
                .protocol
                .as_ref()
                .map_or("?".into(), |p| p.as_str().to_string());
            let flags = match (np.localhost_only, np.no_endpoints) {
                (true, _) => " localhost",
                (_, true) => " no endpoints",
                _ => "",
            };
            writeln!(
                out,
                "  {proto}/{} {} -> {:?}{flags} (L{})",
                np.port, np.service, np.target_chain, np.line
            )
            .unwrap();
        }
    }
    let cni = &view.vpc_cni;
    writeln!(
        out,
        "vpc cni: present={} snat chains={:?} connmark chains={:?}",
        cni.is_present(),
        cni.snat_chains,
        cni.connmark_chains
    )
    .unwrap();
    for snat in &cni.snat_rules {
        writeln!(
            out,
            "  snat in {} to {:?} random={} random-fully={} except out {:?} (L{})",
            snat.chain,
            snat.to_source,
            snat.random,
            snat.random_fully,
            snat.excluded_out_interface,
            snat.line
        )
        .unwrap();
    }
    for ex in &cni.exclusions {
        writeln!(
            out,
            "  no snat to {}/{} in {} {:?} (L{})",
            ex.cidr.addr, ex.cidr.prefix, ex.chain, ex.comment, ex.line
        )
        .unwrap();
    }
    out
}

#[test]
fn fixture_snapshots() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"),
        "iptables/*/*.txt",
        |path| {
            let text = std::fs::read_to_string(path).unwrap();
            insta::assert_snapshot!(render_report(&text));
        }
    );
}

/// Files under `valid/` parse cleanly and render back byte for byte; files
/// under `invalid/` do not parse cleanly but still render back exactly.
#[test]
fn fixtures_valid_and_invalid() {
    for (folder, want_clean) in [("valid", true), ("invalid", false)] {
        let mut entries: Vec<_> = std::fs::read_dir(fixtures_dir().join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        assert!(!entries.is_empty());
        for path in entries {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display();
            match iptables::parse(&text) {
                Ok(parsed) => {
                    assert_eq!(
                        parsed.diagnostics.is_empty(),
                        want_clean,
                        "{name}: {:?}",
                        parsed.diagnostics
                    );
                    assert_eq!(parsed.value.render(), text, "{name}");
                }
                Err(_) => assert!(!want_clean, "{name}"),
            }
        }
    }
}

/// kube-proxy's restore order and iptables-save's canonical order give the
/// same typed rules, chain by chain.
#[test]
fn restore_order_equals_canonical_order() {
    let canonical = iptables::parse(&read_fixture("valid/kube-proxy-vpc-cni.txt"))
        .unwrap()
        .value;
    let restore = iptables::parse(&read_fixture("valid/kube-proxy-restore-order.txt"))
        .unwrap()
        .value;
    let mut compared = 0;
    for table in [Table::Nat, Table::Filter] {
        let written = restore.table(table.clone()).unwrap();
        let saved = canonical.table(table).unwrap();
        for chain in &written.chains {
            let saved_chain = saved
                .chain(&chain.name)
                .unwrap_or_else(|| panic!("{} missing", chain.name));
            assert_eq!(chain.rules.len(), saved_chain.rules.len(), "{}", chain.name);
            for (a, b) in chain.rules.iter().zip(&saved_chain.rules) {
                assert!(
                    a.same_rule(b),
                    "line {} vs {}:\n{:#?}\n{:#?}",
                    a.line,
                    b.line,
                    a,
                    b
                );
                assert_eq!(a.to_canonical_string(), b.text(), "line {}", a.line);
                compared += 1;
            }
        }
    }
    assert!(compared > 40, "{compared}");
    let restore_view = KubeView::new(&restore);
    let canonical_view = KubeView::new(&canonical);
    assert_eq!(restore_view.services.len(), canonical_view.services.len());
    for (key, service) in &canonical_view.services {
        let other = &restore_view.services[key];
        assert_eq!(service.cluster_ip, other.cluster_ip, "{key}");
        let shares = |s: &node_artifacts::iptables::kube::Service| {
            s.endpoints
                .iter()
                .map(|e| (e.address, e.port, e.probability))
                .collect::<Vec<_>>()
        };
        assert_eq!(shares(service), shares(other), "{key}");
    }
}

/// The `-c` dump is the plain dump plus counters.
#[test]
fn counters_variant_matches_plain() {
    let plain = iptables::parse(&read_fixture("valid/kube-proxy-vpc-cni.txt"))
        .unwrap()
        .value;
    let counted = iptables::parse(&read_fixture("valid/kube-proxy-vpc-cni-counters.txt"))
        .unwrap()
        .value;
    let a: Vec<_> = plain.rules().map(|(_, r)| r).collect();
    let b: Vec<_> = counted.rules().map(|(_, r)| r).collect();
    assert_eq!(a.len(), b.len());
    assert!(b.iter().all(|r| r.counters.is_some() && r.raw.is_none()));
    assert!(a.iter().zip(&b).all(|(x, y)| x.same_rule(y)));
}

#[test]
fn kube_view_lookups() {
    let ruleset = iptables::parse(&read_fixture("valid/kube-proxy-vpc-cni.txt"))
        .unwrap()
        .value;
    let view = KubeView::new(&ruleset);
    let dns_ip = "10.100.0.10".parse().unwrap();
    let dns: Vec<_> = view
        .services_by_cluster_ip(dns_ip, 53)
        .map(|s| s.key())
        .collect();
    assert_eq!(
        dns,
        ["kube-system/kube-dns:dns", "kube-system/kube-dns:dns-tcp"]
    );
    assert_eq!(view.service_by_cluster_ip(dns_ip, 54), None);
    let web = view.service("shop/web:http").unwrap();
    assert_eq!(web.endpoints.len(), 3);
    let total: f64 = web.endpoints.iter().map(|e| e.share).sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
    assert!(
        web.endpoints
            .iter()
            .all(|e| (e.share - 1.0 / 3.0).abs() < 1e-6)
    );
    let without: Vec<_> = view.services_without_endpoints().map(|s| s.key()).collect();
    assert_eq!(without, ["shop/payments:grpc"]);
    assert_eq!(
        view.service_by_chain("KUBE-SEP-CRB5BY4R3U6FZQ5O")
            .map(|s| s.key()),
        Some("shop/web:http".to_owned())
    );
    assert_eq!(
        view.chain("KUBE-SVC-IUDQUGJF2BYNFCTS")
            .and_then(|c| c.service.as_deref()),
        Some("shop/web:http")
    );
    assert_eq!(
        view.node_ports()
            .iter()
            .map(|n| (n.port, n.no_endpoints))
            .collect::<Vec<_>>(),
        [(30080, false), (31090, true)]
    );
    assert_eq!(
        view.vpc_cni.snat_rules[0].to_source,
        Some("192.168.30.117".parse().unwrap())
    );
    assert!(view.vpc_cni.snat_rules[0].random_fully);
    assert_eq!(view.vpc_cni.exclusions.len(), 2);
    // Both the model and the view serialize (the data is the product).
    let json = serde_json::to_string(&view).unwrap();
    assert!(json.contains("\"shop/web:http\"") && json.contains("KUBE-SEP-CRB5BY4R3U6FZQ5O"));
    let garbage = iptables::parse(&read_fixture("invalid/garbage-lines.txt")).unwrap();
    let json = serde_json::to_string(&garbage).unwrap();
    assert!(
        json.contains("\"kind\":\"unparsed\"") && json.contains("unknown option -x"),
        "{json}"
    );
}

#[test]
fn rule_helpers() {
    let dump = "*filter\n:INPUT ACCEPT [0:0]\n\
        -A INPUT -s 10.0.0.0/8 ! -d 10.1.0.0/16 -p udp -m multiport --dports 53,80:90 -m comment --comment \"dns and web\" -j ACCEPT\n\
        -A INPUT -p tcp -m tcp --dport 5353 -j DROP\n\
        -A INPUT -p tcp -m tcp ! --dport 1:1023 -m multiport --dports 53,8080 -j DROP\n\
        COMMIT\n";
    let ruleset = iptables::parse(dump).unwrap().value;
    let rules: Vec<_> = ruleset.rules().map(|(_, r)| r).collect();
    let first = rules[0];
    assert_eq!(first.protocol().map(|p| p.number()), Some(Some(17)));
    assert!(first.dports().matches_port(53));
    assert!(first.dports().matches_port(85));
    assert!(!first.dports().matches_port(91));
    assert!(!first.sports().is_constrained());
    assert_eq!(first.comment(), Some("dns and web"));
    let source = first.source().unwrap();
    assert!(!source.negated && source.value.contains("10.9.8.7".parse().unwrap()));
    assert!(first.destination().unwrap().negated);
    // `--dport 5353` is not port 53 (the prior art's substring bug).
    assert!(!rules[1].dports().matches_port(53));
    assert!(rules[1].dports().matches_port(5353));
    // Both constraints apply: not in 1..=1023 and in {53, 8080}.
    assert!(!rules[2].dports().matches_port(53));
    assert!(rules[2].dports().matches_port(8080));
}

#[test]
fn not_a_dump_is_an_error() {
    for text in [
        "",
        "\n",
        "hello\nworld\n",
        &read_fixture("invalid/nvl-listing.txt"),
    ] {
        assert!(iptables::parse(text).is_err(), "{text:?}");
    }
    assert!(iptables::parse("# Generated by iptables-save v1.8.4 on Tue\n").is_ok());
}

#[test]
fn crlf_round_trips() {
    let text = "*filter\r\n:INPUT ACCEPT [0:0]\r\n-A INPUT -j ACCEPT\r\nCOMMIT\r\n";
    let parsed = iptables::parse(text).unwrap();
    assert!(parsed.diagnostics.is_empty());
    assert!(parsed.value.crlf);
    assert_eq!(parsed.value.render(), text);
    // Found by the fuzzer: a final `\r` without `\n` in a CRLF file.
    let dangling = "-A \r\n \r";
    assert_eq!(iptables::parse(dangling).unwrap().value.render(), dangling);
    let mixed = "*filter\r\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT";
    let parsed = iptables::parse(mixed).unwrap();
    assert_eq!(parsed.value.render(), mixed);
    // Only the first line has `\r`: the file is read as LF, that header is
    // unparsed and the rest falls outside any table; nothing is lost.
    assert_eq!(parsed.value.unparsed_count(), 4);
}

/// The benchmark generator writes a clean dump whose Kubernetes view has
/// every service with all of its endpoints.
#[test]
fn generated_kube_proxy_ruleset_is_clean() {
    let text = fixture_gen::iptables::kube_proxy_ruleset(200, 3);
    let parsed = iptables::parse(&text).unwrap();
    assert_eq!(parsed.diagnostics, vec![]);
    let ruleset = parsed.value;
    assert!(
        ruleset.rules().all(|(_, r)| r.raw.is_none()),
        "generator output is not canonical"
    );
    assert_eq!(ruleset.render(), text);
    let view = KubeView::new(&ruleset);
    assert_eq!(view.services.len(), 200);
    assert!(
        view.services()
            .all(|s| s.endpoints.len() == 3 && s.endpoints.iter().all(|e| e.address.is_some()))
    );
    assert_eq!(view.node_ports().len(), 20);
}

mod properties {
    use node_artifacts::iptables;
    use proptest::prelude::*;

    fn quoted(text: &str) -> String {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }

    fn bang() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just("! ")]
    }

    fn ipv4() -> impl Strategy<Value = String> {
        (any::<[u8; 4]>(), 0u8..=32)
            .prop_map(|(o, p)| format!("{}.{}.{}.{}/{p}", o[0], o[1], o[2], o[3]))
    }

    fn port_range() -> impl Strategy<Value = String> {
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{}:{}", a.min(b), a.max(b))
            }
        })
    }

    fn module() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,24}".prop_map(|c| format!("-m comment --comment {}", quoted(&c))),
            (bang(), port_range()).prop_map(|(b, p)| format!("-m tcp {b}--dport {p}")),
            (bang(), port_range(), port_range())
                .prop_map(|(b, s, d)| format!("-m udp --sport {s} {b}--dport {d}")),
            proptest::collection::vec(port_range(), 1..5)
                .prop_map(|p| format!("-m multiport --dports {}", p.join(","))),
            (
                bang(),
                proptest::sample::subsequence(
                    vec!["INVALID", "NEW", "RELATED", "ESTABLISHED", "DNAT"],
                    1..4
                )
            )
                .prop_map(|(b, s)| format!("-m conntrack {b}--ctstate {}", s.join(","))),
            (bang(), any::<u32>(), any::<u32>())
                .prop_map(|(b, v, m)| format!("-m mark {b}--mark 0x{v:x}/0x{m:x}")),
            (0.0f64..=1.0)
                .prop_map(|p| format!("-m statistic --mode random --probability {p:.10}")),
            (bang(), prop_oneof![Just("LOCAL"), Just("UNICAST")])
                .prop_map(|(b, t)| format!("-m addrtype {b}--dst-type {t}")),
            "[a-z]{1,8}".prop_map(|m| format!("-m {m} --{m}-opt value")),
        ]
    }

    fn target() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("-j ACCEPT".to_owned()),
            Just("-j DROP".to_owned()),
            Just("-j RETURN".to_owned()),
            Just("-j KUBE-MARK-MASQ".to_owned()),
            Just("-g KUBE-MARK-MASQ".to_owned()),
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(o, p)| format!(
                "-j DNAT --to-destination {}.{}.{}.{}:{p}",
                o[0], o[1], o[2], o[3]
            )),
            (any::<[u8; 4]>(), any::<bool>()).prop_map(|(o, r)| format!(
                "-j SNAT --to-source {}.{}.{}.{}{}",
                o[0],
                o[1],
                o[2],
                o[3],
                if r { " --random-fully" } else { "" }
            )),
            any::<u32>().prop_map(|m| format!("-j MARK --or-mark 0x{m:x}")),
            "[ -~]{0,16}".prop_map(|p| format!("-j LOG --log-prefix {}", quoted(&p))),
            Just("-j REJECT".to_owned()),
            Just("-j MASQUERADE --random-fully".to_owned()),
            Just("".to_owned()),
        ]
    }

    prop_compose! {
        fn rule()(
            counters in proptest::option::of((any::<u32>(), any::<u32>())),
            chain in prop_oneof![Just("INPUT"), Just("KUBE-SERVICES"), Just("KUBE-MARK-MASQ")],
            source in proptest::option::of((bang(), ipv4())),
            destination in proptest::option::of((bang(), ipv4())),
            iface in proptest::option::of((bang(), "[a-z]{1,5}[0-9]?\\+?")),
            protocol in proptest::option::of(prop_oneof![Just("tcp"), Just("udp"), Just("icmp"), Just("47")]),
            modules in proptest::collection::vec(module(), 0..4),
            target in target(),
            shuffle in any::<bool>(),
        ) -> String {
            let mut parts: Vec<String> = Vec::new();
            if let Some((b, s)) = source { parts.push(format!("{b}-s {s}")); }
            if let Some((b, d)) = destination { parts.push(format!("{b}-d {d}")); }
            if let Some((b, i)) = iface { parts.push(format!("{b}-i {i}")); }
            if let Some(p) = protocol { parts.push(format!("-p {p}")); }
            // kube-proxy puts generic options after its modules.
            if shuffle {
                let n = parts.len().min(1);
                parts.rotate_left(n);
                parts.extend(modules);
            } else {
                let mut m = modules;
                m.extend(parts);
                parts = m;
            }
            if !target.is_empty() { parts.push(target); }
            let prefix = counters.map(|(p, b)| format!("[{p}:{b}] ")).unwrap_or_default();
            format!("{prefix}-A {chain} {}", parts.join(" ")).trim_end().to_owned()
        }
    }

    fn dump(rules: &[String]) -> String {
        let mut text = String::from(
            "*nat\n:INPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n",
        );
        for rule in rules {
            text.push_str(rule);
            text.push('\n');
        }
        text.push_str("COMMIT\n");
        text
    }

    fn any_line() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => rule(),
            1 => Just("*filter".to_owned()),
            1 => Just("COMMIT".to_owned()),
            1 => Just(":INPUT ACCEPT [1:2]".to_owned()),
            1 => Just(String::new()),
            1 => "\\PC{0,40}",
            1 => "[-:*#\\[\\] a-zA-Z0-9\"!\\\\]{0,40}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_on_text(text in "\\PC*") {
            let _ = iptables::parse(&text);
        }

        #[test]
        fn never_panics_and_stays_lossless_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(parsed) = iptables::parse(&text) {
                prop_assert_eq!(parsed.value.render(), text.as_ref());
            }
        }

        /// Any mix of dump lines renders back byte for byte, and re-parsing
        /// the rendering gives the same model.
        #[test]
        fn dump_like_text_round_trips(lines in proptest::collection::vec(any_line(), 0..30), final_newline in any::<bool>()) {
            let mut text = lines.join("\n");
            if final_newline { text.push('\n'); }
            if let Ok(parsed) = iptables::parse(&text) {
                let rendered = parsed.value.render();
                prop_assert_eq!(&rendered, &text);
                let again = iptables::parse(&rendered).unwrap();
                prop_assert_eq!(again, parsed);
            }
        }

        /// The canonical rendering of each typed rule parses back to the same
        /// rule, and is a fixed point (nothing kept verbatim the second time).
        #[test]
        fn canonical_rendering_reparses_to_the_same_rules(rules in proptest::collection::vec(rule(), 1..20)) {
            let first = iptables::parse(&dump(&rules)).unwrap().value;
            let typed: Vec<_> = first.rules().map(|(_, r)| r.clone()).collect();
            prop_assert_eq!(typed.len(), rules.len());
            let canonical: Vec<String> = typed.iter().map(|r| r.to_canonical_string()).collect();
            let second = iptables::parse(&dump(&canonical)).unwrap().value;
            let retyped: Vec<_> = second.rules().map(|(_, r)| r.clone()).collect();
            prop_assert_eq!(retyped.len(), typed.len());
            for (a, b) in typed.iter().zip(&retyped) {
                prop_assert!(a.same_rule(b), "{}\n{}\n{:?}\n{:?}", a.text(), b.text(), a, b);
                prop_assert_eq!(a.counters, b.counters);
                prop_assert!(b.raw.is_none(), "not a fixed point: {}", b.text());
            }
        }
    }
}

/// kube-proxy's own expected ruleset (from its unit tests): the view finds
/// session affinity, services without endpoints, external and load-balancer
/// IPs, and localhost node ports.
#[test]
fn corpus_kube_proxy_restore_view() {
    let Some(dir) = corpus_dir() else { return };
    let path = dir.join(
        "kubernetes__pkg_proxy_iptables_proxier_test.go__TestOverallIPTablesRules.restore.txt",
    );
    let text = std::fs::read_to_string(path).unwrap();
    let ruleset = iptables::parse(&text).unwrap().value;
    let view = KubeView::new(&ruleset);
    let keys: Vec<_> = view.services.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "ns1/svc1:p80",
            "ns2/svc2:p80",
            "ns3/svc3:p80",
            "ns4/svc4:p80",
            "ns5/svc5:p80",
            "ns6/svc6:p80"
        ]
    );
    let svc5 = view.service("ns5/svc5:p80").unwrap();
    assert_eq!(svc5.endpoints.len(), 1);
    assert!(svc5.endpoints[0].affinity);
    assert_eq!(
        svc5.endpoints[0].address,
        Some("10.180.0.3".parse().unwrap())
    );
    assert_eq!(svc5.external_ips.len(), 1);
    let svc4 = view.service("ns4/svc4:p80").unwrap();
    let shares: Vec<_> = svc4.endpoints.iter().map(|e| e.share).collect();
    assert_eq!(shares, [0.5, 0.5]);
    let svc6 = view.service("ns6/svc6:p80").unwrap();
    assert!(svc6.endpoints.is_empty() && svc6.no_endpoints_line.is_some());
    assert_eq!(svc6.cluster_ip, Some("172.30.0.46".parse().unwrap()));
    let svc2 = view.service("ns2/svc2:p80").unwrap();
    assert_eq!(
        svc2.external_ips
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["external IP", "loadbalancer IP"]
    );
    let ports: Vec<_> = view
        .node_ports()
        .iter()
        .filter(|n| n.service == "ns2/svc2:p80")
        .map(|n| (n.port, n.localhost_only))
        .collect();
    assert_eq!(ports, [(3001, true), (3001, false)]);
    assert_eq!(
        view.services_without_endpoints()
            .map(|s| s.key())
            .collect::<Vec<_>>(),
        ["ns6/svc6:p80"]
    );
}

/// The moby documents hold `iptables -nvL` listings (not a dump, rejected
/// elsewhere) and `iptables -S` blocks ("iptables commands"). `-S` prints
/// rules in the same canonical form as iptables-save, so each block is turned
/// into a one-table dump (`-N`/`-P` become chain declarations) and every
/// `-A` line must parse cleanly and render back to itself.
#[test]
fn corpus_moby_rule_listings() {
    let Some(dir) = corpus_dir() else { return };
    let mut checked = 0;
    for path in corpus_files(&dir) {
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for block in text.split("<summary>iptables commands</summary>").skip(1) {
            let body = block.split("</details>").next().unwrap();
            let lines: Vec<&str> = body
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with('-'))
                .collect();
            let table = if lines.iter().any(|l| l.starts_with("-P POSTROUTING")) {
                "nat"
            } else {
                "filter"
            };
            let mut dump = format!("*{table}\n");
            let mut rules = Vec::new();
            for line in &lines {
                let mut words = line.split(' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("-P"), Some(chain), Some(policy)) => {
                        dump.push_str(&format!(":{chain} {policy} [0:0]\n"))
                    }
                    (Some("-N"), Some(chain), None) => {
                        dump.push_str(&format!(":{chain} - [0:0]\n"))
                    }
                    (Some("-A"), ..) => rules.push(*line),
                    _ => panic!("unexpected -S line {line:?}"),
                }
            }
            for rule in &rules {
                dump.push_str(rule);
                dump.push('\n');
            }
            dump.push_str("COMMIT\n");
            let parsed = iptables::parse(&dump).unwrap();
            assert_eq!(parsed.diagnostics, vec![], "{}", path.display());
            let rendered: Vec<String> = parsed
                .value
                .rules()
                .map(|(_, r)| r.to_canonical_string())
                .collect();
            let expected: Vec<String> = rules.iter().map(|r| (*r).to_owned()).collect();
            let mut sorted_expected = expected.clone();
            let mut sorted_rendered = rendered.clone();
            sorted_expected.sort();
            sorted_rendered.sort();
            assert_eq!(sorted_rendered, sorted_expected, "{}", path.display());
            checked += rules.len();
        }
    }
    println!("moby: {checked} `iptables -S` rules parse and render back to themselves");
    assert!(checked >= 30, "{checked}");
}

//! Tests of the `eks-node-diag` binary: `analyze` in every format on every
//! scenario bundle, `parse` on a fixture and on a wrong kind, `rules`,
//! `explain`, `collect` without AWS.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::protocol::bundles_dir;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eks-node-diag"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("EKS_NODE_DIAG_REGION")
        .output()
        .expect("the binary runs")
}

fn scenarios() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(bundles_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && std::fs::read_dir(p)
                    .unwrap()
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("eks_"))
        })
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "scenario bundles: {dirs:?}");
    dirs
}

#[test]
fn analyze_every_scenario_in_every_format() {
    for dir in scenarios() {
        let path = dir.to_str().unwrap();
        let json = run(&["analyze", path, "--format", "json"]);
        assert!(
            json.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&json.stderr)
        );
        let document: Value =
            serde_json::from_slice(&json.stdout).expect("one JSON document on stdout");
        assert!(document["snapshot_id"].as_str().unwrap().starts_with("s1_"));
        assert!(document["coverage"]["totals"]["files"].as_u64().unwrap() > 0);
        let findings = document["findings"].as_array().unwrap();
        for finding in findings {
            for field in [
                "id",
                "fingerprint",
                "code",
                "name",
                "severity",
                "title",
                "summary",
                "evidence",
            ] {
                assert!(!finding[field].is_null(), "{path}: finding without {field}");
            }
        }
        if path.ends_with("conntrack-exhaustion") {
            assert!(
                !findings.is_empty(),
                "{path}: a problem scenario has findings"
            );
        }

        let table = run(&["analyze", path]);
        assert!(table.status.success());
        let text = String::from_utf8(table.stdout).unwrap();
        assert!(text.contains(document["snapshot_id"].as_str().unwrap()));
        for finding in findings {
            assert!(
                text.contains(finding["id"].as_str().unwrap()),
                "{path}: table lists every finding"
            );
        }

        let markdown = run(&[
            "analyze",
            path,
            "--format",
            "markdown",
            "--min-severity",
            "info",
        ]);
        assert!(markdown.status.success());
        let text = String::from_utf8(markdown.stdout).unwrap();
        assert!(text.starts_with("# eks-node-diag report"));
        for finding in findings {
            assert!(text.contains(&format!("## {}", finding["code"].as_str().unwrap())));
        }
        assert!(
            json.stderr.is_empty(),
            "{path}: nothing on stderr by default: {}",
            String::from_utf8_lossy(&json.stderr)
        );
    }
}

#[test]
fn analyze_min_severity_filters() {
    let dir = bundles_dir().join("dns-no-endpoints");
    let all = run(&["analyze", dir.to_str().unwrap(), "--format", "json"]);
    let critical = run(&[
        "analyze",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--min-severity",
        "critical",
    ]);
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let critical: Value = serde_json::from_slice(&critical.stdout).unwrap();
    let critical = critical["findings"].as_array().unwrap();
    assert!(critical.iter().all(|f| f["severity"] == "critical"));
    assert!(critical.len() <= all["findings"].as_array().unwrap().len());
}

#[test]
fn analyze_missing_path_fails_clearly() {
    let output = run(&["analyze", "/nonexistent/bundle"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("reading the bundle"));
}

fn fixture_file(relative: &str) -> PathBuf {
    let bundle = std::fs::read_dir(bundles_dir().join("dns-no-endpoints"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("eks_"))
        .unwrap()
        .path();
    bundle.join(relative)
}

#[test]
fn parse_a_fixture_prints_the_model_and_diagnostics() {
    let file = fixture_file("networking/iptables-save.txt");
    let output = run(&["parse", "--kind", "iptables-save", file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["kind"], "iptables-save");
    assert!(document["diagnostics"].is_array());
    assert!(
        document["model"]["tables"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{}",
        &document["model"].to_string()[..200.min(document["model"].to_string().len())]
    );

    let text = run(&[
        "parse",
        "--kind",
        "conntrack",
        fixture_file("networking/conntrack.txt").to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("conntrack"));
}

#[test]
fn parse_a_wrong_kind_fails_with_a_clear_message() {
    let file = fixture_file("networking/resolv.conf");
    let output = run(&["parse", "--kind", "iptables-save", file.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a iptables-save file") || stderr.contains("not an iptables"),
        "{stderr}"
    );

    let unknown = run(&["parse", "--kind", "no-such-kind", file.to_str().unwrap()]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("kinds: iptables-save"));
}

#[test]
fn rules_explain_and_collect_without_aws() {
    let rules = run(&["rules"]);
    assert!(rules.status.success());
    let text = String::from_utf8(rules.stdout).unwrap();
    assert!(text.contains("CTK001"));

    let explain = run(&["explain", "ctk001"]);
    assert!(explain.status.success());
    assert!(String::from_utf8_lossy(&explain.stdout).contains("## What it does"));
    let unknown = run(&["explain", "NOPE01"]);
    assert!(!unknown.status.success());

    let collect = run(&["collect", "i-0123456789abcdef0"]);
    assert!(!collect.status.success());
    assert!(String::from_utf8_lossy(&collect.stderr).contains("AWS is not configured"));

    for sub in ["serve", "analyze", "parse", "rules", "explain", "collect"] {
        let help = run(&[sub, "--help"]);
        assert!(help.status.success());
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("Example"),
            "{sub} --help has examples"
        );
    }
}

fn scenario(name: &str) -> String {
    bundles_dir().join(name).to_str().unwrap().to_owned()
}

#[test]
fn trace_ends_the_cluster_dns_flow_in_the_no_endpoints_reject() {
    let bundle = scenario("dns-no-endpoints");
    let output = run(&[
        "trace",
        &bundle,
        "--dst",
        "172.20.0.10",
        "--dport",
        "53",
        "--proto",
        "udp",
        "--src",
        "10.0.70.200",
        "--in-iface",
        "eni5e6f7a8b9c0",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let trace: Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = trace.to_string();
    assert!(text.contains("has no endpoints"), "{text}");
    assert!(text.to_lowercase().contains("reject"), "{text}");

    let bad = run(&[
        "trace",
        &bundle,
        "--dst",
        "172.20.0.10",
        "--dport",
        "53",
        "--proto",
        "icmpx",
    ]);
    assert!(!bad.status.success());
    assert!(!String::from_utf8_lossy(&bad.stderr).is_empty());
}

#[test]
fn compare_names_the_dns_service_first() {
    let output = run(&[
        "compare",
        &scenario("dns-no-endpoints"),
        &scenario("healthy"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text
        .lines()
        .find(|line| line.trim_start().starts_with("1."))
        .unwrap_or_default();
    assert!(first.contains("kube-system/kube-dns:dns"), "{text}");
}

#[test]
fn timeline_windows() {
    let bundle = scenario("memory-pressure");
    let default = run(&["timeline", &bundle, "--format", "json"]);
    assert!(
        default.status.success(),
        "{}",
        String::from_utf8_lossy(&default.stderr)
    );
    let timeline: Value = serde_json::from_slice(&default.stdout).unwrap();
    assert_eq!(timeline["window"], "the hour before collection");

    let around = run(&[
        "timeline",
        &bundle,
        "--incident-time",
        "2025-11-23T18:45:00Z",
        "--minutes",
        "10",
    ]);
    assert!(
        around.status.success(),
        "{}",
        String::from_utf8_lossy(&around.stderr)
    );
    assert!(String::from_utf8_lossy(&around.stdout).contains("± 10 minutes"));

    let bad = run(&["timeline", &bundle, "--incident-time", "yesterday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

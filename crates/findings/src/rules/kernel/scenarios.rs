//! The kernel rules on the scenario bundles under `fixtures/bundles/`: what
//! each scenario's README says the kernel log must and must not yield.

use std::path::{Path, PathBuf};

use node_bundle::Limits;

use crate::context::Context;
use crate::finding::Finding;
use crate::severity::Severity;

/// The single bundle directory inside `fixtures/bundles/<scenario>/`.
fn bundle(scenario: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/bundles")
        .join(scenario);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.is_dir())
        .collect();
    entries.sort();
    entries.into_iter().next()
}

/// The kernel group's findings on a scenario, or `None` (with a note) when
/// the bundle is absent.
fn kernel_findings(scenario: &str) -> Option<Vec<Finding>> {
    let Some(path) = bundle(scenario) else {
        println!("skipping {scenario}: bundle absent");
        return None;
    };
    let bundle = node_bundle::read_path(&path, &Limits::default()).expect("bundle reads");
    let report = crate::check(&bundle.snapshot(), &Context::default());
    Some(
        report
            .findings
            .into_iter()
            .filter(|finding| finding.code.starts_with("KRN"))
            .collect(),
    )
}

fn codes(findings: &[Finding]) -> Vec<(&str, Severity, &str)> {
    findings
        .iter()
        .map(|finding| (finding.code, finding.severity, finding.subject.key.as_str()))
        .collect()
}

#[test]
fn memory_pressure_three_memcg_kills_in_two_pods() {
    let Some(findings) = kernel_findings("memory-pressure") else {
        return;
    };
    let oom: Vec<&Finding> = findings.iter().filter(|f| f.code == "KRN001").collect();
    assert_eq!(oom.len(), 2, "{:#?}", codes(&findings));
    assert!(
        oom.iter().all(|f| f.severity == Severity::High),
        "no global OOM"
    );
    let total: u64 = oom.iter().map(|f| f.occurrences).sum();
    assert_eq!(total, 3, "three kills in this boot, not nine copies");
    let java = oom
        .iter()
        .find(|f| f.subject.key.starts_with("java@"))
        .expect("java");
    assert_eq!(java.occurrences, 2);
    assert!(
        java.summary.contains("shop/orders-worker-59d8c7b6f-bmhqz"),
        "{}",
        java.summary
    );
    assert!(java.summary.contains("1048576 kB"), "{}", java.summary);
    assert!(
        java.summary.contains("2025-11-23T18:03:5"),
        "{}",
        java.summary
    );
    assert!(
        java.summary.contains("2025-11-23T18:30:"),
        "{}",
        java.summary
    );
    // kubelet's `Got sys oom event` lines of this boot corroborate the kills
    // (lines 96 and 98); the previous boot's (line 5) does not.
    let kubelet_lines = |finding: &Finding| -> Vec<usize> {
        finding
            .evidence
            .iter()
            .filter(|evidence| evidence.artifact == "kubelet/kubelet.log")
            .map(|evidence| evidence.line)
            .collect()
    };
    assert_eq!(kubelet_lines(java), vec![96, 98]);
    assert!(
        java.summary.contains("kubelet recorded 2 kills"),
        "{}",
        java.summary
    );
    let python = oom
        .iter()
        .find(|f| f.subject.key.starts_with("python3@"))
        .expect("python3");
    assert_eq!(python.occurrences, 1);
    assert!(
        python.summary.contains("shop/recommender-6b8f7d9c4-6ckst"),
        "{}",
        python.summary
    );
    assert_eq!(kubelet_lines(python), vec![99]);
    // The OOM reports' call traces are not crashes.
    assert!(
        findings.iter().all(|f| f.code != "KRN005"),
        "{:#?}",
        codes(&findings)
    );
    assert_eq!(findings.len(), 2, "{:#?}", codes(&findings));
}

#[test]
fn ena_allowance_exceeded_tx_timeout_and_reset_on_eth0() {
    let Some(findings) = kernel_findings("ena-allowance-exceeded") else {
        return;
    };
    assert_eq!(
        codes(&findings),
        vec![("KRN010", Severity::High, "eth0")],
        "the watchdog WARNING is not a KRN005 crash; nothing on eth1"
    );
    let ena = &findings[0];
    assert!(ena.summary.contains("queue 1"), "{}", ena.summary);
    assert!(ena.summary.contains("1 reset completed"), "{}", ena.summary);
}

#[test]
fn conntrack_exhaustion_table_full() {
    let Some(findings) = kernel_findings("conntrack-exhaustion") else {
        return;
    };
    assert_eq!(codes(&findings), vec![("KRN006", Severity::High, "node")]);
    let full = &findings[0];
    assert!(full.occurrences >= 40, "{}", full.occurrences);
    assert!(!full.related.is_empty(), "linked to CTK001");
    assert!(
        full.sources
            .iter()
            .any(|source| source.starts_with("sysctls/")),
        "{:?}",
        full.sources
    );
}

#[test]
fn healthy_and_other_scenarios_nothing_above_low() {
    for scenario in [
        "healthy",
        "dns-no-endpoints",
        "ipam-exhaustion",
        "kube-proxy-sync-failure",
    ] {
        let Some(findings) = kernel_findings(scenario) else {
            continue;
        };
        assert!(
            findings.iter().all(|f| f.severity <= Severity::Low),
            "{scenario}: {:#?}",
            codes(&findings)
        );
    }
}

/// The kernel group's findings on a bundle holding only `kernel/dmesg.current`.
fn findings_on_dmesg(bytes: Vec<u8>) -> Vec<Finding> {
    use std::collections::BTreeMap;

    use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

    let files = BTreeMap::from([("kernel/dmesg.current".to_owned(), bytes.into())]);
    let snapshot = NodeSnapshot::build(SnapshotInput {
        name: None,
        files: &files,
        rejected: &[],
        newest_file_time: None,
    });
    crate::check(&snapshot, &Context::default())
        .findings
        .into_iter()
        .filter(|finding| finding.code.starts_with("KRN"))
        .collect()
}

/// node-problem-detector's test kernel logs (real kernel reports from
/// Kubernetes nodes) yield the finding NPD's own rules derive from them, and
/// every dmesg sample of the corpus runs through the rules without a panic or
/// a finding without evidence.
#[test]
fn corpus_kernel_logs() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dmesg");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        println!("skipping: corpus absent at {}", corpus.display());
        return;
    };
    let expected: &[(&str, &str, Severity, &str)] = &[
        ("aufs_umount_hung", "KRN002", Severity::High, "umount.aufs"),
        ("divide_zero", "KRN005", Severity::Critical, "oops"),
        ("docker_hung", "KRN002", Severity::High, "docker"),
        ("oom_kill", "KRN001", Severity::High, "heapster"),
        ("readonly_filesystem", "KRN012", Severity::Critical, "sda1"),
    ];
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    paths.sort();
    let mut checked = 0;
    for path in paths {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let findings = findings_on_dmesg(std::fs::read(&path).expect("readable"));
        for finding in &findings {
            assert!(
                !finding.evidence.is_empty() && !finding.summary.is_empty(),
                "{name}: {finding:#?}"
            );
        }
        if let Some((_, code, severity, subject)) =
            expected.iter().find(|(suffix, ..)| name.ends_with(suffix))
        {
            checked += 1;
            let got = codes(&findings);
            assert_eq!(got.len(), 1, "{name}: {got:#?}");
            let (got_code, got_severity, got_subject) = got[0];
            assert_eq!((got_code, got_severity), (*code, *severity), "{name}");
            assert!(
                got_subject.starts_with(subject),
                "{name}: subject {got_subject}"
            );
        } else if name.starts_with("util-linux") {
            // util-linux's samples are boot logs without failures.
            assert!(
                findings.iter().all(|f| f.severity <= Severity::Low),
                "{name}: {:#?}",
                codes(&findings)
            );
        }
    }
    assert_eq!(checked, expected.len(), "every NPD sample was found");
}

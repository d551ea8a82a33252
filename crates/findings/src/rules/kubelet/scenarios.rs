//! The group's findings on the scenario bundles (`fixtures/bundles/*`),
//! asserting what each scenario's README says a correct diagnosis of
//! kubelet, containerd and VPC CNI trouble finds and must not find.

use std::path::Path;

use node_bundle::Limits;

use crate::finding::Finding;
use crate::rule::Group;
use crate::severity::Severity;
use crate::{Context, check};

/// This group's findings on one scenario, or `None` when the bundles are
/// not there.
fn findings_of(scenario: &str) -> Option<Vec<Finding>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/bundles")
        .join(scenario);
    if !dir.is_dir() {
        eprintln!("skipping: {} is absent", dir.display());
        return None;
    }
    let bundle = node_bundle::read_path(&dir, &Limits::default()).unwrap();
    let report = check(&bundle.snapshot(), &Context::default());
    Some(
        report
            .findings
            .into_iter()
            .filter(|finding| finding.group == Group::Kubelet)
            .collect(),
    )
}

fn of<'f>(findings: &'f [Finding], code: &str) -> Vec<&'f Finding> {
    findings
        .iter()
        .filter(|finding| finding.code == code)
        .collect()
}

#[track_caller]
fn at_most(findings: &[Finding], ceiling: Severity) {
    for finding in findings {
        assert!(
            finding.severity <= ceiling,
            "{} [{}] {} is above {ceiling}",
            finding.code,
            finding.severity,
            finding.title
        );
    }
}

#[test]
fn quiet_scenarios_stay_quiet() {
    // Boot-time `cni plugin not initialized`, benign E-lines and probe
    // failures during a rollout are normal.
    for scenario in [
        "healthy",
        "dns-no-endpoints",
        "ena-allowance-exceeded",
        "kube-proxy-sync-failure",
    ] {
        let Some(findings) = findings_of(scenario) else {
            return;
        };
        at_most(&findings, Severity::Low);
        assert!(
            of(&findings, "JRN008").is_empty(),
            "{scenario}: boot-time CNI messages flagged"
        );
    }
}

#[test]
fn conntrack_exhaustion_symptoms_at_most_medium() {
    let Some(findings) = findings_of("conntrack-exhaustion") else {
        return;
    };
    at_most(&findings, Severity::Medium);
    // The restart of shop/cart is reported, as a symptom (medium) linked to
    // the conntrack table finding.
    let cart = of(&findings, "JRN012")
        .into_iter()
        .find(|finding| finding.subject.key == "shop/cart-5f7b9c6d48-swbgz/cart:liveness")
        .unwrap();
    assert_eq!(cart.severity, Severity::Medium);
    assert!(!cart.related.is_empty(), "linked to CTK001");
}

#[test]
fn memory_pressure() {
    let Some(findings) = findings_of("memory-pressure") else {
        return;
    };
    let pleg = of(&findings, "JRN001");
    assert_eq!(pleg.len(), 1);
    assert_eq!(pleg[0].severity, Severity::High);
    assert!(pleg[0].title.contains("5m10.224s"), "{}", pleg[0].title);

    let evictions = of(&findings, "JRN006");
    assert_eq!(evictions.len(), 1, "one finding per resource");
    assert_eq!(evictions[0].subject.canonical(), "resource:memory");
    assert_eq!(evictions[0].occurrences, 2);
    for pod in [
        "shop/catalog-6d4f8b7c95-w86s9",
        "monitoring/kube-state-metrics-6c5d8f7b9-24h2w",
    ] {
        assert!(evictions[0].summary.contains(pod), "{pod} not named");
    }

    let conditions = of(&findings, "JRN011");
    let memory = conditions
        .iter()
        .find(|finding| finding.subject.key == "MemoryPressure")
        .unwrap();
    assert_eq!(
        memory.severity,
        Severity::Critical,
        "still set at collection"
    );
    let not_ready = conditions
        .iter()
        .find(|finding| finding.subject.key == "NotReady")
        .unwrap();
    assert_eq!(not_ready.severity, Severity::High, "cleared at 18:48:22");
    assert!(not_ready.title.contains("3m26s"), "{}", not_ready.title);

    // The previous boot's OOM event, the JVM heap text in a probe output
    // and the boot-time CNI messages are not this group's findings.
    assert!(of(&findings, "JRN008").is_empty());
    assert!(of(&findings, "JRN009").is_empty());
}

#[test]
fn ipam_exhaustion() {
    let Some(findings) = findings_of("ipam-exhaustion") else {
        return;
    };
    let exhausted = of(&findings, "CNI001");
    assert_eq!(exhausted.len(), 2, "the datastore and the subnet");
    let datastore = exhausted
        .iter()
        .find(|finding| finding.subject.canonical() == "ipam:datastore")
        .unwrap();
    assert_eq!(datastore.severity, Severity::Critical);
    assert!(
        datastore
            .sources
            .iter()
            .any(|source| source == "ipamd/enis.json")
    );
    let subnet = exhausted
        .iter()
        .find(|finding| finding.subject.canonical() == "ipam:subnet")
        .unwrap();
    assert_eq!(
        subnet.severity,
        Severity::Critical,
        "the cause of failing pods"
    );
    assert!(
        subnet.summary.contains("AllocIPAddresses, AllocENI"),
        "{}",
        subnet.summary
    );

    let mut pods: Vec<&str> = of(&findings, "JRN009")
        .iter()
        .map(|finding| finding.subject.key.as_str())
        .collect();
    pods.sort_unstable();
    assert_eq!(
        pods,
        [
            "batch/report-builder-7f6c5d9b8-ftzsz",
            "shop/orders-worker-59d8c7b6f-5v5qx",
            "shop/recommender-6b8f7d9c4-7qjsq"
        ],
        "one finding per pod, not per retry"
    );

    // WARM_ENI_TARGET is not reported as active: WARM_IP_TARGET overrides it.
    for finding in of(&findings, "CNI002") {
        assert!(finding.severity <= Severity::Medium);
        assert!(finding.summary.contains("WARM_ENI_TARGET is ignored"));
    }
    assert!(of(&findings, "JRN008").is_empty(), "boot-time CNI messages");
    assert!(
        of(&findings, "JRN010").is_empty(),
        "33 errors is not a burst"
    );
}

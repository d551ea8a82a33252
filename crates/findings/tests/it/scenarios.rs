//! Accuracy on the scenario bundles of `fixtures/bundles/`: each yields the
//! findings its README states, at the stated severities, and the healthy
//! node nothing above `low`.
//!
//! `EXPECTED` is the machine-readable form of the READMEs' "Must find"
//! lists: `(scenario, code, subject, severity)`. A scenario's findings at
//! `medium` or above that are not expected are false positives and fail the
//! test; expected findings that are absent are misses and fail it too.

use findings::{Finding, Severity};

use crate::{check_fixture, fixtures, snapshot_of, subdirs};

/// What each scenario's diagnosis must produce, one finding a line:
/// `scenario code subject severity`.
const EXPECTED: &str = r#"
conntrack-exhaustion CTK001 node:node critical
conntrack-exhaustion CTK002 node:node critical
conntrack-exhaustion CTK003 service:kube-system/kube-dns high
conntrack-exhaustion KRN006 node:node high
conntrack-exhaustion JRN012 container:shop/cart-5f7b9c6d48-swbgz/cart:liveness medium
dns-no-endpoints CTK003 service:kube-system/kube-dns high
dns-no-endpoints IPT001 service:kube-system/kube-dns:dns critical
dns-no-endpoints IPT001 service:kube-system/kube-dns:dns-tcp critical
dns-no-endpoints IPT001 service:kube-system/kube-dns:metrics medium
ena-allowance-exceeded KRN010 interface:eth0 high
ena-allowance-exceeded NET005 ena-allowance:eth0/bw_in high
ena-allowance-exceeded NET005 ena-allowance:eth0/bw_out medium
ena-allowance-exceeded NET005 ena-allowance:eth0/conntrack high
ena-allowance-exceeded NET005 ena-allowance:eth0/linklocal high
ena-allowance-exceeded NET005 ena-allowance:eth0/pps high
ipam-exhaustion CNI001 ipam:datastore critical
ipam-exhaustion CNI001 ipam:subnet critical
ipam-exhaustion CNI002 setting:vpc-cni-warm-pool medium
ipam-exhaustion JRN009 pod:batch/report-builder-7f6c5d9b8-ftzsz high
ipam-exhaustion JRN009 pod:shop/orders-worker-59d8c7b6f-5v5qx high
ipam-exhaustion JRN009 pod:shop/recommender-6b8f7d9c4-7qjsq high
kube-proxy-sync-failure IPT008 rule:nat/-A PREROUTING -d 172.20.143.21/32 -p tcp -m comment --comment "debug: pin frontend to one pod (INC-4411)" -m tcp --dport 80 -j KUBE-SEP-SGPHV2XUGMFTCZCH high
kube-proxy-sync-failure KPX001 process:kube-proxy critical
kube-proxy-sync-failure KPX002 endpoint:shop/cart:grpc -> 10.0.88.24:8080 high
kube-proxy-sync-failure KPX002 endpoint:shop/frontend:http -> 10.0.70.160:8080 high
kube-proxy-sync-failure KPX003 service:shop/checkout:http high
memory-pressure JRN001 node:node high
memory-pressure KRN001 process:java@/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod16cee551_19ee_f85f_0f80_d7c2c7f1c875.slice high
memory-pressure KRN001 process:python3@/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod32694e39_169f_75b9_54ec_3979395dcba4.slice high
memory-pressure JRN006 resource:memory high
memory-pressure JRN011 condition:MemoryPressure critical
memory-pressure JRN011 condition:NotReady high
"#;

/// `EXPECTED` parsed: `(scenario, code, subject, severity)`.
fn expected() -> Vec<(String, String, String, Severity)> {
    EXPECTED
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            // The subject may hold spaces (rule texts): it is everything
            // between the code and the severity.
            let (head, severity) = line.trim().rsplit_once(' ').unwrap();
            let mut head = head.splitn(3, ' ');
            let (Some(scenario), Some(code), Some(subject)) =
                (head.next(), head.next(), head.next())
            else {
                panic!("malformed EXPECTED line: {line}");
            };
            (
                scenario.to_owned(),
                code.to_owned(),
                subject.to_owned(),
                severity.parse().unwrap(),
            )
        })
        .collect()
}

fn line(finding: &Finding) -> String {
    format!(
        "{} [{}] {}: {}",
        finding.code,
        finding.severity,
        finding.subject.canonical(),
        finding.title
    )
}

#[test]
fn scenarios_yield_exactly_what_their_readmes_state() {
    let mut problems = Vec::new();
    for scenario in subdirs(&fixtures().join("bundles")) {
        let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
        if !scenario.join("README.md").is_file() {
            continue;
        }
        let snapshot = snapshot_of(&scenario);
        let report = check_fixture(&snapshot);
        let all_expected = expected();
        let expected: Vec<_> = all_expected.iter().filter(|(s, ..)| *s == name).collect();

        for (_, code, subject, severity) in &expected {
            match report
                .findings
                .iter()
                .find(|f| f.code == *code && f.subject.canonical() == *subject)
            {
                None => problems.push(format!("{name}: missed {code} {subject} ({severity})")),
                Some(found) if found.severity != *severity => problems.push(format!(
                    "{name}: {code} {subject} is {} instead of {severity}",
                    found.severity
                )),
                Some(_) => {}
            }
        }
        for finding in &report.findings {
            let is_expected = expected.iter().any(|(_, code, subject, _)| {
                finding.code == *code && finding.subject.canonical() == *subject
            });
            if !is_expected && finding.severity >= Severity::Medium {
                problems.push(format!("{name}: unexpected {}", line(finding)));
            }
        }
        if name == "healthy"
            && let Some(worst) = report.max_severity()
            && worst > Severity::Low
        {
            problems.push(format!("healthy: a finding above low ({worst})"));
        }

        let rendered: Vec<String> = report.findings.iter().map(line).collect();
        let not_evaluated: Vec<String> = report
            .not_evaluated
            .iter()
            .map(|n| format!("{} ({})", n.code, n.missing.join(", ")))
            .collect();
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(
                format!("scenario_{name}"),
                format!(
                    "{}\nnot evaluated: {}\n",
                    if rendered.is_empty() { "(no findings)".to_owned() } else { rendered.join("\n") },
                    if not_evaluated.is_empty() { "none".to_owned() } else { not_evaluated.join(", ") }
                )
            );
        });
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

//! Comparisons of each failing scenario with the healthy bundle: the
//! scenario's cause comes first.

use analysis::compare::{Area, Comparison, compare};

use crate::{report, scenario};

fn against_healthy(name: &str) -> Comparison {
    let good = scenario("healthy");
    let failing = scenario(name);
    compare(&failing, &report(&failing), &good, &report(&good))
}

#[track_caller]
fn check_first(c: &Comparison, area: Area, subject: &str) {
    let first = c.top.first().expect("differences");
    assert_eq!(
        (first.area, first.subject.as_str()),
        (area, subject),
        "first difference is not the cause:\n{c}"
    );
}

#[test]
fn conntrack_exhaustion_names_the_full_table_first() {
    let c = against_healthy("conntrack-exhaustion");
    let first = &c.top[0];
    assert_eq!(first.area, Area::Findings, "{c}");
    assert!(first.subject.starts_with("CTK001"), "{c}");
    assert_eq!(first.kind, "only_in_failing");
    insta::assert_snapshot!("conntrack_exhaustion", c.to_string());
}

#[test]
fn dns_no_endpoints_names_the_dns_service_first() {
    let c = against_healthy("dns-no-endpoints");
    check_first(&c, Area::Findings, "IPT001 kube-system/kube-dns:dns");
    insta::assert_snapshot!("dns_no_endpoints", c.to_string());
}

#[test]
fn memory_pressure_names_the_memory_pressure_first() {
    let c = against_healthy("memory-pressure");
    check_first(&c, Area::Findings, "JRN011 MemoryPressure");
    insta::assert_snapshot!("memory_pressure", c.to_string());
}

#[test]
fn other_scenarios_name_their_cause_first() {
    for (name, area, subject) in [
        ("ena-allowance-exceeded", Area::Findings, "KRN010 eth0"),
        ("ipam-exhaustion", Area::Findings, "CNI001 datastore"),
        (
            "kube-proxy-sync-failure",
            Area::Findings,
            "KPX001 kube-proxy",
        ),
    ] {
        let c = against_healthy(name);
        check_first(&c, area, subject);
        insta::assert_snapshot!(name, c.to_string());
    }
}

#[test]
fn kube_proxy_sync_failure_shows_the_hand_inserted_rule() {
    let c = against_healthy("kube-proxy-sync-failure");
    assert!(
        c.top
            .iter()
            .any(|d| d.area == Area::Iptables && d.subject == "nat PREROUTING"),
        "{c}"
    );
}

#[test]
fn a_node_compared_with_itself_has_no_differences() {
    let s = scenario("healthy");
    let r = report(&s);
    let c = compare(&s, &r, &s, &r);
    assert!(
        c.top.iter().all(|d| d.kind == "in_both"),
        "self-comparison found differences:\n{c}"
    );
}

#[test]
fn budgets_keep_totals() {
    let good = scenario("healthy");
    let failing = scenario("kube-proxy-sync-failure");
    let c = analysis::compare::compare_with(
        &failing,
        &report(&failing),
        &good,
        &report(&good),
        analysis::compare::CompareOptions {
            max_items: 1,
            max_top: 2,
        },
    );
    assert!(c.top.len() <= 2);
    assert!(c.sections.iter().all(|s| s.items.len() <= 1));
    let sum: usize = c.sections.iter().map(|s| s.total).sum();
    assert_eq!(sum, c.total);
    serde_json::to_string(&c).unwrap();
}

//! NET003: strict reverse-path filtering on a secondary ENI.

use node_artifacts::iproute::{RuleAction, Table};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::evidence;
use crate::rules::network::util;

declare_rule! {
    /// ## What it does
    /// Flags a secondary ENI (`eth1`, `eth2`, …) on which the kernel applies
    /// strict reverse-path filtering: the larger of
    /// `net.ipv4.conf.all.rp_filter` and `net.ipv4.conf.<if>.rp_filter` is 1.
    ///
    /// ## Why is this bad?
    /// In strict mode the kernel drops a packet unless the route back to its
    /// source leaves through the interface it arrived on. It looks that
    /// route up with the packet's destination as the source address, so the
    /// VPC CNI's `from <pod> lookup N` rules make replies to pods on the ENI
    /// pass; everything those rules do not cover is judged against the main
    /// table, whose default route leaves through the primary ENI, and is
    /// dropped silently: traffic to the ENI's own primary address, to pods
    /// whose rule is not (yet) programmed, and any other asymmetric path.
    /// The failures are intermittent and per pod, and show up only in the
    /// `IPReversePathFilter` counter (`nstat -az TcpExtIPReversePathFilter`).
    /// Amazon Linux 2023 ships loose mode (2) for every interface (systemd's
    /// `50-default.conf`), and the VPC CNI sets loose mode on the primary
    /// ENI for its NodePort routing; strict mode comes from hardening.
    /// Strict mode on the primary interface (`eth0`) is harmless, since the
    /// main table routes back through it, and is not flagged; neither are
    /// loose (2) or disabled (0) modes.
    ///
    /// ## Evidence
    /// The deciding `rp_filter` key in `sysctls/sysctl_all.txt` (the
    /// interface's own or `all`), and the `ip rule` lines that send pod
    /// traffic to the ENI's route table (`networking/iprule.txt`). Secondary
    /// ENIs are recognised by their ENA counters in `networking/ethtool.txt`,
    /// their routes in numbered tables of `networking/iproute.txt`, ipamd's
    /// ENI list, or, when none of these is present, by the `ethN` name.
    ///
    /// ## Severity
    /// Medium: a latent misconfiguration; whether traffic is dropped now
    /// depends on the routes of each flow. The pod rules that use the ENI are
    /// listed as evidence of what it carries.
    ///
    /// ## Example
    /// ```text
    /// net.ipv4.conf.all.rp_filter = 1
    /// net.ipv4.conf.eth1.rp_filter = 0      <- effective mode is max(all, eth1) = 1
    /// ```
    ///
    /// ## Remediation
    /// Set `net.ipv4.conf.all.rp_filter` to 0 or 2 and the ENI's own key to 2
    /// (`sysctl -w net.ipv4.conf.eth1.rp_filter=2`), and find what set strict
    /// mode (a CIS hardening script or a `sysctl.d` drop-in with
    /// `net.ipv4.conf.*.rp_filter = 1`).
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/ip-sysctl.html> (`rp_filter`)
    /// - <https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md>
    pub(crate) static META = {
        code: "NET003",
        name: "StrictRpFilterOnSecondaryEni",
        group: Network,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// NET003.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Sysctl],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(sysctl) = &snapshot.sysctl else {
        return;
    };
    let (secondary, primary) = util::secondary_enis(snapshot);
    for interface in &secondary {
        let Some((mode, key)) = util::effective_rp_filter(&sysctl.value, interface) else {
            continue;
        };
        if mode != 1 {
            continue;
        }
        let mut builder = cx.finding(&META, Subject::new("interface", interface.as_str()));
        let own_key = format!("net.ipv4.conf.{}.rp_filter", interface.replace('.', "/"));
        builder = builder.evidence_all(
            [key.as_str(), own_key.as_str()]
                .into_iter()
                .filter_map(|key| evidence::sysctl_key(snapshot, key)),
        );

        // The route tables through this interface, and the pod rules that
        // look them up.
        let tables: Vec<Table> = snapshot.routes.as_ref().map_or_else(Vec::new, |routes| {
            let mut tables: Vec<Table> = routes
                .value
                .routes
                .iter()
                .filter(|route| {
                    matches!(route.table, Table::Id(_)) && route.dev.as_deref() == Some(interface)
                })
                .map(|route| route.table.clone())
                .collect();
            tables.dedup();
            tables
        });
        let mut pod_rules = 0u64;
        if let Some(rules) = &snapshot.ip_rules {
            for rule in &rules.value.rules {
                if let RuleAction::Lookup(table) = &rule.action
                    && tables.contains(table)
                    && rule.from.is_some()
                {
                    pod_rules += 1;
                    let from = rule
                        .from
                        .map(|prefix| prefix.addr.to_string())
                        .unwrap_or_default();
                    builder = builder.evidence(Evidence::line(
                        &rules.path,
                        rule.line,
                        &format!(
                            "{}: from {from} lookup {}",
                            rule.priority,
                            util::table_name(table)
                        ),
                    ));
                }
            }
        }

        let mut summary = format!(
            "Reverse-path filtering on secondary ENI {interface} is strict ({key} = 1 decides, \
             as the kernel uses the larger of `all` and the interface's value). Packets arriving \
             on {interface} that no `from` policy rule sends back through it are checked against \
             the main table, which routes through {primary}, and are dropped silently."
        );
        if pod_rules > 0 {
            summary.push_str(&format!(
                " {pod_rules} pod address(es) use this ENI's route table."
            ));
        }
        acc.push(
            builder
                .title(format!("strict rp_filter on secondary ENI {interface}"))
                .summary(summary)
                .build(),
        );
    }
}

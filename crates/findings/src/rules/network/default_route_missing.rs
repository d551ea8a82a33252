//! NET004: no usable default route in the main table or in a per-ENI table
//! that policy rules send traffic to.

use std::collections::BTreeMap;

use node_artifacts::iproute::{RuleAction, Table};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::network::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a routing table without a usable default route (a unicast
    /// `default` route with a gateway or a device): the main table, and every
    /// numbered table that an `ip rule` sends traffic to (the VPC CNI's
    /// per-ENI tables, `from <pod address> lookup 2`).
    ///
    /// ## Why is this bad?
    /// Without a default route in the main table the node reaches only its
    /// directly attached subnets: the EKS API endpoint, ECR, S3, STS and
    /// other nodes' subnets are unreachable, so kubelet stops reporting and
    /// image pulls fail. A per-ENI table without a default route breaks every
    /// pod whose address belongs to that ENI for destinations outside its
    /// subnet (`Network is unreachable`), while pods on other ENIs work,
    /// which looks like a random per-pod failure. It happens when
    /// NetworkManager or `ec2-net-utils` rewrites the routes, or ipamd
    /// failed to program the ENI.
    ///
    /// ## Evidence
    /// `networking/iproute.txt` (`ip route show table all`): the routes of
    /// the table, if any; `networking/iprule.txt`: the rules that look the
    /// table up.
    ///
    /// ## Severity
    /// High for a per-ENI table. Critical for the main table.
    ///
    /// ## Example
    /// ```text
    /// 1536:	from 10.0.9.172 lookup 2          <- iprule.txt
    /// 10.0.0.1 dev eth1 table 2 scope link      <- iproute.txt: table 2 has no default route
    /// ```
    ///
    /// ## Remediation
    /// For the main table, restore the DHCP default route (`networkctl
    /// reconfigure eth0` on AL2023, or `dhclient eth0`) and find what removed
    /// it. For a per-ENI table, restart aws-node on the node (ipamd reprograms
    /// the ENI's table) and check `ipamd.log` for route errors.
    ///
    /// ## References
    /// - <https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/cni-proposal.md>
    /// - <https://man7.org/linux/man-pages/man8/ip-rule.8.html>
    pub(crate) static META = {
        code: "NET004",
        name: "DefaultRouteMissing",
        group: Network,
        default_severity: High,
        since: "0.1.0",
    }
}

/// NET004.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Routes],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(routes) = &snapshot.routes else {
        return;
    };
    // An empty listing is a failed collection, not a node without routes.
    if routes.value.routes.is_empty() {
        return;
    }
    let table_has_default =
        |table: &Table| routes.value.in_table(table).any(util::is_usable_default);

    // The main table: only IPv4 routes are in iproute.txt.
    if !table_has_default(&Table::Main) {
        let mut builder = cx.finding(&META, Subject::new("route-table", "main"));
        let main_routes: Vec<_> = routes.value.in_table(&Table::Main).collect();
        for route in &main_routes {
            builder = builder.evidence(Evidence::line(&routes.path, route.line, &describe(route)));
        }
        if main_routes.is_empty() {
            builder = builder.evidence(Evidence::line(
                &routes.path,
                1,
                "no route in the main table",
            ));
        }
        acc.push(
            builder
                .severity(Severity::Critical)
                .title("main routing table has no default route")
                .summary(format!(
                    "The main routing table holds {} route(s) and no usable default route: the \
                     node reaches only its directly attached subnets, so the EKS API endpoint, \
                     ECR, S3 and other subnets are unreachable from the host.",
                    main_routes.len()
                ))
                .build(),
        );
    }

    // Per-ENI tables that policy rules use.
    let Some(rules) = &snapshot.ip_rules else {
        return;
    };
    let mut lookups: BTreeMap<u32, Vec<&node_artifacts::iproute::Rule>> = BTreeMap::new();
    for rule in &rules.value.rules {
        if let RuleAction::Lookup(Table::Id(id)) = &rule.action
            && !rule.not
        {
            lookups.entry(*id).or_default().push(rule);
        }
    }
    for (id, table_rules) in lookups {
        let table = Table::Id(id);
        if table_has_default(&table) {
            continue;
        }
        let mut builder = cx.finding(&META, Subject::new("route-table", id.to_string()));
        let table_routes: Vec<_> = routes.value.in_table(&table).collect();
        for route in &table_routes {
            builder = builder.evidence(Evidence::line(&routes.path, route.line, &describe(route)));
        }
        for rule in &table_rules {
            let selector = match (&rule.from, &rule.to) {
                (Some(from), _) => format!("from {}", from.addr),
                (None, Some(to)) => format!("from all to {}", to.addr),
                (None, None) => "from all".to_owned(),
            };
            builder = builder.evidence(Evidence::line(
                &rules.path,
                rule.line,
                &format!("{}: {selector} lookup {id}", rule.priority),
            ));
        }
        let devices: Vec<&str> = {
            let mut devices: Vec<&str> = table_routes
                .iter()
                .filter_map(|route| route.dev.as_deref())
                .collect();
            devices.sort_unstable();
            devices.dedup();
            devices
        };
        let through = if devices.is_empty() {
            String::new()
        } else {
            format!(" (routes through {})", devices.join(", "))
        };
        acc.push(
            builder
                .title(format!(
                    "route table {id} used by {} ip rule(s) has no default route",
                    table_rules.len()
                ))
                .summary(format!(
                    "{} ip rule(s) send traffic to route table {id}{through}, which holds {} \
                     route(s) and no usable default route: pods whose addresses select this table \
                     cannot reach destinations outside the ENI's subnet.",
                    table_rules.len(),
                    table_routes.len()
                ))
                .occurrences(table_rules.len() as u64)
                .build(),
        );
    }
}

/// A route in `ip route` style, short.
fn describe(route: &node_artifacts::iproute::Route) -> String {
    let destination = match &route.destination {
        node_artifacts::iproute::Destination::Default => "default".to_owned(),
        // `ip` prints host routes without their length.
        node_artifacts::iproute::Destination::Prefix(prefix) => {
            let host = if prefix.addr.is_ipv4() { 32 } else { 128 };
            if prefix.len == host {
                prefix.addr.to_string()
            } else {
                format!("{}/{}", prefix.addr, prefix.len)
            }
        }
    };
    let mut text = destination;
    if let Some(gateway) = route.gateway {
        text.push_str(&format!(" via {gateway}"));
    }
    if let Some(dev) = &route.dev {
        text.push_str(&format!(" dev {dev}"));
    }
    if route.table != Table::Main {
        text.push_str(&format!(" table {}", util::table_name(&route.table)));
    }
    text
}

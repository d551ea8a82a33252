//! Helpers shared by the network rules: which interfaces are ENIs, which one
//! is primary, effective `rp_filter` values, and evidence lines for
//! `ethtool -S` counters.

use std::collections::BTreeSet;

use node_artifacts::ethtool::Interface;
use node_artifacts::iproute::{Destination, Route, RouteTable, RouteType, Table};
use node_artifacts::snapshot::NodeSnapshot;
use node_artifacts::sysctl::Sysctls;

/// Whether `route` is a usable IPv4 or IPv6 default route: a unicast route
/// to `default` (or a `/0` prefix) with a gateway, a device or next hops.
pub(crate) fn is_usable_default(route: &Route) -> bool {
    let default = match &route.destination {
        Destination::Default => true,
        Destination::Prefix(prefix) => prefix.len == 0,
    };
    default
        && route.route_type == RouteType::Unicast
        && (route.gateway.is_some() || route.dev.is_some() || !route.nexthops.is_empty())
}

/// The interface of the main table's default route (the lowest metric
/// first), which is the primary ENI on an EKS node (`eth0` on Amazon Linux,
/// `ens5` with predictable names).
pub(crate) fn primary_interface(routes: &RouteTable) -> Option<&str> {
    routes
        .in_table(&Table::Main)
        .filter(|route| is_usable_default(route))
        .min_by_key(|route| route.metric.unwrap_or(0))
        .and_then(|route| route.dev.as_deref())
}

/// The interfaces that are secondary ENIs on this node, as far as the
/// snapshot shows, and the primary interface.
///
/// An interface is an ENI when `ethtool -S` shows ENA allowance counters for
/// it, or when it is the device of a route in a numbered table (the VPC CNI
/// gives the ENI of device number `N` the route table `N + 1`), or when ipamd
/// lists an ENI of device number `N` and table `N + 1` routes through it.
/// Without any of these artifacts, `eth1`, `eth2`, … are taken as secondary
/// ENIs by name (the Amazon Linux naming). The primary interface is the one
/// of the main table's default route, else `eth0`.
pub(crate) fn secondary_enis(snapshot: &NodeSnapshot) -> (BTreeSet<String>, String) {
    let primary = snapshot
        .routes
        .as_ref()
        .and_then(|routes| primary_interface(&routes.value))
        .unwrap_or("eth0")
        .to_owned();
    let mut enis = BTreeSet::new();
    if let Some(ethtool) = &snapshot.ethtool {
        for interface in &ethtool.value.interfaces {
            if interface.is_ena() {
                enis.insert(interface.name.clone());
            }
        }
    }
    if let Some(routes) = &snapshot.routes {
        for route in &routes.value.routes {
            if let (Table::Id(_), Some(dev)) = (&route.table, &route.dev) {
                enis.insert(dev.clone());
            }
        }
        if let Some(introspection) = &snapshot.enis {
            for eni in &introspection.value.enis {
                let Some(device_number) = eni.device_number.filter(|&number| number > 0) else {
                    continue;
                };
                let Ok(table) = u32::try_from(device_number + 1) else {
                    continue;
                };
                let table = Table::Id(table);
                if let Some(dev) = routes
                    .value
                    .in_table(&table)
                    .find_map(|route| route.dev.clone())
                {
                    enis.insert(dev);
                }
            }
        }
    }
    if enis.is_empty()
        && let Some(sysctl) = &snapshot.sysctl
    {
        for interface in sysctl.value.rp_filter_by_interface().into_keys() {
            if is_secondary_eth_name(&interface) {
                enis.insert(interface);
            }
        }
    }
    enis.remove(&primary);
    enis.retain(|name| !name.is_empty() && name != "lo");
    (enis, primary)
}

/// `eth1`, `eth2`, …: the names Amazon Linux gives secondary ENIs.
fn is_secondary_eth_name(name: &str) -> bool {
    name.strip_prefix("eth").is_some_and(|digits| {
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits != "0"
    })
}

/// The `rp_filter` mode the kernel applies on `interface`: the larger of
/// `net.ipv4.conf.all.rp_filter` and the interface's own value
/// (Documentation/networking/ip-sysctl.rst: "The max value from
/// conf/{all,interface}/rp_filter is used"), with the key that decided it.
pub(crate) fn effective_rp_filter(sysctls: &Sysctls, interface: &str) -> Option<(u8, String)> {
    let own = sysctls.rp_filter(interface);
    let all = sysctls.rp_filter("all");
    let own_key = format!("net.ipv4.conf.{}.rp_filter", interface.replace('.', "/"));
    match (own, all) {
        (Some(own), Some(all)) if all > own => {
            Some((all, "net.ipv4.conf.all.rp_filter".to_owned()))
        }
        (Some(own), _) => Some((own, own_key)),
        (None, Some(all)) => Some((all, "net.ipv4.conf.all.rp_filter".to_owned())),
        (None, None) => None,
    }
}

/// The 1-based line of counter `name` in the `ethtool -S` block of
/// `interface`, when the block is regular enough to compute it (a header,
/// `NIC statistics:`, then one counter per line); else the header's line.
pub(crate) fn ethtool_counter_line(interface: &Interface, name: &str) -> usize {
    let regular = interface.has_stats_header
        && interface.messages.is_empty()
        && interface.unparsed.is_empty()
        && interface.order.len() == interface.counters.len();
    match interface.order.iter().position(|known| known == name) {
        Some(index) if regular => interface.line + 2 + index,
        _ => interface.line,
    }
}

/// A table as `ip` prints it (`main`, `2`).
pub(crate) fn table_name(table: &Table) -> String {
    match table {
        Table::Main => "main".to_owned(),
        Table::Local => "local".to_owned(),
        Table::Default => "default".to_owned(),
        Table::Id(id) => id.to_string(),
        Table::Named(name) => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use node_artifacts::{ethtool, iproute, sysctl};

    use super::{
        effective_rp_filter, ethtool_counter_line, is_secondary_eth_name, primary_interface,
    };

    #[track_caller]
    fn check_rp_filter(sysctls: &str, interface: &str, expect: Option<(u8, &str)>) {
        let parsed = sysctl::parse(sysctls).unwrap().value;
        let got = effective_rp_filter(&parsed, interface);
        assert_eq!(
            got.as_ref().map(|(mode, key)| (*mode, key.as_str())),
            expect,
            "{sysctls:?} {interface}"
        );
    }

    #[test]
    fn rp_filter_is_the_larger_of_all_and_the_interface() {
        let eth1 = "net.ipv4.conf.eth1.rp_filter";
        let all = "net.ipv4.conf.all.rp_filter";
        check_rp_filter(
            "net.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.eth1.rp_filter = 2\n",
            "eth1",
            Some((2, eth1)),
        );
        check_rp_filter(
            "net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.eth1.rp_filter = 0\n",
            "eth1",
            Some((1, all)),
        );
        check_rp_filter(
            "net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.eth1.rp_filter = 2\n",
            "eth1",
            Some((2, eth1)),
        );
        check_rp_filter(
            "net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.eth1.rp_filter = 1\n",
            "eth1",
            Some((1, eth1)),
        );
        check_rp_filter("net.ipv4.conf.all.rp_filter = 2\n", "eth1", Some((2, all)));
        check_rp_filter(
            "net.ipv4.conf.eth1.rp_filter = 1\n",
            "eth1",
            Some((1, eth1)),
        );
        check_rp_filter(
            "net.ipv4.conf.eth0/100.rp_filter = 1\n",
            "eth0.100",
            Some((1, "net.ipv4.conf.eth0/100.rp_filter")),
        );
        check_rp_filter("net.ipv4.ip_forward = 1\n", "eth1", None);
    }

    #[test]
    fn secondary_eth_names() {
        for (name, expect) in [
            ("eth1", true),
            ("eth12", true),
            ("eth0", false),
            ("eth", false),
            ("eth1.100", false),
            ("ens6", false),
            ("eni446c6a13740", false),
        ] {
            assert_eq!(is_secondary_eth_name(name), expect, "{name}");
        }
    }

    #[test]
    fn primary_interface_is_the_main_default_with_the_lowest_metric() {
        let routes = iproute::parse_routes(
            "default via 10.0.0.1 dev eth1 table 2\n\
             default via 10.0.0.1 dev ens6 metric 1024\n\
             default via 10.0.0.1 dev ens5 proto dhcp metric 512\n\
             unreachable default dev lo metric 1\n",
        )
        .value;
        assert_eq!(primary_interface(&routes), Some("ens5"));
        let no_default =
            iproute::parse_routes("10.0.0.0/19 dev eth0 proto kernel scope link\n").value;
        assert_eq!(primary_interface(&no_default), None);
    }

    #[test]
    fn counter_lines_follow_the_block() {
        let stats = ethtool::parse(
            "Interface eth0\nNIC statistics:\n     tx_timeout: 0\n     pps_allowance_exceeded: 7\n\n\nInterface lo\nno stats available\n",
        )
        .unwrap()
        .value;
        let eth0 = stats.interface("eth0").unwrap();
        assert_eq!(ethtool_counter_line(eth0, "tx_timeout"), 3);
        assert_eq!(ethtool_counter_line(eth0, "pps_allowance_exceeded"), 4);
        // Unknown counters point at the header.
        assert_eq!(ethtool_counter_line(eth0, "missing"), 1);
        let lo = stats.interface("lo").unwrap();
        assert_eq!(ethtool_counter_line(lo, "tx_timeout"), 7);
    }
}

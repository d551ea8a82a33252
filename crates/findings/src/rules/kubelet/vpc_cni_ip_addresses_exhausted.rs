//! CNI001: the VPC CNI has no IP address left to give to new pods.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose VPC CNI (ipamd) ran out of pod IP addresses
    /// (subject `ipam:datastore`), and, as a separate finding, a subnet with
    /// no free address left for ipamd to take (subject `ipam:subnet`).
    ///
    /// ## Why is this bad?
    /// Every new pod on the pod network needs an address from ipamd's warm
    /// pool. With the pool empty, the CNI plugin fails `ADD`, containerd
    /// cannot create the sandbox and the pod stays `ContainerCreating`.
    /// When the pool cannot grow because EC2 answers
    /// `InsufficientFreeAddressesInSubnet`, nothing on the node can fix it:
    /// the subnet itself is full.
    ///
    /// ## Evidence
    /// `ipamd.log` error lines `AssignIPv4Address: no available IP/Prefix
    /// addresses` (the datastore is empty), `ipamd.log` lines carrying
    /// `InsufficientFreeAddressesInSubnet` (on `AllocIPAddresses` when adding
    /// addresses to an ENI and on `AllocENI` when attaching a new one) with
    /// ipamd's `Found ENI … that has less than the maximum number of
    /// IP/Prefixes addresses allocated` as supporting evidence, the
    /// plugin's `Failed to assign an IP address to container` lines, and
    /// `ipamd/enis.json` when it shows every address held assigned
    /// (`TotalIPs` = `AssignedIPs`).
    ///
    /// ## Severity
    /// The datastore finding is critical (pods are failing). The subnet
    /// finding is high, critical when the datastore is exhausted as well
    /// (the subnet is then why pods fail).
    ///
    /// ## Example
    /// ```text
    /// {"level":"error","caller":"datastore/data_store.go:1054","msg":"AssignIPv4Address: no available IP/Prefix addresses"}
    /// {"level":"error","caller":"ipamd/ipamd.go:804","msg":"Failed to increase pool size due to not able to allocate ENI AllocENI: error creating ENI: failed to create network interface: InsufficientFreeAddressesInSubnet: …"}
    /// ```
    ///
    /// ## Remediation
    /// Free or add addresses where the node's ENIs live: add subnets (or
    /// larger ones, secondary VPC CIDRs with custom networking), enable
    /// prefix delegation (`ENABLE_PREFIX_DELEGATION=true`) on a subnet with
    /// free /28 blocks, and lower `WARM_IP_TARGET`/`MINIMUM_IP_TARGET` so
    /// nodes do not hoard addresses. Spread the workload to nodes in other
    /// subnets meanwhile.
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/eks/latest/best-practices/ip-opt.html>
    /// - <https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md>
    pub(crate) static META = {
        code: "CNI001",
        name: "VpcCniIpAddressesExhausted",
        group: Kubelet,
        default_severity: Critical,
        since: "0.1.0",
    }
}

/// CNI001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::CniLogs],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let mut datastore = cx.finding(&META, Subject::new("ipam", "datastore"));
    let mut subnet = cx.finding(&META, Subject::new("ipam", "subnet"));
    let (mut exhausted, mut refused, mut plugin_failures) = (0u64, 0u64, 0u64);
    let mut refused_calls: Vec<&'static str> = Vec::new();
    let (mut exhausted_evidence, mut refused_evidence, mut plugin_evidence, mut below_capacity) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for artifact in &cx.snapshot.cni_logs {
        for entry in &artifact.value.entries {
            let Some(msg) = entry.msg.as_deref() else {
                continue;
            };
            let is_error = matches!(entry.level.as_deref(), Some("error" | "warn" | "fatal"));
            if is_error && msg.contains("no available IP/Prefix addresses") {
                exhausted += 1;
                datastore = datastore.seen(entry.time);
                exhausted_evidence.push(util::cni_evidence(artifact, entry));
            } else if msg.contains("InsufficientFreeAddressesInSubnet") {
                refused += 1;
                let call = if msg.contains("AllocENI") {
                    "AllocENI"
                } else {
                    "AllocIPAddresses"
                };
                if !refused_calls.contains(&call) {
                    refused_calls.push(call);
                }
                subnet = subnet.seen(entry.time);
                refused_evidence.push(util::cni_evidence(artifact, entry));
            } else if is_error && msg.starts_with("Failed to assign an IP address to container") {
                plugin_failures += 1;
                plugin_evidence.push(util::cni_evidence(artifact, entry));
            } else if msg.contains("has less than the maximum number of IP/Prefixes addresses") {
                below_capacity.push(util::cni_evidence(artifact, entry));
            }
        }
    }

    // The subnet: the cause, which nothing on the node can fix.
    if refused > 0 {
        let mut summary = format!(
            "EC2 refused {refused} of ipamd's requests for more addresses ({}) with `InsufficientFreeAddressesInSubnet`: the subnet of the node's ENIs has no free address left, so the warm pool cannot grow and no ENI can be attached.",
            refused_calls.join(", ")
        );
        if !below_capacity.is_empty() {
            summary.push_str(
                " ipamd found ENIs below their address capacity: they are short because of the subnet, not because of a limit or the configuration.",
            );
        }
        if exhausted > 0 {
            summary.push_str(" The pool is already empty: pods are failing because of it.");
        }
        acc.push(
            subnet
                .evidence_all(util::sample(refused_evidence, 8))
                .evidence_all(util::sample(below_capacity, 2))
                .severity(if exhausted > 0 {
                    Severity::Critical
                } else {
                    Severity::High
                })
                .title("subnet has no free addresses for the VPC CNI (InsufficientFreeAddressesInSubnet)")
                .summary(summary)
                .occurrences(refused)
                .build(),
        );
    }

    // The datastore: what pods on this node run into.
    if exhausted > 0 {
        let mut summary = format!(
            "ipamd's datastore had no address to assign {exhausted} times (`no available IP/Prefix addresses`)."
        );
        if plugin_failures > 0 {
            summary.push_str(&format!(
                " The CNI plugin failed to assign an address to {plugin_failures} containers."
            ));
        }
        if let Some(enis) = &cx.snapshot.enis {
            let total = enis
                .value
                .total_ips
                .unwrap_or(enis.value.addresses().count() as u64);
            let assigned = enis
                .value
                .assigned_ips
                .unwrap_or(enis.value.assigned() as u64);
            if total > 0 && assigned >= total {
                summary.push_str(&format!(
                    " ipamd/enis.json: {assigned} of {total} addresses on {} ENIs are assigned.",
                    enis.value.enis.len()
                ));
                datastore = datastore.evidence(Evidence::line(
                    &enis.path,
                    1,
                    &format!("TotalIPs {total}, AssignedIPs {assigned}"),
                ));
            }
        }
        if refused > 0 {
            summary.push_str(
                " The pool cannot grow: the subnet has no free address (see the subnet finding).",
            );
        }
        acc.push(
            datastore
                .evidence_all(util::sample(exhausted_evidence, 8))
                .evidence_all(util::sample(plugin_evidence, 4))
                .severity(Severity::Critical)
                .title("VPC CNI out of pod IP addresses")
                .summary(summary)
                .occurrences(exhausted)
                .build(),
        );
    }
}

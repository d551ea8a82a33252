//! KRN013: a block device returned I/O errors.

use std::collections::BTreeSet;

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;

declare_rule! {
    /// ## What it does
    /// Reports block I/O errors per disk (partitions are folded into their
    /// disk: `nvme1n1p1` counts for `nvme1n1`): the block layer's
    /// `I/O error, dev …, sector …` and the buffer cache's
    /// `Buffer I/O error on dev …`.
    ///
    /// ## Why is this bad?
    /// Reads or writes of the volume failed: data is lost or unreadable, and
    /// filesystem errors, read-only remounts and hung tasks follow. On EBS
    /// it means an impaired volume, a volume detached while in use, or an
    /// NVMe timeout.
    ///
    /// ## Evidence
    /// The kernel messages, with the operations and the number of distinct
    /// sectors in the summary.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// blk_update_request: I/O error, dev nvme1n1, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0
    /// Buffer I/O error on dev nvme1n1p1, logical block 1234, lost async page write
    /// ```
    ///
    /// ## Remediation
    /// Check the EBS volume's status checks and CloudWatch metrics, and
    /// whether it was detached; replace the node (root volume) or the
    /// volume. Keep `nvme_core.io_timeout` at the EKS AMI's value.
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/ebs/latest/userguide/monitoring-volume-status.html>
    /// - <https://docs.aws.amazon.com/ebs/latest/userguide/nvme-ebs-volumes.html#timeout-nvme-ebs-volumes>
    pub(crate) static META = {
        code: "KRN013",
        name: "BlockIoError",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN013.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::BlockIoError { device, .. } => Some(util::whole_disk(device).to_owned()),
        _ => None,
    });
    for (disk, events) in groups {
        let mut operations = BTreeSet::new();
        let mut sectors = BTreeSet::new();
        let mut devices = BTreeSet::new();
        for event in &events {
            if let KernelEventKind::BlockIoError {
                device,
                sector,
                operation,
                ..
            } = &event.kind
            {
                devices.insert(device.as_str());
                if let Some(sector) = sector {
                    sectors.insert((device.as_str(), *sector));
                }
                if let Some(operation) = operation {
                    operations.insert(operation.as_str());
                }
            }
        }
        let mut summary = format!(
            "The kernel logged {} on {}{}",
            util::plural(events.len(), "I/O error"),
            devices.into_iter().collect::<Vec<_>>().join(", "),
            util::seen_span(kernel, &events),
        );
        if !sectors.is_empty() {
            summary.push_str(&format!(
                ", at {} distinct sectors or blocks",
                sectors.len()
            ));
        }
        if !operations.is_empty() {
            summary.push_str(&format!(
                " ({})",
                operations.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        summary.push_str(": reads or writes of the volume failed.");
        let builder = cx.finding(&META, Subject::new("device", disk.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .title(format!(
                    "block I/O errors on {disk} ({})",
                    util::times(events.len())
                ))
                .summary(summary)
                .build(),
        );
    }
}

//! KRN011: XFS or EXT4 reported errors or shut a filesystem down.

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports filesystem errors per block device: XFS errors (metadata I/O
    /// errors, corruption, `please umount … and run xfs_repair`), XFS
    /// shutdowns, and `EXT4-fs error` messages.
    ///
    /// ## Why is this bad?
    /// A filesystem error means data or metadata could not be read or
    /// written: files are lost or corrupt, and the filesystem may go
    /// read-only or shut down. On an EKS node the root volume holds the
    /// container images and writable layers (`/var/lib/containerd`), so
    /// pods fail to start or crash.
    ///
    /// ## Evidence
    /// `XFS (dev): …` error and shutdown messages, `EXT4-fs error (device
    /// dev): function:line: …` messages. EXT4 warnings are not reported.
    ///
    /// ## Severity
    /// High; critical when XFS shut the filesystem down (it stays unusable
    /// until unmounted and repaired).
    ///
    /// ## Example
    /// ```text
    /// XFS (nvme1n1): metadata I/O error in "xfs_buf_ioend+0x1a0/0x3f0 [xfs]" at daddr 0x1c0 len 32 error 5
    /// XFS (nvme1n1): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x133/0x160 [xfs]. Shutting down filesystem.
    /// EXT4-fs error (device nvme1n1p1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0
    /// ```
    ///
    /// ## Remediation
    /// Cordon and drain the node. Check the volume's EBS status and the
    /// block I/O errors (KRN013); replace the node (root volume) or detach
    /// the volume and run `xfs_repair` / `fsck.ext4` on it from another
    /// instance.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/xfs.html>
    /// - <https://docs.kernel.org/admin-guide/ext4.html>
    /// - <https://docs.aws.amazon.com/ebs/latest/userguide/monitoring-volume-status.html>
    pub(crate) static META = {
        code: "KRN011",
        name: "FilesystemError",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN011.
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
        KernelEventKind::XfsError { device, .. } | KernelEventKind::XfsShutdown { device, .. } => {
            Some(device.clone())
        }
        KernelEventKind::Ext4Error { device, .. } => {
            Some(device.clone().unwrap_or_else(|| "unknown".to_owned()))
        }
        _ => None,
    });
    for (device, events) in groups {
        let mut shutdowns = 0;
        let mut filesystem = "EXT4";
        let mut first_message = None;
        for event in &events {
            match &event.kind {
                KernelEventKind::XfsShutdown { message, .. } => {
                    shutdowns += 1;
                    filesystem = "XFS";
                    first_message.get_or_insert(message.as_str());
                }
                KernelEventKind::XfsError { message, .. } => {
                    filesystem = "XFS";
                    first_message.get_or_insert(message.as_str());
                }
                KernelEventKind::Ext4Error { message, .. } => {
                    first_message.get_or_insert(message.as_str());
                }
                _ => {}
            }
        }
        let mut summary = format!(
            "{filesystem} on {device} reported {}{}",
            util::plural(events.len(), "error message"),
            util::seen_span(kernel, &events),
        );
        if let Some(message) = first_message {
            summary.push_str(&format!(", the first: `{message}`"));
        }
        summary.push('.');
        if shutdowns > 0 {
            summary.push_str(
                " XFS shut the filesystem down: every access fails until it is unmounted and repaired.",
            );
        }
        let title = if shutdowns > 0 {
            format!("XFS filesystem on {device} shut down")
        } else {
            format!(
                "{filesystem} errors on {device} ({})",
                util::times(events.len())
            )
        };
        let builder = cx.finding(&META, Subject::new("device", device.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(if shutdowns > 0 {
                    Severity::Critical
                } else {
                    Severity::High
                })
                .title(title)
                .summary(summary)
                .build(),
        );
    }
}

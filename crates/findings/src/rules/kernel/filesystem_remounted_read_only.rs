//! KRN012: a filesystem was remounted read-only after errors.

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::kernel::util;

declare_rule! {
    /// ## What it does
    /// Reports filesystems the kernel remounted read-only after errors
    /// (`Remounting filesystem read-only`), one finding per device.
    ///
    /// ## Why is this bad?
    /// Every write to the filesystem fails from then on. When it is the
    /// node's root or `/var/lib/containerd` volume, containers cannot start,
    /// logs cannot be written and kubelet fails in odd ways while the node
    /// may still report `Ready`. node-problem-detector sets the
    /// `ReadonlyFilesystem` condition on this message.
    ///
    /// ## Evidence
    /// The kernel message, and the mount's line in `storage/mounts.txt` when
    /// the device is mounted read-only there (its mount point is named in
    /// the summary).
    ///
    /// ## Severity
    /// Critical.
    ///
    /// ## Example
    /// ```text
    /// EXT4-fs (nvme1n1p1): Remounting filesystem read-only
    /// ```
    ///
    /// ## Remediation
    /// Cordon and drain the node and replace it (or detach the volume and
    /// repair it with `fsck`/`xfs_repair` from another instance). Look at
    /// the filesystem and block I/O errors before the remount (KRN011,
    /// KRN013) and at the EBS volume's status.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/ext4.html>
    /// - <https://github.com/kubernetes/node-problem-detector/blob/master/config/readonly-monitor.json>
    pub(crate) static META = {
        code: "KRN012",
        name: "FilesystemRemountedReadOnly",
        group: Kernel,
        default_severity: Critical,
        since: "0.1.0",
    }
}

/// KRN012.
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
        KernelEventKind::ReadOnlyRemount { filesystem, device } => {
            Some(device.clone().unwrap_or_else(|| filesystem.clone()))
        }
        _ => None,
    });
    for (device, events) in groups {
        let filesystem = match events.first().map(|event| &event.kind) {
            Some(KernelEventKind::ReadOnlyRemount { filesystem, .. }) => filesystem.as_str(),
            _ => "the filesystem",
        };
        let mut builder = util::with_events(
            cx.finding(&META, Subject::new("device", device.clone())),
            kernel,
            &events,
        );
        let mut mount_points = Vec::new();
        if let Some(mounts) = &cx.snapshot.mounts {
            for mount in &mounts.value.mounts {
                let name = mount.device.strip_prefix("/dev/").unwrap_or(&mount.device);
                if name == device && mount.read_only {
                    mount_points.push(mount.mount_point.clone());
                    builder = builder.evidence(Evidence::line(
                        &mounts.path,
                        mount.line,
                        &format!(
                            "{} on {} type {} ({})",
                            mount.device,
                            mount.mount_point,
                            mount.fs_type,
                            mount.options.join(",")
                        ),
                    ));
                }
            }
        }
        let mut summary = format!(
            "{filesystem} remounted {device} read-only after errors{}: every write to it fails.",
            util::seen_span(kernel, &events),
        );
        if !mount_points.is_empty() {
            summary.push_str(&format!(
                " At collection it is mounted read-only on {}.",
                mount_points.join(", ")
            ));
        }
        acc.push(
            builder
                .title(format!("filesystem on {device} remounted read-only"))
                .summary(summary)
                .build(),
        );
    }
}

//! NET009: a filesystem the node writes to is mounted read-only.

use node_artifacts::dmesg::KernelEventKind;
use node_artifacts::storage::Mount;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::evidence;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a block-device filesystem mounted read-only (`ro`) that the node
    /// needs to write: the root, `/var`, `/var/lib`, `/var/lib/kubelet`,
    /// `/var/lib/containerd`, `/var/log`, `/tmp`, and any other block device
    /// outside pods' own volumes. Pseudo filesystems that are read-only by
    /// design (sysfs, proc, squashfs, …), overlay mounts (containers with
    /// `readOnlyRootFilesystem`), pods' volumes under `/var/lib/kubelet/pods`
    /// and `/var/lib/kubelet/plugins`, and Bottlerocket's verified, read-only
    /// root are not flagged.
    ///
    /// ## Why is this bad?
    /// A writable filesystem that turns read-only has usually been remounted
    /// by the kernel after an I/O or metadata error (`errors=remount-ro` on
    /// ext4, an XFS shutdown): kubelet can no longer write pod state,
    /// containerd cannot create containers, and logs stop. The node looks
    /// alive but fails every change.
    ///
    /// ## Evidence
    /// The mount line in `storage/mounts.txt`, and kernel messages about the
    /// same device (`Remounting filesystem read-only`, XFS shutdown, ext4
    /// errors) from the kernel log.
    ///
    /// ## Severity
    /// Critical for the root and kubelet's, containerd's and the logs'
    /// directories; medium for other block-device filesystems.
    ///
    /// ## Example
    /// ```text
    /// /dev/nvme0n1p1 on / type xfs (ro,noatime,seclabel,attr2,inode64,noquota)
    /// ```
    ///
    /// ## Remediation
    /// Drain and replace the node; before that, read the kernel log for the
    /// I/O error behind the remount and check the EBS volume's status in
    /// EC2. Remounting read-write (`mount -o remount,rw /`) without an
    /// `xfs_repair`/`fsck` risks corruption.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/ext4.html> (`errors=`)
    /// - <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-volume-status.html>
    pub(crate) static META = {
        code: "NET009",
        name: "FilesystemReadOnly",
        group: Network,
        default_severity: Critical,
        since: "0.1.0",
    }
}

/// NET009.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Mounts],
    check,
};

/// Directories the node writes to.
const NODE_WRITABLE: &[&str] = &[
    "/",
    "/var",
    "/var/lib",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/log",
    "/tmp",
    "/local",
];

/// Mount points of pods' own storage.
const POD_STORAGE: &[&str] = &["/var/lib/kubelet/pods/", "/var/lib/kubelet/plugins/"];

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(mounts) = &snapshot.mounts else {
        return;
    };
    // Bottlerocket boots a dm-verity root that is read-only by design and
    // keeps its writable state under /local and /.bottlerocket.
    let bottlerocket = mounts.value.mounts.iter().any(|mount| {
        mount.mount_point == "/.bottlerocket" || mount.mount_point.starts_with("/.bottlerocket/")
    });
    for mount in mounts.value.unexpected_read_only() {
        if !mount.device.starts_with('/') || mount.fs_type == "overlay" {
            continue;
        }
        if POD_STORAGE
            .iter()
            .any(|prefix| mount.mount_point.starts_with(prefix))
        {
            continue;
        }
        if bottlerocket
            && matches!(
                mount.mount_point.as_str(),
                "/" | "/usr" | "/boot" | "/usr/lib/modules"
            )
        {
            continue;
        }
        let essential = NODE_WRITABLE.contains(&mount.mount_point.as_str());
        let mut builder = cx
            .finding(&META, Subject::new("mount", mount.mount_point.as_str()))
            .evidence(Evidence::line(
                &mounts.path,
                mount.line,
                &render_mount(mount),
            ));
        let mut kernel_messages = 0u64;
        if let Some(kernel) = &snapshot.kernel {
            let device_name = mount.device.rsplit('/').next().unwrap_or(&mount.device);
            for event in &kernel.events {
                let device = match &event.kind {
                    KernelEventKind::ReadOnlyRemount { device, .. } => device.as_deref(),
                    KernelEventKind::XfsShutdown { device, .. }
                    | KernelEventKind::XfsError { device, .. } => Some(device.as_str()),
                    KernelEventKind::Ext4Error { device, .. } => device.as_deref(),
                    _ => None,
                };
                if device.is_some_and(|device| device.trim_start_matches("/dev/") == device_name) {
                    kernel_messages += 1;
                    builder = builder.evidence(evidence::kernel_event(kernel, event));
                }
            }
        }
        let mut summary = format!(
            "{} ({}) is mounted read-only on {}.",
            mount.device, mount.fs_type, mount.mount_point
        );
        if essential {
            summary.push_str(
                " The node writes there: kubelet, containerd or logging fail on every change.",
            );
        }
        if kernel_messages > 0 {
            summary.push_str(&format!(
                " The kernel logged {kernel_messages} error or remount message(s) for the device: it was remounted after an error."
            ));
        }
        acc.push(
            builder
                .severity(if essential {
                    Severity::Critical
                } else {
                    Severity::Medium
                })
                .title(format!("{} is mounted read-only", mount.mount_point))
                .summary(summary)
                .occurrences(1 + kernel_messages)
                .build(),
        );
    }
}

/// A mount line as `mount` prints it.
fn render_mount(mount: &Mount) -> String {
    format!(
        "{} on {} type {} ({})",
        mount.device,
        mount.mount_point,
        mount.fs_type,
        mount.options.join(",")
    )
}

//! NET008: a node filesystem is nearly full, in space or in inodes.

use std::collections::BTreeMap;

use node_artifacts::kubelet_config::Threshold;
use node_artifacts::storage::DfRow;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a filesystem of the node whose space (`df -h`, `Use%`) or
    /// inodes (`df -i`, `IUse%`) are at least `filesystem_use_high` (90%)
    /// used. One finding per mount point, with both figures.
    /// Only block-device filesystems count; tmpfs, overlay and volumes under
    /// `/var/lib/kubelet/pods` and `/var/lib/kubelet/plugins` (pods' own
    /// storage, often full by design: secrets, config maps), `/boot`, and
    /// filesystems mounted read-only (Bottlerocket's verified root) are left
    /// out.
    ///
    /// ## Why is this bad?
    /// The filesystem holding `/var/lib/kubelet` is kubelet's `nodefs`, the
    /// one holding `/var/lib/containerd` its `imagefs` (on EKS both are
    /// usually the root volume). kubelet garbage-collects images from 85%
    /// (`imageGCHighThresholdPercent`), evicts pods when `nodefs.available`
    /// drops below 10% or `imagefs.available` below 15% (its `evictionHard`
    /// defaults), and sets the `DiskPressure` condition, after which no new
    /// pod is scheduled on the node. When the disk or its inodes run out,
    /// containerd cannot unpack images, logs stop, and pods fail with `no
    /// space left on device`.
    ///
    /// ## Evidence
    /// The filesystem's row in `storage/mounts.txt` (`df --human-readable`)
    /// and in `storage/inodes.txt` (`df --inodes`); kubelet's `evictionHard`
    /// from its configuration for the summary.
    ///
    /// ## Severity
    /// High from `filesystem_use_high` (90%); critical from
    /// `filesystem_use_critical` (97%), in space or inodes.
    ///
    /// ## Example
    /// ```text
    /// Filesystem      Size  Used Avail Use% Mounted on
    /// /dev/nvme0n1p1   20G   19G  1.1G  95% /
    /// ```
    ///
    /// ## Remediation
    /// Find what fills the volume (`du -xsh /var/lib/containerd /var/log
    /// /var/lib/kubelet/pods/*`): unused images (`crictl rmi --prune`), large
    /// container logs (kubelet's `containerLogMaxSize`), pods writing to
    /// `emptyDir` (set `ephemeral-storage` limits). Give the node a larger
    /// root volume in its launch template. For inodes, look for directories
    /// with many small files.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/>
    /// - <https://kubernetes.io/docs/concepts/architecture/garbage-collection/#container-image-garbage-collection>
    pub(crate) static META = {
        code: "NET008",
        name: "FilesystemNearlyFull",
        group: Network,
        default_severity: High,
        since: "0.1.0",
    }
}

/// NET008.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Mounts],
    check,
};

/// Mount points whose filesystems belong to pods, not to the node.
const POD_STORAGE: &[&str] = &[
    "/var/lib/kubelet/pods/",
    "/var/lib/kubelet/plugins/",
    "/boot",
];

/// Whether a `df` row is a node filesystem this rule judges.
fn is_node_filesystem(row: &DfRow) -> bool {
    row.filesystem.starts_with('/')
        && !POD_STORAGE.iter().any(|prefix| {
            row.mounted_on == prefix.trim_end_matches('/') || row.mounted_on.starts_with(prefix)
        })
}

/// Space and inode rows of one mount point.
#[derive(Default)]
struct Usage<'a> {
    space: Option<&'a DfRow>,
    inodes: Option<&'a DfRow>,
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let high = cx.thresholds.filesystem_use_high;
    let critical = cx.thresholds.filesystem_use_critical;
    let mut by_mount: BTreeMap<&str, Usage<'_>> = BTreeMap::new();
    if let Some(mounts) = &snapshot.mounts {
        for row in mounts
            .value
            .usage
            .at_least(high)
            .filter(|row| is_node_filesystem(row))
        {
            by_mount.entry(row.mounted_on.as_str()).or_default().space = Some(row);
        }
    }
    if let Some(inodes) = &snapshot.inodes {
        for row in inodes
            .value
            .at_least(high)
            .filter(|row| is_node_filesystem(row))
        {
            by_mount.entry(row.mounted_on.as_str()).or_default().inodes = Some(row);
        }
    }

    // A read-only filesystem cannot fill up: Bottlerocket's verified root
    // is read-only and often nearly full by construction.
    let read_only: Vec<&str> = snapshot.mounts.as_ref().map_or_else(Vec::new, |mounts| {
        mounts
            .value
            .mounts
            .iter()
            .filter(|mount| mount.read_only)
            .map(|mount| mount.mount_point.as_str())
            .collect()
    });
    for (mount_point, usage) in by_mount {
        if read_only.contains(&mount_point) {
            continue;
        }
        let mut builder = cx.finding(&META, Subject::new("mount", mount_point));
        let mut parts = Vec::new();
        let mut worst = 0u8;
        if let (Some(row), Some(mounts)) = (usage.space, &snapshot.mounts) {
            let percent = row.use_percent.unwrap_or(0);
            worst = worst.max(percent);
            builder = builder.evidence(Evidence::line(&mounts.path, row.line, &render_row(row)));
            parts.push(format!(
                "{percent}% of its space used ({} of {}, {} available)",
                row.used, row.total, row.available
            ));
        }
        if let (Some(row), Some(inodes)) = (usage.inodes, &snapshot.inodes) {
            let percent = row.use_percent.unwrap_or(0);
            worst = worst.max(percent);
            builder = builder.evidence(Evidence::line(&inodes.path, row.line, &render_row(row)));
            parts.push(format!(
                "{percent}% of its inodes used ({} of {}, {} free)",
                row.used, row.total, row.available
            ));
        }
        let filesystem = usage
            .space
            .or(usage.inodes)
            .map_or("", |row| row.filesystem.as_str());
        let mut summary = format!(
            "{filesystem} mounted on {mount_point} has {}.",
            parts.join(" and ")
        );
        if let Some(role) = kubelet_role(snapshot, mount_point) {
            summary.push(' ');
            summary.push_str(&role);
        }
        let what = if usage.space.is_some() && usage.inodes.is_some() {
            "space and inodes"
        } else if usage.space.is_some() {
            "space"
        } else {
            "inodes"
        };
        acc.push(
            builder
                .severity(if worst >= critical {
                    Severity::Critical
                } else {
                    Severity::High
                })
                .title(format!("filesystem {mount_point} at {worst}% ({what})"))
                .summary(summary)
                .build(),
        );
    }
}

/// What kubelet does with the filesystem, when it holds `nodefs` or
/// `imagefs`: the mount point is the longest prefix of kubelet's and
/// containerd's directories among the node's mounts.
fn kubelet_role(
    snapshot: &node_artifacts::snapshot::NodeSnapshot,
    mount_point: &str,
) -> Option<String> {
    let mount_points: Vec<&str> = snapshot.mounts.as_ref().map_or_else(Vec::new, |mounts| {
        mounts
            .value
            .mounts
            .iter()
            .map(|mount| mount.mount_point.as_str())
            .chain(
                mounts
                    .value
                    .usage
                    .rows
                    .iter()
                    .map(|row| row.mounted_on.as_str()),
            )
            .collect()
    });
    let holder = |directory: &str| {
        mount_points
            .iter()
            .copied()
            .filter(|candidate| {
                *candidate == "/"
                    || directory == *candidate
                    || directory
                        .strip_prefix(candidate)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|candidate| candidate.len())
            .unwrap_or("/")
    };
    let nodefs = holder("/var/lib/kubelet") == mount_point;
    let imagefs = holder("/var/lib/containerd") == mount_point;
    if !nodefs && !imagefs {
        return None;
    }
    let eviction = snapshot
        .kubelet_config()
        .map(|kubelet| &kubelet.value.eviction_hard);
    let signal = |name: &str, default: &str| {
        eviction
            .and_then(|map| map.get(name))
            .map_or_else(|| format!("{default} (the default)"), threshold_text)
    };
    let mut sentences = Vec::new();
    if nodefs {
        sentences.push(format!(
            "It holds /var/lib/kubelet, kubelet's nodefs: pods are evicted when nodefs.available < {} or nodefs.inodesFree < {}.",
            signal("nodefs.available", "10%"),
            signal("nodefs.inodesFree", "5%")
        ));
    }
    if imagefs {
        sentences.push(format!(
            "It holds /var/lib/containerd, the imagefs: images are garbage-collected from 85% use and pods evicted when imagefs.available < {}.",
            signal("imagefs.available", "15%")
        ));
    }
    sentences.push(
        "The node reports DiskPressure and takes no new pods once a signal crosses its threshold."
            .to_owned(),
    );
    Some(sentences.join(" "))
}

fn threshold_text(threshold: &Threshold) -> String {
    match threshold {
        Threshold::Quantity(quantity) => quantity.raw.clone(),
        Threshold::Percent { raw, .. } => raw.clone(),
    }
}

/// A `df` row as `df` prints it, single-spaced.
fn render_row(row: &DfRow) -> String {
    let percent = row
        .use_percent
        .map_or_else(|| "-".to_owned(), |percent| format!("{percent}%"));
    format!(
        "{} {} {} {} {percent} {}",
        row.filesystem, row.total, row.used, row.available, row.mounted_on
    )
}

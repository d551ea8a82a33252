//! Evidence helpers shared by rules: turning model positions into
//! [`Evidence`] that points at the artifact's lines.

use node_artifacts::dmesg::KernelEvent;
use node_artifacts::snapshot::{KernelMessages, NodeSnapshot};
use node_artifacts::sysctl;

use crate::finding::Evidence;

/// Evidence for the records of a kernel event, dated by the first record.
pub(crate) fn kernel_event(kernel: &KernelMessages, event: &KernelEvent) -> Evidence {
    let records = &kernel.log.value.records;
    let at = |index: usize| records.get(index.min(records.len().saturating_sub(1)));
    let (Some(first), Some(last)) = (at(event.records.first), at(event.records.last)) else {
        // An event always has records; a log without any has no events.
        return Evidence::line(&kernel.log.path, 0, "");
    };
    Evidence::span(
        &kernel.log.path,
        first.lines.first,
        last.lines.last,
        &first.message,
    )
    .at(first.wall_time)
}

/// Evidence for one `sysctl --all` key, when the snapshot has it.
pub(crate) fn sysctl_key(snapshot: &NodeSnapshot, key: &str) -> Option<Evidence> {
    let artifact = snapshot.sysctl.as_ref()?;
    let entry: &sysctl::Entry = artifact
        .value
        .entries
        .iter()
        .find(|entry| entry.key == key)?;
    Some(Evidence::line(
        &artifact.path,
        entry.line,
        &format!("{} = {}", entry.key, entry.value),
    ))
}

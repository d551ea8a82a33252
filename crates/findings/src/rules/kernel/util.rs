//! Helpers shared by the kernel rules: grouping typed kernel events by a
//! canonical key, turning them into evidence, and small lookups the model
//! does not offer (pod names by UID, the memory cgroup limit of an OOM
//! report, whole-disk names).

use std::collections::{BTreeMap, BTreeSet};

use node_artifacts::dmesg::KernelEvent;
use node_artifacts::journald::Inner;
use node_artifacts::layout::ArtifactKind;
use node_artifacts::snapshot::KernelMessages;
use node_artifacts::time::Timestamp;

use crate::context::RuleContext;
use crate::finding::{Evidence, FindingBuilder};
use crate::journal_index::Needles;
use crate::rules::evidence;

/// Kernel events grouped by a canonical key, in key order; each group keeps
/// its events in log order.
pub(super) fn group_events<'a, K: Ord>(
    kernel: &'a KernelMessages,
    mut key: impl FnMut(&'a KernelEvent) -> Option<K>,
) -> BTreeMap<K, Vec<&'a KernelEvent>> {
    let mut groups: BTreeMap<K, Vec<&'a KernelEvent>> = BTreeMap::new();
    for event in &kernel.events {
        if let Some(key) = key(event) {
            groups.entry(key).or_default().push(event);
        }
    }
    groups
}

/// The wall-clock time of an event's first record, when known.
pub(super) fn event_time(kernel: &KernelMessages, event: &KernelEvent) -> Option<Timestamp> {
    kernel
        .log
        .value
        .records
        .get(event.records.first)
        .and_then(|record| record.wall_time)
}

/// Adds one evidence item per event (the builder caps them and keeps the
/// total) and the occurrence count.
pub(super) fn with_events(
    builder: FindingBuilder,
    kernel: &KernelMessages,
    events: &[&KernelEvent],
) -> FindingBuilder {
    builder
        .evidence_all(
            events
                .iter()
                .map(|event| evidence::kernel_event(kernel, event)),
        )
        .occurrences(events.len() as u64)
}

/// Evidence spanning an event's records, quoting the record at `quote`
/// (an index into the log's records) instead of the first one, and dated by
/// it.
pub(super) fn event_quoting(
    kernel: &KernelMessages,
    event: &KernelEvent,
    quote: usize,
) -> Evidence {
    let records = &kernel.log.value.records;
    let Some(quoted) = records.get(quote) else {
        return evidence::kernel_event(kernel, event);
    };
    let first = records
        .get(event.records.first)
        .unwrap_or_else(|| quoted.clone());
    let last = records
        .get(event.records.last)
        .unwrap_or_else(|| quoted.clone());
    Evidence::span(
        &kernel.log.path,
        first.lines.first,
        last.lines.last,
        &quoted.message,
    )
    .at(quoted.wall_time)
}

/// " (first seen …, last seen …)" or "" when the log has no wall times.
pub(super) fn seen_span(kernel: &KernelMessages, events: &[&KernelEvent]) -> String {
    span_of(events.iter().map(|event| event_time(kernel, event)))
}

/// `1 word` / `n words` (plural by adding `s`).
pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// " at T", " between T1 and T2", or "" for a set of optional times.
pub(super) fn span_of(times: impl IntoIterator<Item = Option<Timestamp>>) -> String {
    let times: Vec<Timestamp> = times.into_iter().flatten().collect();
    match (times.iter().min(), times.iter().max()) {
        (Some(first), Some(last)) if first == last => format!(" at {first}"),
        (Some(first), Some(last)) => format!(" between {first} and {last}"),
        _ => String::new(),
    }
}

/// `once` / `n times`.
pub(super) fn times(n: usize) -> String {
    if n == 1 {
        "once".to_owned()
    } else {
        format!("{n} times")
    }
}

/// Every entry [`pod_names`] reads names a `podUID` (kubelet) or is
/// containerd's `RunPodSandbox for &PodSandboxMetadata{…}`; `pod_names`
/// runs only when a container was OOM-killed, and then builds only the
/// entries whose raw text holds one of the UIDs it looks for.
pub(crate) static POD_NEEDLES: Needles = Needles {
    name: "KRN001-pods",
    words: &["podUID", "RunPodSandbox for"],
    klog_prefixes: &[],
};

/// Every entry [`kubelet_ooms`] reads is kubelet's `Got sys oom event`.
pub(crate) static OOM_NEEDLES: Needles = Needles {
    name: "KRN001-oom",
    words: &["Got sys oom event"],
    klog_prefixes: &[],
};

/// Whether `text` holds one of `uids` verbatim: a UID (hex digits and
/// dashes) needs no quoting, so a UID parsed from a message is in its raw
/// text.
fn mentions_any(text: &str, uids: &BTreeSet<String>) -> bool {
    uids.iter().any(|uid| text.contains(uid.as_str()))
}

/// The names (`namespace/name`) of the pods with the UIDs in `wanted`, from
/// containerd's `RunPodSandbox for &PodSandboxMetadata{Name:…,Uid:…,Namespace:…,…}`
/// and the kubelet journal's structured klog lines
/// (`pod="shop/cart-…" podUID="…"`); the first name seen wins, containerd's
/// first.
pub(super) fn pod_names(
    cx: &RuleContext<'_>,
    wanted: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    if wanted.is_empty() {
        return names;
    }
    let snapshot = cx.snapshot;
    if let Some(journal) = snapshot.journal(ArtifactKind::ContainerdJournal) {
        let entries = cx.journal_entries(journal, &POD_NEEDLES);
        for entry in entries.where_text(|text| mentions_any(text, wanted)) {
            let Some(Inner::Logfmt(logfmt)) = &entry.inner else {
                continue;
            };
            if let Some((uid, pod)) = logfmt.msg.as_deref().and_then(sandbox_metadata)
                && wanted.contains(&uid)
            {
                names.entry(uid).or_insert(pod);
            }
        }
    }
    let Some(journal) = snapshot.journal(ArtifactKind::KubeletJournal) else {
        return names;
    };
    let entries = cx.journal_entries(journal, &POD_NEEDLES);
    for entry in entries.where_text(|text| mentions_any(text, wanted)) {
        let Some(Inner::Klog(klog)) = &entry.inner else {
            continue;
        };
        let value = |key: &str| {
            klog.kv
                .iter()
                .find(|kv| &*kv.key == key)
                .map(|kv| kv.value.as_str())
        };
        if let (Some(pod), Some(uid)) = (value("pod"), value("podUID"))
            && pod.contains('/')
            && !uid.is_empty()
            && wanted.contains(uid)
            && !names.contains_key(uid)
        {
            names
                .entry(uid.to_owned())
                .or_insert_with(|| pod.to_owned());
        }
    }
    names
}

/// kubelet's own record of an OOM kill: `"Got sys oom event"
/// event={"Pid":41233,"ProcessName":"java","TimeOfDeath":…}`.
pub(super) struct KubeletOom {
    /// The killed process id.
    pub(super) pid: u32,
    /// The killed process name.
    pub(super) process: String,
    /// When kubelet logged it.
    pub(super) time: Option<Timestamp>,
    /// The journal line.
    pub(super) evidence: Evidence,
}

/// Every `Got sys oom event` line of the kubelet journal.
pub(super) fn kubelet_ooms(cx: &RuleContext<'_>) -> Vec<KubeletOom> {
    let mut out = Vec::new();
    let Some(journal) = cx.snapshot.journal(ArtifactKind::KubeletJournal) else {
        return out;
    };
    for entry in cx.journal_entries(journal, &OOM_NEEDLES) {
        let Some(Inner::Klog(klog)) = &entry.inner else {
            continue;
        };
        if klog.msg != "Got sys oom event" {
            continue;
        }
        let Some(event) = klog.kv.iter().find(|kv| &*kv.key == "event") else {
            continue;
        };
        let Some((pid, process)) = oom_event_fields(&event.value) else {
            continue;
        };
        let time = klog.at.or(entry.time.as_ref().map(|time| time.at));
        out.push(KubeletOom {
            pid,
            process,
            time,
            evidence: Evidence::line(
                &journal.path,
                entry.lines.first,
                &format!("\"Got sys oom event\" event={}", event.value),
            )
            .at(time),
        });
    }
    out
}

/// `Pid` and `ProcessName` of kubelet's OOM event object.
fn oom_event_fields(json: &str) -> Option<(u32, String)> {
    let pid = json.split_once("\"Pid\":")?.1;
    let digits = pid.bytes().take_while(u8::is_ascii_digit).count();
    let pid = pid[..digits].parse().ok()?;
    let name = json.split_once("\"ProcessName\":\"")?.1;
    let name = name.split_once('"')?.0;
    Some((pid, name.to_owned()))
}

/// `(uid, namespace/name)` from containerd's
/// `RunPodSandbox for &PodSandboxMetadata{Name:cart-…,Uid:…,Namespace:shop,Attempt:0,}`.
fn sandbox_metadata(msg: &str) -> Option<(String, String)> {
    let rest = msg.strip_prefix("RunPodSandbox for &PodSandboxMetadata{")?;
    let body = rest.split_once('}')?.0;
    let field = |key: &str| {
        body.split(',')
            .find_map(|item| item.strip_prefix(key)?.strip_prefix(':'))
            .filter(|value| !value.is_empty())
    };
    Some((
        field("Uid")?.to_owned(),
        format!("{}/{}", field("Namespace")?, field("Name")?),
    ))
}

/// The pod UID in a kubepods cgroup path
/// (`…/kubepods-burstable-pod16cee551_19ee_….slice` or cgroup v1
/// `/kubepods/burstable/pod16cee551-19ee-…`), with dashes.
pub(super) fn pod_uid(cgroup: &str) -> Option<String> {
    cgroup.split('/').find_map(|part| {
        let at = part.rfind("pod")?;
        let uid = &part[at + 3..];
        let uid = uid.strip_suffix(".slice").unwrap_or(uid);
        let uid = uid.replace('_', "-");
        let well_formed =
            uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        well_formed.then_some(uid)
    })
}

/// The cgroup that stays the same when a container restarts: the path up to
/// the pod's slice, without the container scope
/// (`cri-containerd-….scope`, `docker-….scope`, or a cgroup v1 container id).
pub(super) fn pod_cgroup(cgroup: &str) -> String {
    let parts: Vec<&str> = cgroup.split('/').collect();
    match parts.iter().position(|part| pod_uid(part).is_some()) {
        Some(pod) => parts[..=pod].join("/"),
        None => cgroup.to_owned(),
    }
}

/// `memory: usage 1048576kB, limit 1048576kB, failcnt 2231` in the records
/// of an OOM report: the cgroup's (usage, limit) in kB.
pub(super) fn memcg_usage_limit(
    kernel: &KernelMessages,
    first: usize,
    last: usize,
) -> Option<(u64, u64)> {
    let records = &kernel.log.value.records;
    if first > last || last >= records.len() {
        return None;
    }
    (first..=last)
        .filter_map(|index| records.message(index))
        .flat_map(|message| message.split('\n'))
        .find_map(|line| {
            let rest = line.trim_start().strip_prefix("memory: usage ")?;
            let (usage, rest) = rest.split_once("kB, limit ")?;
            let (limit, _) = rest.split_once("kB")?;
            Some((usage.parse().ok()?, limit.parse().ok()?))
        })
}

/// The whole disk of a partition: `nvme1n1p1` → `nvme1n1`, `xvda1` →
/// `xvda`, `sdb2` → `sdb`; other names (`dm-3`, `md0`, `loop0`) unchanged.
pub(super) fn whole_disk(device: &str) -> &str {
    let device = device.strip_prefix("/dev/").unwrap_or(device);
    if device.starts_with("nvme")
        && let Some(at) = device.rfind('p')
        && at > 4
        && device[at + 1..].bytes().all(|b| b.is_ascii_digit())
        && at + 1 < device.len()
        && device[..at].contains('n')
    {
        return &device[..at];
    }
    if ["sd", "xvd", "vd", "hd"]
        .iter()
        .any(|prefix| device.starts_with(prefix))
    {
        let trimmed = device.trim_end_matches(|c: char| c.is_ascii_digit());
        if !trimmed.is_empty() && trimmed.len() < device.len() {
            return trimmed;
        }
    }
    device
}

#[cfg(test)]
mod tests {
    use super::{pod_cgroup, pod_uid, whole_disk};

    #[track_caller]
    fn check_disk(input: &str, expect: &str) {
        assert_eq!(whole_disk(input), expect, "input {input:?}");
    }

    #[test]
    fn disks() {
        check_disk("nvme1n1p1", "nvme1n1");
        check_disk("nvme1n1", "nvme1n1");
        check_disk("nvme0n1p12", "nvme0n1");
        check_disk("xvda1", "xvda");
        check_disk("xvda", "xvda");
        check_disk("sdb2", "sdb");
        check_disk("/dev/sdb2", "sdb");
        check_disk("dm-3", "dm-3");
        check_disk("md0", "md0");
        check_disk("loop0", "loop0");
    }

    #[test]
    fn kubelet_oom_event() {
        assert_eq!(
            super::oom_event_fields(
                r#"{"Pid":41233,"ProcessName":"java","TimeOfDeath":"2025-11-23T18:03:53.583847Z"}"#
            ),
            Some((41233, "java".to_owned()))
        );
        assert_eq!(super::oom_event_fields(r#"{"ProcessName":"java"}"#), None);
        assert_eq!(
            super::oom_event_fields(r#"{"Pid":,"ProcessName":"java"}"#),
            None
        );
    }

    #[test]
    fn sandbox_metadata() {
        assert_eq!(
            super::sandbox_metadata(
                "RunPodSandbox for &PodSandboxMetadata{Name:cart-7d9f,Uid:8a1f0c3e-5b7d-4e29-9c61-2f4b7d9e0a13,Namespace:shop,Attempt:0,} returns sandbox id \"1ac4\""
            ),
            Some((
                "8a1f0c3e-5b7d-4e29-9c61-2f4b7d9e0a13".to_owned(),
                "shop/cart-7d9f".to_owned()
            ))
        );
        assert_eq!(
            super::sandbox_metadata("RunPodSandbox for &PodSandboxMetadata{Name:x}"),
            None
        );
        assert_eq!(super::sandbox_metadata("StopPodSandbox for \"1ac4\""), None);
    }

    #[test]
    fn cgroups() {
        let v2 = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod16cee551_19ee_f85f_0f80_d7c2c7f1c875.slice/cri-containerd-d28b.scope";
        assert_eq!(
            pod_uid(v2).as_deref(),
            Some("16cee551-19ee-f85f-0f80-d7c2c7f1c875")
        );
        assert_eq!(
            pod_cgroup(v2),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod16cee551_19ee_f85f_0f80_d7c2c7f1c875.slice"
        );
        let v1 = "/kubepods/burstable/pod16cee551-19ee-f85f-0f80-d7c2c7f1c875/4c2f";
        assert_eq!(
            pod_cgroup(v1),
            "/kubepods/burstable/pod16cee551-19ee-f85f-0f80-d7c2c7f1c875"
        );
        assert_eq!(pod_uid("/system.slice/containerd.service"), None);
        assert_eq!(
            pod_cgroup("/system.slice/containerd.service"),
            "/system.slice/containerd.service"
        );
    }
}

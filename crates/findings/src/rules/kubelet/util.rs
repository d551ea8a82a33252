//! Helpers shared by the kubelet, container runtime and VPC CNI rules:
//! walking the parsed journals, reading klog and logfmt fields, turning
//! entries into evidence, and the "now" of time windows.

use node_artifacts::journald::{Entry, Inner, Journal, Klog, Logfmt};
use node_artifacts::layout::ArtifactKind;
use node_artifacts::snapshot::Artifact;
use node_artifacts::time::Timestamp;
use node_artifacts::vpc_cni::{CniLog, CniLogEntry};

use crate::context::RuleContext;
use crate::finding::Evidence;
use crate::journal_index::{Candidates, Needles};

/// One microsecond-based minute.
pub(crate) const MINUTE_US: i64 = 60 * 1_000_000;

/// The kubelet journal, when the snapshot has one.
pub(crate) fn kubelet_journal<'a>(cx: &RuleContext<'a>) -> Option<&'a Artifact<Journal>> {
    cx.snapshot.journal(ArtifactKind::KubeletJournal)
}

/// The containerd journal, when the snapshot has one.
pub(crate) fn containerd_journal<'a>(cx: &RuleContext<'a>) -> Option<&'a Artifact<Journal>> {
    cx.snapshot.journal(ArtifactKind::ContainerdJournal)
}

/// The parsed klog record of an entry, when its message is klog.
pub(crate) fn klog(entry: &Entry) -> Option<&Klog> {
    match &entry.inner {
        Some(Inner::Klog(klog)) => Some(klog),
        _ => None,
    }
}

/// The parsed logfmt record of an entry, when its message is logfmt.
pub(crate) fn logfmt(entry: &Entry) -> Option<&Logfmt> {
    match &entry.inner {
        Some(Inner::Logfmt(logfmt)) => Some(logfmt),
        _ => None,
    }
}

/// The value of the klog key `key`, if the record has it.
pub(crate) fn kv<'k>(klog: &'k Klog, key: &str) -> Option<&'k str> {
    klog.kv
        .iter()
        .find(|pair| &*pair.key == key)
        .map(|pair| pair.value.as_str())
}

/// The value of the logfmt key `key` (other than `time`, `level`, `msg`).
pub(crate) fn pair<'k>(logfmt: &'k Logfmt, key: &str) -> Option<&'k str> {
    logfmt
        .pairs
        .iter()
        .find(|pair| &*pair.key == key)
        .map(|pair| pair.value.as_str())
}

/// The parsed texts of a record: the klog or logfmt message and every value
/// of its key/value pairs (where Go errors such as `err="x509: …"` live).
/// For an entry whose message did not parse as either, the message itself.
/// An iterator, so that rules scanning every entry allocate nothing.
pub(crate) fn texts(entry: &Entry) -> impl Iterator<Item = &str> {
    let (klog, logfmt, json, raw) = match &entry.inner {
        Some(Inner::Klog(klog)) => (Some(klog), None, None, None),
        Some(Inner::Logfmt(logfmt)) => (None, Some(logfmt), None, None),
        Some(Inner::Json(json)) => (None, None, json.msg.as_deref(), None),
        None => (None, None, None, entry.text()),
    };
    let klog_texts = klog.into_iter().flat_map(|klog| {
        std::iter::once(klog.msg.as_str()).chain(klog.kv.iter().map(|pair| pair.value.as_str()))
    });
    let logfmt_texts = logfmt.into_iter().flat_map(|logfmt| {
        logfmt
            .msg
            .as_deref()
            .into_iter()
            .chain(logfmt.pairs.iter().map(|pair| pair.value.as_str()))
    });
    klog_texts.chain(logfmt_texts).chain(json).chain(raw)
}

/// A fast pre-filter: whether the entry's raw `MESSAGE` contains one of
/// `needles` (case-sensitively). Parsed fields are unquoted substrings of the
/// message, so an entry that fails this cannot match on its fields; rules
/// still decide on the parsed fields. Binary messages pass.
pub(crate) fn mentions(entry: &Entry, needles: &[&str]) -> bool {
    entry
        .text()
        .is_none_or(|text| needles.iter().any(|needle| text.contains(needle)))
}

/// Whether `entry`, a candidate of `candidates`, passes
/// `mentions(entry, needles.words)`: known without looking when the index
/// produced the candidates ([`Candidates::mention_words`]).
pub(crate) fn mentions_words(
    candidates: &Candidates<'_>,
    needles: &Needles,
    entry: &Entry,
) -> bool {
    candidates.mention_words() || mentions(entry, needles.words)
}

/// Whether any parsed text of the entry contains `needle`, ASCII
/// case-insensitively.
pub(crate) fn any_text_contains(entry: &Entry, needle: &str) -> bool {
    texts(entry).any(|text| contains_ignore_case(text, needle))
}

/// ASCII case-insensitive substring test, without allocating: candidate
/// positions are those of the needle's first byte in either case.
pub(crate) fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = needle.first() else {
        return true;
    };
    if haystack.len() < needle.len() {
        return false;
    }
    // The last position a match can start at.
    let last = haystack.len() - needle.len();
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &haystack[..=last],
    )
    .any(|at| haystack[at..at + needle.len()].eq_ignore_ascii_case(needle))
}

/// Evidence for one journal entry: its lines and message, dated.
pub(crate) fn entry_evidence(artifact: &Artifact<Journal>, entry: &Entry) -> Evidence {
    let text = entry
        .text()
        .or_else(|| entry.inner.as_ref().and_then(Inner::msg))
        .unwrap_or("");
    Evidence::span(&artifact.path, entry.lines.first, entry.lines.last, text).at(entry.best_time())
}

/// Evidence for one VPC CNI log entry.
pub(crate) fn cni_evidence(artifact: &Artifact<CniLog>, entry: &CniLogEntry) -> Evidence {
    // ipamd's AWS errors carry `\n\tstatus code: 400, request id: …`; the
    // first line is the message.
    let msg = entry.msg.as_deref().unwrap_or("");
    let first_line = msg.lines().next().unwrap_or("");
    Evidence::line(&artifact.path, entry.line, first_line).at(entry.time)
}

/// Keeps at most `keep` items of a long evidence list: the first `keep - 1`
/// and the last, so the onset and the latest occurrence both show, and the
/// other sources of a finding are not crowded out under the cap. The
/// finding's first/last seen and occurrences are counted by the rule from
/// every occurrence, not from this sample.
pub(crate) fn sample<T>(mut items: Vec<T>, keep: usize) -> Vec<T> {
    if items.len() > keep && keep > 0 {
        let last = items.pop();
        items.truncate(keep - 1);
        items.extend(last);
    }
    items
}

/// The time windows are measured back from: the reference time of the run
/// (the collection time), else the latest entry time of the journals.
pub(crate) fn now(cx: &RuleContext<'_>) -> Option<Timestamp> {
    cx.now.or_else(|| {
        cx.snapshot
            .journals
            .iter()
            .flat_map(|journal| {
                journal
                    .value
                    .views()
                    .rev()
                    .find_map(|view| view.best_time())
            })
            .max()
    })
}

/// The greatest number of `times` (sorted) inside any window of `width_us`,
/// with the index range of that window.
pub(crate) fn densest_window(times: &[Timestamp], width_us: i64) -> (usize, usize, usize) {
    let mut best = (0, 0, 0);
    let mut start = 0;
    for end in 0..times.len() {
        while times[end].0 - times[start].0 > width_us {
            start += 1;
        }
        let count = end - start + 1;
        if count > best.0 {
            best = (count, start, end);
        }
    }
    best
}

pub(crate) use crate::rules::duration::go_duration_seconds;

/// The text between `start` and the next `end` in `text`.
pub(crate) fn between<'t>(text: &'t str, start: &str, end: &str) -> Option<&'t str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// Formats a count of seconds the way an operator reads it (`3m30s`).
pub(crate) fn human_seconds(seconds: i64) -> String {
    let (minutes, seconds) = (seconds / 60, seconds % 60);
    match (minutes, seconds) {
        (0, seconds) => format!("{seconds}s"),
        (minutes, 0) => format!("{minutes}m"),
        (minutes, seconds) => format!("{minutes}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let times: Vec<Timestamp> = [0, 10, 20, 100, 101, 102, 103]
            .iter()
            .map(|s| Timestamp(s * 1_000_000))
            .collect();
        assert_eq!(densest_window(&times, 5_000_000), (4, 3, 6));
        assert_eq!(densest_window(&[], 5_000_000), (0, 0, 0));
    }

    proptest::proptest! {
        /// The memchr-based search agrees with the plain window scan.
        #[test]
        fn contains_ignore_case_agrees_with_windows(
            haystack in "[a-cA-C :]{0,40}",
            needle in "[a-cA-C :]{0,5}",
        ) {
            let expected = needle.is_empty()
                || haystack
                    .as_bytes()
                    .windows(needle.len())
                    .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()));
            proptest::prop_assert_eq!(contains_ignore_case(&haystack, &needle), expected);
        }
    }

    #[test]
    fn case_insensitive() {
        assert!(contains_ignore_case(
            "CNI plugin not initialized",
            "cni plugin not"
        ));
        assert!(!contains_ignore_case("cni", "cni plugin"));
        assert!(contains_ignore_case(
            "x PLEG is Not healthy",
            "pleg is not healthy"
        ));
        assert!(contains_ignore_case("ab", "ab"));
        assert!(contains_ignore_case("", ""));
        assert!(!contains_ignore_case("aB", "abc"));
        assert!(contains_ignore_case("1:2", ":"));
        assert!(!contains_ignore_case("plex", "pleg"));
        assert_eq!(between("a \"img\" b", "\"", "\""), Some("img"));
        assert_eq!(human_seconds(206), "3m26s");
    }
}

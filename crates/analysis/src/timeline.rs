//! One ordered timeline of what the node logged in a window, grouped into
//! incidents.
//!
//! ```text
//! window 2025-11-23T17:52:00Z .. 2025-11-23T18:52:00Z (the hour before collection)
//! sources: kernel/dmesg.current 812 events, 14 in window; kubelet/kubelet.log 229, 61 in window; …
//! incident 1: 18:03:41 .. 18:04:12, 23 events (kernel 9, kubelet 12, finding 2)
//!   18:03:53.120  error    kernel/dmesg.current:1841  [oom-kill] Memory cgroup out of memory: Killed process 4121 (java) …
//! ```
//!
//! Sources merged: the kernel log on wall-clock time (records without one
//! are counted, not placed), every journal (kubelet, containerd, syslog …),
//! the CRI container logs (kube-proxy, aws-node …), the VPC CNI's ipamd and
//! plugin logs, and each finding's first and last occurrence. Every event
//! keeps a stable reference `artifact:line` (findings: `finding:<id>`) and a
//! level on one scale (`debug`, `info`, `notice`, `warning`, `error`,
//! `critical`) where the source states one.
//!
//! Grouping: events sorted by time (ties by source and line) split into
//! incidents wherever the silence between two events is longer than
//! [`TimelineOptions::gap_minutes`]. An incident keeps at most
//! [`TimelineOptions::max_events_per_incident`] events, preferring warnings
//! and worse and findings, and always reports its totals by source and level.

use std::collections::BTreeMap;
use std::fmt;

use findings::Report;
use node_artifacts::dmesg::Level as KernelLevel;
use node_artifacts::journald::{EntryView, Journal, Severity as JournalSeverity};
use node_artifacts::snapshot::{Artifact, NodeSnapshot};
use node_artifacts::time::Timestamp;
use serde::Serialize;

const MINUTE_US: i64 = 60_000_000;
/// Characters of a message kept in an event.
const MESSAGE_CHARS: usize = 240;

/// The window of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// The hour before the collection time (else before the newest event).
    #[default]
    BeforeCollection,
    /// `incident ± minutes`.
    Around {
        /// The incident time.
        incident: Timestamp,
        /// Minutes either side.
        minutes: i64,
    },
    /// An explicit interval, both ends included.
    Between {
        /// Start.
        start: Timestamp,
        /// End.
        end: Timestamp,
    },
}

/// Grouping and budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineOptions {
    /// A silence longer than this starts a new incident.
    pub gap_minutes: i64,
    /// Events kept per incident (all are counted).
    pub max_events_per_incident: usize,
    /// Incidents kept (all are counted).
    pub max_incidents: usize,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions {
            gap_minutes: 5,
            max_events_per_incident: 40,
            max_incidents: 20,
        }
    }
}

/// The result of [`timeline`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Start of the window.
    pub start: Timestamp,
    /// End of the window.
    pub end: Timestamp,
    /// How the window was chosen.
    pub window: String,
    /// Every source, with or without data in the window.
    pub sources: Vec<SourceCoverage>,
    /// Events in the window, over all sources.
    pub events_in_window: usize,
    /// Events that have no parseable time (never placed, always counted).
    pub events_without_time: usize,
    /// Incidents in time order, up to the budget.
    pub incidents: Vec<Incident>,
    /// Incidents in all.
    pub incidents_total: usize,
}

/// What one source contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCoverage {
    /// Artifact path (`finding` for the findings).
    pub source: String,
    /// `kernel`, `journal`, `container`, `cni` or `finding`.
    pub kind: &'static str,
    /// Events the source holds.
    pub events: usize,
    /// Of those, in the window.
    pub in_window: usize,
    /// Of those, without a parseable time.
    pub without_time: usize,
    /// Earliest time the source covers.
    pub first: Option<Timestamp>,
    /// Latest time the source covers.
    pub last: Option<Timestamp>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// When.
    pub time: Timestamp,
    /// Artifact path of the source (`finding` for findings).
    pub source: String,
    /// `kernel`, `journal`, `container`, `cni` or `finding`.
    pub kind: &'static str,
    /// Stable reference: `artifact:line`, or `finding:<id>`.
    pub reference: String,
    /// Level on the common scale, when known.
    pub level: Option<&'static str>,
    /// A typed tag: kernel event kind (`oom-kill`), finding code, journal
    /// unit or identifier.
    pub tag: Option<String>,
    /// Further records of the same typed kernel event folded into this one
    /// (the rest of an OOM report, a stack trace); 0 elsewhere.
    pub folded: usize,
    /// The message (shortened).
    pub message: String,
}

/// Events without a silence longer than the gap between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// First event.
    pub start: Timestamp,
    /// Last event.
    pub end: Timestamp,
    /// Events in all.
    pub events_total: usize,
    /// Events kept, in time order.
    pub events: Vec<Event>,
    /// Events per source.
    pub by_source: BTreeMap<String, usize>,
    /// Events per level (`unknown` when the source states none).
    pub by_level: BTreeMap<String, usize>,
}

/// The timeline of `snapshot` and its findings for `window`, with the
/// default grouping and budgets.
pub fn timeline(snapshot: &NodeSnapshot, report: &Report, window: Window) -> Timeline {
    timeline_with(snapshot, report, window, TimelineOptions::default())
}

/// [`timeline`] with explicit options.
pub fn timeline_with(
    snapshot: &NodeSnapshot,
    report: &Report,
    window: Window,
    options: TimelineOptions,
) -> Timeline {
    let mut sources: Vec<(SourceCoverage, Events<'_>)> = Vec::new();
    gather(snapshot, report, &mut sources);

    let newest = sources.iter().filter_map(|(c, _)| c.last).max();
    let (start, end, how) = match window {
        Window::BeforeCollection => match snapshot.metadata.collection_time.or(newest) {
            Some(t) => (
                Timestamp(t.0 - 60 * MINUTE_US),
                t,
                if snapshot.metadata.collection_time.is_some() {
                    "the hour before collection".to_owned()
                } else {
                    "the hour before the newest event (collection time unknown)".to_owned()
                },
            ),
            None => (
                Timestamp(0),
                Timestamp(0),
                "no timed event and no collection time".to_owned(),
            ),
        },
        Window::Around { incident, minutes } => (
            Timestamp(incident.0 - minutes * MINUTE_US),
            Timestamp(incident.0 + minutes * MINUTE_US),
            format!("{incident} ± {minutes} minutes"),
        ),
        Window::Between { start, end } => (start, end, "explicit start and end".to_owned()),
    };

    let mut events: Vec<Event> = Vec::new();
    let mut coverage = Vec::with_capacity(sources.len());
    let mut without_time = 0;
    for (mut c, evs) in sources {
        without_time += c.without_time;
        match evs {
            Events::Built(evs) => {
                for e in evs {
                    if e.time >= start && e.time <= end {
                        c.in_window += 1;
                        events.push(e);
                    }
                }
            }
            Events::Journal { artifact, times } => {
                for (time, index) in times {
                    if time >= start && time <= end {
                        c.in_window += 1;
                        events.extend(
                            artifact
                                .value
                                .view(index)
                                .map(|view| journal_event(artifact, view, time)),
                        );
                    }
                }
            }
        }
        coverage.push(c);
    }
    events.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.reference.cmp(&b.reference))
    });
    let events_in_window = events.len();

    let gap = options.gap_minutes.max(0) * MINUTE_US;
    let mut groups: Vec<Vec<Event>> = Vec::new();
    for e in events {
        match groups.last_mut() {
            Some(g) if g.last().is_some_and(|l| e.time.0 - l.time.0 <= gap) => g.push(e),
            _ => groups.push(vec![e]),
        }
    }
    let incidents_total = groups.len();
    let incidents = groups
        .into_iter()
        .take(options.max_incidents)
        .map(|g| incident(g, options.max_events_per_incident))
        .collect();
    Timeline {
        start,
        end,
        window: how,
        sources: coverage,
        events_in_window,
        events_without_time: without_time,
        incidents,
        incidents_total,
    }
}

fn incident(events: Vec<Event>, max: usize) -> Incident {
    let mut by_source = BTreeMap::new();
    let mut by_level = BTreeMap::new();
    for e in &events {
        *by_source.entry(e.source.clone()).or_insert(0) += 1;
        *by_level
            .entry(e.level.unwrap_or("unknown").to_owned())
            .or_insert(0) += 1;
    }
    let start = events.first().map_or(Timestamp(0), |e| e.time);
    let end = events.last().map_or(Timestamp(0), |e| e.time);
    let total = events.len();
    let kept = if total <= max {
        events
    } else {
        // Keep the most significant events (findings, then critical, error
        // and warning lines, then the rest), earliest first within a rank;
        // show them in time order.
        let rank = |e: &Event| match (e.kind, e.level) {
            ("finding", _) => 0,
            (_, Some("critical")) => 1,
            (_, Some("error")) => 2,
            (_, Some("warning")) => 3,
            _ => 4,
        };
        let mut order: Vec<usize> = (0..total).collect();
        order.sort_by_key(|&i| (rank(&events[i]), i));
        let mut chosen: Vec<usize> = order.into_iter().take(max).collect();
        chosen.sort_unstable();
        let mut keep = vec![false; total];
        for i in chosen {
            keep[i] = true;
        }
        events
            .into_iter()
            .zip(keep)
            .filter_map(|(e, k)| k.then_some(e))
            .collect()
    };
    Incident {
        start,
        end,
        events_total: total,
        events: kept,
        by_source,
        by_level,
    }
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn kernel_level(level: KernelLevel) -> &'static str {
    match level {
        KernelLevel::Emerg | KernelLevel::Alert | KernelLevel::Crit => "critical",
        KernelLevel::Err => "error",
        KernelLevel::Warn => "warning",
        KernelLevel::Notice => "notice",
        KernelLevel::Info => "info",
        KernelLevel::Debug => "debug",
    }
}

/// The level of a typed kernel event whose record states none.
fn kernel_kind_level(kind: &str) -> &'static str {
    match kind {
        "panic" | "oops" | "kernel-bug" | "hard-lockup" | "hardware-error" => "critical",
        "oom-kill"
        | "oom-invoked"
        | "conntrack-table-full"
        | "hung-task"
        | "soft-lockup"
        | "xfs-error"
        | "xfs-shutdown"
        | "read-only-remount"
        | "block-io-error"
        | "neighbour-table-overflow" => "error",
        _ => "warning",
    }
}

fn journal_level(severity: JournalSeverity) -> &'static str {
    match format!("{severity:?}").as_str() {
        "Debug" => "debug",
        "Info" => "info",
        "Notice" => "notice",
        "Warning" => "warning",
        "Error" => "error",
        _ => "critical",
    }
}

fn cni_level(level: &str) -> Option<&'static str> {
    Some(match level.to_ascii_lowercase().as_str() {
        "debug" | "trace" => "debug",
        "info" => "info",
        "warn" | "warning" => "warning",
        "error" => "error",
        "fatal" | "panic" | "dpanic" | "critical" => "critical",
        _ => return None,
    })
}

fn coverage(
    source: &str,
    kind: &'static str,
    events: &[Event],
    without_time: usize,
) -> SourceCoverage {
    SourceCoverage {
        source: source.to_owned(),
        kind,
        events: events.len() + without_time,
        in_window: 0,
        without_time,
        first: events.iter().map(|e| e.time).min(),
        last: events.iter().map(|e| e.time).max(),
    }
}

/// A source's events: built, or, for a journal, the time and position of
/// each timed entry, built into an event only when it falls in the window
/// (a journal materialises an entry's message on demand, and most entries
/// are outside the window).
enum Events<'a> {
    Built(Vec<Event>),
    Journal {
        artifact: &'a Artifact<Journal>,
        times: Vec<(Timestamp, usize)>,
    },
}

/// The event of journal entry `view`, dated `time`.
fn journal_event(artifact: &Artifact<Journal>, view: EntryView<'_>, time: Timestamp) -> Event {
    // The klog/logfmt/JSON message needs the message parsed; free text is
    // the message itself.
    let inner = view.inner();
    let message = inner
        .as_ref()
        .and_then(|i| i.msg())
        .or_else(|| view.text())
        .unwrap_or("");
    Event {
        time,
        source: artifact.path.clone(),
        kind: "journal",
        reference: format!("{}:{}", artifact.path, view.lines().first),
        level: view.severity().map(journal_level),
        folded: 0,
        tag: view.unit().or(view.identifier()).map(str::to_owned),
        message: shorten(message),
    }
}

fn gather<'a>(
    snapshot: &'a NodeSnapshot,
    report: &Report,
    out: &mut Vec<(SourceCoverage, Events<'a>)>,
) {
    if let Some(kernel) = &snapshot.kernel {
        let path = &kernel.log.path;
        // A typed kernel event (an OOM report, a hung-task trace) spans
        // several records: it becomes one timeline event at its first record,
        // with the other records folded into it and counted.
        let mut spans: BTreeMap<usize, (usize, String)> = BTreeMap::new();
        for e in &kernel.events {
            spans
                .entry(e.records.first)
                .or_insert_with(|| (e.records.last, crate::compare::kernel_kind(&e.kind)));
        }
        let records = &kernel.log.value.records;
        let mut events = Vec::new();
        let mut untimed = 0;
        let mut i = 0;
        while i < records.len() {
            let first = i;
            let Some(r) = records.get(first) else {
                break;
            };
            let (last, tag) = match spans.get(&first) {
                Some((last, kind)) => ((*last).clamp(first, records.len() - 1), Some(kind.clone())),
                None => (first, None),
            };
            i = last + 1;
            let Some(time) = r.wall_time else {
                untimed += last + 1 - first;
                continue;
            };
            let level = r
                .level
                .map(kernel_level)
                .or_else(|| tag.as_deref().map(kernel_kind_level));
            events.push(Event {
                time,
                source: path.clone(),
                kind: "kernel",
                reference: format!("{path}:{}", r.lines.first),
                level,
                tag,
                folded: last - first,
                message: shorten(&r.message),
            });
        }
        out.push((
            coverage(path, "kernel", &events, untimed),
            Events::Built(events),
        ));
    }
    for j in &snapshot.journals {
        let mut times = Vec::new();
        let mut untimed = 0;
        for view in j.value.views() {
            match view.best_time() {
                Some(time) => times.push((time, view.index())),
                None => untimed += 1,
            }
        }
        let coverage = SourceCoverage {
            source: j.path.clone(),
            kind: "journal",
            events: times.len() + untimed,
            in_window: 0,
            without_time: untimed,
            first: times.iter().map(|(time, _)| *time).min(),
            last: times.iter().map(|(time, _)| *time).max(),
        };
        out.push((coverage, Events::Journal { artifact: j, times }));
    }
    for c in &snapshot.container_logs {
        let events: Vec<Event> = c
            .value
            .entries
            .iter()
            .map(|e| Event {
                time: e.time,
                source: c.path.clone(),
                kind: "container",
                reference: format!("{}:{}", c.path, e.line),
                level: e
                    .inner
                    .as_ref()
                    .and_then(|i| i.severity())
                    .map(journal_level),
                tag: None,
                folded: 0,
                message: shorten(e.inner.as_ref().and_then(|i| i.msg()).unwrap_or(&e.message)),
            })
            .collect();
        out.push((
            coverage(&c.path, "container", &events, 0),
            Events::Built(events),
        ));
    }
    for c in &snapshot.cni_logs {
        let mut events = Vec::new();
        let mut untimed = 0;
        for e in &c.value.entries {
            let Some(time) = e.time else {
                untimed += 1;
                continue;
            };
            events.push(Event {
                time,
                source: c.path.clone(),
                kind: "cni",
                reference: format!("{}:{}", c.path, e.line),
                level: e.level.as_deref().and_then(cni_level),
                tag: None,
                folded: 0,
                message: shorten(e.msg.as_deref().unwrap_or("")),
            });
        }
        out.push((
            coverage(&c.path, "cni", &events, untimed),
            Events::Built(events),
        ));
    }
    let mut events = Vec::new();
    let mut untimed = 0;
    for f in &report.findings {
        let level = Some(match f.severity {
            findings::Severity::Critical => "critical",
            findings::Severity::High => "error",
            findings::Severity::Medium => "warning",
            findings::Severity::Low => "notice",
            findings::Severity::Info => "info",
        });
        let mut push = |time: Timestamp, what: &str| {
            events.push(Event {
                time,
                source: "finding".to_owned(),
                kind: "finding",
                reference: format!("finding:{}", f.id.0),
                level,
                tag: Some(f.code.to_owned()),
                folded: 0,
                message: shorten(&format!("{what}: {} ({}×)", f.title, f.occurrences)),
            });
        };
        match (f.first_seen, f.last_seen) {
            (Some(a), Some(b)) if a != b => {
                push(a, "first seen");
                push(b, "last seen");
            }
            (Some(a), _) | (None, Some(a)) => push(a, "seen"),
            (None, None) => untimed += 1,
        }
    }
    out.push((
        coverage("finding", "finding", &events, untimed),
        Events::Built(events),
    ));
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "window {} .. {} ({})", self.start, self.end, self.window)?;
        writeln!(
            f,
            "{} events in the window, {} incidents; {} events without a parseable time (not placed)",
            self.events_in_window, self.incidents_total, self.events_without_time
        )?;
        writeln!(f, "\nsources:")?;
        for s in &self.sources {
            let span = match (s.first, s.last) {
                (Some(a), Some(b)) => format!("{a} .. {b}"),
                _ => "no timed events".to_owned(),
            };
            writeln!(
                f,
                "  {:<10} {:<58} {:>6} events, {:>5} in window{}  [{span}]",
                s.kind,
                s.source,
                s.events,
                s.in_window,
                if s.without_time > 0 {
                    format!(", {} untimed", s.without_time)
                } else {
                    String::new()
                }
            )?;
        }
        for (n, i) in self.incidents.iter().enumerate() {
            writeln!(
                f,
                "\nincident {}: {} .. {}, {} events ({} shown)",
                n + 1,
                i.start,
                i.end,
                i.events_total,
                i.events.len()
            )?;
            let by: Vec<String> = i
                .by_source
                .iter()
                .map(|(s, c)| format!("{s} {c}"))
                .collect();
            writeln!(f, "  by source: {}", by.join(", "))?;
            let by: Vec<String> = i.by_level.iter().map(|(s, c)| format!("{s} {c}")).collect();
            writeln!(f, "  by level: {}", by.join(", "))?;
            for e in &i.events {
                let message: String = e.message.chars().take(140).collect();
                writeln!(
                    f,
                    "  {} {:<8} {:<52} {}{}{}",
                    e.time,
                    e.level.unwrap_or("-"),
                    e.reference,
                    e.tag
                        .as_deref()
                        .map(|t| format!("[{t}] "))
                        .unwrap_or_default(),
                    if e.folded > 0 {
                        format!("(+{} records) ", e.folded)
                    } else {
                        String::new()
                    },
                    message
                )?;
            }
        }
        if self.incidents.len() < self.incidents_total {
            writeln!(
                f,
                "\n{} more incidents not shown",
                self.incidents_total - self.incidents.len()
            )?;
        }
        Ok(())
    }
}

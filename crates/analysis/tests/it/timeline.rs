//! Timelines of the memory-pressure and conntrack-exhaustion scenarios.

use analysis::timeline::{Timeline, TimelineOptions, Window, timeline, timeline_with};
use node_artifacts::time::Timestamp;

use crate::{report, scenario};

fn default_timeline(name: &str) -> Timeline {
    let s = scenario(name);
    timeline(&s, &report(&s), Window::default())
}

#[track_caller]
fn check_invariants(t: &Timeline) {
    let mut previous = None;
    for i in &t.incidents {
        assert!(i.events.len() <= i.events_total);
        assert_eq!(i.by_source.values().sum::<usize>(), i.events_total);
        for e in &i.events {
            assert!(
                e.time >= t.start && e.time <= t.end,
                "{e:?} outside the window"
            );
            assert!(previous.is_none_or(|p| p <= e.time), "out of order: {e:?}");
            previous = Some(e.time);
            assert!(e.reference.contains(':'), "{e:?}");
        }
    }
    let placed: usize = t.incidents.iter().map(|i| i.events_total).sum();
    if t.incidents.len() == t.incidents_total {
        assert_eq!(placed, t.events_in_window);
    }
    let in_window: usize = t.sources.iter().map(|s| s.in_window).sum();
    assert_eq!(in_window, t.events_in_window);
}

#[test]
fn memory_pressure() {
    let t = default_timeline("memory-pressure");
    check_invariants(&t);
    let oom: Vec<_> = t
        .incidents
        .iter()
        .flat_map(|i| &i.events)
        .filter(|e| e.tag.as_deref() == Some("oom-kill"))
        .collect();
    assert_eq!(
        oom.len(),
        3,
        "three OOM kills in the hour before collection\n{t}"
    );
    insta::assert_snapshot!("memory_pressure", t.to_string());
}

#[test]
fn conntrack_exhaustion() {
    let t = default_timeline("conntrack-exhaustion");
    check_invariants(&t);
    assert!(
        t.incidents
            .iter()
            .flat_map(|i| &i.events)
            .any(|e| e.tag.as_deref() == Some("CTK001")),
        "the finding's occurrences are on the timeline\n{t}"
    );
    insta::assert_snapshot!("conntrack_exhaustion", t.to_string());
}

#[test]
fn windows_and_budgets() {
    let s = scenario("memory-pressure");
    let r = report(&s);
    let collected = s.metadata.collection_time.unwrap();
    // 18:30:19 UTC, the second OOM kill, ± 2 minutes.
    let incident = Timestamp(collected.0 - 22 * 60_000_000 + 19_000_000 - 60_000_000);
    let around = timeline(
        &s,
        &r,
        Window::Around {
            incident,
            minutes: 2,
        },
    );
    check_invariants(&around);
    assert_eq!(around.end.0 - around.start.0, 4 * 60_000_000);
    let all = timeline(
        &s,
        &r,
        Window::Between {
            start: Timestamp(0),
            end: collected,
        },
    );
    check_invariants(&all);
    assert!(all.events_in_window >= around.events_in_window);
    let tight = timeline_with(
        &s,
        &r,
        Window::Between {
            start: Timestamp(0),
            end: collected,
        },
        TimelineOptions {
            gap_minutes: 0,
            max_events_per_incident: 2,
            max_incidents: 3,
        },
    );
    assert!(tight.incidents.len() <= 3);
    assert!(tight.incidents.iter().all(|i| i.events.len() <= 2));
    assert!(tight.incidents_total >= all.incidents_total);
    assert_eq!(tight.events_in_window, all.events_in_window);
    serde_json::to_string(&tight).unwrap();
}

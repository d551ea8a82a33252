//! Running the rule catalogue over a snapshot.

use std::collections::BTreeMap;

use node_artifacts::snapshot::NodeSnapshot;

use crate::codes;
use crate::context::{Context, RuleContext};
use crate::finding::Finding;
use crate::report::{NotEvaluated, Report, Suppressed};

/// Runs every rule over `snapshot` and returns the report.
///
/// Deterministic: the same snapshot and context give the same report, byte
/// for byte once serialised. A rule whose artifacts are missing is listed in
/// [`Report::not_evaluated`] instead of silently finding nothing.
pub fn check(snapshot: &NodeSnapshot, context: &Context) -> Report {
    let node_id = context
        .node_id
        .clone()
        .or_else(|| snapshot.metadata.instance_id.clone())
        .or_else(|| snapshot.metadata.node_name.clone())
        .unwrap_or_else(|| snapshot.id.clone());
    let rule_context = RuleContext::new(
        snapshot,
        &node_id,
        context.reference_time.or(snapshot.metadata.collection_time),
        &context.thresholds,
    );

    let mut report = Report {
        snapshot_id: snapshot.id.clone(),
        node_id: node_id.clone(),
        reference_time: rule_context.now,
        findings: Vec::new(),
        not_evaluated: Vec::new(),
        suppressed: Vec::new(),
        rules_evaluated: 0,
        counts: Vec::new(),
    };

    let mut runnable = Vec::new();
    for rule in codes::all() {
        let missing: Vec<&'static str> = rule
            .needs
            .iter()
            .filter(|need| !need.present(snapshot))
            .map(|need| need.name())
            .collect();
        if missing.is_empty() {
            runnable.push(*rule);
        } else {
            report.not_evaluated.push(NotEvaluated {
                code: rule.meta.code,
                name: rule.meta.kebab_name(),
                missing,
            });
        }
    }
    report.rules_evaluated = runnable.len();

    // Rules are independent pure functions of the snapshot, so they run on
    // all cores; their outputs are merged in registry order afterwards, so
    // the report does not depend on the scheduling.
    let mut by_id: BTreeMap<String, Finding> = BTreeMap::new();
    for produced in run_all(&runnable, &warm_up(&rule_context), &rule_context) {
        for finding in produced {
            merge_into(&mut by_id, finding);
        }
    }

    for finding in by_id.into_values() {
        let matched = if context.suppress.codes.contains(finding.code) {
            Some("code")
        } else if context
            .suppress
            .fingerprints
            .contains(&finding.fingerprint.0)
        {
            Some("fingerprint")
        } else {
            None
        };
        match matched {
            Some(matched) => report.suppressed.push(Suppressed {
                id: finding.id,
                fingerprint: finding.fingerprint,
                code: finding.code,
                matched,
            }),
            None => report.findings.push(finding),
        }
    }
    link_related(&mut report.findings);
    report.finish();
    report
}

/// A job that builds something several rules share.
type WarmUp<'a> = Box<dyn Fn() + Sync + 'a>;

/// The shared index the runnable rules will ask for, as a job to run
/// before the rules: the run's journal index (kube-proxy's view and the
/// conntrack indexes come built with the snapshot). It is built once on
/// first use anyway (so the findings never depend on this); starting it
/// first keeps every core busy instead of leaving the rules that need it
/// waiting on whichever rule happened to start it.
fn warm_up<'a>(rule_context: &'a RuleContext<'a>) -> Vec<WarmUp<'a>> {
    let snapshot = rule_context.snapshot;
    let mut jobs: Vec<WarmUp<'a>> = Vec::new();
    // It splits itself across the cores.
    let journals = [
        node_artifacts::layout::ArtifactKind::KubeletJournal,
        node_artifacts::layout::ArtifactKind::ContainerdJournal,
    ];
    if journals
        .into_iter()
        .any(|kind| snapshot.journal(kind).is_some())
    {
        jobs.push(Box::new(|| rule_context.prepare()));
    }
    jobs
}

/// Runs the `warm_up` jobs, then `rules`, on up to as many threads as the
/// machine has cores and returns each rule's findings in the order of
/// `rules`.
fn run_all(
    rules: &[&'static codes::Rule],
    warm_up: &[WarmUp<'_>],
    rule_context: &RuleContext<'_>,
) -> Vec<Vec<Finding>> {
    let workers = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .min(rules.len() + warm_up.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Vec<Finding>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let job = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(index) = job.checked_sub(warm_up.len()) else {
                            warm_up[job]();
                            continue;
                        };
                        let Some(rule) = rules.get(index) else {
                            break done;
                        };
                        let mut produced = Vec::new();
                        (rule.check)(rule_context, &mut produced);
                        done.push((index, produced));
                    }
                })
            })
            .collect();
        // A rule that panicked (a bug) loses its findings, not the report.
        handles
            .into_iter()
            .filter_map(|handle| handle.join().ok())
            .flatten()
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, produced)| produced).collect()
}

/// Two findings with one id (one rule, one subject) are one problem: their
/// evidence and counts are joined rather than reported twice.
fn merge_into(by_id: &mut BTreeMap<String, Finding>, finding: Finding) {
    match by_id.get_mut(&finding.id.0) {
        None => {
            by_id.insert(finding.id.0.clone(), finding);
        }
        Some(existing) => {
            existing.occurrences += finding.occurrences;
            existing.severity = existing.severity.max(finding.severity);
            existing.first_seen = match (existing.first_seen, finding.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            existing.last_seen = match (existing.last_seen, finding.last_seen) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            for source in finding.sources {
                if !existing.sources.contains(&source) {
                    existing.sources.push(source);
                }
            }
            existing.sources.sort();
            existing.evidence_total += finding.evidence_total;
            existing.evidence.extend(finding.evidence);
            existing.evidence.truncate(crate::finding::EVIDENCE_CAP);
        }
    }
}

/// Links findings whose rules explain one another ([`codes::related`]).
fn link_related(findings: &mut [Finding]) {
    let ids_by_code: BTreeMap<&'static str, Vec<crate::id::FindingId>> =
        findings.iter().fold(BTreeMap::new(), |mut acc, finding| {
            acc.entry(finding.code)
                .or_insert_with(Vec::new)
                .push(finding.id.clone());
            acc
        });
    for finding in findings.iter_mut() {
        for (a, b) in codes::related() {
            let other = if finding.code == a {
                b
            } else if finding.code == b {
                a
            } else {
                continue;
            };
            if let Some(ids) = ids_by_code.get(other) {
                for id in ids {
                    if *id != finding.id && !finding.related.contains(id) {
                        finding.related.push(id.clone());
                    }
                }
            }
        }
        finding.related.sort();
    }
}

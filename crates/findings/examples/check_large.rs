//! Times every rule over the large generated bundle against the time taken
//! to parse it: the probe behind the README's "rules vs parse" figure.
//!
//! ```text
//! cargo run --release -p findings --example check_large [-- --runs N] [-- --all]
//! ```
//!
//! Each of the `--runs` runs (1 by default) parses the bundle into a new
//! snapshot and times the first `check` over it: the rules on all cores,
//! including the run's journal index. (The snapshot's own indexes,
//! kube-proxy's view of the iptables ruleset and the conntrack table's
//! indexes, are built by `NodeSnapshot::build` in its parse threads and so
//! count as parse time.) The last run then times a second `check`, the
//! journal index alone, and each rule alone on one thread (the five
//! slowest, or all with `--all`). The
//! headline is the median run, with the spread (the machine is shared).
//! Runs after the first parse faster than a fresh process does (the
//! allocator reuses the previous snapshot's memory), so the README's
//! figure is the median of separate processes with one run each.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use findings::{Context, check};
use fixture_gen::bundle::{BundleScale, large_bundle};
use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|arg| arg == "--runs")
        .and_then(|at| args.get(at + 1)?.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let files: BTreeMap<String, FileBytes> = large_bundle(42, BundleScale::LARGE)
        .into_iter()
        .map(|(path, content)| (path, FileBytes::new(content)))
        .collect();
    let bytes: usize = files.values().map(|content| content.len()).sum();
    let name = "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9";
    let mut out = std::io::stdout();

    let mut timings: Vec<(f64, f64)> = Vec::new();
    let mut last = None;
    for run in 0..runs {
        // The previous snapshot is freed first, outside the timings.
        drop(last.take());
        let started = Instant::now();
        let snapshot = NodeSnapshot::build(SnapshotInput {
            name: Some(name),
            files: &files,
            rejected: &[],
            newest_file_time: None,
        });
        let parsed = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let report = check(&snapshot, &Context::default());
        let checked = started.elapsed().as_secs_f64();
        writeln!(
            out,
            "run {}: parse {parsed:.3} s, check {:.1} ms ({:.1}%), {} rules, {} findings, {} not evaluated",
            run + 1,
            checked * 1e3,
            100.0 * checked / parsed,
            report.rules_evaluated,
            report.findings.len(),
            report.not_evaluated.len(),
        )?;
        timings.push((parsed, checked));
        last = Some((snapshot, report));
    }
    let Some((snapshot, report)) = last else {
        return Ok(());
    };

    let started = Instant::now();
    let again = check(&snapshot, &Context::default());
    writeln!(
        out,
        "check again (snapshot indexes built): {:.1} ms, {} findings",
        started.elapsed().as_secs_f64() * 1e3,
        again.findings.len()
    )?;

    // The journal index, then each rule alone on one thread.
    let thresholds = findings::Thresholds::default();
    let rule_context = findings::RuleContext::new(
        &snapshot,
        "i-0123456789abcdef0",
        snapshot.metadata.collection_time,
        &thresholds,
    );
    let started = Instant::now();
    rule_context.prepare();
    let index = started.elapsed().as_secs_f64();
    let mut rules: Vec<(f64, &str)> = findings::codes::all()
        .iter()
        .filter(|rule| rule.needs.iter().all(|need| need.present(&snapshot)))
        .map(|rule| {
            let started = Instant::now();
            let mut acc = Vec::new();
            (rule.check)(&rule_context, &mut acc);
            (started.elapsed().as_secs_f64(), rule.meta.code)
        })
        .collect();
    rules.sort_by(|a, b| b.0.total_cmp(&a.0));
    let summed: f64 = rules.iter().map(|(seconds, _)| seconds).sum();
    let shown = if args.iter().any(|arg| arg == "--all") {
        rules.len()
    } else {
        5
    };
    writeln!(
        out,
        "  journal index (shared, all cores): {:.1} ms",
        index * 1e3
    )?;
    for (seconds, code) in rules.iter().take(shown) {
        writeln!(out, "  {code}: {:.1} ms", seconds * 1e3)?;
    }
    writeln!(
        out,
        "rules one at a time: {:.1} ms of CPU in all",
        summed * 1e3
    )?;

    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let parse = median(timings.iter().map(|(parsed, _)| *parsed).collect());
    let rules = median(timings.iter().map(|(_, checked)| *checked).collect());
    let (low, high) = timings
        .iter()
        .map(|(parsed, checked)| checked / parsed)
        .fold((f64::MAX, 0.0f64), |(low, high), ratio| {
            (low.min(ratio), high.max(ratio))
        });
    writeln!(
        out,
        "{bytes} bytes, median of {runs} runs: parse {parse:.3} s, {} rules {rules:.3} s ({:.1}% of parse; runs {:.1}–{:.1}%), {} findings, {} not evaluated",
        report.rules_evaluated,
        100.0 * rules / parse,
        100.0 * low,
        100.0 * high,
        report.findings.len(),
        report.not_evaluated.len(),
    )
}

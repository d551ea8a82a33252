//! Times every rule over the large generated bundle against the time taken
//! to parse it: the probe behind the README's "rules vs parse" figure.
//!
//! ```text
//! cargo run --release -p findings --example check_large [-- --all]
//! ```
//!
//! Prints, in order: the wall time of a second `check` over the same
//! snapshot (see below); the build time of the run's shared journal index
//! and the CPU time of each rule run alone on one thread (the five slowest,
//! or all with `--all`) with their sum; then the headline: the parse time
//! and the wall time of the first `check`, which runs the rules on all
//! cores. The first `check` is the honest figure: it also pays for the
//! snapshot's lazily built indexes (kube-proxy's view of the iptables
//! ruleset, the conntrack table's indexes) that rules ask for; the second
//! one finds them built.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use findings::{Context, check};
use fixture_gen::bundle::{BundleScale, large_bundle};
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

fn main() -> std::io::Result<()> {
    let files: BTreeMap<String, Vec<u8>> =
        large_bundle(42, BundleScale::LARGE).into_iter().collect();
    let bytes: usize = files.values().map(Vec::len).sum();
    let name = "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9";
    let started = Instant::now();
    let snapshot = NodeSnapshot::build(SnapshotInput {
        name: Some(name),
        files: &files,
        rejected: &[],
        newest_file_time: None,
    });
    let parsed = started.elapsed();
    let started = Instant::now();
    let report = check(&snapshot, &Context::default());
    let checked = started.elapsed();
    let mut out = std::io::stdout();

    let started = Instant::now();
    let again = check(&snapshot, &Context::default());
    writeln!(
        out,
        "check again (snapshot indexes built): {:.1} ms, {} findings",
        started.elapsed().as_secs_f64() * 1e3,
        again.findings.len()
    )?;

    // Each rule alone on one thread, after the run's shared index is built.
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
    let mut timings: Vec<(f64, &str)> = findings::codes::all()
        .iter()
        .filter(|rule| rule.needs.iter().all(|need| need.present(&snapshot)))
        .map(|rule| {
            let started = Instant::now();
            let mut acc = Vec::new();
            (rule.check)(&rule_context, &mut acc);
            (started.elapsed().as_secs_f64(), rule.meta.code)
        })
        .collect();
    timings.sort_by(|a, b| b.0.total_cmp(&a.0));
    let summed: f64 = timings.iter().map(|(seconds, _)| seconds).sum();
    let shown = if std::env::args().any(|arg| arg == "--all") {
        timings.len()
    } else {
        5
    };
    writeln!(out, "  journal index (shared): {:.1} ms", index * 1e3)?;
    for (seconds, code) in timings.iter().take(shown) {
        writeln!(out, "  {code}: {:.1} ms", seconds * 1e3)?;
    }
    writeln!(
        out,
        "index + rules one at a time: {:.1} ms of CPU",
        (index + summed) * 1e3,
    )?;
    writeln!(
        out,
        "{bytes} bytes: parse {:.3} s, {} rules {:.3} s ({:.1}% of parse), {} findings, {} not evaluated",
        parsed.as_secs_f64(),
        report.rules_evaluated,
        checked.as_secs_f64(),
        100.0 * checked.as_secs_f64() / parsed.as_secs_f64(),
        report.findings.len(),
        report.not_evaluated.len(),
    )
}

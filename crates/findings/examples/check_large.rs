//! Times every rule over the large generated bundle against the time taken
//! to parse it: the probe behind the README's "rules vs parse" figure.
//!
//! ```text
//! cargo run --release -p findings --example check_large
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use findings::{Context, check};
use fixture_gen::bundle::{BundleScale, large_bundle};
use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

fn main() -> std::io::Result<()> {
    let files: BTreeMap<String, FileBytes> = large_bundle(42, BundleScale::LARGE)
        .into_iter()
        .map(|(path, content)| (path, FileBytes::new(content)))
        .collect();
    let bytes: usize = files.values().map(|content| content.len()).sum();
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
    // The slowest rules, each run alone on the same snapshot.
    let thresholds = findings::Thresholds::default();
    let rule_context = findings::RuleContext {
        snapshot: &snapshot,
        node_id: "i-0123456789abcdef0",
        now: snapshot.metadata.collection_time,
        thresholds: &thresholds,
    };
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
    let mut out = std::io::stdout();
    for (seconds, code) in timings.iter().take(5) {
        writeln!(out, "  {code}: {:.1} ms", seconds * 1e3)?;
    }
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

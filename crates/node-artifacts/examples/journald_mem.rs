//! Parses a generated journal once and reports its size, for measuring peak
//! memory with `/usr/bin/time -v`.
//!
//! `cargo run --release -p node-artifacts --example journald_mem -- short 500000`
//! (peak memory then includes the input itself, which the journal's
//! messages point into)
//! or `… -- export 1000000`, or `… -- <file>` to parse a file; `ROUNDS=n`
//! parses n times and reports the fastest round (the least disturbed by
//! other jobs on a shared machine).

use std::io::Write as _;

use node_artifacts::journald::{self, ParseOptions};
use node_artifacts::shared::FileBytes;
use node_artifacts::time::Timestamp;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "short".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(500_000);
    let input = FileBytes::new(match kind.as_str() {
        "export" => fixture_gen::journald::export(count, 42),
        "short" => fixture_gen::journald::kubelet_short(count, 42).into_bytes(),
        path => std::fs::read(path).unwrap_or_default(),
    });
    let options = ParseOptions {
        reference_time: Some(Timestamp(1_736_935_200_000_000)),
        format: None,
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut best: Option<(std::time::Duration, Option<u64>)> = None;
    let mut parsed = journald::parse(&[], &options);
    // `parse_file` slices messages out of the shared input, as a snapshot
    // does; `parse` would first copy it.
    for _ in 0..rounds.max(1) {
        drop(parsed);
        let started = std::time::Instant::now();
        let cpu_before = on_cpu_ns();
        parsed = journald::parse_file(&input, &options);
        let cpu = on_cpu_ns()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let elapsed = started.elapsed();
        // The fastest round is the least disturbed by other jobs.
        if best.is_none_or(|(_, best_cpu)| cpu < best_cpu) {
            best = Some((elapsed, cpu));
        }
    }
    let (elapsed, cpu) = best.unwrap_or_default();
    let summary = match &parsed {
        Ok(parsed) => format!(
            "{kind}: {} bytes, {} entries, {} diagnostics, parsed in {:.3}s wall ({:.0} MB/s), {} on CPU",
            input.len(),
            parsed.value.len(),
            parsed.diagnostics.len(),
            elapsed.as_secs_f64(),
            input.len() as f64 / 1e6 / elapsed.as_secs_f64(),
            cpu.map_or("unknown time".to_owned(), |ns| format!(
                "{:.3}s ({:.0} MB/s per core)",
                ns as f64 / 1e9,
                input.len() as f64 / 1e6 / (ns as f64 / 1e9)
            )),
        ),
        Err(error) => format!("{kind}: {error}"),
    };
    // Materialising entries (what a rule's candidates cost): every fifth
    // entry, on this thread.
    if let Ok(parsed) = &parsed {
        let journal = &parsed.value;
        let started = std::time::Instant::now();
        let cpu_before = on_cpu_ns();
        let mut bytes = 0usize;
        for index in (0..journal.len()).step_by(5) {
            bytes += journal
                .entry(index)
                .and_then(|entry| Some(entry.text()?.len()))
                .unwrap_or(0);
        }
        let cpu = on_cpu_ns()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let _ = writeln!(
            std::io::stderr(),
            "materialised {} entries ({bytes} message bytes) in {:.3}s wall, {} on CPU",
            journal.len().div_ceil(5),
            started.elapsed().as_secs_f64(),
            cpu.map_or("unknown time".to_owned(), |ns| format!(
                "{:.3}s",
                ns as f64 / 1e9
            )),
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "{summary}; sizes: Entry {} B, NamedField {} B, Inner {} B",
        std::mem::size_of::<journald::Entry>(),
        std::mem::size_of::<journald::NamedField>(),
        std::mem::size_of::<journald::Inner>(),
    );
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), which
/// stays meaningful on a machine shared with other jobs.
fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

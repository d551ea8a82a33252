//! Peak-memory probe for the iptables parser.
//!
//! `iptables_mem --write FILE [SERVICES ENDPOINTS]` writes the generated
//! kube-proxy ruleset; `iptables_mem FILE [--parse-only | --repeat N]` reads and parses it,
//! then builds the Kubernetes view (unless `--parse-only`; `--repeat` reports
//! steady-state parse CPU time instead), so `/usr/bin/time -v` reports the peak resident size
//! of reading plus parsing.
#![allow(clippy::print_stdout, reason = "an example reports on stdout")]

use node_artifacts::iptables::{self, kube::KubeView};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, path, rest @ ..] if flag == "--write" => {
            let services = rest.first().map_or(Ok(5_000), |s| s.parse())?;
            let endpoints = rest.get(1).map_or(Ok(3), |s| s.parse())?;
            std::fs::write(path, fixture_gen::iptables::kube_proxy_ruleset(services, endpoints))?;
        }
        [path, rest @ ..] => {
            let text = std::fs::read_to_string(path)?;
            let started = std::time::Instant::now();
            let cpu_started = thread_cpu_ns();
            let parsed = iptables::parse(&text)?;
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = cpu_started.zip(thread_cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
            if rest.first().is_some_and(|a| a == "--repeat") {
                // Steady state, as a benchmark loop sees it: memory freed by
                // one parse is reused by the next. Thread CPU time is reported
                // because wall time on a shared machine measures the queue.
                let rounds: usize = rest.get(1).map_or(Ok(10), |n| n.parse())?;
                drop(parsed);
                let mut best = f64::MAX;
                let mut total = 0.0;
                for _ in 0..rounds {
                    let before = thread_cpu_ns();
                    let parsed = iptables::parse(&text)?;
                    let after = thread_cpu_ns();
                    drop(parsed);
                    if let (Some(a), Some(b)) = (before, after) {
                        let seconds = (b - a) as f64 / 1e9;
                        best = best.min(seconds);
                        total += seconds;
                    }
                }
                // The thread clock advances in scheduler ticks (4 ms here), so
                // one reading is off by up to a tick and the best of several is
                // biased low; the mean of the readings is not.
                let mean = total / rounds as f64;
                println!(
                    "{} bytes: best of {rounds} parses {:.1} ms on-CPU ({:.0} MB/s), mean {:.1} ms ({:.0} MB/s)",
                    text.len(),
                    best * 1e3,
                    text.len() as f64 / best / 1e6,
                    mean * 1e3,
                    text.len() as f64 / mean / 1e6
                );
                return Ok(());
            }
            if rest.first().is_some_and(|a| a == "--parse-only") {
                let mb = text.len() as f64 / 1e6;
                println!(
                    "{} bytes, {} lines, parsed in {:.1} ms wall ({:.0} MB/s), {} on-CPU",
                    text.len(),
                    parsed.value.line_count(),
                    elapsed * 1e3,
                    mb / elapsed,
                    cpu.map_or("unknown".to_owned(), |c| format!("{:.1} ms ({:.0} MB/s)", c * 1e3, mb / c)),
                );
                return Ok(());
            }
            let view = KubeView::new(&parsed.value);
            println!(
                "{} bytes, {} lines, {} rules, {} diagnostics, {} services",
                text.len(),
                parsed.value.line_count(),
                parsed.value.rules().count(),
                parsed.diagnostics.len(),
                view.services.len()
            );
        }
        _ => return Err("usage: iptables_mem --write FILE [SERVICES ENDPOINTS] | iptables_mem FILE [--parse-only]".into()),
    }
    Ok(())
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), so that
/// throughput can be read on a machine shared with other jobs.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

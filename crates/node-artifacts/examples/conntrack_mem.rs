//! Measures the conntrack parser on a generated table: time and, under
//! `/usr/bin/time -v`, peak resident memory.
//!
//! ```sh
//! cargo run --release -p node-artifacts --example conntrack_mem -- gen 1048576 /tmp/ct-1m.txt
//! /usr/bin/time -v target/release/examples/conntrack_mem parse /tmp/ct-1m.txt
//! /usr/bin/time -v target/release/examples/conntrack_mem index /tmp/ct-1m.txt
//! /usr/bin/time -v target/release/examples/conntrack_mem aggregate /tmp/ct-1m.txt
//! /usr/bin/time -v target/release/examples/conntrack_mem read /tmp/ct-1m.txt
//! target/release/examples/conntrack_mem compare /tmp/ct-1m.txt
//! ```
//!
//! `read` only reads the file, so its peak RSS is the baseline that the input
//! text itself costs; subtract it from the other modes' peaks.

#![allow(clippy::print_stdout, reason = "an example reports on stdout")]

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(path)) = (args.get(1), args.last()) else {
        return Err("usage: conntrack_mem gen N PATH | read|parse|index|aggregate PATH".into());
    };
    if mode == "gen" {
        let entries: usize = args.get(2).ok_or("missing N")?.parse()?;
        std::fs::write(path, fixture_gen::conntrack::table(entries, 42))?;
        return Ok(());
    }
    let input = std::fs::read_to_string(path)?;
    let started = Instant::now();
    match mode.as_str() {
        "read" => println!("read {} bytes", input.len()),
        "parse" | "index" => {
            let parsed = node_artifacts::conntrack::parse(&input)?;
            let parse_time = started.elapsed();
            let table = &parsed.value.table;
            println!(
                "parsed {} entries from {} bytes in {:.3} s ({} diagnostics)",
                table.len(),
                input.len(),
                parse_time.as_secs_f64(),
                parsed.diagnostics.len()
            );
            if mode == "index" {
                let started = Instant::now();
                let top = table.top_destinations(3).to_vec();
                let dns = table.entries_for_addr("172.20.0.10".parse()?).count();
                let port = table.entries_for_port(53).count();
                println!(
                    "indexed in {:.3} s: top {top:?}, dns entries {dns}, port-53 entries {port}, unreplied {}",
                    started.elapsed().as_secs_f64(),
                    table.unreplied_count()
                );
            }
        }
        "aggregate" => {
            let aggregate = node_artifacts::conntrack::aggregate(&input);
            println!(
                "aggregated {} entries in {:.3} s: unreplied {}, nat {}, top {:?}",
                aggregate.value.total,
                started.elapsed().as_secs_f64(),
                aggregate.value.unreplied,
                aggregate.value.nat,
                &aggregate.value.top_destinations[..3.min(aggregate.value.top_destinations.len())]
            );
        }
        "compare" => {
            // On a shared machine wall time measures the neighbours too, so
            // this reports on-CPU time of this thread (Linux schedstat), the
            // minimum of several runs.
            let mut best_parse = u64::MAX;
            let mut best_aggregate = u64::MAX;
            for _ in 0..7 {
                let before = cpu_nanos()?;
                let parsed = node_artifacts::conntrack::parse(&input)?;
                drop(parsed);
                let middle = cpu_nanos()?;
                let aggregate = node_artifacts::conntrack::aggregate(&input);
                drop(aggregate);
                let after = cpu_nanos()?;
                best_parse = best_parse.min(middle - before);
                best_aggregate = best_aggregate.min(after - middle);
            }
            println!(
                "on-CPU best of 7: parse {:.3} s, aggregate {:.3} s, ratio {:.2}",
                best_parse as f64 / 1e9,
                best_aggregate as f64 / 1e9,
                best_parse as f64 / best_aggregate as f64
            );
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    }
    Ok(())
}

/// Nanoseconds this thread has spent on a CPU (first field of
/// `/proc/thread-self/schedstat`).
fn cpu_nanos() -> Result<u64, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let first = text.split_whitespace().next().ok_or("empty schedstat")?;
    Ok(first.parse()?)
}

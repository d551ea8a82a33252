//! Parses a kernel log file and prints a summary: form, record count,
//! diagnostics and kernel events. With `--generate N`, parses N generated
//! lines instead and prints the wall-clock and on-CPU time of parsing and of
//! event recognition (on-CPU time from `/proc/thread-self/schedstat`, which
//! stays meaningful on a machine shared with other jobs); run it under
//! `/usr/bin/time -v` for peak memory.
//!
//! ```text
//! cargo run --release -p node-artifacts --example dmesg -- fixtures/dmesg/events-oom-kubepods.txt
//! cargo run --release -p node-artifacts --example dmesg -- --generate 1000000
//! ```

#![allow(clippy::print_stdout, reason = "an example program prints its result")]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use node_artifacts::dmesg;
use node_artifacts::shared::FileBytes;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let timed = args.first().is_some_and(|flag| flag == "--generate");
    let input = match args.as_slice() {
        [flag, lines] if flag == "--generate" => {
            let Ok(lines) = lines.parse() else {
                println!("--generate takes a line count");
                return ExitCode::FAILURE;
            };
            fixture_gen::dmesg::plain(lines, 42).into_bytes()
        }
        [path] => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                println!("cannot read {path}: {err}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            println!("usage: dmesg <file> | --generate <lines>");
            return ExitCode::FAILURE;
        }
    };
    // The log slices the file's shared bytes, as a snapshot's does.
    let input = FileBytes::new(input);
    let (parsed, parse_time) = measure(|| dmesg::parse_file(&input));
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            println!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let log = &parsed.value;
    let (events, events_time) = measure(|| dmesg::events(log));
    println!("bytes: {}", input.len());
    if timed {
        for (what, (wall, cpu)) in [("parse", parse_time), ("events", events_time)] {
            let cpu_text = cpu.map_or_else(
                || "n/a".to_owned(),
                |cpu| {
                    let mb_per_s = input.len() as f64 / cpu.as_secs_f64() / 1e6;
                    format!("{cpu:.3?} ({mb_per_s:.0} MB/s)")
                },
            );
            println!("{what}: wall {wall:.3?}, on-cpu {cpu_text}");
        }
    }
    println!("format: {:?}", log.format);
    println!("records: {}", log.records.len());
    println!("diagnostics: {}", parsed.diagnostics.len());
    println!("events: {}", events.len());
    for event in events.iter().take(20) {
        let json = serde_json::to_string(event).unwrap_or_default();
        println!("  {json}");
    }
    ExitCode::SUCCESS
}

/// Runs `f`, returning its result, wall-clock time and on-CPU time.
fn measure<T>(f: impl FnOnce() -> T) -> (T, (Duration, Option<Duration>)) {
    let (start, cpu_start) = (Instant::now(), thread_cpu_time());
    let value = f();
    let wall = start.elapsed();
    let cpu = match (cpu_start, thread_cpu_time()) {
        (Some(before), Some(after)) => after.checked_sub(before),
        _ => None,
    };
    (value, (wall, cpu))
}

/// Time this thread has spent on a CPU (Linux), first field of schedstat.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split(' ').next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

//! Parses a kernel log file and prints a summary: form, record count,
//! diagnostics and kernel events. With `--generate N`, parses N generated
//! lines instead (for peak-memory measurements with `/usr/bin/time -v`).
//!
//! ```text
//! cargo run --release -p node-artifacts --example dmesg -- fixtures/dmesg/events-oom-kubepods.txt
//! cargo run --release -p node-artifacts --example dmesg -- --generate 1000000
//! ```

#![allow(clippy::print_stdout, reason = "an example program prints its result")]

use std::process::ExitCode;

use node_artifacts::dmesg;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    let parsed = match dmesg::parse_bytes(&input) {
        Ok(parsed) => parsed,
        Err(err) => {
            println!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let log = &parsed.value;
    let events = dmesg::events(log);
    println!("bytes: {}", input.len());
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

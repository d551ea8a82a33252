//! Memory of each large artifact's model (growth of the resident set
//! while it is parsed and kept): the probe behind the README's memory breakdown.
//!
//! ```text
//! cargo run --release -p node-bundle --example model_sizes -- /tmp/large
//! ```

use std::path::Path;

use node_artifacts::shared::FileBytes;
use node_artifacts::{conntrack, dmesg, iptables, iptables_list, journald};
use node_bundle::{Limits, read_path};

/// Resident set size in bytes (`VmRSS` of `/proc/self/status`), 0 elsewhere.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// Parses one file, keeps the model, and reports its heap beside the file's size.
fn measure<T>(name: &str, file: &FileBytes, parse: impl FnOnce(&FileBytes) -> T) -> T {
    let before = rss();
    let model = parse(file);
    let after = rss();
    println!(
        "{name:<24} file {:>6.1} MB  model {:>6.1} MB ({:.2}x)",
        mb(file.len()),
        mb(after - before),
        (after - before) as f64 / file.len() as f64,
    );
    model
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        return Err("usage: model_sizes BUNDLE".into());
    };
    let bundle = read_path(Path::new(&path), &Limits::default())?;
    println!("files: {:.1} MB live after reading", mb(rss()));
    let file = |p: &str| bundle.files.get(p).cloned();
    let text = |f: &FileBytes| f.as_str().unwrap_or_default().to_owned();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    if let Some(f) = file("networking/conntrack.txt") {
        let m = measure("conntrack", &f, |f| conntrack::parse(&text(f)));
        keep.push(Box::new(m));
    }
    if let Some(f) = file("networking/iptables-save.txt") {
        let m = measure("iptables", &f, |f| iptables::parse(&text(f)));
        keep.push(Box::new(m));
    }
    if let Some(f) = file("networking/iptables-nat.txt") {
        let m = measure("iptables-nat listing", &f, |f| iptables_list::parse(&text(f)));
        keep.push(Box::new(m));
    }
    if let Some(f) = file("kernel/dmesg.current") {
        let m = measure("dmesg.current", &f, |f| dmesg::parse(&text(f)));
        keep.push(Box::new(m));
    }
    if let Some(f) = file("kubelet/kubelet.log") {
        let options = journald::ParseOptions::default();
        let m = measure("kubelet journal", &f, |f| journald::parse_file(f, &options));
        keep.push(Box::new(m));
    }
    let before = rss();
    let snapshot = bundle.snapshot();
    println!(
        "whole snapshot: +{:.1} MB (files {:.1} MB)",
        mb(rss() - before),
        mb(bundle.total_bytes as usize)
    );
    drop(snapshot);
    Ok(())
}

//! Memory of each large artifact's model (growth of the resident set
//! while it is parsed and kept): the probe behind the README's memory breakdown.
//!
//! ```text
//! cargo run --release -p node-bundle --example model_sizes -- /tmp/large
//! cargo run --release -p node-bundle --example model_sizes -- /tmp/large dmesg
//! ```
//!
//! The optional second argument measures only the models whose name starts
//! with it (`conntrack`, `iptables-save`, `iptables-nat`, `dmesg`, `kubelet`,
//! `snapshot`).

#![allow(clippy::print_stdout, reason = "an example program prints its result")]

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
        .and_then(|kb| {
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// Whether a model slices the file's shared bytes, and so keeps them alive.
#[derive(Clone, Copy, PartialEq)]
enum Keeps {
    Nothing,
    File,
}

/// Parses one file, keeps the model, and reports its heap beside the file's
/// size; a model that keeps the file alive is charged for it too.
fn measure<T>(
    name: &str,
    file: &FileBytes,
    keeps: Keeps,
    parse: impl FnOnce(&FileBytes) -> T,
) -> T {
    let before = rss();
    let model = parse(file);
    let grown = rss().saturating_sub(before);
    let charged = grown + if keeps == Keeps::File { file.len() } else { 0 };
    println!(
        "{name:<24} file {:>6.1} MB  model {:>6.1} MB ({:.2}x){}",
        mb(file.len()),
        mb(charged),
        charged as f64 / file.len() as f64,
        if keeps == Keeps::File {
            format!(" = {:.1} MB own + the file it slices", mb(grown))
        } else {
            String::new()
        },
    );
    model
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        return Err("usage: model_sizes BUNDLE [ONLY]".into());
    };
    // One model alone measures cleaner: freed memory (the text copies other
    // parsers take) is not reused and hidden from the resident-set delta.
    let only = std::env::args().nth(2);
    let wanted = |name: &str| only.as_deref().is_none_or(|only| name.starts_with(only));
    println!(
        "layouts: conntrack Entry {} B, iptables Rule {} B (Match {} B, Target {} B), \
         dmesg Record {} B (packed slot 20 B), listing Rule {} B (packed row 16 B), \
         kube Service {} B, Endpoint {} B, KubeChain {} B, KernelEvent {} B",
        size_of::<conntrack::Entry>(),
        size_of::<iptables::Rule>(),
        size_of::<iptables::Match>(),
        size_of::<iptables::Target>(),
        size_of::<dmesg::Record>(),
        size_of::<iptables_list::Rule>(),
        size_of::<iptables::kube::Service>(),
        size_of::<iptables::kube::Endpoint>(),
        size_of::<iptables::kube::KubeChain>(),
        size_of::<dmesg::KernelEvent>(),
    );
    let bundle = read_path(Path::new(&path), &Limits::default())?;
    println!("files: {:.1} MB live after reading", mb(rss()));
    let file = |p: &str| bundle.files.get(p).cloned();
    let text = |f: &FileBytes| f.as_str().unwrap_or_default().to_owned();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    if let Some(f) = file("networking/conntrack.txt").filter(|_| wanted("conntrack")) {
        let m = measure("conntrack", &f, Keeps::Nothing, |f| {
            conntrack::parse(&text(f))
        });
        if let Ok(dump) = &m {
            let before = rss();
            dump.value.table.build_indexes();
            println!(
                "{:<24} {} entries, indexes +{:.1} MB",
                "  conntrack indexes",
                dump.value.table.len(),
                mb(rss().saturating_sub(before))
            );
        }
        keep.push(Box::new(m));
    }
    if let Some(f) = file("networking/iptables-save.txt").filter(|_| wanted("iptables-save")) {
        let m = measure("iptables-save", &f, Keeps::Nothing, |f| {
            iptables::parse(&text(f))
        });
        if let Ok(ruleset) = &m {
            let before = rss();
            let view = iptables::kube::KubeView::new(&ruleset.value);
            println!(
                "{:<24} {} services, +{:.1} MB",
                "  kube-proxy view",
                view.services.len(),
                mb(rss().saturating_sub(before))
            );
            keep.push(Box::new(view));
        }
        keep.push(Box::new(m));
    }
    if let Some(f) = file("networking/iptables-nat.txt").filter(|_| wanted("iptables-nat")) {
        let m = measure(
            "iptables-nat listing",
            &f,
            Keeps::File,
            iptables_list::parse_file,
        );
        keep.push(Box::new(m));
    }
    if let Some(f) = file("kernel/dmesg.current").filter(|_| wanted("dmesg")) {
        let m = measure("dmesg.current", &f, Keeps::File, dmesg::parse_file);
        if let Ok(parsed) = &m {
            let records = &parsed.value.records;
            println!(
                "{:<24} {} records, packed store {:.1} MB ({:.1} B a record)",
                "",
                records.len(),
                mb(records.heap_bytes()),
                records.heap_bytes() as f64 / records.len().max(1) as f64
            );
            let before = rss();
            let events = dmesg::events(&parsed.value);
            println!(
                "{:<24} {} events, +{:.1} MB",
                "  kernel events",
                events.len(),
                mb(rss().saturating_sub(before))
            );
            keep.push(Box::new(events));
        }
        keep.push(Box::new(m));
    }
    if let Some(f) = file("kubelet/kubelet.log").filter(|_| wanted("kubelet")) {
        let options = journald::ParseOptions::default();
        let m = measure("kubelet journal", &f, Keeps::File, |f| {
            journald::parse_file(f, &options)
        });
        keep.push(Box::new(m));
    }
    if !wanted("snapshot") {
        return Ok(());
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

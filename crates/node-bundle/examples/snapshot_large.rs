//! Reads the large generated bundle and parses it into a `NodeSnapshot`:
//! the probe behind the README's "whole bundle" figures.
//!
//! ```text
//! cargo run --release -p node-bundle --example bundle_io -- generate /tmp/large.tar.gz
//! mkdir -p /tmp/large && tar -xzf /tmp/large.tar.gz -C /tmp/large
//! /usr/bin/time -v target/release/examples/snapshot_large /tmp/large
//! ```

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use node_bundle::{Limits, read_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        return Err("usage: snapshot_large BUNDLE (directory or .tar.gz)".into());
    };
    let mut out = std::io::stdout().lock();
    let started = Instant::now();
    let bundle = read_path(Path::new(&path), &Limits::default())?;
    let read = started.elapsed();
    let snapshot = bundle.into_snapshot();
    let total = started.elapsed();
    let totals = &snapshot.coverage.totals;
    writeln!(
        out,
        "{} files, {} bytes: read {:.3} s, parsed {:.3} s, total {:.3} s ({:.0} MB/s); {} lines, {} unparsed; snapshot {}",
        totals.files,
        totals.bytes,
        read.as_secs_f64(),
        (total - read).as_secs_f64(),
        total.as_secs_f64(),
        totals.bytes as f64 / 1e6 / total.as_secs_f64(),
        totals.lines,
        totals.unparsed_lines,
        snapshot.id,
    )?;
    Ok(())
}

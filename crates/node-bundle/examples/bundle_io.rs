//! Writes the large generated bundle as a `.tar.gz`, or reads a bundle and
//! prints a summary: the peak-memory and wall-time probe for the README.
//!
//! ```text
//! cargo run --release -p node-bundle --example bundle_io -- generate /tmp/large.tar.gz
//! /usr/bin/time -v target/release/examples/bundle_io read /tmp/large.tar.gz
//! ```

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use fixture_gen::bundle::{BundleScale, large_bundle};
use flate2::Compression;
use flate2::write::GzEncoder;
use node_bundle::{Limits, read_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mut out = std::io::stdout().lock();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("generate"), Some(path)) => {
            let file = std::fs::File::create(path)?;
            let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::default()));
            let root = "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9";
            let mut total = 0;
            for (name, content) in large_bundle(7, BundleScale::LARGE) {
                let mut header = tar::Header::new_gnu();
                header.set_size(content.len() as u64);
                header.set_mode(0o644);
                builder.append_data(&mut header, format!("{root}/{name}"), &content[..])?;
                total += content.len();
            }
            builder.into_inner()?.finish()?;
            writeln!(out, "wrote {path}: {total} bytes uncompressed")?;
        }
        (Some("read"), Some(path)) => {
            let started = Instant::now();
            let bundle = read_path(Path::new(path), &Limits::default())?;
            let read = started.elapsed();
            let id = bundle.snapshot_id();
            let hashed = started.elapsed();
            writeln!(
                out,
                "{} files, {} bytes, read in {:.3} s ({:.0} MB/s), snapshot id {id} after {:.3} s",
                bundle.files.len(),
                bundle.total_bytes,
                read.as_secs_f64(),
                bundle.total_bytes as f64 / 1e6 / read.as_secs_f64(),
                hashed.as_secs_f64(),
            )?;
        }
        (Some("inflate"), Some(path)) => {
            // The floor: gzip decompression alone, into a sink.
            let started = Instant::now();
            let file = std::io::BufReader::with_capacity(64 << 10, std::fs::File::open(path)?);
            let inflated = std::io::copy(
                &mut flate2::bufread::MultiGzDecoder::new(file),
                &mut std::io::sink(),
            )?;
            let elapsed = started.elapsed();
            writeln!(
                out,
                "inflated {inflated} bytes in {:.3} s ({:.0} MB/s)",
                elapsed.as_secs_f64(),
                inflated as f64 / 1e6 / elapsed.as_secs_f64()
            )?;
        }
        _ => writeln!(
            out,
            "usage: bundle_io generate OUT.tar.gz | read PATH | inflate PATH.tar.gz"
        )?,
    }
    Ok(())
}

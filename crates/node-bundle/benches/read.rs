//! Benchmarks of reading a large bundle as a `.tar.gz` stream.
//!
//! The input is `fixture_gen::bundle::large_bundle` at the large
//! scale (about 140 MB of text), packed in memory as the collector would
//! (`tar -czf`, gzip level 6). Throughput is reported per uncompressed byte.

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixture_gen::bundle::{BundleScale, large_bundle};
use flate2::Compression;
use flate2::write::GzEncoder;
use node_bundle::{Limits, read_tar_gz};

fn bench_read(c: &mut Criterion) {
    let files = large_bundle(7, BundleScale::LARGE);
    let uncompressed: usize = files.iter().map(|(_, content)| content.len()).sum();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, content) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(
                &mut header,
                format!("eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9/{path}"),
                &content[..],
            )
            .expect("in-memory tar");
    }
    let tar_gz = builder
        .into_inner()
        .and_then(GzEncoder::finish)
        .expect("in-memory gzip");
    let mut group = c.benchmark_group("read_tar_gz");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(uncompressed as u64));
    group.bench_function(
        format!("large_{}MB_gz_{}MB", uncompressed >> 20, tar_gz.len() >> 20),
        |b| {
            b.iter(|| {
                let bundle =
                    read_tar_gz(black_box(&tar_gz[..]), None, &Limits::default()).expect("reads");
                black_box(bundle.total_bytes)
            });
        },
    );
    group.finish();
    let _ = std::io::stderr().flush();
}

criterion_group!(benches, bench_read);
criterion_main!(benches);

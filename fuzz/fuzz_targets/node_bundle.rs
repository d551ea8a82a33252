//! Fuzzes the archive reader: arbitrary bytes as a `.tar.gz` stream and as
//! the decompressed tar itself (re-compressed), with small limits so the
//! fuzzer explores the limit paths too. The reader must never panic, and
//! every path it keeps must be normalised and relative.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use node_bundle::{Limits, read_tar_gz};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 1 << 20,
        max_entries: 64,
        max_file_bytes: 256 << 10,
        max_compression_ratio: 50,
        ratio_grace_bytes: 64 << 10,
    };
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(data);
    let gzipped = encoder.finish().unwrap_or_default();
    for input in [data, &gzipped[..]] {
        if let Ok(bundle) = read_tar_gz(input, None, &limits) {
            for path in bundle.files.keys() {
                assert!(!path.starts_with('/'), "{path}");
                assert!(
                    !path.split('/').any(|s| s.is_empty() || s == "." || s == ".."),
                    "{path}"
                );
            }
            assert!(bundle.total_bytes <= limits.max_total_bytes);
        }
    }
});

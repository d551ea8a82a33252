//! Fuzz target: `node_artifacts::procstat` must not panic on any input.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = node_artifacts::procstat::parse(&text);
});

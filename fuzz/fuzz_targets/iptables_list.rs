//! Fuzz target: `node_artifacts::iptables_list` must not panic on any input,
//! the shared-file entry point must give the same listing, and every rule row
//! kept packed must read back (rows are checked when parsed).

#![no_main]

use libfuzzer_sys::fuzz_target;
use node_artifacts::iptables_list;
use node_artifacts::shared::FileBytes;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = iptables_list::parse(&text);
    assert_eq!(parsed, iptables_list::parse_file(&FileBytes::from(data)));
    if let Ok(parsed) = parsed {
        for chain in &parsed.value.chains {
            for index in 0..chain.rules.len() {
                assert!(chain.rules.get(index).is_some());
            }
        }
    }
});

//! Fuzzes the dmesg parser: any bytes must parse or fail cleanly, the
//! shared-file entry point must give the same log, every packed record must
//! read back, events must be recognised without panics, and the plain
//! rendering must parse.

#![no_main]

use libfuzzer_sys::fuzz_target;
use node_artifacts::dmesg;
use node_artifacts::shared::FileBytes;

fuzz_target!(|data: &[u8]| {
    let parsed = dmesg::parse_bytes(data);
    assert_eq!(parsed, dmesg::parse_file(&FileBytes::from(data)));
    if let Ok(parsed) = parsed {
        let records = &parsed.value.records;
        assert_eq!(records.iter().count(), records.len());
        assert!(records.messages().eq(records.iter().map(|r| r.message)));
        let _ = dmesg::events(&parsed.value);
        let rendered = parsed.value.render_plain();
        let _ = dmesg::parse(&rendered);
    }
});

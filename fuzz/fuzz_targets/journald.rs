//! Fuzzes the journald parser: format detection, every forced format, the
//! JSON-lines log reader, and the export render → parse round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use node_artifacts::journald::{self, JournalFormat, ParseOptions};
use node_artifacts::time::Timestamp;

const FORMATS: [JournalFormat; 12] = [
    JournalFormat::Export,
    JournalFormat::Json,
    JournalFormat::JsonPretty,
    JournalFormat::JsonArray,
    JournalFormat::Short,
    JournalFormat::ShortIso,
    JournalFormat::ShortPrecise,
    JournalFormat::ShortIsoPrecise,
    JournalFormat::ShortUnix,
    JournalFormat::ShortMonotonic,
    JournalFormat::Cat,
    JournalFormat::JsonLog,
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks a forced format (or detection), the rest is input.
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let format = FORMATS.get(usize::from(selector) % 16).copied();
    let options = ParseOptions {
        reference_time: (selector & 0x80 != 0).then_some(Timestamp(1_736_935_200_000_000)),
        format,
    };
    let _ = journald::parse_json_log(input);
    let Ok(parsed) = journald::parse(input, &options) else {
        return;
    };
    // Every unparsed line is reported as a diagnostic.
    assert!(parsed.diagnostics.len() >= parsed.value.unparsed.len());
    // The compact store's views agree with the materialised entries.
    for (view, entry) in parsed.value.views().zip(parsed.value.entries()) {
        assert_eq!(view.severity(), entry.severity());
        assert_eq!(view.text(), entry.text());
        assert_eq!(view.best_time(), entry.best_time());
        assert_eq!(view.lines(), entry.lines);
        assert_eq!(view.identifier(), entry.identifier.as_deref());
        assert_eq!(view.is_klog(), matches!(entry.inner, Some(journald::Inner::Klog(_))));
    }
    // An export stream renders back to itself: the same entries, fields
    // and values (line numbers aside). Other formats may carry field names
    // that export cannot spell (JSON keys are free-form), so only export
    // input is held to this.
    if parsed.value.format != JournalFormat::Export {
        return;
    }
    let rendered = parsed.value.render_export();
    let export = ParseOptions {
        reference_time: None,
        format: Some(JournalFormat::Export),
    };
    let Ok(again) = journald::parse(&rendered, &export) else {
        panic!("forced export parse failed");
    };
    assert!(again.diagnostics.is_empty());
    assert_eq!(without_lines(&again.value), without_lines(&parsed.value));
});

fn without_lines(journal: &journald::Journal) -> Vec<journald::Entry> {
    journal
        .entries()
        .map(|mut entry| {
            entry.lines = journald::LineSpan { first: 0, last: 0 };
            entry
        })
        .collect()
}

//! The journal export format (`journalctl -o export`): parse and render.
//!
//! ```text
//! __CURSOR=s=…;i=ce4d7;b=39d6…;m=275144d4;t=63f042ebb410b;x=2e90…
//! __REALTIME_TIMESTAMP=1758137056706827
//! MESSAGE=[ 1] log entry
//! COREDUMP_PROC_AUXV                 <- a binary field: the name alone,
//! <8-byte little-endian length><bytes>\n   then its length and raw bytes
//!                                    <- an empty line ends the entry
//! ```
//!
//! Parsing works on bytes with `memchr` and allocates only the field names
//! and values it keeps.

use crate::diag::Parsed;
use crate::journald::{Draft, Entry, Field, Journal, JournalFormat, LineSpan, Message, NamedField};
use crate::journald::{Interner, bytes_field, clean_text, is_text, lift, unparsed};

/// Whether the input starts like an export stream: a field name of capital
/// letters, digits and underscores followed by `=` or by a newline.
pub(super) fn looks_like_export(input: &[u8]) -> bool {
    let end = memchr::memchr2(b'=', b'\n', input).unwrap_or(input.len());
    end > 0 && end < input.len() && valid_name(&input[..end])
}

/// Journal field names: capital letters, digits and underscores, not
/// starting with a digit.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && !name[0].is_ascii_digit()
        && name
            .iter()
            .all(|&byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
}

pub(super) fn parse(input: &[u8]) -> Parsed<Draft> {
    let mut journal = Draft::new(JournalFormat::Export);
    let mut diagnostics = Vec::new();
    let mut fields: Vec<NamedField> = Vec::new();
    let mut first_line = 0usize;
    let mut last_line = 0usize;
    let mut position = 0usize;
    let mut line_no = 1usize;
    let mut interner = Interner::default();
    // Entries end with an empty line; counting them first saves the
    // vector's regrowth copies on inputs of hundreds of megabytes.
    journal
        .entries
        .reserve(memchr::memmem::find_iter(input, b"\n\n").count() + 1);

    while position < input.len() {
        let rest = &input[position..];
        if rest[0] == b'\n' {
            flush(
                &mut journal,
                &mut fields,
                first_line,
                last_line,
                &mut interner,
            );
            position += 1;
            line_no += 1;
            continue;
        }
        let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..line_end];
        if let Some(equals) = memchr::memchr(b'=', line) {
            let name = &line[..equals];
            if valid_name(name) {
                if fields.is_empty() {
                    first_line = line_no;
                    interner.begin_entry();
                }
                last_line = line_no;
                let value = &line[equals + 1..];
                fields.push(match clean_text(value) {
                    Some(text) => interner.text_field(name, text),
                    None => NamedField {
                        name: interner.name(name),
                        value: Field::Binary(value.to_vec()),
                    },
                });
            } else {
                unparsed(
                    line_no,
                    line,
                    "not a valid export field name",
                    &mut journal.unparsed,
                    &mut diagnostics,
                );
            }
            position += line_end + 1;
            line_no += 1;
            continue;
        }
        // A binary field: the name on its own line, then a little-endian
        // 64-bit length, the bytes, and a newline.
        if !valid_name(line) {
            unparsed(
                line_no,
                line,
                "not a valid export field name",
                &mut journal.unparsed,
                &mut diagnostics,
            );
            position += line_end + 1;
            line_no += 1;
            continue;
        }
        let data_start = position + line_end + 1 + 8;
        let length = input
            .get(position + line_end + 1..data_start)
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(u64::from_le_bytes)
            .and_then(|length| usize::try_from(length).ok());
        let data_end = length.and_then(|length| data_start.checked_add(length));
        match data_end {
            Some(data_end) if data_end < input.len() && input[data_end] == b'\n' => {
                if fields.is_empty() {
                    first_line = line_no;
                    interner.begin_entry();
                }
                let newlines = memchr::memchr_iter(b'\n', &input[position..data_end]).count();
                last_line = line_no + newlines;
                fields.push(NamedField {
                    name: interner.name(line),
                    value: bytes_field(input[data_start..data_end].to_vec()),
                });
                line_no += newlines + 1;
                position = data_end + 1;
            }
            _ => {
                // The length runs past the input or the value is not
                // followed by a newline: the rest cannot be framed, so keep
                // it line by line.
                let reason = "binary field length runs past the input or lacks its newline";
                for (offset, raw) in super::lines(&input[position..]) {
                    unparsed(
                        line_no + offset - 1,
                        raw,
                        reason,
                        &mut journal.unparsed,
                        &mut diagnostics,
                    );
                }
                position = input.len();
            }
        }
    }
    flush(
        &mut journal,
        &mut fields,
        first_line,
        last_line,
        &mut interner,
    );
    Parsed {
        value: journal,
        diagnostics,
    }
}

fn flush(
    journal: &mut Draft,
    fields: &mut Vec<NamedField>,
    first: usize,
    last: usize,
    interner: &mut Interner,
) {
    if fields.is_empty() {
        return;
    }
    // The next entry has about as many fields as this one.
    let raw = std::mem::replace(fields, Vec::with_capacity(fields.len()));
    journal.entries.push(lift(
        raw,
        LineSpan { first, last },
        interner.repeated(),
        interner,
    ));
}

pub(super) fn render(journal: &Journal) -> Vec<u8> {
    let mut out = Vec::with_capacity(journal.len() * 256);
    for entry in journal.entries() {
        render_entry(&entry, &mut out);
        out.push(b'\n');
    }
    out
}

fn render_entry(entry: &Entry, out: &mut Vec<u8>) {
    if let Some(time) = entry.time {
        write_text(out, "__REALTIME_TIMESTAMP", &time.at.0.to_string());
    }
    if let Some(monotonic) = entry.monotonic_us {
        write_text(out, "__MONOTONIC_TIMESTAMP", &monotonic.to_string());
    }
    if let Some(boot_id) = &entry.boot_id {
        write_text(out, "_BOOT_ID", boot_id);
    }
    if let Some(priority) = entry.priority {
        write_text(out, "PRIORITY", &priority.to_string());
    }
    if let Some(host) = &entry.host {
        write_text(out, "_HOSTNAME", host);
    }
    if let Some(identifier) = &entry.identifier {
        write_text(out, "SYSLOG_IDENTIFIER", identifier);
    }
    if let Some(unit) = &entry.unit {
        write_text(out, "_SYSTEMD_UNIT", unit);
    }
    if let Some(pid) = entry.pid {
        write_text(out, "_PID", &pid.to_string());
    }
    match &entry.message {
        Some(Message::Text(text)) => write_text(out, "MESSAGE", text),
        Some(Message::Binary(bytes)) => write_binary(out, "MESSAGE", bytes),
        None => {}
    }
    for field in &entry.fields {
        write_field(out, &field.name, &field.value);
    }
}

fn write_field(out: &mut Vec<u8>, name: &str, value: &Field) {
    match value {
        Field::Text(text) => write_text(out, name, text),
        Field::Binary(bytes) => write_binary(out, name, bytes),
        Field::Array(values) => {
            for value in values {
                write_field(out, name, value);
            }
        }
        Field::Null => {}
    }
}

fn write_text(out: &mut Vec<u8>, name: &str, text: &str) {
    if text.contains('\n') || !is_text(text.as_bytes()) {
        write_binary(out, name, text.as_bytes());
        return;
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
}

fn write_binary(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

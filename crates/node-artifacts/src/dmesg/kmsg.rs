//! `/dev/kmsg` records, as the kernel writes them (`Documentation/ABI/testing/dev-kmsg`).
//!
//! ```text
//! 6,438,377378,-;acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM]
//!  SUBSYSTEM=acpi
//!  DEVICE=+acpi:PNP0A08:00
//! │ │   │      │└ message, non-printable bytes escaped as \xNN
//! │ │   │      └ flags: '-', 'c' (first fragment), '+' (continued fragment)
//! │ │   └ microseconds since boot
//! │ └ sequence number
//! └ priority: facility * 8 + level
//!
//! record = prio "," seq "," usec "," flags *("," key "=" value) ";" message
//!          *(separator " " dict-key "=" dict-value)
//! separator = "\n" | "\0"
//! ```

use std::borrow::Cow;

use crate::dmesg::model::Caller;
use crate::dmesg::text::decimal_u64;

/// The header of a kmsg record, borrowing the still-escaped message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KmsgHeader<'a> {
    pub(crate) priority: u32,
    pub(crate) seq: u64,
    pub(crate) since_boot_us: u64,
    pub(crate) caller: Option<Caller>,
    pub(crate) message: &'a str,
}

/// Parses `prio,seq,usec,flags[,caller=T1];message`; `None` when the chunk
/// is not a record header.
pub(crate) fn header(chunk: &str) -> Option<KmsgHeader<'_>> {
    let bytes = chunk.as_bytes();
    let (priority, mut pos) = decimal_u64(bytes, 10)?;
    let priority = u32::try_from(priority).ok()?;
    let field = |pos: &mut usize| -> Option<u64> {
        if bytes.get(*pos) != Some(&b',') {
            return None;
        }
        let (value, used) = decimal_u64(&bytes[*pos + 1..], 20)?;
        *pos += 1 + used;
        Some(value)
    };
    let seq = field(&mut pos)?;
    let since_boot_us = field(&mut pos)?;
    if bytes.get(pos) != Some(&b',') {
        return None;
    }
    let semicolon = memchr::memchr(b';', &bytes[pos..])? + pos;
    // The header before ';' never holds a newline; a ';' found past one
    // belongs to another line.
    let header_fields = &chunk[pos + 1..semicolon];
    if header_fields.contains('\n') {
        return None;
    }
    let mut caller = None;
    for item in header_fields.split(',').skip(1) {
        if let Some(id) = item.strip_prefix("caller=") {
            caller = caller_value(id);
        }
    }
    Some(KmsgHeader {
        priority,
        seq,
        since_boot_us,
        caller,
        message: &chunk[semicolon + 1..],
    })
}

fn caller_value(id: &str) -> Option<Caller> {
    let (kind, number) = id.split_at_checked(1)?;
    let number = number.parse().ok()?;
    match kind {
        "T" => Some(Caller::Thread(number)),
        "C" => Some(Caller::Cpu(number)),
        _ => None,
    }
}

/// Decodes `\xNN` escapes (the kernel escapes `\`, control characters and
/// non-ASCII bytes this way). Other backslashes are kept as they are, and
/// bytes that do not form UTF-8 after decoding become U+FFFD.
pub(crate) fn unescape(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos] == b'\\'
            && bytes.get(pos + 1) == Some(&b'x')
            && let (Some(hi), Some(lo)) = (
                bytes.get(pos + 2).and_then(|b| hex_digit(*b)),
                bytes.get(pos + 3).and_then(|b| hex_digit(*b)),
            )
        {
            out.push(hi << 4 | lo);
            pos += 4;
            continue;
        }
        out.push(bytes[pos]);
        pos += 1;
    }
    Cow::Owned(match String::from_utf8(out) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(chunk: &str, expect: Option<(u32, u64, u64, Option<Caller>, &str)>) {
        let got = header(chunk).map(|h| (h.priority, h.seq, h.since_boot_us, h.caller, h.message));
        assert_eq!(got, expect, "chunk {chunk:?}");
    }

    #[test]
    fn headers() {
        check("6,1,2,-;hi", Some((6, 1, 2, None, "hi")));
        check(
            "4,311,209670,c,caller=T14;  #1",
            Some((4, 311, 209670, Some(Caller::Thread(14)), "  #1")),
        );
        check(
            "6,5,7,-,caller=C3,extra=1;x;y",
            Some((6, 5, 7, Some(Caller::Cpu(3)), "x;y")),
        );
        check(
            "12,460,1322026586,-;",
            Some((12, 460, 1322026586, None, "")),
        );
        check("6,1,2;no flags", None);
        check("6,1;short", None);
        check(" SUBSYSTEM=usb", None);
        check("[    1.000000] x", None);
        check("6,1,2,-\n;split", None);
        check("6,99999999999999999999,2,-;overflow", None);
        check(
            "6,18446744073709551615,2,-;max",
            Some((6, u64::MAX, 2, None, "max")),
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"initrd=\x5cucode.img"), r"initrd=\ucode.img");
        assert_eq!(unescape(r"a\x0ab"), "a\nb");
        assert_eq!(unescape(r"no\xZZ escape \"), r"no\xZZ escape \");
        assert_eq!(unescape(r"\xc3\xa9"), "é");
        assert_eq!(unescape(r"\xff"), "\u{fffd}");
    }
}

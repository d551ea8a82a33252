//! Decoding the document's output: base64 text of a gzip stream.
//!
//! The document pipes each command through `gzip -c | base64 -w0`, so that
//! roughly ten times more output fits in the 24,000 characters SSM keeps
//! inline. Decoding is also how truncation is detected: a complete output
//! ends with the gzip trailer (CRC and length); a cut one does not. A cut
//! output still decodes to a useful prefix, which is returned together with
//! the [`Truncation`] that says it is a prefix.
//!
//! ```text
//! stdout  = base64( gzip( command output ) ) [ "\n" ]
//! cut     = SSM kept the first 24,000 characters: decode whole quads, then
//!           inflate until the compressed stream ends
//! ```

use std::io::{self, Read};

use base64::Engine as _;
use serde::Serialize;

use crate::error::{Error, Result};

/// How many characters of standard output SSM returns inline.
pub const INLINE_STDOUT_LIMIT: usize = 24_000;
/// How many characters of standard error SSM returns inline.
pub const INLINE_STDERR_LIMIT: usize = 8_000;

/// Whether the returned bytes are everything the command printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Truncation {
    /// The output is complete (the gzip trailer was read and checked).
    None,
    /// SSM kept only the first `limit_chars` characters inline and no S3
    /// output was available; the bytes are what that prefix decodes to.
    InlineLimit {
        /// SSM's inline limit.
        limit_chars: usize,
        /// How many encoded characters were received.
        received_chars: usize,
    },
    /// The decoded output passed the configured cap; the bytes are its first
    /// `max_bytes` bytes.
    SizeCap {
        /// The cap.
        max_bytes: usize,
    },
    /// The encoded stream ended early although it was not at the inline limit
    /// (an S3 object cut short, or the command killed mid-write).
    StreamEnded,
}

impl Truncation {
    /// `true` unless the output is complete.
    pub fn is_truncated(self) -> bool {
        self != Truncation::None
    }
}

/// Decoded output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) bytes: Vec<u8>,
    /// `true` when the gzip stream ended before its trailer.
    pub(crate) incomplete: bool,
    /// `true` when decoding stopped at `max_bytes`.
    pub(crate) capped: bool,
}

/// Decodes `base64(gzip(x))` into at most `max_bytes` bytes of `x`.
pub(crate) fn decode_output(encoded: &[u8], max_bytes: usize) -> Result<Decoded> {
    let text = encoded.trim_ascii();
    if text.is_empty() {
        return Err(Error::OutputDecode {
            reason: "the command printed nothing (expected gzip + base64)".to_owned(),
        });
    }
    // A cut output may end inside a quad; decode only whole quads.
    let whole_quads = text.len() - text.len() % 4;
    let cut_base64 = whole_quads != text.len();
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(&text[..whole_quads])
        .map_err(|error| Error::OutputDecode {
            reason: format!("not base64: {error}"),
        })?;
    if compressed.len() < 2 || compressed[..2] != [0x1f, 0x8b] {
        return Err(Error::OutputDecode {
            reason: "not a gzip stream".to_owned(),
        });
    }
    let mut decoder = flate2::read::GzDecoder::new(compressed.as_slice());
    let mut bytes = Vec::with_capacity(compressed.len().saturating_mul(4).min(max_bytes));
    let mut chunk = vec![0_u8; 64 * 1024];
    let mut incomplete = cut_base64;
    let mut capped = false;
    loop {
        match decoder.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let room = max_bytes - bytes.len();
                if n > room {
                    bytes.extend_from_slice(&chunk[..room]);
                    capped = true;
                    break;
                }
                bytes.extend_from_slice(&chunk[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                incomplete = true;
                break;
            }
            Err(error) => {
                // A corrupt stream after some good output is reported as an
                // early end, keeping the good prefix; corruption at the start
                // is a decoding error.
                if bytes.is_empty() {
                    return Err(Error::OutputDecode {
                        reason: format!("bad gzip stream: {error}"),
                    });
                }
                incomplete = true;
                break;
            }
        }
    }
    Ok(Decoded {
        bytes,
        incomplete,
        capped,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    pub(crate) fn encode(raw: &[u8]) -> String {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(raw).unwrap();
        base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
    }

    #[track_caller]
    fn check(encoded: &[u8], max_bytes: usize, expect: Result<(&[u8], bool, bool), &str>) {
        let got = decode_output(encoded, max_bytes);
        match (got, expect) {
            (Ok(decoded), Ok((bytes, incomplete, capped))) => {
                assert_eq!(decoded.bytes, bytes);
                assert_eq!((decoded.incomplete, decoded.capped), (incomplete, capped));
            }
            (Err(error), Err(needle)) => {
                let message = error.to_string();
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            (got, expect) => panic!("got {got:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn round_trips() {
        let raw = b"*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
        let encoded = encode(raw);
        check(encoded.as_bytes(), 1 << 20, Ok((raw, false, false)));
        // A trailing newline, as `echo` would add, is tolerated.
        check(format!("{encoded}\n").as_bytes(), 1 << 20, Ok((raw, false, false)));
        // The empty output of a command that printed nothing still has a gzip header.
        check(encode(b"").as_bytes(), 1 << 20, Ok((b"", false, false)));
    }

    #[test]
    fn cut_stream_yields_prefix() {
        // Incompressible-ish text so the cut falls inside the deflate data.
        let raw: Vec<u8> = (0..200_000_u32)
            .flat_map(|i| format!("-A KUBE-SEP-{:08x} -j DNAT\n", i.wrapping_mul(2_654_435_761)).into_bytes())
            .collect();
        let encoded = encode(&raw);
        assert!(encoded.len() > INLINE_STDOUT_LIMIT);
        for cut in [INLINE_STDOUT_LIMIT, INLINE_STDOUT_LIMIT - 1, INLINE_STDOUT_LIMIT - 3] {
            let decoded = decode_output(&encoded.as_bytes()[..cut], usize::MAX).unwrap();
            assert!(decoded.incomplete, "cut at {cut}");
            assert!(!decoded.bytes.is_empty());
            assert!(raw.starts_with(&decoded.bytes), "a prefix of the output");
        }
    }

    #[test]
    fn size_cap_keeps_prefix() {
        let raw = vec![b'x'; 100_000];
        let encoded = encode(&raw);
        check(encoded.as_bytes(), 1000, Ok((&raw[..1000], false, true)));
    }

    #[test]
    fn rejects_non_output() {
        check(b"", 10, Err("printed nothing"));
        check(b"  \n", 10, Err("printed nothing"));
        check(b"iptables-save: command not found", 10, Err("not base64"));
        check(b"aGVsbG8gd29ybGQh", 10, Err("not a gzip stream"));
        // A gzip header followed by garbage.
        let mut bad = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        bad.extend_from_slice(&[0xff; 16]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(bad);
        check(encoded.as_bytes(), 10, Err("bad gzip stream"));
    }
}

//! Caps on what reading one bundle may cost.
//!
//! A bundle is untrusted input: a tarball of a few kilobytes can inflate to
//! terabytes (a run of zeros compresses about 1000:1 per gzip pass), and an
//! archive can hold millions of empty entries. The limits here are checked
//! while reading, before the bytes they guard are kept, so memory stays
//! bounded by [`Limits::max_total_bytes`] plus one read buffer, and a bomb is
//! stopped within the first [`Limits::ratio_grace_bytes`] of inflated data.
//!
//! The defaults fit every real bundle seen (the collector caps
//! `var_log/messages` at 100 MB and a large node's bundle is a few hundred
//! MB) with room to spare; raise them for unusual bundles.

use std::fmt;

use serde::Serialize;

/// Caps on the size and shape of one bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Sum of all file sizes, in bytes (default 2 GiB).
    pub max_total_bytes: u64,
    /// Number of entries, directories and refused entries included
    /// (default 100,000).
    pub max_entries: u64,
    /// Size of one file, in bytes (default 1 GiB).
    pub max_file_bytes: u64,
    /// Inflated bytes per compressed byte, measured on the running totals of
    /// the whole stream (default 200, i.e. 200:1).
    pub max_compression_ratio: u64,
    /// The ratio is checked only once this many bytes have been inflated
    /// (default 8 MiB): small, highly repetitive files (empty logs, runs of
    /// spaces) legitimately compress far beyond any fixed ratio.
    pub ratio_grace_bytes: u64,
}

/// Which limit of [`Limits`] was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// [`Limits::max_total_bytes`].
    TotalBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_file_bytes`].
    FileBytes,
    /// [`Limits::max_compression_ratio`].
    CompressionRatio,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_total_bytes: 2 << 30,
            max_entries: 100_000,
            max_file_bytes: 1 << 30,
            max_compression_ratio: 200,
            ratio_grace_bytes: 8 << 20,
        }
    }
}

impl Limits {
    /// The most inflated tar stream the limits allow: the files themselves
    /// plus, per entry, a 512-byte header and up to 511 bytes of padding,
    /// plus room for long-name and pax extension records. Past this, the
    /// stream is bigger than any bundle within the limits could be.
    pub(crate) fn max_stream_bytes(&self) -> u64 {
        self.max_total_bytes
            .saturating_add(self.max_entries.saturating_mul(1024 + 512))
            .saturating_add(1 << 20)
    }
}

impl Limit {
    /// Renders a value of this limit with its unit (`1073741824 bytes`,
    /// `100000 entries`, `250:1`).
    pub fn render(self, value: u64) -> String {
        match self {
            Self::TotalBytes | Self::FileBytes => format!("{value} bytes"),
            Self::Entries => format!("{value} entries"),
            Self::CompressionRatio => format!("{value}:1"),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TotalBytes => "total size",
            Self::Entries => "entry count",
            Self::FileBytes => "file size",
            Self::CompressionRatio => "compression ratio",
        })
    }
}

//! The coverage report: what became of every file of a bundle.
//!
//! The snapshot assembly fills one [`FileCoverage`] per file it saw (parsed,
//! recognised but not parsed, unknown) and per entry the reader refused, so a
//! person or an agent can tell how much of the evidence was understood and
//! what was left aside, with byte sizes. Nothing here parses; it is the
//! shape of the report plus its totals and a text rendering for snapshots.
//!
//! ```text
//! path                          bytes  kind            status
//! networking/conntrack.txt       8123  conntrack       parsed by conntrack: 60 lines, 1 unparsed
//! system/top.txt                 2210  recognised      recognised, not parsed (top snapshot)
//! notes.txt                        12  unknown         unknown
//! ../etc/passwd                     0  unknown         rejected: path leaves the bundle root
//! ```

use std::fmt;

use serde::Serialize;

use crate::layout::ArtifactKind;

/// What became of every file of one bundle, with totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// One row per file or rejected entry, sorted by path.
    pub files: Vec<FileCoverage>,
    /// Sums over [`files`](Self::files).
    pub totals: CoverageTotals,
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCoverage {
    /// Root-relative path (for a rejected entry, the path as the archive or
    /// directory gave it).
    pub path: String,
    /// Size in bytes (0 for a rejected entry whose content was not read).
    pub bytes: u64,
    /// The kind [`classify`](crate::layout::classify) gave the path.
    pub kind: ArtifactKind,
    /// What the file holds ([`ArtifactKind::description`]), so a reader of
    /// the serialised report needs no table.
    pub description: &'static str,
    /// What happened to it.
    pub status: CoverageStatus,
}

/// The fate of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum CoverageStatus {
    /// A parser read it.
    Parsed {
        /// The parser's name (usually the kind's name, e.g. `conntrack`).
        parser: String,
        /// Lines (or records) in the file.
        lines: u64,
        /// Of those, lines kept as unparsed.
        unparsed_lines: u64,
    },
    /// The parser for its kind refused it as not of that kind at all.
    NotParsed {
        /// The parser that refused it.
        parser: String,
        /// Its reason, in lowercase prose.
        reason: String,
    },
    /// The collector writes it, but no parser reads it yet.
    RecognisedNotParsed,
    /// Not a file the collector is known to write.
    Unknown,
    /// The reader refused the entry (unsafe path, link, device file, …).
    Rejected {
        /// Why, in lowercase prose.
        reason: String,
    },
}

/// Counts and byte sums per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoverageTotals {
    /// All rows.
    pub files: u64,
    /// Bytes of all rows.
    pub bytes: u64,
    /// Rows a parser read.
    pub parsed_files: u64,
    /// Bytes a parser read.
    pub parsed_bytes: u64,
    /// Lines of parsed files.
    pub lines: u64,
    /// Unparsed lines of parsed files.
    pub unparsed_lines: u64,
    /// Rows whose parser refused them.
    pub not_parsed_files: u64,
    /// Bytes of rows whose parser refused them.
    pub not_parsed_bytes: u64,
    /// Rows recognised but not parsed.
    pub recognised_files: u64,
    /// Bytes recognised but not parsed.
    pub recognised_bytes: u64,
    /// Unknown rows.
    pub unknown_files: u64,
    /// Bytes of unknown rows.
    pub unknown_bytes: u64,
    /// Rejected entries.
    pub rejected_files: u64,
}

impl FileCoverage {
    /// A row for `path`, with its kind and description from
    /// [`classify`](crate::layout::classify).
    pub fn new(path: impl Into<String>, bytes: u64, status: CoverageStatus) -> Self {
        let path = path.into();
        let kind = crate::layout::classify(&path);
        Self {
            description: kind.description(),
            path,
            bytes,
            kind,
            status,
        }
    }
}

impl Coverage {
    /// Builds a report from rows in any order: sorts them by path and
    /// computes the totals.
    pub fn from_files(files: impl IntoIterator<Item = FileCoverage>) -> Self {
        let mut files: Vec<FileCoverage> = files.into_iter().collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let totals = CoverageTotals::of(&files);
        Self { files, totals }
    }

    /// The row of `path`, if any.
    pub fn file(&self, path: &str) -> Option<&FileCoverage> {
        self.files.iter().find(|row| row.path == path)
    }
}

impl CoverageTotals {
    /// Sums `files`.
    pub fn of(files: &[FileCoverage]) -> Self {
        let mut totals = Self::default();
        for row in files {
            totals.files += 1;
            totals.bytes += row.bytes;
            match &row.status {
                CoverageStatus::Parsed {
                    lines,
                    unparsed_lines,
                    ..
                } => {
                    totals.parsed_files += 1;
                    totals.parsed_bytes += row.bytes;
                    totals.lines += lines;
                    totals.unparsed_lines += unparsed_lines;
                }
                CoverageStatus::NotParsed { .. } => {
                    totals.not_parsed_files += 1;
                    totals.not_parsed_bytes += row.bytes;
                }
                CoverageStatus::RecognisedNotParsed => {
                    totals.recognised_files += 1;
                    totals.recognised_bytes += row.bytes;
                }
                CoverageStatus::Unknown => {
                    totals.unknown_files += 1;
                    totals.unknown_bytes += row.bytes;
                }
                CoverageStatus::Rejected { .. } => totals.rejected_files += 1,
            }
        }
        totals
    }
}

impl fmt::Display for CoverageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parsed {
                parser,
                lines,
                unparsed_lines,
            } => write!(
                f,
                "parsed by {parser}: {lines} lines, {unparsed_lines} unparsed"
            ),
            Self::NotParsed { parser, reason } => write!(f, "refused by {parser}: {reason}"),
            Self::RecognisedNotParsed => f.write_str("recognised, not parsed"),
            Self::Unknown => f.write_str("unknown"),
            Self::Rejected { reason } => write!(f, "rejected: {reason}"),
        }
    }
}

impl fmt::Display for Coverage {
    /// One aligned row per file, then the totals: the form snapshot tests
    /// and people read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path_width = self
            .files
            .iter()
            .map(|r| r.path.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let kind_width = self
            .files
            .iter()
            .map(|r| r.kind.name().len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:path_width$}  {:>10}  {:kind_width$}  status",
            "path", "bytes", "kind"
        )?;
        for row in &self.files {
            write!(
                f,
                "{:path_width$}  {:>10}  {:kind_width$}  {}",
                row.path,
                row.bytes,
                row.kind.name(),
                row.status
            )?;
            if let (CoverageStatus::RecognisedNotParsed, ArtifactKind::Recognised { .. }) =
                (&row.status, &row.kind)
            {
                write!(f, " ({})", row.description)?;
            }
            writeln!(f)?;
        }
        let t = &self.totals;
        writeln!(f, "total: {} files, {} bytes", t.files, t.bytes)?;
        writeln!(
            f,
            "parsed: {} files, {} bytes, {} lines, {} unparsed",
            t.parsed_files, t.parsed_bytes, t.lines, t.unparsed_lines
        )?;
        if t.not_parsed_files > 0 {
            writeln!(
                f,
                "refused by their parser: {} files, {} bytes",
                t.not_parsed_files, t.not_parsed_bytes
            )?;
        }
        writeln!(
            f,
            "recognised, not parsed: {} files, {} bytes",
            t.recognised_files, t.recognised_bytes
        )?;
        writeln!(
            f,
            "unknown: {} files, {} bytes",
            t.unknown_files, t.unknown_bytes
        )?;
        write!(f, "rejected: {} entries", t.rejected_files)
    }
}

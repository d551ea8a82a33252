//! Filesystem state: `storage/mounts.txt` (`mount`, an empty line, then
//! `df --human-readable`) and `storage/inodes.txt` (`df --inodes`).
//!
//! # Samples
//!
//! ```text
//! /dev/nvme0n1p1 on / type xfs (rw,noatime,seclabel,attr2,inode64,noquota)   <- `mount` line
//! overlay on /run/containerd/io.containerd.runtime.v2.task/k8s.io/3f…/rootfs type overlay (rw,relatime,lowerdir=…)
//! /dev/nvme1n1 /mnt/data ext4 ro,relatime 0 0                                <- /proc/mounts form, also accepted
//!
//! Filesystem      Size  Used Avail Use% Mounted on                           <- df header: defines the columns
//! /dev/nvme0n1p1   80G  4.2G   76G   6% /
//! Filesystem       Inodes IUsed    IFree IUse% Mounted on                    <- df --inodes
//! /dev/nvme0n1p1 41942512 93620 41848892    1% /
//! vfat                  0     0        0     - /boot/efi                     <- `-` when not applicable
//! ```
//!
//! # Grammar
//!
//! ```text
//! mount-line = device " on " mount-point " type " fstype " (" options ")"
//!            | device ws mount-point ws fstype ws options ws dump ws pass
//! df-table   = header { row }
//! header     = "Filesystem" { column } "Mounted on"
//! row        = filesystem { value } mount-point          (* mount point may hold spaces *)
//! value      = number [ unit ] | "-"
//! ```
//!
//! A filesystem name too long for its column makes old `df` versions wrap
//! the row onto the next line; such a row is joined back.

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::line_util::{fields, keep_unparsed, parse_u64};

/// Parses `mounts.txt`: mount lines, then (after the first `Filesystem`
/// header) a df table. Any text is accepted.
pub fn parse_mounts(input: &str) -> Parsed<MountsFile> {
    let mut out = MountsFile::default();
    let mut diagnostics = Vec::new();
    let mut df: Option<DfBuilder> = None;
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        if raw.starts_with("Filesystem") {
            match DfBuilder::from_header(raw) {
                Some(b) => df = Some(b),
                None => out.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "unknown df header",
                )),
            }
            continue;
        }
        if let Some(builder) = df.as_mut() {
            builder.line(&mut out.usage, &mut diagnostics, line_no, raw);
            continue;
        }
        match mount_line(line_no, raw) {
            Ok(m) => out.mounts.push(m),
            Err(reason) => out
                .unparsed
                .push(keep_unparsed(&mut diagnostics, line_no, raw, reason)),
        }
    }
    if let Some(builder) = df {
        builder.finish(&mut out.usage, &mut diagnostics);
    }
    Parsed {
        value: out,
        diagnostics,
    }
}

/// Parses a `df` table (`df --inodes`, `df -h`, `df -k`). Any text is
/// accepted.
pub fn parse_df(input: &str) -> Parsed<DfTable> {
    let mut table = DfTable::default();
    let mut diagnostics = Vec::new();
    let mut df: Option<DfBuilder> = None;
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        if raw.starts_with("Filesystem")
            && let Some(b) = DfBuilder::from_header(raw)
        {
            if let Some(old) = df.replace(b) {
                old.finish(&mut table, &mut diagnostics);
            }
            continue;
        }
        match df.as_mut() {
            Some(builder) => builder.line(&mut table, &mut diagnostics, line_no, raw),
            None => table.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "line before the `Filesystem` header",
            )),
        }
    }
    if let Some(builder) = df {
        builder.finish(&mut table, &mut diagnostics);
    }
    Parsed {
        value: table,
        diagnostics,
    }
}

/// `mounts.txt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MountsFile {
    /// Mount lines in order.
    pub mounts: Vec<Mount>,
    /// The `df -h` table that follows.
    pub usage: DfTable,
    /// Lines not understood.
    pub unparsed: Vec<Unparsed>,
}

impl MountsFile {
    /// Mounts with the `ro` option, excluding pseudo filesystems that are
    /// read-only by design (sysfs, proc, cgroup, squashfs, iso9660, …).
    pub fn unexpected_read_only(&self) -> impl Iterator<Item = &Mount> {
        const RO_BY_DESIGN: &[&str] = &[
            "sysfs",
            "proc",
            "cgroup",
            "cgroup2",
            "squashfs",
            "iso9660",
            "tmpfs",
            "bpf",
            "securityfs",
            "pstore",
            "efivarfs",
            "debugfs",
            "tracefs",
            "nsfs",
            "autofs",
        ];
        self.mounts
            .iter()
            .filter(|m| m.read_only && !RO_BY_DESIGN.contains(&m.fs_type.as_str()))
    }
}

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// 1-based input line.
    pub line: usize,
    /// Source device (`/dev/nvme0n1p1`, `overlay`, `tmpfs`).
    pub device: String,
    /// Mount point.
    pub mount_point: String,
    /// Filesystem type.
    pub fs_type: String,
    /// Options in order.
    pub options: Vec<String>,
    /// Whether `ro` is among the options.
    pub read_only: bool,
}

/// A `df` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DfTable {
    /// Column names between `Filesystem` and `Mounted on`.
    pub columns: Vec<String>,
    /// Rows in order.
    pub rows: Vec<DfRow>,
    /// Lines not understood.
    pub unparsed: Vec<Unparsed>,
}

impl DfTable {
    /// The row mounted on `path`.
    pub fn by_mount(&self, path: &str) -> Option<&DfRow> {
        self.rows.iter().find(|r| r.mounted_on == path)
    }

    /// Rows whose use percentage is at least `percent`.
    pub fn at_least(&self, percent: u8) -> impl Iterator<Item = &DfRow> {
        self.rows
            .iter()
            .filter(move |r| r.use_percent.is_some_and(|p| p >= percent))
    }
}

/// One `df` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DfRow {
    /// 1-based input line (of the filesystem name when wrapped).
    pub line: usize,
    /// Filesystem.
    pub filesystem: String,
    /// Total (`Size`, `1K-blocks` or `Inodes`) as printed.
    pub total: String,
    /// Used as printed.
    pub used: String,
    /// Available / free as printed.
    pub available: String,
    /// Totals as numbers: inodes or 1K blocks exactly, `-h` sizes in bytes
    /// (rounded as printed); `None` for `-`.
    pub total_n: Option<u64>,
    /// Used as a number.
    pub used_n: Option<u64>,
    /// Available as a number.
    pub available_n: Option<u64>,
    /// `Use%`/`IUse%`; `None` for `-`.
    pub use_percent: Option<u8>,
    /// Mount point.
    pub mounted_on: String,
}

struct DfBuilder {
    columns: Vec<String>,
    pending: Option<(usize, String)>,
    started: bool,
}

impl DfBuilder {
    fn from_header(raw: &str) -> Option<Self> {
        let body = raw.strip_prefix("Filesystem")?.trim_end();
        let body = body.strip_suffix("Mounted on")?;
        let columns: Vec<String> = fields(body).map(str::to_owned).collect();
        (columns.len() == 4).then_some(Self {
            columns,
            pending: None,
            started: false,
        })
    }

    fn line(
        &mut self,
        table: &mut DfTable,
        diagnostics: &mut Vec<crate::diag::Diagnostic>,
        line_no: usize,
        raw: &str,
    ) {
        if !self.started {
            table.columns = self.columns.clone();
            self.started = true;
        }
        let mut words: Vec<&str> = fields(raw).collect();
        let (line, joined);
        if words.len() == 1 && !raw.starts_with([' ', '\t']) {
            // A wrapped long filesystem name; the values follow on the next line.
            if let Some((l, p)) = self.pending.take() {
                table
                    .unparsed
                    .push(keep_unparsed(diagnostics, l, &p, "df row without values"));
            }
            self.pending = Some((line_no, raw.to_owned()));
            return;
        }
        if let Some((l, name)) = self.pending.take() {
            joined = format!("{name} {}", raw.trim_start());
            words = fields(&joined).collect();
            line = l;
        } else {
            line = line_no;
        }
        if words.len() < 6 {
            table.unparsed.push(keep_unparsed(
                diagnostics,
                line_no,
                raw,
                format!("df row has {} columns, expected at least 6", words.len()),
            ));
            return;
        }
        let pct = words[4];
        let use_percent = match pct {
            "-" => None,
            p => match p.strip_suffix('%').and_then(|n| n.parse::<u8>().ok()) {
                Some(n) => Some(n),
                None => {
                    table.unparsed.push(keep_unparsed(
                        diagnostics,
                        line_no,
                        raw,
                        format!("use percentage `{pct}` is not `N%` or `-`"),
                    ));
                    return;
                }
            },
        };
        let human = self.columns.first().is_some_and(|c| c == "Size");
        let number = |s: &str| if human { human_size(s) } else { parse_u64(s) };
        table.rows.push(DfRow {
            line,
            filesystem: words[0].to_owned(),
            total: words[1].to_owned(),
            used: words[2].to_owned(),
            available: words[3].to_owned(),
            total_n: number(words[1]),
            used_n: number(words[2]),
            available_n: number(words[3]),
            use_percent,
            mounted_on: words[5..].join(" "),
        });
    }

    fn finish(self, table: &mut DfTable, diagnostics: &mut Vec<crate::diag::Diagnostic>) {
        if let Some((l, p)) = self.pending {
            table
                .unparsed
                .push(keep_unparsed(diagnostics, l, &p, "df row without values"));
        }
    }
}

/// `4.2G` → bytes (powers of 1024, as `df -h` prints).
fn human_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        b'T' => (&s[..s.len() - 1], 1 << 40),
        b'P' => (&s[..s.len() - 1], 1 << 50),
        b'E' => (&s[..s.len() - 1], 1 << 60),
        _ => (s, 1),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let int = parse_u64(int)?;
    let frac_digit = if frac.is_empty() {
        0
    } else {
        u64::from(frac.as_bytes()[0].checked_sub(b'0').filter(|d| *d < 10)?)
    };
    if frac.len() > 1 {
        return None;
    }
    int.checked_mul(mult)?.checked_add(mult / 10 * frac_digit)
}

fn mount_line(line: usize, raw: &str) -> Result<Mount, String> {
    let (device, mount_point, fs_type, options) = if let Some(type_at) = raw.rfind(" type ") {
        let head = &raw[..type_at];
        let tail = &raw[type_at + 6..];
        let (device, mount_point) = head
            .split_once(" on ")
            .ok_or("`mount` line without ` on `")?;
        let (fs_type, opts) = tail
            .split_once(" (")
            .ok_or("`mount` line without `(options)`")?;
        let opts = opts
            .strip_suffix(')')
            .ok_or("`mount` options not closed by `)`")?;
        (
            device.to_owned(),
            mount_point.to_owned(),
            fs_type.to_owned(),
            opts,
        )
    } else {
        let words: Vec<&str> = fields(raw).collect();
        if words.len() != 6 {
            return Err("neither a `mount` line nor a /proc/mounts line".to_owned());
        }
        (
            unescape_octal(words[0]),
            unescape_octal(words[1]),
            words[2].to_owned(),
            words[3],
        )
    };
    let options: Vec<String> = options.split(',').map(str::to_owned).collect();
    Ok(Mount {
        line,
        read_only: options.iter().any(|o| o == "ro"),
        device,
        mount_point,
        fs_type,
        options,
    })
}

/// Undoes the `\040`-style escapes of /proc/mounts.
fn unescape_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // `\ooo` with a value that fits a byte (`\777` does not, and is kept
        // as written).
        let escaped = (bytes[i] == b'\\')
            .then(|| bytes.get(i + 1..i + 4))
            .flatten()
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match escaped {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        let got = match mount_line(1, input) {
            Ok(m) => format!(
                "{} | {} | {} | {:?} | ro={}",
                m.device, m.mount_point, m.fs_type, m.options, m.read_only
            ),
            Err(e) => format!("ERR {e}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn mount_lines() {
        check(
            "/dev/nvme0n1p1 on / type xfs (rw,noatime)",
            "/dev/nvme0n1p1 | / | xfs | [\"rw\", \"noatime\"] | ro=false",
        );
        check(
            "/dev/x on /my dir type ext4 (ro,relatime)",
            "/dev/x | /my dir | ext4 | [\"ro\", \"relatime\"] | ro=true",
        );
        check(
            "/dev/x /my\\040dir ext4 ro 0 0",
            "/dev/x | /my dir | ext4 | [\"ro\"] | ro=true",
        );
        check(
            r"/dev/x /a\777b\04 ext4 rw 0 0",
            r#"/dev/x | /a\777b\04 | ext4 | ["rw"] | ro=false"#,
        );
        check(
            "nonsense",
            "ERR neither a `mount` line nor a /proc/mounts line",
        );
        check("a on b type c rw", "ERR `mount` line without `(options)`");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size("4.2G"), Some(4 * (1 << 30) + (1 << 30) / 10 * 2));
        assert_eq!(human_size("0"), Some(0));
        assert_eq!(human_size("76G"), Some(76 << 30));
        assert_eq!(human_size("x"), None);
        assert_eq!(human_size("1.25G"), None);
    }

    #[test]
    fn df_wrapped_and_dash() {
        let p = parse_df(
            "Filesystem       Inodes IUsed    IFree IUse% Mounted on\n/dev/mapper/very-long-name\n               41942512 93620 41848892    1% /data dir\nvfat 0 0 0 - /boot/efi\nbad row\n",
        );
        assert_eq!(p.value.rows.len(), 2);
        assert_eq!(p.value.rows[0].mounted_on, "/data dir");
        assert_eq!(p.value.rows[0].line, 2);
        assert_eq!(p.value.rows[1].use_percent, None);
        assert_eq!(p.diagnostics.len(), 1);
    }
}

//! Process listings: `system/ps.txt` (`ps fauxwww --headers`) and other
//! `ps` outputs whose first line is a column header (`ps aux`, `ps -ef`,
//! `ps -eo pid,ppid,user,rss,args`).
//!
//! # Sample
//!
//! ```text
//! USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND      <- header: defines the columns
//! root           2  0.0  0.0      0     0 ?        S    10:00   0:00 [kthreadd]   <- kernel thread
//! root        3012  2.1  1.5 1932340 123456 ?      Ssl  10:00   1:23 /usr/bin/kubelet --config /etc/kubernetes/kubelet/config.json
//! root        4100  0.0  0.1 1238000 11000 ?       Sl   10:01   0:02 /usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id 3f…
//! 65535       4130  0.0  0.0    972     4 ?        Ss   10:01   0:00  \_ /pause   <- forest prefix (`ps f`)
//! root        4600  0.3  0.6 760000 50000 ?        Ssl  10:01   0:09  |   \_ ./aws-k8s-agent
//! ```
//!
//! # Grammar
//!
//! ```text
//! file    = header { row }
//! header  = column { ws column }                  (* must contain PID *)
//! row     = value { ws value } [ ws command ]     (* one value per column but the last *)
//! command = [ forest ] text                       (* rest of the line, spaces kept *)
//! forest  = { " " | "|" } "\_ "                   (* depth = number of "\_" and "|" marks *)
//! ```
//!
//! The last column takes the rest of the line when it is a command column
//! (`COMMAND`, `CMD`, `ARGS`), so commands keep their spaces.
//!
//! `--headers` (which the collector passes) makes ps repeat the header once
//! per page, every 24 lines when the output is not a terminal; repeated
//! headers are recognised and their line numbers kept.

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::line_util::{fields, keep_unparsed, parse_u64};

/// Why an input is not a ps listing at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The first non-blank line is not a header with a `PID` column.
    #[error("not a ps listing: {reason}")]
    NotPs {
        /// What was wrong.
        reason: &'static str,
    },
}

/// Parses a ps listing.
///
/// # Errors
///
/// [`Error::NotPs`] when the first non-blank line is not a header with a
/// `PID` column.
pub fn parse(input: &str) -> Result<Parsed<ProcessList>, Error> {
    let mut lines = numbered_lines(input).filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Parsed::clean(ProcessList::default()));
    };
    let columns: Vec<String> = fields(header).map(str::to_owned).collect();
    let Some(pid_col) = columns.iter().position(|c| c == "PID") else {
        return Err(Error::NotPs {
            reason: "no `PID` column in the first line",
        });
    };
    let col = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
    let last_is_command = columns
        .last()
        .is_some_and(|c| matches!(c.as_str(), "COMMAND" | "CMD" | "ARGS" | "COMM"));
    let index = ColumnIndex {
        pid: pid_col,
        ppid: col(&["PPID"]),
        user: col(&["USER", "UID", "RUSER", "EUSER"]),
        cpu: col(&["%CPU", "C"]),
        mem: col(&["%MEM"]),
        vsz: col(&["VSZ", "VSS"]),
        rss: col(&["RSS", "RSZ"]),
        tty: col(&["TTY", "TT"]),
        stat: col(&["STAT", "S"]),
        start: col(&["START", "STIME", "STARTED"]),
        time: col(&["TIME"]),
    };
    let mut list = ProcessList {
        columns: columns.clone(),
        processes: Vec::new(),
        repeated_headers: Vec::new(),
        unparsed: Vec::new(),
    };
    let mut diagnostics = Vec::new();
    let n_fixed = if last_is_command {
        columns.len() - 1
    } else {
        columns.len()
    };
    for (line_no, raw) in lines {
        // `--headers` repeats the header once per "page" (24 lines when
        // the output is not a terminal); the repeats carry no data.
        if fields(raw).eq(columns.iter().map(String::as_str)) {
            list.repeated_headers.push(line_no);
            continue;
        }
        match row(line_no, raw, n_fixed, last_is_command, &index) {
            Ok(p) => list.processes.push(p),
            Err(reason) => {
                list.unparsed
                    .push(keep_unparsed(&mut diagnostics, line_no, raw, reason))
            }
        }
    }
    Ok(Parsed {
        value: list,
        diagnostics,
    })
}

/// A ps listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcessList {
    /// Header columns.
    pub columns: Vec<String>,
    /// Processes in output order.
    pub processes: Vec<Process>,
    /// Lines where `--headers` repeated the header.
    pub repeated_headers: Vec<usize>,
    /// Rows not understood.
    pub unparsed: Vec<Unparsed>,
}

impl ProcessList {
    /// Processes whose executable name (basename of the first command word,
    /// or the name of a `[kernel thread]`) is `name`.
    pub fn by_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Process> {
        self.processes
            .iter()
            .filter(move |p| p.executable() == name)
    }

    /// The process with `pid`.
    pub fn by_pid(&self, pid: u32) -> Option<&Process> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// One process row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// 1-based input line.
    pub line: usize,
    /// Process id.
    pub pid: u32,
    /// Parent process id, when the listing has `PPID`.
    pub ppid: Option<u32>,
    /// User name or id.
    pub user: Option<String>,
    /// `%CPU` in tenths of a percent (`2.1` → 21).
    pub cpu_tenths: Option<u32>,
    /// `%MEM` in tenths of a percent.
    pub mem_tenths: Option<u32>,
    /// Virtual size in KiB.
    pub vsz_kib: Option<u64>,
    /// Resident set size in KiB.
    pub rss_kib: Option<u64>,
    /// Terminal (`?` for none).
    pub tty: Option<String>,
    /// Process state code (`Ssl`, `Z`, `D`, …).
    pub stat: Option<String>,
    /// Start time as printed.
    pub start: Option<String>,
    /// Cumulative CPU time as printed.
    pub time: Option<String>,
    /// Command line without the forest prefix.
    pub command: String,
    /// Depth in the `ps f` forest (0 for a root).
    pub depth: u32,
    /// Every column value as printed, in header order (the command last).
    pub values: Vec<String>,
}

impl Process {
    /// The executable name: basename of the first command word, or the name
    /// inside `[...]` for kernel threads.
    pub fn executable(&self) -> &str {
        let cmd = self.command.as_str();
        if let Some(inner) = cmd.strip_prefix('[') {
            return inner.split(']').next().unwrap_or(inner);
        }
        let first = cmd.split(' ').next().unwrap_or(cmd);
        let base = first.rsplit('/').next().unwrap_or(first);
        base.strip_suffix(':').unwrap_or(base)
    }

    /// Whether the state says zombie (`Z`).
    pub fn is_zombie(&self) -> bool {
        self.stat.as_deref().is_some_and(|s| s.starts_with('Z'))
    }

    /// Whether the state says uninterruptible sleep (`D`).
    pub fn is_uninterruptible(&self) -> bool {
        self.stat.as_deref().is_some_and(|s| s.starts_with('D'))
    }
}

struct ColumnIndex {
    pid: usize,
    ppid: Option<usize>,
    user: Option<usize>,
    cpu: Option<usize>,
    mem: Option<usize>,
    vsz: Option<usize>,
    rss: Option<usize>,
    tty: Option<usize>,
    stat: Option<usize>,
    start: Option<usize>,
    time: Option<usize>,
}

fn row(
    line: usize,
    raw: &str,
    n_fixed: usize,
    last_is_command: bool,
    index: &ColumnIndex,
) -> Result<Process, String> {
    // Walk the fixed columns by hand so the command keeps its spacing.
    let bytes = raw.as_bytes();
    let mut values: Vec<String> = Vec::with_capacity(n_fixed + 1);
    let mut i = 0;
    for _ in 0..n_fixed {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "row has {} values, header has {n_fixed} before the command",
                values.len()
            ));
        }
        values.push(raw[start..i].to_owned());
    }
    let (command, depth) = if last_is_command {
        let rest = raw[i..].trim_start_matches([' ', '\t']);
        let (command, depth) = strip_forest(rest);
        values.push(rest.trim_end().to_owned());
        (command.trim_end().to_owned(), depth)
    } else {
        if !raw[i..].trim().is_empty() {
            return Err("more values than header columns".to_owned());
        }
        (String::new(), 0)
    };
    let get = |c: Option<usize>| c.and_then(|c| values.get(c)).cloned();
    let pid_text = &values[index.pid];
    let pid = pid_text
        .parse()
        .map_err(|_| format!("PID `{pid_text}` is not a number"))?;
    let number = |c: Option<usize>, what: &str| -> Result<Option<u64>, String> {
        match c.and_then(|c| values.get(c)) {
            None => Ok(None),
            Some(v) if v == "-" => Ok(None),
            Some(v) => parse_u64(v)
                .map(Some)
                .ok_or_else(|| format!("{what} `{v}` is not a number")),
        }
    };
    let tenths = |c: Option<usize>, what: &str| -> Result<Option<u32>, String> {
        match c.and_then(|c| values.get(c)) {
            None => Ok(None),
            Some(v) => tenths(v)
                .map(Some)
                .ok_or_else(|| format!("{what} `{v}` is not a percentage")),
        }
    };
    let ppid = number(index.ppid, "PPID")?
        .map(|p| u32::try_from(p).map_err(|_| "PPID out of range".to_owned()))
        .transpose()?;
    Ok(Process {
        line,
        pid,
        ppid,
        user: get(index.user),
        cpu_tenths: tenths(index.cpu, "%CPU")?,
        mem_tenths: tenths(index.mem, "%MEM")?,
        vsz_kib: number(index.vsz, "VSZ")?,
        rss_kib: number(index.rss, "RSS")?,
        tty: get(index.tty),
        stat: get(index.stat),
        start: get(index.start),
        time: get(index.time),
        command,
        depth,
        values,
    })
}

/// `2.1` → 21; `0` → 0 (the `C` column of `ps -ef` is an integer).
fn tenths(v: &str) -> Option<u32> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let int: u32 = int.parse().ok()?;
    let frac: u32 = match frac.len() {
        0 => 0,
        1 => frac.parse().ok()?,
        _ => frac[..1].parse().ok()?,
    };
    int.checked_mul(10)?.checked_add(frac)
}

/// Strips a `ps f` forest prefix (`" \_ "`, `" |   \_ "`) and returns the
/// command and its depth.
fn strip_forest(s: &str) -> (&str, u32) {
    let Some(at) = s.find("\\_ ") else {
        return (s, 0);
    };
    let prefix = &s[..at];
    if !prefix.bytes().all(|b| b == b' ' || b == b'|') {
        return (s, 0);
    }
    let depth = 1 + prefix.bytes().filter(|&b| b == b'|').count() as u32;
    (&s[at + 3..], depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: (&str, u32)) {
        assert_eq!(strip_forest(input), expect);
    }

    #[test]
    fn forest() {
        check("/usr/bin/kubelet --x", ("/usr/bin/kubelet --x", 0));
        check("\\_ /pause", ("/pause", 1));
        check("|   \\_ ./aws-k8s-agent", ("./aws-k8s-agent", 2));
        check("sh -c a\\_ b", ("sh -c a\\_ b", 0));
    }

    #[test]
    fn rows() {
        let p = parse(
            "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n\
             root           2  0.0  0.0      0     0 ?        S    10:00   0:00 [kthreadd]\n\
             root        3012  2.1  1.5 1932340 123456 ?      Ssl  10:00   1:23 /usr/bin/kubelet --config  x\n\
             65535       4130  0.0  0.0    972     4 ?        Ss   10:01   0:00  \\_ /pause\n\
             root        x  0.0\n",
        )
        .unwrap();
        let v = &p.value;
        assert_eq!(v.by_name("kubelet").next().unwrap().cpu_tenths, Some(21));
        assert_eq!(
            v.by_name("kubelet").next().unwrap().command,
            "/usr/bin/kubelet --config  x"
        );
        assert_eq!(v.by_name("kthreadd").count(), 1);
        assert_eq!(v.by_name("pause").next().unwrap().depth, 1);
        assert_eq!(p.diagnostics.len(), 1);
        assert!(parse("hello world\n").is_err());
        assert_eq!(tenths("12.34"), Some(123));
    }
}

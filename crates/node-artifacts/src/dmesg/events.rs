//! Typed kernel events: the messages that explain node failures, recognised
//! in the records of a [`KernelLog`] and pointing back to them.
//!
//! Recognition works on message lines (a multi-line record contributes each
//! of its lines). A report that spans many lines (a hung task, a lockup, a
//! BUG/Oops/panic with registers and its call trace, an OOM killer dump)
//! becomes one event whose [`RecordRange`] covers all its records, and whose
//! [`CallTrace`] lists the frames.
//!
//! Sample lines, as EKS nodes (AL2, AL2023; x86_64 and arm64) print them:
//!
//! ```text
//! oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-4c2….scope,mems_allowed=0,oom_memcg=/kubepods.slice/…,task_memcg=/kubepods.slice/…/cri-containerd-4c2….scope,task=java,pid=48213,uid=1000
//! Memory cgroup out of memory: Killed process 48213 (java) total-vm:5427012kB, anon-rss:1046412kB, file-rss:17332kB, shmem-rss:0kB, UID:1000 pgtables:2516kB oom_score_adj:983
//! java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=983
//! INFO: task kworker/u8:2:1234 blocked for more than 122 seconds.
//! watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]
//! NMI watchdog: Watchdog detected hard LOCKUP on cpu 2
//! BUG: kernel NULL pointer dereference, address: 0000000000000000
//! python3[12345]: segfault at 0 ip 00007f7d2c0f1e2a sp 00007ffd4c4f9a08 error 4 in libc.so.6[7f7d2c000000+195000]
//! nf_conntrack: nf_conntrack: table full, dropping packet
//! neighbour: arp_cache: neighbor table overflow!
//! TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.
//! IPv4: martian source 10.0.1.5 from 169.254.1.1, on dev eth0
//! ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 2, index 873. …
//! XFS (nvme1n1): metadata I/O error in "xfs_buf_ioend+0x1a0/0x3f0 [xfs]" at daddr 0x1c0 len 32 error 5
//! EXT4-fs error (device nvme1n1p1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0
//! EXT4-fs (nvme1n1p1): Remounting filesystem read-only
//! blk_update_request: I/O error, dev nvme1n1, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0
//! Buffer I/O error on dev nvme1n1p1, logical block 1234, lost async page write
//! unregister_netdevice: waiting for eth0 to become free. Usage count = 2
//! {1}[Hardware Error]: event severity: fatal
//! EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x1a2b offset:0x0 grain:32 syndrome:0x0)
//! ```

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde::Serialize;

use crate::dmesg::model::{KernelLog, Level};

/// A recognised kernel event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelEvent {
    /// The records (indices into [`KernelLog::records`]) the event spans.
    pub records: RecordRange,
    /// What happened, with its fields.
    #[serde(flatten)]
    pub kind: KernelEventKind,
}

/// A range of record indices, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecordRange {
    /// First record index.
    pub first: usize,
    /// Last record index.
    pub last: usize,
}

/// What a kernel event says. Serialized with a kebab-case `kind` tag
/// (`oom-kill`, `hung-task`, …) next to the variant's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KernelEventKind {
    /// The OOM killer killed a process.
    OomKill {
        /// Process name (`comm`).
        process: String,
        /// Process id.
        pid: u32,
        /// Virtual memory size, kB.
        total_vm_kb: Option<u64>,
        /// Resident anonymous memory, kB.
        anon_rss_kb: Option<u64>,
        /// Resident file-backed memory, kB.
        file_rss_kb: Option<u64>,
        /// Resident shared memory, kB.
        shmem_rss_kb: Option<u64>,
        /// Owner uid.
        uid: Option<u32>,
        /// `oom_score_adj` of the victim.
        oom_score_adj: Option<i32>,
        /// Whether a memory cgroup limit (not the whole node) ran out.
        cgroup_limit: bool,
        /// `constraint=` from the `oom-kill:` line (`CONSTRAINT_MEMCG`, `CONSTRAINT_NONE`).
        constraint: Option<String>,
        /// `oom_memcg=`: the cgroup whose limit was hit.
        oom_memcg: Option<String>,
        /// `task_memcg=`: the victim's cgroup (a kubepods container scope on EKS).
        task_memcg: Option<String>,
    },
    /// A process triggered the OOM killer (the start of an OOM report).
    OomInvoked {
        /// The allocating process.
        process: String,
        /// `gfp_mask=` as printed (`0xcc0(GFP_KERNEL)`).
        gfp_mask: Option<String>,
        /// Allocation order.
        order: Option<i32>,
        /// `oom_score_adj` of the allocating process.
        oom_score_adj: Option<i32>,
        /// The call trace of the report.
        trace: CallTrace,
    },
    /// A task stayed in uninterruptible sleep too long.
    HungTask {
        /// Task name.
        task: String,
        /// Task id.
        pid: u32,
        /// How long it had been blocked.
        seconds: u64,
        /// The task's stack.
        trace: CallTrace,
    },
    /// A CPU ran kernel code without scheduling for too long.
    SoftLockup {
        /// The stuck CPU.
        cpu: u32,
        /// How long it was stuck.
        seconds: u64,
        /// The running task.
        process: String,
        /// Its pid.
        pid: Option<u32>,
        /// The stack.
        trace: CallTrace,
    },
    /// A CPU stopped taking interrupts.
    HardLockup {
        /// The CPU, when printed.
        cpu: Option<u32>,
        /// The stack.
        trace: CallTrace,
    },
    /// `BUG: …`, `kernel BUG at …`, `Unable to handle kernel …`.
    KernelBug(Crash),
    /// `Oops: …`, `general protection fault`, `divide error`, `Internal error: Oops`.
    Oops(Crash),
    /// `Kernel panic - not syncing: …`.
    Panic(Crash),
    /// A user process was killed for a bad memory access.
    Segfault {
        /// Process name.
        process: String,
        /// Process id.
        pid: u32,
        /// Faulting address.
        address: Option<String>,
        /// Instruction pointer.
        ip: Option<String>,
        /// Stack pointer.
        sp: Option<String>,
        /// Page-fault error code.
        error: Option<String>,
        /// The mapping the instruction pointer was in (`libc.so.6`).
        library: Option<String>,
    },
    /// `nf_conntrack: table full, dropping packet`.
    ConntrackTableFull,
    /// `neighbour: arp_cache: neighbor table overflow!`.
    NeighbourTableOverflow {
        /// `arp_cache` (IPv4) or `ndisc_cache` (IPv6), when printed.
        table: Option<String>,
    },
    /// `Possible SYN flooding on port …`.
    SynFlooding {
        /// The listening port.
        port: Option<u16>,
        /// The listening address, when printed (`[::]`, `10.0.0.1`).
        address: Option<String>,
        /// What the kernel did (`Sending cookies`, `Dropping request`).
        action: Option<String>,
    },
    /// A packet with an impossible source address.
    MartianSource {
        /// Destination address.
        destination: String,
        /// The martian source address.
        source: String,
        /// Receiving device.
        device: Option<String>,
    },
    /// An Elastic Network Adapter event.
    Ena {
        /// PCI address (`0000:00:05.0`), when printed.
        pci_address: Option<String>,
        /// Interface (`eth0`), when printed.
        interface: Option<String>,
        /// What happened (serialized inline as `event`, with its fields).
        #[serde(flatten)]
        event: EnaEvent,
    },
    /// An XFS error.
    XfsError {
        /// Block device.
        device: String,
        /// The message after `XFS (dev): `.
        message: String,
    },
    /// XFS shut a filesystem down: it stays unusable until unmounted and repaired.
    XfsShutdown {
        /// Block device.
        device: String,
        /// The message after `XFS (dev): `.
        message: String,
    },
    /// `EXT4-fs error`.
    Ext4Error {
        /// Block device.
        device: Option<String>,
        /// Reporting kernel function (`ext4_find_entry:1455`).
        function: Option<String>,
        /// The message.
        message: String,
    },
    /// `EXT4-fs warning`.
    Ext4Warning {
        /// Block device.
        device: Option<String>,
        /// Reporting kernel function.
        function: Option<String>,
        /// The message.
        message: String,
    },
    /// A filesystem was remounted read-only after errors.
    ReadOnlyRemount {
        /// Filesystem driver (`EXT4-fs`, `XFS`).
        filesystem: String,
        /// Block device.
        device: Option<String>,
    },
    /// A block device I/O error.
    BlockIoError {
        /// Which layer reported it.
        source: BlockIoSource,
        /// Block device.
        device: String,
        /// Sector (request errors) or logical block (buffer errors).
        sector: Option<u64>,
        /// The operation (`READ`, `WRITE`, `lost async page write`).
        operation: Option<String>,
    },
    /// A network device cannot be freed: references leak (often a stuck pod sandbox).
    UnregisterNetdevice {
        /// Device name.
        device: String,
        /// Remaining references.
        usage_count: u32,
    },
    /// A machine-check, CPER or EDAC hardware error.
    HardwareError {
        /// Reporting mechanism.
        source: HardwareErrorSource,
        /// `corrected`, `recoverable`, `fatal`, … when printed.
        severity: Option<String>,
        /// The first line of the report.
        message: String,
    },
}

/// A BUG, Oops or panic report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crash {
    /// The first line (`BUG: kernel NULL pointer dereference, address: 0000000000000000`).
    pub message: String,
    /// `Comm:` of the `CPU: … PID: … Comm: …` line.
    pub process: Option<String>,
    /// `PID:` of that line.
    pub pid: Option<u32>,
    /// `CPU:` of that line.
    pub cpu: Option<u32>,
    /// Taint flags (`G         C`, `Not tainted` gives `None`).
    pub tainted: Option<String>,
    /// The call trace.
    pub trace: CallTrace,
}

/// The frames of a call trace, innermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallTrace {
    /// Frames in printed order.
    pub frames: Vec<Frame>,
}

/// One call trace frame: ` ? do_vfs_ioctl+0x2cf/0x4b0 [dm_mod]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// Function with offset (`do_vfs_ioctl+0x2cf/0x4b0`).
    pub function: String,
    /// Module, when not built in.
    pub module: Option<String>,
    /// `false` for frames printed with `?` (possibly stale stack contents).
    pub reliable: bool,
}

/// What an ENA device did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EnaEvent {
    /// A transmit did not complete in time (`Found a Tx that wasn't completed
    /// on time`, `TX hasn't completed`, `NETDEV WATCHDOG … transmit queue N
    /// timed out`).
    TxTimeout {
        /// Queue id.
        queue: Option<u32>,
    },
    /// Too many lost Tx completions: the driver resets the device.
    LostTxCompletions,
    /// The device stopped answering keep-alives.
    KeepAliveTimeout,
    /// A device reset was triggered.
    ResetTriggered,
    /// A device reset finished.
    ResetCompleted,
    /// A device reset failed.
    ResetFailed,
    /// Link up.
    LinkUp,
    /// Link down.
    LinkDown,
}

/// Which layer reported a block I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockIoSource {
    /// The block layer (`blk_update_request`, `print_req_error`, `I/O error, dev`).
    Request,
    /// The buffer cache (`Buffer I/O error on dev`).
    Buffer,
}

/// Which mechanism reported a hardware error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HardwareErrorSource {
    /// x86 machine-check (`mce: [Hardware Error]`).
    Mce,
    /// UEFI CPER records (`{1}[Hardware Error]: …`, from GHES / APEI).
    Cper,
    /// EDAC memory controller reports (`EDAC MC0: 1 CE memory read error`).
    Edac,
}

/// Recognises the kernel events in a log, in record order.
pub fn events(log: &KernelLog) -> Vec<KernelEvent> {
    let lines: Vec<(usize, &str)> = log
        .records
        .messages()
        .enumerate()
        .flat_map(|(index, message)| message.split('\n').map(move |line| (index, line)))
        .collect();
    let mut out: Vec<KernelEvent> = Vec::new();
    // The line index each event starts at, for context lookups.
    let mut first_lines: Vec<usize> = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let (record, line) = lines[at];
        let level = log.records.level(record);
        let Some(start) = recognise(line, level) else {
            at += 1;
            continue;
        };
        let end = extend(&lines, at, &start);
        let kind = build(start, &lines[at..=end]);
        first_lines.push(at);
        out.push(KernelEvent {
            records: RecordRange {
                first: record,
                last: lines[end].0,
            },
            kind,
        });
        at = end + 1;
    }
    attach_oom_context(&lines, &mut out, &first_lines);
    out
}

/// A recognised first line, before multi-line reports are gathered.
enum Start {
    /// Complete in one line.
    Single(KernelEventKind),
    /// A report that continues over the following lines.
    Report(ReportKind),
    /// A group of consecutive lines holding `marker` (CPER / MCE reports).
    Group {
        source: HardwareErrorSource,
        /// The line prefix up to and including `[Hardware Error]:` (`mce: `,
        /// `{1}`), shared by every line of one report.
        marker: String,
        message: String,
    },
    /// One line, plus an immediately following `ll header:` dump.
    Martian(KernelEventKind),
}

enum ReportKind {
    HungTask {
        task: String,
        pid: u32,
        seconds: u64,
    },
    SoftLockup {
        cpu: u32,
        seconds: u64,
        process: String,
        pid: Option<u32>,
    },
    HardLockup {
        cpu: Option<u32>,
    },
    Crash {
        class: CrashClass,
        message: String,
    },
    OomInvoked {
        process: String,
        gfp_mask: Option<String>,
        order: Option<i32>,
        oom_score_adj: Option<i32>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CrashClass {
    Bug,
    Oops,
    Panic,
}

/// Every needle that a recognised line holds somewhere (a superset test:
/// most kernel lines hold none, and one automaton pass rules them out).
const NEEDLES: &[&str] = &[
    " blocked for more than ",
    "soft lockup - CPU#",
    "hard LOCKUP",
    " invoked oom-killer: ",
    "BUG",
    "Unable to handle kernel ",
    "Oops",
    "general protection fault",
    "divide error: ",
    "Kernel panic",
    "Killed process ",
    "nf_conntrack: table full",
    "eighbo",
    "Possible SYN flooding on port ",
    "martian source ",
    ": segfault at ",
    "NETDEV WATCHDOG: ",
    "ena ",
    "emounting filesystem read-only",
    "XFS (",
    "EXT4-fs ",
    " error, dev ",
    "Buffer I/O error on dev",
    "unregister_netdevice: waiting for ",
    "[Hardware Error]:",
    "EDAC ",
];

static PREFILTER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| AhoCorasick::new(NEEDLES).ok());

fn recognise(line: &str, level: Option<Level>) -> Option<Start> {
    // Most lines are none of these: one automaton pass rules them out. (If
    // the automaton could not be built, every line takes the full path.)
    if let Some(prefilter) = PREFILTER.as_ref()
        && !prefilter.is_match(line)
    {
        return None;
    }
    if let Some(start) = recognise_report(line) {
        return Some(start);
    }
    if let Some(kind) = oom_kill(line) {
        return Some(Start::Single(kind));
    }
    if line.contains("nf_conntrack: table full, dropping packet") {
        return Some(Start::Single(KernelEventKind::ConntrackTableFull));
    }
    if let Some(kind) = neighbour_overflow(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = syn_flooding(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = martian_source(line) {
        return Some(Start::Martian(kind));
    }
    if let Some(kind) = segfault(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = ena(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = read_only_remount(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = xfs(line, level) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = ext4(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = block_io_error(line) {
        return Some(Start::Single(kind));
    }
    if let Some(kind) = unregister_netdevice(line) {
        return Some(Start::Single(kind));
    }
    hardware_error(line)
}

fn recognise_report(line: &str) -> Option<Start> {
    if let Some(rest) = after(line, "task ")
        && let Some((name_pid, rest)) = rest.split_once(" blocked for more than ")
    {
        let (task, pid) = name_pid.rsplit_once(':')?;
        let seconds = leading_number(rest)?;
        return Some(Start::Report(ReportKind::HungTask {
            task: task.to_owned(),
            pid: pid.parse().ok()?,
            seconds,
        }));
    }
    if let Some(rest) = after(line, "soft lockup - CPU#") {
        let cpu = leading_number(rest)?;
        let seconds = leading_number(after(rest, "stuck for ")?)?;
        let task = after(rest, "! [")?.strip_suffix(']')?;
        let (process, pid) = match task.rsplit_once(':') {
            Some((process, pid)) => (process, pid.parse().ok()),
            None => (task, None),
        };
        return Some(Start::Report(ReportKind::SoftLockup {
            cpu: u32::try_from(cpu).ok()?,
            seconds,
            process: process.to_owned(),
            pid,
        }));
    }
    if let Some(rest) = after(line, "hard LOCKUP") {
        let cpu = after(rest, "on cpu ")
            .and_then(leading_number)
            .and_then(|cpu| u32::try_from(cpu).ok());
        return Some(Start::Report(ReportKind::HardLockup { cpu }));
    }
    if let Some(rest) = after(line, " invoked oom-killer: ") {
        let process = line[..line.len() - rest.len() - " invoked oom-killer: ".len()].trim();
        let mut gfp_mask = None;
        let mut order = None;
        let mut oom_score_adj = None;
        for item in rest.split(", ") {
            match item.split_once('=') {
                Some(("gfp_mask", value)) => gfp_mask = Some(value.to_owned()),
                Some(("order", value)) => order = value.parse().ok(),
                Some(("oom_score_adj", value)) => oom_score_adj = value.parse().ok(),
                _ => {}
            }
        }
        return Some(Start::Report(ReportKind::OomInvoked {
            process: process.to_owned(),
            gfp_mask,
            order,
            oom_score_adj,
        }));
    }
    let class = crash_class(line)?;
    Some(Start::Report(ReportKind::Crash {
        class,
        message: line.to_owned(),
    }))
}

fn crash_class(line: &str) -> Option<CrashClass> {
    const BUG: &[&str] = &[
        "BUG: ",
        "kernel BUG at ",
        "Unable to handle kernel ",
        "BUG: unable to handle kernel ",
    ];
    const OOPS: &[&str] = &[
        "Oops: ",
        "Oops[",
        "general protection fault",
        "divide error: ",
        "Internal error: Oops",
    ];
    if line.starts_with("Kernel panic - not syncing") {
        return Some(CrashClass::Panic);
    }
    if BUG.iter().any(|prefix| line.starts_with(prefix)) {
        return Some(CrashClass::Bug);
    }
    if OOPS.iter().any(|prefix| line.starts_with(prefix)) {
        return Some(CrashClass::Oops);
    }
    None
}

/// The index of the last line of the event that starts at `at`.
fn extend(lines: &[(usize, &str)], at: usize, start: &Start) -> usize {
    // Reports can be long (a lockup prints every CPU); bound the scan so a
    // damaged log cannot make one event swallow everything after it.
    const MAX_REPORT_LINES: usize = 2_000;
    let limit = lines.len().min(at + MAX_REPORT_LINES);
    let mut end = at;
    match start {
        Start::Single(_) => {}
        Start::Martian(_) => {
            if lines
                .get(at + 1)
                .is_some_and(|(_, line)| line.starts_with("ll header: "))
            {
                end = at + 1;
            }
        }
        Start::Group { marker, .. } => {
            while end + 1 < limit && lines[end + 1].1.starts_with(marker.as_str()) {
                end += 1;
            }
        }
        Start::Report(kind) => {
            let task_name = match kind {
                ReportKind::HungTask { task, .. } => Some(task.as_str()),
                _ => None,
            };
            let absorbs_oops = matches!(
                kind,
                ReportKind::Crash {
                    class: CrashClass::Bug,
                    ..
                }
            );
            while end + 1 < limit {
                let line = lines[end + 1].1;
                let continues = is_report_line(line)
                    || task_name.is_some_and(|task| is_task_state_line(line, task))
                    || (absorbs_oops && crash_class(line) == Some(CrashClass::Oops));
                if !continues {
                    break;
                }
                end += 1;
                if line.starts_with("---[ end ") {
                    break;
                }
            }
        }
    }
    end
}

/// Lines that belong to a kernel report: stack frames, registers, module
/// lists, markers. Indented lines are frames or stack words.
fn is_report_line(line: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Call Trace:",
        "Call trace:",
        "<TASK>",
        "</TASK>",
        "<IRQ>",
        "</IRQ>",
        "<NMI>",
        "</NMI>",
        "Modules linked in:",
        "CPU: ",
        "Hardware name:",
        "Workqueue:",
        "task:",
        "Stack:",
        "Code: ",
        "Kernel Offset:",
        "---[ end ",
        "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"",
        "Tainted:",
        "irq event stamp:",
        "hardirqs last",
        "softirqs last",
        "Showing all locks",
        "Sending NMI from CPU",
        "NMI backtrace for cpu",
        "Mem abort info:",
        "Data abort info:",
        "ESR = ",
        "EC = ",
        "SET = ",
        "FnV = ",
        "EA = ",
        "S1PTW = ",
        "FSC = ",
        "ISV = ",
        "ISS = ",
        "CM = ",
        "WnR = ",
        "user pgtable:",
        "swapper pgtable:",
        "Internal error:",
        "Process ",
        "pstate: ",
        "pc : ",
        "lr : ",
        "sp : ",
        "PGD ",
        "#PF: ",
        "RIP: ",
        "RSP: ",
        "CR2: ",
        "Exception stack",
        "Mem-Info:",
        "Tasks state",
        "Memory cgroup stats",
        "memory: usage",
        "swap: usage",
        "INFO: lockdep",
        "RIP  [",
        "EIP: [",
    ];
    if line.starts_with([' ', '\t']) {
        return true;
    }
    if PREFIXES.iter().any(|prefix| line.starts_with(prefix)) {
        return true;
    }
    is_register_line(line)
}

/// `RAX: 0000…`, `R10: …`, `FS:  …`, arm64 `x29: …`.
fn is_register_line(line: &str) -> bool {
    let bytes = line.as_bytes();
    let name_len = bytes
        .iter()
        .take(4)
        .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit()))
        .unwrap_or(0);
    if (2..=3).contains(&name_len) && bytes.get(name_len) == Some(&b':') {
        return bytes.get(name_len + 1) == Some(&b' ');
    }
    // arm64 general registers: x0..x29.
    if bytes.first() == Some(&b'x') {
        let digits = bytes[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        return (1..=2).contains(&digits) && line[1 + digits..].starts_with(": ");
    }
    false
}

/// The hung-task state line: `docker          D ffff8801a8f2b078     0 20744      1 0x00000000`.
fn is_task_state_line(line: &str, task: &str) -> bool {
    line.strip_prefix(task)
        .is_some_and(|rest| rest.starts_with(' ') && rest.trim_start().len() > 1)
}

fn build(start: Start, report: &[(usize, &str)]) -> KernelEventKind {
    match start {
        Start::Single(kind) | Start::Martian(kind) => kind,
        Start::Group {
            source,
            message,
            marker: _,
        } => {
            let severity = report.iter().find_map(|(_, line)| {
                after(line, "event severity: ").map(|severity| severity.trim().to_owned())
            });
            KernelEventKind::HardwareError {
                source,
                severity: severity.or_else(|| edac_severity(&message)),
                message,
            }
        }
        Start::Report(kind) => {
            let trace = call_trace(report);
            match kind {
                ReportKind::HungTask { task, pid, seconds } => KernelEventKind::HungTask {
                    task,
                    pid,
                    seconds,
                    trace,
                },
                ReportKind::SoftLockup {
                    cpu,
                    seconds,
                    process,
                    pid,
                } => KernelEventKind::SoftLockup {
                    cpu,
                    seconds,
                    process,
                    pid,
                    trace,
                },
                ReportKind::HardLockup { cpu } => KernelEventKind::HardLockup { cpu, trace },
                ReportKind::OomInvoked {
                    process,
                    gfp_mask,
                    order,
                    oom_score_adj,
                } => KernelEventKind::OomInvoked {
                    process,
                    gfp_mask,
                    order,
                    oom_score_adj,
                    trace,
                },
                ReportKind::Crash { class, message } => {
                    let mut crash = Crash {
                        message,
                        process: None,
                        pid: None,
                        cpu: None,
                        tainted: None,
                        trace,
                    };
                    if let Some((_, cpu_line)) =
                        report.iter().find(|(_, line)| line.starts_with("CPU: "))
                    {
                        crash_context(cpu_line, &mut crash);
                    }
                    match class {
                        CrashClass::Bug => KernelEventKind::KernelBug(crash),
                        CrashClass::Oops => KernelEventKind::Oops(crash),
                        CrashClass::Panic => KernelEventKind::Panic(crash),
                    }
                }
            }
        }
    }
}

/// `CPU: 1 PID: 1853 Comm: docker Tainted: G         C    3.16.0-4-amd64 #1 …`
/// (6.x adds `UID: 0`; untainted kernels print `Not tainted`).
fn crash_context(line: &str, crash: &mut Crash) {
    crash.cpu = after(line, "CPU: ")
        .and_then(leading_number)
        .and_then(|n| u32::try_from(n).ok());
    crash.pid = after(line, "PID: ")
        .and_then(leading_number)
        .and_then(|n| u32::try_from(n).ok());
    crash.process =
        after(line, "Comm: ").map(|rest| rest.split(' ').next().unwrap_or(rest).to_owned());
    if let Some(rest) = after(line, "Tainted: ") {
        // The flags run up to the kernel release, the first digit.
        let flags = match rest.find(|c: char| c.is_ascii_digit()) {
            Some(release) => &rest[..release],
            None => rest,
        };
        crash.tainted = Some(flags.trim().to_owned()).filter(|flags| !flags.is_empty());
    }
}

/// Frames of the first `Call Trace:` in a report (x86 and arm64 forms).
fn call_trace(report: &[(usize, &str)]) -> CallTrace {
    let mut frames = Vec::new();
    let mut in_trace = false;
    for (_, line) in report {
        if line.starts_with("Call Trace:") || line.starts_with("Call trace:") {
            if in_trace && !frames.is_empty() {
                break;
            }
            in_trace = true;
            continue;
        }
        if !in_trace {
            continue;
        }
        let trimmed = line.trim_start();
        if matches!(
            trimmed,
            "<TASK>" | "</TASK>" | "<IRQ>" | "</IRQ>" | "<NMI>" | "</NMI>"
        ) {
            continue;
        }
        match frame(line) {
            Some(frame) => frames.push(frame),
            None if line.starts_with([' ', '\t']) => continue,
            None => break,
        }
    }
    CallTrace { frames }
}

/// ` [<ffffffff81512d45>] ? rwsem_down_write_failed+0x1d5/0x320 [aufs]`,
/// ` ? __schedule+0x2d4/0x8f0`, ` dump_stack_lvl+0x34/0x48`.
fn frame(line: &str) -> Option<Frame> {
    let mut rest = line.trim_start();
    if let Some(after_address) = rest.strip_prefix("[<") {
        rest = after_address.split_once(">]")?.1.trim_start();
    }
    let reliable = match rest.strip_prefix("? ") {
        Some(after_mark) => {
            rest = after_mark;
            false
        }
        None => true,
    };
    let (function, module) = match rest.split_once(' ') {
        Some((function, module)) => (
            function,
            module
                .trim()
                .strip_prefix('[')
                .and_then(|m| m.strip_suffix(']'))
                .map(str::to_owned),
        ),
        None => (rest, None),
    };
    // A frame is `symbol+0xoff/0xsize`, or a bare address on some arches.
    if !(function.contains("+0x") || function.starts_with("0x")) {
        return None;
    }
    Some(Frame {
        function: function.to_owned(),
        module,
        reliable,
    })
}

/// `[Memory cgroup out of memory: |Out of memory: ]Killed process 1012 (heapster) total-vm:327128kB, anon-rss:306328kB, file-rss:11132kB, shmem-rss:12345kB[, UID:0 pgtables:…kB oom_score_adj:…]`
fn oom_kill(line: &str) -> Option<KernelEventKind> {
    let rest = after(line, "Killed process ")?;
    let pid = leading_number(rest)?;
    let rest = rest
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix(" (")?;
    let close = rest.find(") total-vm:").or_else(|| rest.rfind(')'))?;
    let process = &rest[..close];
    let mut kind = KernelEventKind::OomKill {
        process: process.to_owned(),
        pid: u32::try_from(pid).ok()?,
        total_vm_kb: None,
        anon_rss_kb: None,
        file_rss_kb: None,
        shmem_rss_kb: None,
        uid: None,
        oom_score_adj: None,
        cgroup_limit: line.contains("Memory cgroup out of memory"),
        constraint: None,
        oom_memcg: None,
        task_memcg: None,
    };
    if let KernelEventKind::OomKill {
        total_vm_kb,
        anon_rss_kb,
        file_rss_kb,
        shmem_rss_kb,
        uid,
        oom_score_adj,
        ..
    } = &mut kind
    {
        for item in rest[close + 1..].split([',', ' ']) {
            let Some((key, value)) = item.split_once(':') else {
                continue;
            };
            let kb = || value.strip_suffix("kB").and_then(|v| v.parse().ok());
            match key {
                "total-vm" => *total_vm_kb = kb(),
                "anon-rss" => *anon_rss_kb = kb(),
                "file-rss" => *file_rss_kb = kb(),
                "shmem-rss" => *shmem_rss_kb = kb(),
                "UID" => *uid = value.parse().ok(),
                "oom_score_adj" => *oom_score_adj = value.parse().ok(),
                _ => {}
            }
        }
    }
    Some(kind)
}

/// Fills OOM kills from the `oom-kill:constraint=…,task_memcg=…,pid=N` line
/// the kernel prints just before `Killed process N`.
fn attach_oom_context(lines: &[(usize, &str)], events: &mut [KernelEvent], first_lines: &[usize]) {
    for (event, &kill_line) in events.iter_mut().zip(first_lines) {
        let KernelEventKind::OomKill {
            pid,
            cgroup_limit,
            constraint,
            oom_memcg,
            task_memcg,
            ..
        } = &mut event.kind
        else {
            continue;
        };
        // The summary line (`oom-kill:…`, or `Kill process N (…) score …` on
        // older kernels) precedes the kill by a few lines at most.
        let older_kernel_line = format!("Kill process {pid} (");
        for at in (kill_line.saturating_sub(8)..kill_line).rev() {
            let (record, line) = lines[at];
            if line.contains("Killed process ") {
                // The previous kill: its context is not ours.
                break;
            }
            if line.contains(&older_kernel_line) {
                *cgroup_limit |= line.contains("Memory cgroup out of memory");
                event.records.first = record;
                continue;
            }
            let Some(summary) = after(line, "oom-kill:") else {
                continue;
            };
            let fields: Vec<(&str, &str)> = summary
                .split(',')
                .filter_map(|item| item.split_once('='))
                .collect();
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            };
            if field("pid").and_then(|p| p.parse::<u32>().ok()) != Some(*pid) {
                continue;
            }
            *constraint = field("constraint");
            *oom_memcg = field("oom_memcg");
            *task_memcg = field("task_memcg");
            event.records.first = record;
        }
    }
}

fn neighbour_overflow(line: &str) -> Option<KernelEventKind> {
    if let Some(prefix) = line.strip_suffix(": neighbor table overflow!") {
        let table = prefix.rsplit(": ").next().map(str::to_owned);
        return Some(KernelEventKind::NeighbourTableOverflow { table });
    }
    line.contains("Neighbour table overflow")
        .then_some(KernelEventKind::NeighbourTableOverflow { table: None })
}

/// `TCP: request_sock_TCP: Possible SYN flooding on port [::]:443. Sending cookies.  Check SNMP counters.`
fn syn_flooding(line: &str) -> Option<KernelEventKind> {
    let rest = after(line, "Possible SYN flooding on port ")?;
    let (target, action) = match rest.split_once(". ") {
        Some((target, action)) => (target, Some(action)),
        None => (rest.trim_end_matches('.'), None),
    };
    let (address, port) = match target.rsplit_once(':') {
        Some((address, port)) => (Some(address.to_owned()), port),
        None => (None, target),
    };
    let action = action
        .map(|action| action.split('.').next().unwrap_or(action).trim().to_owned())
        .filter(|action| !action.is_empty());
    Some(KernelEventKind::SynFlooding {
        port: port.parse().ok(),
        address,
        action,
    })
}

/// `IPv4: martian source 10.0.1.5 from 169.254.1.1, on dev eth0`
fn martian_source(line: &str) -> Option<KernelEventKind> {
    let rest = after(line, "martian source ")?;
    let (destination, rest) = rest.split_once(" from ")?;
    let (source, device) = match rest.split_once(", on dev ") {
        Some((source, device)) => (source, Some(device.trim().to_owned())),
        None => (rest.trim_end_matches(','), None),
    };
    Some(KernelEventKind::MartianSource {
        destination: destination.to_owned(),
        source: source.to_owned(),
        device,
    })
}

/// `python3[12345]: segfault at 0 ip 00007f… sp 00007ff… error 4 in libc.so.6[7f…+195000] likely on CPU 3 (core 3, socket 0)`
fn segfault(line: &str) -> Option<KernelEventKind> {
    let split = line.find(": segfault at ")?;
    let head = &line[..split];
    let rest = &line[split + ": segfault at ".len()..];
    let (process, pid) = head.strip_suffix(']')?.rsplit_once('[')?;
    let word_after = |key: &str| {
        after(rest, key).map(|value| value.split(' ').next().unwrap_or(value).to_owned())
    };
    let library = after(rest, " in ").map(|lib| {
        let end = lib.find(['[', ' ']).unwrap_or(lib.len());
        lib[..end].to_owned()
    });
    Some(KernelEventKind::Segfault {
        process: process.to_owned(),
        pid: pid.parse().ok()?,
        address: rest.split(' ').next().map(str::to_owned),
        ip: word_after(" ip "),
        sp: word_after(" sp "),
        error: word_after(" error "),
        library,
    })
}

/// `ena 0000:00:05.0 eth0: <message>` and the net core's
/// `NETDEV WATCHDOG: eth0 (ena): transmit queue 3 timed out 5440 ms`.
fn ena(line: &str) -> Option<KernelEventKind> {
    if let Some(rest) = after(line, "NETDEV WATCHDOG: ") {
        let (interface, rest) = rest.split_once(" (ena): ")?;
        let queue = after(rest, "transmit queue ")
            .and_then(leading_number)
            .and_then(|n| u32::try_from(n).ok());
        return Some(KernelEventKind::Ena {
            pci_address: None,
            interface: Some(interface.to_owned()),
            event: EnaEvent::TxTimeout { queue },
        });
    }
    let rest = line.strip_prefix("ena ")?;
    let (device, message) = rest.split_once(": ")?;
    let (pci_address, interface) = match device.split_once(' ') {
        Some((pci, interface)) => (pci, Some(interface.to_owned())),
        None => (device, None),
    };
    let lower = message.to_ascii_lowercase();
    let event = if message.contains("Found a Tx that wasn't completed on time")
        || lower.contains("tx hasn't completed")
    {
        let queue = after(message, "qid ")
            .and_then(leading_number)
            .and_then(|n| u32::try_from(n).ok());
        EnaEvent::TxTimeout { queue }
    } else if lower.contains("lost tx completion") {
        EnaEvent::LostTxCompletions
    } else if lower.contains("keep alive watchdog timeout") {
        EnaEvent::KeepAliveTimeout
    } else if lower.contains("reset") && lower.contains("fail") {
        EnaEvent::ResetFailed
    } else if lower.contains("device reset completed") {
        EnaEvent::ResetCompleted
    } else if lower.contains("trigger reset") || lower.contains("reset the device") {
        EnaEvent::ResetTriggered
    } else if lower.contains("link is up") || lower.contains("link up") {
        EnaEvent::LinkUp
    } else if lower.contains("link is down") || lower.contains("link down") {
        EnaEvent::LinkDown
    } else {
        return None;
    };
    Some(KernelEventKind::Ena {
        pci_address: Some(pci_address.to_owned()),
        interface,
        event,
    })
}

/// `EXT4-fs (sda1): Remounting filesystem read-only` (and other filesystems).
fn read_only_remount(line: &str) -> Option<KernelEventKind> {
    let split = line.find("emounting filesystem read-only")?;
    let head = line[..split].trim_end_matches(['R', 'r']).trim_end();
    let head = head.strip_suffix(':').unwrap_or(head);
    let (filesystem, device) = match head.split_once(" (") {
        Some((filesystem, device)) => (
            filesystem,
            device
                .split_once(')')
                .map(|(device, _)| device.trim_start_matches("device ").to_owned()),
        ),
        None => (head, None),
    };
    Some(KernelEventKind::ReadOnlyRemount {
        filesystem: filesystem.trim().to_owned(),
        device,
    })
}

/// `XFS (nvme1n1): <message>`: errors and shutdowns.
fn xfs(line: &str, level: Option<Level>) -> Option<KernelEventKind> {
    let rest = line.strip_prefix("XFS (")?;
    let (device, message) = rest.split_once("): ")?;
    let lower = message.to_ascii_lowercase();
    let shutdown = [
        "shutting down filesystem",
        "shut down",
        "xfs_do_force_shutdown",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    if shutdown {
        return Some(KernelEventKind::XfsShutdown {
            device: device.to_owned(),
            message: message.to_owned(),
        });
    }
    let error_words = [
        "error",
        "corrupt",
        "failed",
        "xfs_repair",
        "please unmount",
        "please umount",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    let error_level = level.is_some_and(|level| level <= Level::Err);
    (error_words || error_level).then(|| KernelEventKind::XfsError {
        device: device.to_owned(),
        message: message.to_owned(),
    })
}

/// `EXT4-fs error (device nvme1n1p1): ext4_find_entry:1455: inode #2: …`,
/// `EXT4-fs warning (device sda1): ext4_dx_add_entry:2461: …`,
/// `EXT4-fs (nvme1n1p1): I/O error while writing superblock`.
fn ext4(line: &str) -> Option<KernelEventKind> {
    let rest = line.strip_prefix("EXT4-fs ")?;
    let (warning, rest) = if let Some(rest) = rest.strip_prefix("error ") {
        (false, rest)
    } else if let Some(rest) = rest.strip_prefix("warning ") {
        (true, rest)
    } else if rest.starts_with('(') && rest.to_ascii_lowercase().contains("error") {
        (false, rest)
    } else {
        return None;
    };
    let (device, message) = match rest.strip_prefix('(').and_then(|r| r.split_once("): ")) {
        Some((device, message)) => (
            Some(device.trim_start_matches("device ").to_owned()),
            message,
        ),
        None => (None, rest),
    };
    // `function:line: message` when the first token is a C identifier.
    let (function, message) = match message.split_once(": ") {
        Some((function, tail))
            if function.split_once(':').is_some_and(|(name, line)| {
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && line.chars().all(|c| c.is_ascii_digit())
            }) =>
        {
            (Some(function.to_owned()), tail)
        }
        _ => (None, message),
    };
    let message = message.to_owned();
    Some(if warning {
        KernelEventKind::Ext4Warning {
            device,
            function,
            message,
        }
    } else {
        KernelEventKind::Ext4Error {
            device,
            function,
            message,
        }
    })
}

/// `blk_update_request: I/O error, dev nvme1n1, sector 2048 op 0x1:(WRITE) …`,
/// `I/O error, dev nvme1n1, sector 2048 op 0x0:(READ) …` (5.x+),
/// `print_req_error: I/O error, dev xvda, sector 123`,
/// `Buffer I/O error on dev nvme1n1p1, logical block 1234, lost async page write`.
fn block_io_error(line: &str) -> Option<KernelEventKind> {
    if let Some(rest) = after(line, "Buffer I/O error on dev") {
        let rest = rest.trim_start_matches("ice").trim_start();
        let mut parts = rest.split(", ");
        let device = parts.next()?.to_owned();
        let sector = parts
            .next()
            .and_then(|part| part.strip_prefix("logical block "))
            .and_then(|n| n.parse().ok());
        let operation = parts.next().map(str::to_owned);
        return Some(KernelEventKind::BlockIoError {
            source: BlockIoSource::Buffer,
            device,
            sector,
            operation,
        });
    }
    let (description, rest) = line.split_once(" error, dev ")?;
    let description = description
        .strip_prefix("blk_update_request: ")
        .or_else(|| description.strip_prefix("print_req_error: "))
        .unwrap_or(description);
    // The block layer prints `<what> error, dev …` at the start of the
    // message (`I/O`, `critical medium`, `timeout`, …).
    if description.contains(':') || description.len() > 40 {
        return None;
    }
    let (device, rest) = rest.split_once(", ").unwrap_or((rest, ""));
    let sector = after(rest, "sector ").and_then(leading_number);
    let operation =
        after(rest, ":(").and_then(|op| op.split_once(')').map(|(op, _)| op.to_owned()));
    Some(KernelEventKind::BlockIoError {
        source: BlockIoSource::Request,
        device: device.to_owned(),
        sector,
        operation,
    })
}

/// `unregister_netdevice: waiting for eth0 to become free. Usage count = 2`
fn unregister_netdevice(line: &str) -> Option<KernelEventKind> {
    let rest = after(line, "unregister_netdevice: waiting for ")?;
    let (device, rest) = rest.split_once(" to become free")?;
    let usage_count = after(rest, "Usage count = ").and_then(leading_number)?;
    Some(KernelEventKind::UnregisterNetdevice {
        device: device.to_owned(),
        usage_count: u32::try_from(usage_count).ok()?,
    })
}

fn hardware_error(line: &str) -> Option<Start> {
    const MARKER: &str = "[Hardware Error]:";
    if let Some(at) = line.find(MARKER) {
        let source = if line.starts_with("mce:") || line.contains("Machine check") {
            HardwareErrorSource::Mce
        } else {
            HardwareErrorSource::Cper
        };
        return Some(Start::Group {
            source,
            marker: line[..at + MARKER.len()].to_owned(),
            message: line.to_owned(),
        });
    }
    if line.starts_with("EDAC ") && line.contains(" memory read error") {
        return Some(Start::Single(KernelEventKind::HardwareError {
            source: HardwareErrorSource::Edac,
            severity: edac_severity(line),
            message: line.to_owned(),
        }));
    }
    None
}

/// `EDAC MC0: 1 CE …` is corrected, `UE` uncorrected.
fn edac_severity(line: &str) -> Option<String> {
    if !line.starts_with("EDAC ") {
        return None;
    }
    if line.contains(" CE ") {
        Some("corrected".to_owned())
    } else if line.contains(" UE ") {
        Some("uncorrected".to_owned())
    } else {
        None
    }
}

/// The text after the first occurrence of `needle`.
fn after<'a>(haystack: &'a str, needle: &str) -> Option<&'a str> {
    haystack
        .find(needle)
        .map(|at| &haystack[at + needle.len()..])
}

/// The decimal number at the start of `text`.
fn leading_number(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use crate::dmesg::parse;

    /// Recognises the events of a bare message list; `expect` is one compact
    /// JSON object per event, `;`-separated.
    #[track_caller]
    fn check(input: &str, expect: &str) {
        let log = parse(input).expect("text").value;
        let got: Vec<String> = super::events(&log)
            .iter()
            .map(|event| serde_json::to_string(&event.kind).expect("serializes"))
            .collect();
        assert_eq!(got.join(";"), expect, "input {input:?}");
    }

    #[test]
    fn single_line_events() {
        check(
            "BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:0]",
            r#"{"kind":"soft-lockup","cpu":0,"seconds":22,"process":"swapper/0","pid":0,"trace":{"frames":[]}}"#,
        );
        check(
            "INFO: task jbd2/nvme1n1p1-8:412 blocked for more than 120 seconds.",
            r#"{"kind":"hung-task","task":"jbd2/nvme1n1p1-8","pid":412,"seconds":120,"trace":{"frames":[]}}"#,
        );
        check(
            "TCP: request_sock_TCP: Possible SYN flooding on port 10.0.3.7:8080. Sending cookies.",
            r#"{"kind":"syn-flooding","port":8080,"address":"10.0.3.7","action":"Sending cookies"}"#,
        );
        check(
            "Neighbour table overflow.",
            r#"{"kind":"neighbour-table-overflow","table":null}"#,
        );
        check(
            "IPv4: martian source 255.255.255.255 from 10.0.0.9, on dev eth1",
            r#"{"kind":"martian-source","destination":"255.255.255.255","source":"10.0.0.9","device":"eth1"}"#,
        );
        check(
            "NETDEV WATCHDOG: eth0 (ena): transmit queue 3 timed out 5440 ms",
            r#"{"kind":"ena","pci_address":null,"interface":"eth0","event":"tx-timeout","queue":3}"#,
        );
        check(
            "traps: a b[77]: segfault at 8 ip 0000000000401136 sp 00007ffc sp2 error 4 in a.out[400000+1000]",
            r#"{"kind":"segfault","process":"traps: a b","pid":77,"address":"8","ip":"0000000000401136","sp":"00007ffc","error":"4","library":"a.out"}"#,
        );
        check(
            "critical medium error, dev nvme3n1, sector 8 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0",
            r#"{"kind":"block-io-error","source":"request","device":"nvme3n1","sector":8,"operation":"READ"}"#,
        );
        check(
            "XFS (dm-3): xfs_do_force_shutdown(0x2) called from line 1196 of file fs/xfs/xfs_log.c. Return address = 0xffffffffc06d5b5c",
            r#"{"kind":"xfs-shutdown","device":"dm-3","message":"xfs_do_force_shutdown(0x2) called from line 1196 of file fs/xfs/xfs_log.c. Return address = 0xffffffffc06d5b5c"}"#,
        );
        check(
            "EXT4-fs (nvme1n1p1): I/O error while writing superblock",
            r#"{"kind":"ext4-error","device":"nvme1n1p1","function":null,"message":"I/O error while writing superblock"}"#,
        );
    }

    #[test]
    fn ordinary_messages_are_not_events() {
        for line in [
            "XFS (nvme0n1p1): Mounting V5 Filesystem",
            "XFS (nvme0n1p1): Ending clean mount",
            "ena 0000:00:05.0: ENA device version: 0.10",
            "ena 0000:00:05.0 eth0: renamed from eth0",
            "EXT4-fs (nvme1n1p1): mounted filesystem with ordered data mode. Quota mode: none.",
            "a message that mentions BUG: in the middle",
            "Out of memory and no killable processes...",
            "oom_reaper: reaped process 48213 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
            "nf_conntrack: default automatic helper assignment has been turned off",
            "task foo:1 is fine",
            "Killed process x (y)",
        ] {
            check(line, "");
        }
    }

    #[test]
    fn reports_group_their_lines() {
        let input = "Kernel panic - not syncing: Out of memory and no killable processes...\n\
                     CPU: 0 UID: 0 PID: 1 Comm: systemd Not tainted 6.12.0 #1\n\
                     Call Trace:\n \
                     <TASK>\n \
                     panic+0x10/0x20\n \
                     </TASK>\n\
                     ---[ end Kernel panic - not syncing: Out of memory ]---\n\
                     next message";
        let log = parse(input).expect("text").value;
        let events = super::events(&log);
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].records.first, events[0].records.last), (0, 6));
        let json = serde_json::to_string(&events[0].kind).expect("serializes");
        assert_eq!(
            json,
            r#"{"kind":"panic","message":"Kernel panic - not syncing: Out of memory and no killable processes...","process":"systemd","pid":1,"cpu":0,"tainted":null,"trace":{"frames":[{"function":"panic+0x10/0x20","module":null,"reliable":true}]}}"#
        );
    }
}

//! One node at one time: every artifact of a bundle, parsed.
//!
//! [`NodeSnapshot::build`] takes the files of a bundle (already read by the
//! caller; this module does no IO), classifies each path with
//! [`layout::classify`], runs the parser for its kind, and assembles one
//! value with the node's metadata, a content-derived id and a coverage report
//! that accounts for every file.
//!
//! A key design decision is that the kernel log appears **once**. The bundle
//! holds the kernel ring buffer up to three times (`kernel/dmesg.boot`,
//! `kernel/dmesg.current`, `kernel/dmesg.human.current`); the snapshot keeps
//! `dmesg.current` as the kernel log, places it in wall-clock time by pairing
//! it with `dmesg.human.current` ([`dmesg::align_interval`]), and records the
//! other files as copies, so rules never count one message three times.
//!
//! Parsing runs files in parallel on scoped threads (one per large artifact,
//! the small ones on the calling thread); the result does not depend on the
//! scheduling. The indexes that rules and tools query (kube-proxy's
//! [`KubeView`], the conntrack table's indexes) are built in the same
//! threads right after their artifact, while the journal thread, the
//! longest, is still parsing: a snapshot is ready to query when `build`
//! returns.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use serde::Serialize;

use crate::conntrack::{self, ConntrackDump};
use crate::cri::{self, ContainerLog};
use crate::diag::{Diagnostic, Parsed};
use crate::dmesg::{self, BootTime, KernelEvent, KernelLog};
use crate::ethtool::{self, EthtoolStats};
use crate::iproute::{self, RouteTable, RuleList};
use crate::iptables::kube::KubeView;
use crate::iptables::{self, Ruleset};
use crate::iptables_list::{self, Listing};
use crate::ipvs::{self, Ipvs, ipset::IpsetDump};
use crate::journald::{self, Journal};
use crate::kubelet_config::{self, KubeletConfig};
use crate::layout::{self, ArtifactKind, BundleMetadata, Coverage, CoverageStatus, FileCoverage};
use crate::ps::{self, ProcessList};
use crate::resolv::{self, ResolvConf};
use crate::shared::FileBytes;
use crate::storage::{self, DfTable, MountsFile};
use crate::sysctl::{self, Sysctls};
use crate::time::Timestamp;
use crate::vpc_cni::{self, AwsNodeEnv, CniConfList, CniLog, ContainerInfo, EniIntrospection};

/// Everything parsed from one node at one time.
#[derive(Debug, Clone, Serialize)]
pub struct NodeSnapshot {
    /// Content-derived id (`s1_…`, see [`layout::snapshot_id`]).
    pub id: String,
    /// Identity and collection time of the node.
    pub metadata: BundleMetadata,
    /// What became of every file.
    pub coverage: Coverage,
    /// Files whose parser said they are not of their kind at all.
    pub failures: Vec<ArtifactFailure>,
    /// `networking/iptables-save.txt`.
    pub iptables: Option<Artifact<Ruleset>>,
    /// `networking/ip6tables-save.txt`.
    pub ip6tables: Option<Artifact<Ruleset>>,
    /// `networking/ip{,6}tables*.txt` listings (`-nvL`), by path.
    pub iptables_listings: Vec<Artifact<Listing>>,
    /// `networking/conntrack.txt` (`-S` statistics and `-L` entries).
    pub conntrack: Option<Artifact<ConntrackDump>>,
    /// `networking/conntrack6.txt`.
    pub conntrack6: Option<Artifact<ConntrackDump>>,
    /// The kernel log, once, with wall-clock times when they can be known.
    pub kernel: Option<KernelMessages>,
    /// systemd journals (kubelet, containerd, docker, nodeadm, …) and the
    /// syslog file, by path.
    pub journals: Vec<Artifact<Journal>>,
    /// Container logs in CRI format (kube-proxy, aws-node, …), by path.
    pub container_logs: Vec<Artifact<ContainerLog>>,
    /// The VPC CNI's JSON logs (`ipamd.log`, `plugin.log`), by path.
    pub cni_logs: Vec<Artifact<CniLog>>,
    /// `sysctls/sysctl_all.txt`.
    pub sysctl: Option<Artifact<Sysctls>>,
    /// `networking/iproute.txt`.
    pub routes: Option<Artifact<RouteTable>>,
    /// `networking/ip6route.txt`.
    pub routes6: Option<Artifact<RouteTable>>,
    /// `networking/iprule.txt`.
    pub ip_rules: Option<Artifact<RuleList>>,
    /// `networking/ip6rule.txt`.
    pub ip6_rules: Option<Artifact<RuleList>>,
    /// `networking/resolv.conf`.
    pub resolv_conf: Option<Artifact<ResolvConf>>,
    /// `networking/ethtool.txt`.
    pub ethtool: Option<Artifact<EthtoolStats>>,
    /// `networking/ipvsadm.txt`.
    pub ipvs: Option<Artifact<Ipvs>>,
    /// `networking/ipset.txt`.
    pub ipset: Option<Artifact<IpsetDump>>,
    /// `ipamd/ipamd-env-settings.json`.
    pub ipamd_env: Option<Artifact<AwsNodeEnv>>,
    /// `cni/cni-configuration-variables-containerd.json`.
    pub cni_config_variables: Option<Artifact<ContainerInfo>>,
    /// `ipamd/enis.json`.
    pub enis: Option<Artifact<EniIntrospection>>,
    /// `cni/*.conflist`, by path.
    pub cni_conflists: Vec<Artifact<CniConfList>>,
    /// `kubelet/kubelet-config.json`, `kubelet/config.json` and drop-ins, by
    /// path.
    pub kubelet_configs: Vec<Artifact<KubeletConfig>>,
    /// `storage/inodes.txt`.
    pub inodes: Option<Artifact<DfTable>>,
    /// `storage/mounts.txt`.
    pub mounts: Option<Artifact<MountsFile>>,
    /// `system/ps.txt`.
    pub ps: Option<Artifact<ProcessList>>,
    /// The Kubernetes view of [`iptables`](Self::iptables), built on first
    /// use and shared by every caller (rules, tools, comparisons), so that it
    /// is computed once per snapshot rather than once per use.
    #[serde(skip)]
    kube_view: OnceLock<Option<KubeView>>,
}

/// One parsed file.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact<T> {
    /// Root-relative path in the bundle.
    pub path: String,
    /// The kind the path was classified as.
    pub kind: ArtifactKind,
    /// Size in bytes.
    pub bytes: u64,
    /// Lines in the file.
    pub lines: u64,
    /// The typed model.
    pub value: T,
    /// What the parser did not understand.
    pub diagnostics: Vec<Diagnostic>,
}

/// The node's kernel log, once.
#[derive(Debug, Clone, Serialize)]
pub struct KernelMessages {
    /// The log chosen as the kernel log (`kernel/dmesg.current` when present),
    /// with wall-clock times filled in when the boot time is known.
    pub log: Artifact<KernelLog>,
    /// Typed kernel events of [`log`](Self::log).
    pub events: Vec<KernelEvent>,
    /// Other files holding the same messages, read only to date the log.
    pub copies: Vec<String>,
}

/// A file whose parser refused it as not of its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactFailure {
    /// Root-relative path.
    pub path: String,
    /// The parser that refused it.
    pub parser: &'static str,
    /// Its reason.
    pub reason: String,
}

/// What [`NodeSnapshot::build_owned`] reads: a [`SnapshotInput`] whose files
/// are handed over.
#[derive(Debug, Clone)]
pub struct OwnedSnapshotInput<'a> {
    /// The archive or directory name (see [`SnapshotInput::name`]).
    pub name: Option<&'a str>,
    /// Files by root-relative path; each is released once parsed.
    pub files: BTreeMap<String, FileBytes>,
    /// Coverage rows for entries the reader refused.
    pub rejected: &'a [FileCoverage],
    /// The newest file modification time, a fallback collection time.
    pub newest_file_time: Option<Timestamp>,
}

/// What [`NodeSnapshot::build`] reads.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotInput<'a> {
    /// The archive or directory name, for the collection time and instance
    /// id (`eks_i-…_2025-11-20_0930-UTC_0.7.9.tar.gz`).
    pub name: Option<&'a str>,
    /// Files by root-relative path.
    pub files: &'a BTreeMap<String, FileBytes>,
    /// Coverage rows for entries the reader refused.
    pub rejected: &'a [FileCoverage],
    /// The newest file modification time, a fallback collection time.
    pub newest_file_time: Option<Timestamp>,
}

impl<T> Artifact<T> {
    fn coverage(&self, parser: &str) -> FileCoverage {
        FileCoverage::new(
            self.path.clone(),
            self.bytes,
            CoverageStatus::Parsed {
                parser: parser.to_owned(),
                lines: self.lines,
                unparsed_lines: self.diagnostics.len() as u64,
            },
        )
    }
}

impl NodeSnapshot {
    /// Parses every file of a bundle into one snapshot.
    ///
    /// The caller keeps its files; their bytes stay alive as long as the
    /// caller holds them. [`build_owned`](Self::build_owned) hands them over
    /// instead, so each file's bytes are released as soon as its parser is
    /// done with them.
    pub fn build(input: SnapshotInput<'_>) -> NodeSnapshot {
        let input = OwnedSnapshotInput {
            name: input.name,
            // Clones the handles, not the bytes.
            files: input.files.clone(),
            rejected: input.rejected,
            newest_file_time: input.newest_file_time,
        };
        // The caller holds every file, so no job frees one: none waits.
        Self::build_scheduled(input, false)
    }

    /// Parses every file of a bundle into one snapshot, releasing each
    /// file's bytes once parsed (unless its model slices into them, as the
    /// journal's does).
    ///
    /// Two worker threads take the large artifacts off one queue, largest
    /// first (the journals, then conntrack, iptables, the kernel log, the
    /// `-nvL` listings) while the calling thread parses the small ones; at
    /// most two large files are being parsed at any time, so the peak is
    /// the files not yet parsed plus the models built so far, not the files
    /// plus every model. A job that frees its files does not start while a
    /// larger one that frees its files runs (see `Schedule`). The id is
    /// hashed first, while every file is in memory anyway.
    pub fn build_owned(input: OwnedSnapshotInput<'_>) -> NodeSnapshot {
        Self::build_scheduled(input, true)
    }

    /// [`build_owned`](Self::build_owned); `frees` says whether a job that
    /// drops its files frees them (the caller holds no other handle), which
    /// is when the queue's memory rule is worth waiting for.
    fn build_scheduled(input: OwnedSnapshotInput<'_>, frees: bool) -> NodeSnapshot {
        let mut files = input.files;
        let lookup = |path: &str| files.get(path).map(FileBytes::as_bytes);
        let metadata =
            layout::metadata_from(input.name, &lookup).with_file_time(input.newest_file_time);
        // Hashed before parsing, while every file is still in memory anyway:
        // a hashing thread beside the parsers would keep each file alive
        // until its turn in path order, past its parse.
        let id = layout::snapshot_id(files.iter().map(|(p, c)| (p.as_str(), c.as_bytes())));
        let reference_time = metadata.collection_time;
        let sizes: Vec<FileSize> = files
            .iter()
            .map(|(path, content)| FileSize {
                path: path.clone(),
                bytes: content.len() as u64,
                lines: METADATA_KINDS
                    .contains(&layout::classify(path))
                    .then(|| count_lines(content)),
            })
            .collect();

        // Hand each large artifact's files to the job that parses them.
        let mut take = |kinds: &dyn Fn(ArtifactKind) -> bool| -> Files {
            let paths: Vec<String> = files
                .keys()
                .filter(|path| kinds(layout::classify(path)))
                .cloned()
                .collect();
            paths
                .into_iter()
                .filter_map(|path| files.remove_entry(&path))
                .collect()
        };
        let mut jobs: Vec<Queued<'_>> = Vec::new();
        let mut queue = |parser: &'static str, releases: bool, group: Files, job: Box<Parse>| {
            if !group.is_empty() {
                jobs.push(Queued {
                    bytes: group.values().map(|c| c.len() as u64).sum(),
                    parser,
                    releases: releases && frees,
                    files: group
                        .iter()
                        .map(|(path, content)| (path.clone(), content.len() as u64))
                        .collect(),
                    job: Box::new(move |outcome: &mut Outcome| job(group, outcome)),
                });
            }
        };
        queue(
            "journald",
            // Keeps its file: its messages are slices of the file.
            false,
            take(&|kind| JOURNAL_KINDS.contains(&kind)),
            Box::new(move |group, local| {
                let options = journald::ParseOptions {
                    reference_time,
                    format: None,
                };
                let journals = JOURNAL_KINDS
                    .iter()
                    .flat_map(|&kind| paths_of(&group, kind))
                    .filter_map(|path| {
                        local.bytes(&group, path, "journald", |file| {
                            journald::parse_file(file, &options)
                        })
                    })
                    .collect();
                Done::Journals(journals)
            }),
        );
        queue(
            "conntrack",
            true,
            take(&|kind| matches!(kind, ArtifactKind::Conntrack | ArtifactKind::Conntrack6)),
            Box::new(|group, local| {
                let v4 = first_of(&group, ArtifactKind::Conntrack)
                    .and_then(|path| local.text(&group, path, "conntrack", conntrack::parse));
                let v6 = first_of(&group, ArtifactKind::Conntrack6)
                    .and_then(|path| local.text(&group, path, "conntrack", conntrack::parse));
                drop(group);
                for dump in [&v4, &v6].into_iter().flatten() {
                    dump.value.table.build_indexes();
                }
                Done::Conntrack(v4, v6)
            }),
        );
        queue(
            "iptables",
            true,
            take(&|kind| {
                matches!(
                    kind,
                    ArtifactKind::IptablesSave | ArtifactKind::Ip6tablesSave
                )
            }),
            Box::new(|group, local| {
                let v4 = first_of(&group, ArtifactKind::IptablesSave)
                    .and_then(|path| local.text(&group, path, "iptables", iptables::parse));
                let v6 = first_of(&group, ArtifactKind::Ip6tablesSave)
                    .and_then(|path| local.text(&group, path, "iptables", iptables::parse));
                drop(group);
                let view = v4.as_ref().map(|iptables| KubeView::new(&iptables.value));
                Done::Iptables(v4, v6, view)
            }),
        );
        queue(
            "dmesg",
            // Keeps its files: messages are slices of them.
            false,
            take(&|kind| {
                matches!(
                    kind,
                    ArtifactKind::DmesgCurrent | ArtifactKind::DmesgHuman | ArtifactKind::DmesgBoot
                )
            }),
            Box::new(|group, local| Done::Kernel(kernel_messages(local, &group))),
        );
        queue(
            "iptables-list",
            // Keeps its files: rule texts are slices of them.
            false,
            take(&|kind| {
                matches!(
                    kind,
                    ArtifactKind::IptablesList { .. } | ArtifactKind::Ip6tablesList { .. }
                )
            }),
            Box::new(|group, local| {
                let listings = group
                    .keys()
                    .filter_map(|path| {
                        local.shared_text(&group, path, "iptables-list", iptables_list::parse_file)
                    })
                    .collect();
                Done::Listings(listings)
            }),
        );
        // Largest last, so that `pop` takes it first.
        jobs.sort_by_key(|queued| queued.bytes);
        let schedule = Mutex::new(Schedule {
            queue: jobs,
            releasing: Vec::new(),
        });
        let released = Condvar::new();

        let mut outcome = Outcome::default();
        let by_kind = group_by_kind(&files);
        let paths = |kind: ArtifactKind| by_kind.get(&kind).cloned().unwrap_or_default();
        let first = |kind: ArtifactKind| paths(kind).into_iter().next();
        let snapshot = std::thread::scope(|scope| {
            let worker = || {
                let mut local = Outcome::default();
                let mut done = Vec::new();
                while let Some(queued) = Schedule::next(&schedule, &released) {
                    let Queued {
                        bytes,
                        parser,
                        releases,
                        files,
                        job,
                    } = queued;
                    // A parser that panics (a bug: parsers must not panic)
                    // leaves its files unparsed, with a failure that says
                    // so, instead of taking the snapshot down.
                    let run = std::panic::AssertUnwindSafe(|| job(&mut local));
                    match std::panic::catch_unwind(run) {
                        Ok(result) => done.push(result),
                        Err(_) => local.panicked(parser, files),
                    }
                    if releases {
                        Schedule::finished(&schedule, &released, bytes);
                    }
                }
                (done, local)
            };
            let workers = [scope.spawn(worker), scope.spawn(worker)];

            // The small ones run here meanwhile.
            let small = &mut outcome;
            let files = &files;
            let mut snapshot = NodeSnapshot {
                id: id.clone(),
                metadata: metadata.clone(),
                coverage: Coverage::default(),
                failures: Vec::new(),
                iptables: None,
                ip6tables: None,
                iptables_listings: Vec::new(),
                conntrack: None,
                conntrack6: None,
                kernel: None,
                journals: Vec::new(),
                container_logs: paths(ArtifactKind::KubeProxyLog)
                    .into_iter()
                    .filter_map(|path| small.text(files, path, "cri", cri::parse))
                    .collect(),
                cni_logs: [ArtifactKind::IpamdLog, ArtifactKind::CniPluginLog]
                    .iter()
                    .flat_map(|&kind| paths(kind))
                    .filter_map(|path| {
                        small.text(files, path, "vpc-cni-log", ok(vpc_cni::parse_log))
                    })
                    .collect(),
                sysctl: first(ArtifactKind::Sysctl)
                    .and_then(|path| small.text(files, path, "sysctl", sysctl::parse)),
                routes: first(ArtifactKind::IpRoute).and_then(|path| {
                    small.text(files, path, "ip-route", ok(iproute::parse_routes))
                }),
                routes6: first(ArtifactKind::Ip6Route).and_then(|path| {
                    small.text(files, path, "ip-route", ok(iproute::parse_routes))
                }),
                ip_rules: first(ArtifactKind::IpRule)
                    .and_then(|path| small.text(files, path, "ip-rule", ok(iproute::parse_rules))),
                ip6_rules: first(ArtifactKind::Ip6Rule)
                    .and_then(|path| small.text(files, path, "ip-rule", ok(iproute::parse_rules))),
                resolv_conf: first(ArtifactKind::ResolvConf)
                    .and_then(|path| small.text(files, path, "resolv-conf", ok(resolv::parse))),
                ethtool: first(ArtifactKind::Ethtool)
                    .and_then(|path| small.text(files, path, "ethtool", ethtool::parse)),
                ipvs: first(ArtifactKind::Ipvsadm)
                    .and_then(|path| small.text(files, path, "ipvsadm", ok(ipvs::parse))),
                ipset: first(ArtifactKind::Ipset)
                    .and_then(|path| small.text(files, path, "ipset", ok(ipvs::ipset::parse))),
                ipamd_env: first(ArtifactKind::IpamdEnvSettings).and_then(|path| {
                    small.text(
                        files,
                        path,
                        "ipamd-env-settings",
                        vpc_cni::parse_env_settings,
                    )
                }),
                cni_config_variables: first(ArtifactKind::CniConfigVariables).and_then(|path| {
                    small.text(
                        files,
                        path,
                        "cni-configuration-variables",
                        vpc_cni::parse_container_info,
                    )
                }),
                enis: first(ArtifactKind::IpamdEnis)
                    .and_then(|path| small.text(files, path, "ipamd-enis", vpc_cni::parse_enis)),
                cni_conflists: paths(ArtifactKind::CniConflist)
                    .into_iter()
                    .filter_map(|path| {
                        small.text(files, path, "cni-conflist", vpc_cni::parse_conflist)
                    })
                    .collect(),
                kubelet_configs: paths(ArtifactKind::KubeletConfig)
                    .into_iter()
                    .filter_map(|path| {
                        small.text(files, path, "kubelet-config", kubelet_config::parse)
                    })
                    .collect(),
                inodes: first(ArtifactKind::Inodes)
                    .and_then(|path| small.text(files, path, "df", ok(storage::parse_df))),
                mounts: first(ArtifactKind::Mounts)
                    .and_then(|path| small.text(files, path, "mounts", ok(storage::parse_mounts))),
                ps: first(ArtifactKind::Ps)
                    .and_then(|path| small.text(files, path, "ps", ps::parse)),
                kube_view: OnceLock::new(),
            };

            for worker in workers {
                // Jobs catch their own panics; the worker loop has none.
                let (done, local) = worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                small.absorb(local);
                for done in done {
                    match done {
                        Done::Journals(journals) => snapshot.journals = journals,
                        Done::Conntrack(v4, v6) => {
                            (snapshot.conntrack, snapshot.conntrack6) = (v4, v6);
                        }
                        Done::Iptables(v4, v6, view) => {
                            (snapshot.iptables, snapshot.ip6tables) = (v4, v6);
                            snapshot.kube_view = OnceLock::from(view);
                        }
                        Done::Kernel(kernel) => snapshot.kernel = kernel,
                        Done::Listings(listings) => snapshot.iptables_listings = listings,
                    }
                }
            }
            snapshot
        });
        snapshot.finish(outcome, &sizes, input.rejected)
    }

    /// kube-proxy's services, endpoints and node ports as the iptables
    /// ruleset programs them, or `None` without `networking/iptables-save.txt`.
    pub fn kube_view(&self) -> Option<&KubeView> {
        self.kube_view
            .get_or_init(|| {
                self.iptables
                    .as_ref()
                    .map(|iptables| KubeView::new(&iptables.value))
            })
            .as_ref()
    }

    /// The journal of `kind` (the first, when several files have it).
    pub fn journal(&self, kind: ArtifactKind) -> Option<&Artifact<Journal>> {
        self.journals.iter().find(|journal| journal.kind == kind)
    }

    /// The kubelet configuration (`kubelet/kubelet-config.json` first).
    pub fn kubelet_config(&self) -> Option<&Artifact<KubeletConfig>> {
        self.kubelet_configs
            .iter()
            .find(|config| config.path.ends_with("kubelet-config.json"))
            .or_else(|| self.kubelet_configs.first())
    }

    fn finish(
        mut self,
        outcome: Outcome,
        files: &[FileSize],
        rejected: &[FileCoverage],
    ) -> NodeSnapshot {
        let mut rows: Vec<FileCoverage> = Vec::with_capacity(files.len() + rejected.len());
        for file in files {
            let row = match outcome.parsed.get(&file.path) {
                Some(row) => row.clone(),
                None => {
                    let status = match (layout::classify(&file.path), file.lines) {
                        (ArtifactKind::Unknown, _) => CoverageStatus::Unknown,
                        (_, Some(lines)) => CoverageStatus::Parsed {
                            parser: "metadata".to_owned(),
                            lines,
                            unparsed_lines: 0,
                        },
                        _ => CoverageStatus::RecognisedNotParsed,
                    };
                    FileCoverage::new(file.path.clone(), file.bytes, status)
                }
            };
            rows.push(row);
        }
        rows.extend(rejected.iter().cloned());
        self.coverage = Coverage::from_files(rows);
        self.failures = outcome.failures;
        self.failures.sort_by(|a, b| a.path.cmp(&b.path));
        self
    }
}

impl fmt::Display for ArtifactFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} parser: {}", self.path, self.parser, self.reason)
    }
}

/// Kinds read by the metadata, not by a parser of their own.
const METADATA_KINDS: [ArtifactKind; 3] = [
    ArtifactKind::InstanceId,
    ArtifactKind::Region,
    ArtifactKind::AvailabilityZone,
];

/// Kinds holding `journalctl` output.
const JOURNAL_KINDS: [ArtifactKind; 7] = [
    ArtifactKind::KubeletJournal,
    ArtifactKind::ContainerdJournal,
    ArtifactKind::DockerJournal,
    ArtifactKind::SandboxImageJournal,
    ArtifactKind::NodeadmJournal,
    ArtifactKind::MulticardInterfacesJournal,
    ArtifactKind::Messages,
];

/// What [`NodeSnapshot::finish`] needs of a file once its bytes are gone.
struct FileSize {
    path: String,
    bytes: u64,
    /// Counted for the files the metadata reads (their coverage row says
    /// how many lines); the parsers count their own.
    lines: Option<u64>,
}

/// The files one job parses, by path.
type Files = BTreeMap<String, FileBytes>;

/// One large artifact's parse, run by a worker thread; it owns its files and
/// drops them when done.
type Job<'a> = Box<dyn FnOnce(&mut Outcome) -> Done + Send + 'a>;

/// A [`Job`] in the queue, with what a failure report needs.
struct Queued<'a> {
    /// Bytes of its files (the queue runs the largest first).
    bytes: u64,
    /// The parser's name in the coverage report.
    parser: &'static str,
    /// Whether the job frees its files when done (its model does not
    /// slice into them).
    releases: bool,
    /// Its files' paths and sizes.
    files: Vec<(String, u64)>,
    job: Job<'a>,
}

/// The work queue the two parse workers share.
///
/// Jobs run largest first, with one rule for memory: a job does not start
/// while a larger job that will free its files is still running. A model
/// built meanwhile would add to the peak on top of that larger file, which
/// is about to go (on the large bundle: kube-proxy's view and the iptables
/// model built while the 40 MB conntrack text waits for its parse to end);
/// waiting costs at most the remainder of that one parse.
struct Schedule<'a> {
    /// Smallest first; `pop` takes the largest.
    queue: Vec<Queued<'a>>,
    /// Sizes of the running jobs that free their files when done.
    releasing: Vec<u64>,
}

impl<'a> Schedule<'a> {
    /// The next job to run, waiting while the rule above says so; `None`
    /// when the queue is empty.
    fn next(schedule: &Mutex<Schedule<'a>>, released: &Condvar) -> Option<Queued<'a>> {
        let mut state = schedule.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let next_bytes = state.queue.last()?.bytes;
            if state.releasing.iter().any(|&bytes| bytes > next_bytes) {
                // Another worker runs that job and always reports back.
                state = released.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let queued = state.queue.pop()?;
            if queued.releases {
                state.releasing.push(queued.bytes);
            }
            return Some(queued);
        }
    }

    /// Records that a job which frees its files is done.
    fn finished(schedule: &Mutex<Schedule<'a>>, released: &Condvar, bytes: u64) {
        let mut state = schedule.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = state.releasing.iter().position(|&b| b == bytes) {
            state.releasing.swap_remove(at);
        }
        released.notify_all();
    }
}

/// A job's body, before it is given its files.
type Parse = dyn FnOnce(Files, &mut Outcome) -> Done + Send;

/// What a [`Job`] produced.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per job, moved once; boxing would only add allocations"
)]
enum Done {
    Journals(Vec<Artifact<Journal>>),
    Conntrack(
        Option<Artifact<ConntrackDump>>,
        Option<Artifact<ConntrackDump>>,
    ),
    Iptables(
        Option<Artifact<Ruleset>>,
        Option<Artifact<Ruleset>>,
        Option<KubeView>,
    ),
    Kernel(Option<KernelMessages>),
    Listings(Vec<Artifact<Listing>>),
}

/// The paths of `kind` among `files`, in path order.
fn paths_of(files: &Files, kind: ArtifactKind) -> impl Iterator<Item = &str> {
    files
        .keys()
        .filter(move |path| layout::classify(path) == kind)
        .map(String::as_str)
}

/// The first path of `kind` among `files`.
fn first_of(files: &Files, kind: ArtifactKind) -> Option<&str> {
    paths_of(files, kind).next()
}

/// What the parsing threads report besides the artifacts.
#[derive(Default)]
struct Outcome {
    parsed: BTreeMap<String, FileCoverage>,
    failures: Vec<ArtifactFailure>,
}

impl Outcome {
    /// Records the files of a job whose parser panicked as not parsed.
    fn panicked(&mut self, parser: &'static str, files: Vec<(String, u64)>) {
        let reason = "the parser panicked (a bug; please report it)".to_owned();
        for (path, bytes) in files {
            self.parsed.insert(
                path.clone(),
                FileCoverage::new(
                    path.clone(),
                    bytes,
                    CoverageStatus::NotParsed {
                        parser: parser.to_owned(),
                        reason: reason.clone(),
                    },
                ),
            );
            self.failures.push(ArtifactFailure {
                path,
                parser,
                reason: reason.clone(),
            });
        }
    }

    fn absorb(&mut self, other: Outcome) {
        self.parsed.extend(other.parsed);
        self.failures.extend(other.failures);
    }

    /// Parses a text artifact; invalid UTF-8 is replaced and reported.
    fn text<T, E: fmt::Display>(
        &mut self,
        files: &BTreeMap<String, FileBytes>,
        path: &str,
        parser: &'static str,
        parse: impl FnOnce(&str) -> Result<Parsed<T>, E>,
    ) -> Option<Artifact<T>> {
        self.bytes(files, path, parser, |file| {
            let bytes = file.as_bytes();
            // UTF-8 was checked once, when the file was wrapped.
            let text = match file.as_str() {
                Some(text) => std::borrow::Cow::Borrowed(text),
                None => String::from_utf8_lossy(bytes),
            };
            let mut parsed = parse(&text)?;
            if let std::borrow::Cow::Owned(_) = text {
                parsed.diagnostics.push(invalid_utf8(bytes));
            }
            Ok::<_, E>(parsed)
        })
    }

    /// Parses a text artifact whose model slices the file's shared content
    /// (the parser reads invalid UTF-8 as U+FFFD; that is reported here).
    fn shared_text<T, E: fmt::Display>(
        &mut self,
        files: &BTreeMap<String, FileBytes>,
        path: &str,
        parser: &'static str,
        parse: impl FnOnce(&FileBytes) -> Result<Parsed<T>, E>,
    ) -> Option<Artifact<T>> {
        self.bytes(files, path, parser, |file| {
            let mut parsed = parse(file)?;
            if file.as_str().is_none() {
                parsed.diagnostics.push(invalid_utf8(file));
            }
            Ok::<_, E>(parsed)
        })
    }

    /// Parses an artifact from its bytes and records its coverage.
    fn bytes<T, E: fmt::Display>(
        &mut self,
        files: &BTreeMap<String, FileBytes>,
        path: &str,
        parser: &'static str,
        parse: impl FnOnce(&FileBytes) -> Result<Parsed<T>, E>,
    ) -> Option<Artifact<T>> {
        let content = files.get(path)?;
        match parse(content) {
            Ok(parsed) => {
                let artifact = Artifact {
                    path: path.to_owned(),
                    kind: layout::classify(path),
                    bytes: content.len() as u64,
                    lines: count_lines(content),
                    value: parsed.value,
                    diagnostics: parsed.diagnostics,
                };
                self.parsed
                    .insert(path.to_owned(), artifact.coverage(parser));
                Some(artifact)
            }
            Err(error) => {
                let reason = error.to_string();
                self.parsed.insert(
                    path.to_owned(),
                    FileCoverage::new(
                        path.to_owned(),
                        content.len() as u64,
                        CoverageStatus::NotParsed {
                            parser: parser.to_owned(),
                            reason: reason.clone(),
                        },
                    ),
                );
                self.failures.push(ArtifactFailure {
                    path: path.to_owned(),
                    parser,
                    reason,
                });
                None
            }
        }
    }
}

/// Adapts an infallible parser to the fallible shape.
fn ok<T>(
    parse: impl FnOnce(&str) -> Parsed<T>,
) -> impl FnOnce(&str) -> Result<Parsed<T>, std::convert::Infallible> {
    move |text| Ok(parse(text))
}

/// Reads the kernel log once: `dmesg.current` dated by `dmesg.human.current`,
/// else whichever copy exists.
fn kernel_messages(outcome: &mut Outcome, files: &Files) -> Option<KernelMessages> {
    let first = |kind| first_of(files, kind);
    let current = first(ArtifactKind::DmesgCurrent)
        .and_then(|path| outcome.shared_text(files, path, "dmesg", dmesg::parse_file));
    let human = first(ArtifactKind::DmesgHuman)
        .and_then(|path| outcome.shared_text(files, path, "dmesg", dmesg::parse_file));
    let boot = first(ArtifactKind::DmesgBoot)
        .and_then(|path| outcome.shared_text(files, path, "dmesg", dmesg::parse_file));

    let mut copies = Vec::new();
    let mut log = match (current, human) {
        (Some(mut current), Some(human)) => {
            current.value = match dmesg::align_interval(&current.value, &human.value) {
                Ok(alignment) => current
                    .value
                    .with_boot_time_from(alignment.boot_time, alignment.source()),
                Err(error) => KernelLog {
                    boot_time: BootTime::Unknown {
                        reason: format!(
                            "{} could not be paired with {}: {error}",
                            current.path, human.path
                        ),
                    },
                    ..current.value
                },
            };
            copies.push(human.path);
            current
        }
        (Some(current), None) => current,
        (None, Some(human)) => human,
        (None, None) => boot.clone()?,
    };
    if let Some(boot) = boot
        && boot.path != log.path
    {
        copies.push(boot.path);
    }
    // Keep the reason a since-boot log has no wall times when nothing could
    // date it (the parser's own reason otherwise stands).
    if let BootTime::Unknown { reason } = &mut log.value.boot_time
        && copies.is_empty()
        && log.value.format.time_is_since_boot()
    {
        *reason = format!("{reason}; the bundle has no `dmesg --ctime` copy to pair with");
    }
    let events = dmesg::events(&log.value);
    copies.sort();
    Some(KernelMessages {
        log,
        events,
        copies,
    })
}

fn group_by_kind(files: &BTreeMap<String, FileBytes>) -> BTreeMap<ArtifactKind, Vec<&str>> {
    let mut by_kind: BTreeMap<ArtifactKind, Vec<&str>> = BTreeMap::new();
    for path in files.keys() {
        by_kind
            .entry(layout::classify(path))
            .or_default()
            .push(path.as_str());
    }
    by_kind
}

fn count_lines(content: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', content).count() as u64;
    match content.last() {
        None => 0,
        Some(b'\n') => newlines,
        Some(_) => newlines + 1,
    }
}

/// The diagnostic of a file parsed with its invalid UTF-8 replaced, on the
/// line of the first invalid byte.
fn invalid_utf8(bytes: &[u8]) -> Diagnostic {
    let valid_up_to = std::str::from_utf8(bytes)
        .err()
        .map_or(bytes.len(), |error| error.valid_up_to());
    Diagnostic {
        line: memchr::memchr_iter(b'\n', &bytes[..valid_up_to]).count() + 1,
        reason: "invalid UTF-8 replaced with U+FFFD before parsing".to_owned(),
    }
}

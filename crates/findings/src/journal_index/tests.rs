//! The journal index never changes a finding: every rule gives the same
//! findings with the index as when it visits every journal entry, over
//! every rule fixture case, every scenario bundle and generated journals
//! that mix the rules' phrases in every case, in headers, quoted, escaped
//! and split.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};
use proptest::prelude::*;

use super::{JournalIndex, Needles, well_formed};
use crate::codes;
use crate::context::{RuleContext, Thresholds};

/// Every runnable rule's findings with and without the index, which must
/// be equal; returns how many journal entries the snapshot has and the
/// codes of the rules that found something.
#[track_caller]
fn same_findings(snapshot: &NodeSnapshot, what: &str) -> (usize, Vec<&'static str>) {
    let thresholds = Thresholds::default();
    let now = snapshot.metadata.collection_time;
    let indexed = RuleContext::new(snapshot, "node", now, &thresholds);
    let unindexed = RuleContext::new(snapshot, "node", now, &thresholds).unindexed();
    let mut fired = Vec::new();
    for rule in codes::all() {
        if !rule.needs.iter().all(|need| need.present(snapshot)) {
            continue;
        }
        let (mut with, mut without) = (Vec::new(), Vec::new());
        (rule.check)(&indexed, &mut with);
        (rule.check)(&unindexed, &mut without);
        assert_eq!(
            with, without,
            "{what}: {} differs with the index",
            rule.meta.code
        );
        if !with.is_empty() {
            fired.push(rule.meta.code);
        }
    }
    let entries = snapshot
        .journals
        .iter()
        .map(|journal| journal.value.len())
        .sum();
    (entries, fired)
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn fixtures_and_scenarios_find_the_same_with_the_index() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut cases: Vec<PathBuf> = subdirs(&fixtures.join("rules"))
        .iter()
        .flat_map(|rule| subdirs(rule))
        .collect();
    cases.extend(subdirs(&fixtures.join("bundles")));
    if cases.is_empty() {
        eprintln!("skipping: no fixtures under {}", fixtures.display());
        return;
    }
    let mut entries = 0;
    for case in &cases {
        let bundle = node_bundle::read_path(case, &node_bundle::Limits::default())
            .unwrap_or_else(|error| panic!("{}: {error}", case.display()));
        entries += same_findings(&bundle.snapshot(), &case.display().to_string()).0;
    }
    assert!(
        entries > 1_000,
        "only {entries} journal entries in the fixtures"
    );
}

#[test]
fn needles_are_well_formed_and_sets_fit() {
    let all = crate::rules::journal_needles();
    assert!(
        !all.is_empty() && all.len() <= 64,
        "{} needle sets",
        all.len()
    );
    for needles in all {
        assert!(
            !needles.words.is_empty() || !needles.klog_prefixes.is_empty(),
            "{}: no needle",
            needles.name
        );
        for needle in needles.words.iter().chain(needles.klog_prefixes) {
            assert!(well_formed(needle), "{}: {needle:?}", needles.name);
        }
    }
    let mut names: Vec<&str> = all.iter().map(|needles| needles.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "needle set names are unique");
}

#[test]
fn prefixes_of_words_count_for_their_sets() {
    static SHORT: Needles = Needles {
        name: "short",
        words: &["PLEG"],
        klog_prefixes: &[],
    };
    static LONG: Needles = Needles {
        name: "long",
        words: &["PLEG is not healthy"],
        klog_prefixes: &[],
    };
    static PREFIX: Needles = Needles {
        name: "prefix",
        words: &[],
        klog_prefixes: &["Eviction manager:"],
    };
    let matcher = super::Matcher::new(&[&SHORT, &LONG, &PREFIX]).unwrap();
    let journal = parse(
        "Jan 15 10:00:00 host kubelet[1]: E0115 10:00:00.000000    1 generic.go:1] \"PLEG is not healthy\"\n\
         Jan 15 10:00:01 host kubelet[1]: I0115 10:00:01.000000    1 a.go:1] \"EVICTION MANAGER: must evict\"\n\
         Jan 15 10:00:02 host kubelet[1]: I0115 10:00:02.000000    1 a.go:1] eviction manager: pod a/b is evicted successfully\n\
         Jan 15 10:00:03 host kubelet[1]: I0115 10:00:03.000000    1 a.go:1] \"Evict\\u0069on manager: x\"\n\
         Jan 15 10:00:04 host kubelet[1]: I0115 10:00:04.000000    1 PLEG.go:1] \"Eviction\"\n\
         Jan 15 10:00:05 host kubelet[1]: I0115 10:00:05.000000    1 a.go:1] \"manager\"\n",
    );
    let sets: Vec<u64> = journal
        .views()
        .map(|entry| matcher.sets_of(&entry))
        .collect();
    // Both PLEG sets; the prefix in any case, quoted or not, and escaped;
    // a word in the header (file name) counts as `mentions` counts it.
    assert_eq!(sets, [0b011, 0b100, 0b100, 0b100, 0b001, 0b000]);
}

#[test]
fn boot_start_is_the_last_boot() {
    let journal = parse(
        "Jan 15 10:00:00 host kubelet[1]: one\n\
         -- Boot 0123456789abcdef0123456789abcdef --\n\
         Jan 15 10:00:01 host kubelet[1]: two\n\
         Jan 15 10:00:02 host kubelet[1]: three\n",
    );
    assert_eq!(super::boot_start(&journal), 1);
    let journal =
        parse("Jan 15 10:00:00 host kubelet[1]: one\nJan 15 10:00:01 host kubelet[1]: two\n");
    assert_eq!(super::boot_start(&journal), 0);
    // An index that knows no journal yields every entry.
    let index = JournalIndex::default();
    let snapshot = NodeSnapshot::build(SnapshotInput {
        name: None,
        files: &BTreeMap::from([(
            "kubelet/kubelet.log".to_owned(),
            FileBytes::from(
                "Jan 15 10:00:00 host kubelet[1]: one\nJan 15 10:00:01 host kubelet[1]: two\n",
            ),
        )]),
        rejected: &[],
        newest_file_time: None,
    });
    let journal = &snapshot.journals[0];
    let needles = crate::rules::journal_needles()[0];
    assert_eq!(index.entries(&snapshot, journal, needles).count(), 2);
    assert_eq!(
        index.entries(&snapshot, journal, needles).since(1).count(),
        1
    );
    let built = JournalIndex::build(&snapshot, crate::rules::journal_needles());
    assert_eq!(built.entries(&snapshot, journal, needles).count(), 0);
}

/// A short-format journal.
fn parse(text: &str) -> node_artifacts::journald::Journal {
    node_artifacts::journald::parse(
        text.as_bytes(),
        &node_artifacts::journald::ParseOptions::default(),
    )
    .unwrap()
    .value
}

/// Pieces of kubelet and containerd lines: the rules' phrases in their own
/// case and others, split, inside quotes and escapes, and ordinary noise.
const KUBELET_BODIES: &[&str] = &[
    r#""PLEG is not healthy" pleg="pleg was last seen active 3m10.1s ago; threshold is 3m0s""#,
    r#""Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 4m0s ago; threshold is 3m0s""#,
    r#""Skipping pod synchronization" err="pleg is NOT healthy: pleg was last seen active 5m0s ago""#,
    r#""Error updating node status, will retry" err="error getting node \"ip-1\": context deadline exceeded""#,
    r#""ERROR UPDATING NODE STATUS, will retry""#,
    r#""Failed to update lease" err="Put \"https://x/leases/ip-1\": dial tcp 10.0.0.1:443: i/o timeout""#,
    r#""failed to ensure lease exists, will retry" err="Unauthorized" interval="7s""#,
    r#""Unhandled Error" err="x509: certificate has expired or is not yet valid: current time 2025-01-15T10:00:00Z is after 2025-01-14T00:00:00Z""#,
    r#""Unhandled Error" err="x509: certificate signed by unknown authority""#,
    r#""Failed to get node" err="Unauthorized""#,
    r#""Failed to list" err="the server has asked for the client to provide credentials""#,
    r#""Request failed" status=401 code="Unauthorized""#,
    r#""Request failed" err="unexpected status 401""#,
    r#""Eviction manager: attempting to reclaim" resourceName="memory""#,
    r#""Eviction manager: pod is evicted successfully" pod="shop/cart-1""#,
    r#"eviction manager: pod shop/cart-2 is evicted successfully"#,
    r#""EVICTION MANAGER: must evict pod(s) to reclaim" resourceName="nodefs""#,
    r#""Recording event message for node" node="ip-1" event="NodeHasInsufficientMemory""#,
    r#""Recording event message for node" node="ip-1" event="NodeHasSufficientMemory""#,
    r#""Recording event message for node" node="ip-1" event="NodeReady""#,
    r#""Node became not ready" node="ip-1" condition={"type":"Ready","status":"False","reason":"KubeletNotReady","message":"PLEG is not healthy"}"#,
    r#""Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with ImagePullBackOff: \"Back-off pulling image \\\"nginx:1.27\\\"\"" pod="shop/web-1" podUID="0123456789abcdef""#,
    r#""PullImage from image service failed" err="rpc error: code = NotFound desc = failed to pull and unpack image" image="602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10""#,
    r#""FAILED TO PULL IMAGE" image="registry.example/app:1" err="toomanyrequests: 429""#,
    r#""Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"abc123\": plugin type=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container" pod="shop/api-1""#,
    r#""FAILED TO CREATE SANDBOX FOR POD" pod="shop/api-2""#,
    r#""Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized""#,
    r#""Container runtime network not ready" networkReady="reason:networkpluginnotready message: CNI PLUGIN NOT INITIALIZED""#,
    r#""Node just became ready""#,
    r#""Probe failed" probeType="Liveness" pod="shop/web-1" podUID="0123456789abcdef" containerName="app" probeResult="failure" output="HTTP probe failed with statuscode: 500""#,
    r#""Killing container with a grace period" pod="shop/web-1" podUID="0123456789abcdef" containerName="app" containerMessage="Container app failed liveness probe, will be restarted""#,
    r#""Got sys oom event" event={"Pid":41233,"ProcessName":"java","TimeOfDeath":"2025-01-15T10:00:00Z"}"#,
    r#""Started kubelet""#,
    r#""SyncLoop (PLEG): event for pod" pod="shop/web-1" event={"ID":"0123456789abcdef","Type":"ContainerStarted"}"#,
    r#""Pod status updated" pod="shop/web-1" podUID="0123456789abcdef" phase="Running""#,
    r#""SyncLoop RECONCILE" source="api""#,
    r#"operationExecutor.VerifyControllerAttachedVolume started for volume "kube-api-access-1" pod "shop/web-1""#,
    r#""Evict\u0069on manager: escaped""#,
];

const SYSTEMD_BODIES: &[&str] = &[
    "Started kubelet.service - Kubernetes Kubelet.",
    "kubelet.service: Main process exited, code=exited, status=1/FAILURE",
    "kubelet.service: Failed with result 'exit-code'.",
    "kubelet.service: Scheduled restart job, restart counter is at 3.",
    "Starting kubelet.service - Kubernetes Kubelet...",
];

const CONTAINERD_BODIES: &[&str] = &[
    r#"time="2025-01-15T10:00:00.000000000Z" level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:api-1,Uid:0123-4567,Namespace:shop,Attempt:0,} failed, error" error="failed to setup network for sandbox \"abc\": plugin type=\"aws-cni\" failed (add): cni plugin not initialized""#,
    r#"time="2025-01-15T10:00:00.000000000Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:web-1,Uid:89ab-cdef,Namespace:shop,Attempt:0,}""#,
    r#"time="2025-01-15T10:00:00.000000000Z" level=error msg="PullImage \"nginx:1.27\" failed" error="failed to pull and unpack image \"docker.io/library/nginx:1.27\": 429 Too Many Requests""#,
    r#"time="2025-01-15T10:00:00.000000000Z" level=error msg="failed to load cni during init, please check CRI plugin status" error="cni config load failed: no network config found in /etc/cni/net.d""#,
    r#"time="2025-01-15T10:00:00.000000000Z" level=error msg="x509: certificate signed by unknown authority""#,
    r#"time="2025-01-15T10:00:00.000000000Z" level=info msg="loading plugin \"io.containerd.grpc.v1.cri\"...""#,
];

/// klog source files, some of them spelling the rules' phrases: the index
/// must count a phrase in the header as `mentions` does.
const FILES: &[&str] = &[
    "kubelet.go",
    "lease.go",
    "pdat.go",
    "PLEG.go",
    "x401.go",
    "CNI.go",
];

/// One journal line of kubelet (klog from source file `file`) or
/// containerd at second `second`.
fn line(out: &mut String, second: u32, kubelet: Option<&str>, body: &str) {
    use std::fmt::Write;
    let (h, m, s) = (10 + second / 3600 % 10, second / 60 % 60, second % 60);
    let _ = if let Some(file) = kubelet {
        writeln!(
            out,
            "Jan 15 {h:02}:{m:02}:{s:02} ip-1 kubelet[2871]: I0115 {h:02}:{m:02}:{s:02}.000000    2871 {file}:1] {body}"
        )
    } else {
        writeln!(
            out,
            "Jan 15 {h:02}:{m:02}:{s:02} ip-1 containerd[2650]: {body}"
        )
    };
}

/// Flips the case of the ASCII letters of `text` where `mask` has a bit.
fn recase(text: &str, mask: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(at, c)| {
            if mask >> (at % 64) & 1 == 1 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn generated_journals_find_the_same_with_the_index(
        kubelet in proptest::collection::vec((0usize..64, any::<u64>(), 0u8..8, 0u32..7_200), 0..120),
        containerd in proptest::collection::vec((0usize..16, any::<u64>(), 0u8..8, 0u32..7_200), 0..40),
        boot_at in proptest::option::of(0usize..120),
    ) {
        let mut kubelet_log = String::new();
        let mut times: Vec<u32> = kubelet.iter().map(|piece| piece.3).collect();
        times.sort_unstable();
        for (index, ((pick, mask, mode, _), second)) in kubelet.iter().zip(times).enumerate() {
            if boot_at == Some(index) {
                kubelet_log.push_str("-- Boot 0123456789abcdef0123456789abcdef --\n");
            }
            // Mostly the phrases as written; sometimes in another case, as
            // systemd lines, or cut short.
            let systemd = *pick % 8 == 7;
            let body = if systemd {
                SYSTEMD_BODIES[pick % SYSTEMD_BODIES.len()].to_owned()
            } else {
                KUBELET_BODIES[pick % KUBELET_BODIES.len()].to_owned()
            };
            let body = match mode {
                0 => recase(&body, *mask),
                1 => body[..body.len() / 2].to_owned(),
                _ => body,
            };
            if systemd {
                use std::fmt::Write;
                let _ = writeln!(kubelet_log, "Jan 15 10:00:{:02} ip-1 systemd[1]: {body}", second % 60);
            } else {
                let file = FILES[(*mask >> 60) as usize % FILES.len()];
                line(&mut kubelet_log, second, Some(file), &body);
            }
        }
        let mut containerd_log = String::new();
        let mut times: Vec<u32> = containerd.iter().map(|piece| piece.3).collect();
        times.sort_unstable();
        for ((pick, mask, mode, _), second) in containerd.iter().zip(times) {
            let body = CONTAINERD_BODIES[pick % CONTAINERD_BODIES.len()];
            let body = if *mode == 0 { recase(body, *mask) } else { body.to_owned() };
            line(&mut containerd_log, second, None, &body);
        }
        let mut files = BTreeMap::new();
        files.insert("kubelet/kubelet.log".to_owned(), FileBytes::from(kubelet_log));
        files.insert("containerd/containerd-log.txt".to_owned(), FileBytes::from(containerd_log));
        let snapshot = NodeSnapshot::build(SnapshotInput {
            name: Some("eks_i-0123456789abcdef0_2025-01-15_1200-UTC_0.7.9"),
            files: &files,
            rejected: &[],
            newest_file_time: None,
        });
        same_findings(&snapshot, "generated");
        // Split across threads, the postings are the same.
        let matcher = super::Matcher::new(crate::rules::journal_needles()).unwrap();
        for journal in &snapshot.journals {
            let whole = matcher.postings(&journal.value, 0..journal.value.len());
            for parts in [2, 3, 7] {
                prop_assert_eq!(&matcher.postings_in_parts(&journal.value, parts), &whole);
            }
        }
    }
}

/// The generated journals are not vacuous: with every phrase once, the
/// journal rules fire.
#[test]
fn every_phrase_once_fires_the_journal_rules() {
    let mut kubelet_log = String::new();
    for (second, body) in (0..).zip(KUBELET_BODIES.iter().cycle().take(KUBELET_BODIES.len() * 5)) {
        line(&mut kubelet_log, second * 7, Some("kubelet.go"), body);
    }
    let mut containerd_log = String::new();
    for (second, body) in (0..).zip(CONTAINERD_BODIES.iter().cycle().take(200)) {
        line(&mut containerd_log, second, None, body);
    }
    let files = BTreeMap::from([
        (
            "kubelet/kubelet.log".to_owned(),
            FileBytes::from(kubelet_log),
        ),
        (
            "containerd/containerd-log.txt".to_owned(),
            FileBytes::from(containerd_log),
        ),
    ]);
    let snapshot = NodeSnapshot::build(SnapshotInput {
        name: Some("eks_i-0123456789abcdef0_2025-01-15_1200-UTC_0.7.9"),
        files: &files,
        rejected: &[],
        newest_file_time: None,
    });
    let (_, fired) = same_findings(&snapshot, "every phrase");
    for code in [
        "JRN001", "JRN003", "JRN004", "JRN005", "JRN006", "JRN007", "JRN009", "JRN011", "JRN012",
        "JRN010",
    ] {
        assert!(fired.contains(&code), "{code} did not fire: {fired:?}");
    }
}

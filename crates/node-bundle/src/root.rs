//! Entry names: normalising them safely and finding the bundle root.
//!
//! Archives name entries in many ways for the same bundle: `./kernel/dmesg.boot`,
//! `eks_i-…_0.7.9/kernel/dmesg.boot`, `tmp/eks-log-collector/kernel/dmesg.boot`.
//! [`normalise`] turns each into clean `/`-separated segments (refusing the
//! unsafe ones), and [`detect_root`] finds how many wrapping folders to strip
//! so that every bundle ends up keyed as `kernel/dmesg.boot`.

use std::collections::BTreeSet;

use node_artifacts::layout::{COLLECTOR_DIRECTORIES, parse_archive_name};

use crate::RejectReason;

/// Normalises an entry name to `a/b/c`: drops empty and `.` segments.
///
/// A `..` segment is refused rather than resolved: nothing legitimate in a
/// bundle needs it, and resolving it would let an entry pose as another
/// file (`logs/../system/instance-id.txt`) or, in a reader that wrote to
/// disk, escape the extraction folder (the "zip slip" attack). An absolute
/// name is refused for the same reason: it claims a place outside the
/// bundle. Names that are not UTF-8 are refused because every consumer keys
/// files by text paths and a lossy decoding could make two entries collide.
pub(crate) fn normalise(raw: &[u8]) -> Result<String, RejectReason> {
    let text = std::str::from_utf8(raw).map_err(|_| RejectReason::NonUtf8Path)?;
    if text.starts_with('/') {
        return Err(RejectReason::AbsolutePath);
    }
    let mut out = String::with_capacity(text.len());
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(RejectReason::PathTraversal),
            _ => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(segment);
            }
        }
    }
    Ok(out)
}

/// Resolves a link target against the directory holding the link (`dir`,
/// already normalised), without leaving the archive's top: `None` when the
/// target is absolute or climbs above the top.
pub(crate) fn resolve_relative(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut segments: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            _ => segments.push(segment),
        }
    }
    Some(segments.join("/"))
}

/// How many leading folders of `paths` (normalised file paths) wrap the
/// bundle root.
///
/// Candidates are the prefixes of the directory prefix all paths share. A
/// candidate's score is the number of distinct collector directories
/// (`kernel`, `networking`, `system`, …) found right below it; the best
/// score wins and ties go to the shallowest candidate. A whole bundle has
/// many collector directories at its root, so the root wins clearly. For a
/// partial bundle with one directory, preferring the shallowest match keeps
/// `var_log/pods/<pod>/kubelet/0.log` from being mistaken for a bundle rooted
/// at `var_log/pods/<pod>` (a plain "deepest match" rule would do that).
/// When no candidate holds a collector directory, the wrapping folders up
/// to the deepest one named like a collector archive (`eks_…`) are stripped,
/// and otherwise none.
pub(crate) fn detect_root<'a>(paths: impl IntoIterator<Item = &'a str>) -> usize {
    let paths: Vec<&str> = paths.into_iter().collect();
    let mut common: Option<Vec<&str>> = None;
    for path in &paths {
        let mut dirs: Vec<&str> = path.split('/').collect();
        dirs.pop();
        common = Some(match common {
            None => dirs,
            Some(mut shared) => {
                let same = shared.iter().zip(&dirs).take_while(|(a, b)| a == b).count();
                shared.truncate(same);
                shared
            }
        });
    }
    let common = common.unwrap_or_default();
    let is_collector_dir = |segment: &str| COLLECTOR_DIRECTORIES.contains(&segment);

    let mut best: Option<(usize, usize)> = None; // (score, depth)
    for depth in 0..=common.len() {
        let score = if depth < common.len() {
            usize::from(is_collector_dir(common[depth]))
        } else {
            let below: BTreeSet<&str> = paths
                .iter()
                .filter_map(|path| {
                    let mut segments = path.split('/').skip(depth);
                    let dir = segments.next()?;
                    segments.next().map(|_| dir)
                })
                .filter(|dir| is_collector_dir(dir))
                .collect();
            below.len()
        };
        if score > 0 && best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, depth));
        }
    }
    match best {
        Some((_, depth)) => depth,
        None => common
            .iter()
            .rposition(|segment| parse_archive_name(segment).is_some())
            .map_or(0, |at| at + 1),
    }
}

/// `path` without its first `depth` segments.
pub(crate) fn strip_segments(path: &str, depth: usize) -> &str {
    if depth == 0 {
        return path;
    }
    path.splitn(depth + 1, '/').nth(depth).unwrap_or("")
}

/// The first `depth` segments of `path`.
pub(crate) fn leading_segments(path: &str, depth: usize) -> &str {
    if depth == 0 {
        return "";
    }
    match path.match_indices('/').nth(depth - 1) {
        Some((at, _)) => &path[..at],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::{detect_root, normalise, resolve_relative, strip_segments};
    use crate::RejectReason;

    #[track_caller]
    fn check_normalise(raw: &str, expect: Result<&str, RejectReason>) {
        assert_eq!(
            normalise(raw.as_bytes()),
            expect.map(str::to_owned),
            "{raw}"
        );
    }

    #[test]
    fn normalising() {
        check_normalise("./kernel/dmesg.boot", Ok("kernel/dmesg.boot"));
        check_normalise("a//b/./c", Ok("a/b/c"));
        check_normalise("./", Ok(""));
        check_normalise("../etc/passwd", Err(RejectReason::PathTraversal));
        check_normalise("a/../../b", Err(RejectReason::PathTraversal));
        check_normalise("a/..", Err(RejectReason::PathTraversal));
        check_normalise("/etc/passwd", Err(RejectReason::AbsolutePath));
        check_normalise("a/..b", Ok("a/..b"));
        assert_eq!(normalise(b"a/\xff"), Err(RejectReason::NonUtf8Path));
    }

    #[test]
    fn resolving() {
        assert_eq!(resolve_relative("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(resolve_relative("a", "./x/y").as_deref(), Some("a/x/y"));
        assert_eq!(resolve_relative("a", "../../c"), None);
        assert_eq!(resolve_relative("a", "/etc"), None);
    }

    #[track_caller]
    fn check_root(paths: &[&str], expect: usize) {
        assert_eq!(detect_root(paths.iter().copied()), expect, "{paths:?}");
    }

    #[test]
    fn roots() {
        check_root(&["kernel/dmesg.boot", "system/region.txt"], 0);
        check_root(&["eks_x/kernel/dmesg.boot", "eks_x/system/region.txt"], 1);
        check_root(
            &[
                "tmp/eks-log-collector/kernel/dmesg.boot",
                "tmp/eks-log-collector/networking/conntrack.txt",
            ],
            2,
        );
        check_root(&["eks_x/kernel/dmesg.boot"], 1);
        check_root(&["var_log/pods/p/kubelet/0.log"], 0);
        check_root(
            &["w/var_log/pods/p/kubelet/0.log", "w/kernel/dmesg.boot"],
            1,
        );
        check_root(&["notes.txt"], 0);
        check_root(&["a/b/notes.txt"], 0);
        check_root(&["eks_i-1_2025-11-20_0930-UTC_0.7.9/misc/notes.txt"], 1);
        check_root(&[], 0);
    }

    #[test]
    fn stripping() {
        assert_eq!(strip_segments("a/b/c", 0), "a/b/c");
        assert_eq!(strip_segments("a/b/c", 1), "b/c");
        assert_eq!(strip_segments("a/b/c", 2), "c");
        assert_eq!(super::leading_segments("a/b/c", 2), "a/b");
        assert_eq!(super::leading_segments("a/b/c", 0), "");
    }
}

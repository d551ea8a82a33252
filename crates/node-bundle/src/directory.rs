//! Reading a bundle directory.
//!
//! The walk never follows a link out of the bundle root: a symbolic link is
//! read only when its fully resolved target is a regular file inside the
//! root (compared after `canonicalize`, so `a/../../etc` tricks and links to
//! links are resolved first). Links to directories are not followed, which
//! also rules out cycles. FIFOs, sockets and device files are never opened:
//! opening a FIFO blocks until a writer appears and reading a device such as
//! `/dev/zero` never ends. After opening, the file's type is checked again
//! on the open handle. The walk assumes nobody swaps files under it while it
//! reads (a bundle directory is a finished artifact); the checks above keep
//! a swap from leaking data outside the root only as far as the operating
//! system's path resolution allows.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use node_artifacts::layout::parse_archive_name;
use node_artifacts::shared::FileBytes;
use node_artifacts::time::Timestamp;

use crate::archive::{check_file_size, check_total};
use crate::root::{detect_root, leading_segments, strip_segments};
use crate::{BundleError, BundleFiles, BundleSource, Limit, Limits, RejectReason, Rejected};

/// Reads a bundle directory; with `only` (a path relative to the walk's
/// root, before the root prefix is stripped) every other regular file is
/// listed with empty content and not read.
pub(crate) fn read(
    path: &Path,
    limits: &Limits,
    only: Option<&str>,
) -> Result<BundleFiles, BundleError> {
    let given = fs::canonicalize(path).map_err(|source| io_error(path, source))?;
    let root = bundle_folder(&given)?.unwrap_or(given);
    let mut walk = Walk {
        root: root.clone(),
        limits: *limits,
        files: Vec::new(),
        rejected: Vec::new(),
        total_bytes: 0,
        newest: None,
        n_entries: 0,
        only: only.map(str::to_owned),
    };
    walk.directory(&root, "")?;

    // A directory holding an unpacked archive that wraps the bundle in
    // folders (`tmp/eks-log-collector/…`) reads like that archive would.
    let depth = detect_root(walk.files.iter().map(|(p, _)| p.as_str()));
    let root_prefix = walk
        .files
        .first()
        .map_or("", |(path, _)| leading_segments(path, depth))
        .to_owned();
    let files: BTreeMap<String, FileBytes> = walk
        .files
        .into_iter()
        .map(|(path, content)| {
            (
                strip_segments(&path, depth).to_owned(),
                FileBytes::new(content),
            )
        })
        .collect();
    Ok(BundleFiles {
        source: BundleSource::Directory(path.to_owned()),
        name: root.file_name().map(|n| n.to_string_lossy().into_owned()),
        root_prefix,
        files,
        rejected: walk.rejected,
        total_bytes: walk.total_bytes,
        newest_file_time: walk.newest,
        truncated: None,
    })
}

/// The only child folder named like a collector archive (`eks_…`), when
/// `dir` holds exactly one: a scenario folder keeps a README beside it.
fn bundle_folder(dir: &Path) -> Result<Option<PathBuf>, BundleError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|source| io_error(dir, source))? {
        let entry = entry.map_err(|source| io_error(dir, source))?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let name = entry.file_name();
        if is_dir
            && name
                .to_str()
                .is_some_and(|n| parse_archive_name(n).is_some())
        {
            found.push(entry.path());
        }
    }
    Ok(if found.len() == 1 { found.pop() } else { None })
}

struct Walk {
    root: PathBuf,
    limits: Limits,
    files: Vec<(String, Vec<u8>)>,
    rejected: Vec<Rejected>,
    total_bytes: u64,
    newest: Option<Timestamp>,
    n_entries: u64,
    only: Option<String>,
}

impl Walk {
    fn directory(&mut self, dir: &Path, relative: &str) -> Result<(), BundleError> {
        // An unreadable subfolder is reported and skipped; an unreadable
        // root is an error.
        let listing = fs::read_dir(dir).and_then(|listing| listing.collect::<Result<Vec<_>, _>>());
        let mut entries = match listing {
            Ok(entries) => entries,
            Err(error) if !relative.is_empty() => {
                self.reject(relative.to_owned(), unreadable(&error));
                return Ok(());
            }
            Err(source) => return Err(io_error(dir, source)),
        };
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            self.n_entries += 1;
            if self.n_entries > self.limits.max_entries {
                return Err(BundleError::LimitExceeded {
                    limit: Limit::Entries,
                    value: self.n_entries,
                    max: self.limits.max_entries,
                });
            }
            let name = entry.file_name();
            let shown_name = name.to_string_lossy();
            let shown = if relative.is_empty() {
                shown_name.into_owned()
            } else {
                format!("{relative}/{shown_name}")
            };
            let Some(name) = name.to_str() else {
                self.reject(shown, RejectReason::NonUtf8Path);
                continue;
            };
            let child_relative = if relative.is_empty() {
                name.to_owned()
            } else {
                format!("{relative}/{name}")
            };
            let path = entry.path();
            let file_type = match entry.file_type() {
                Ok(file_type) => file_type,
                Err(error) => {
                    self.reject(shown, unreadable(&error));
                    continue;
                }
            };
            if file_type.is_dir() {
                self.directory(&path, &child_relative)?;
            } else if file_type.is_symlink() {
                self.symlink(&path, child_relative)?;
            } else if file_type.is_file() {
                self.file(&path, child_relative)?;
            } else if file_type.is_fifo() {
                self.reject(shown, RejectReason::Fifo);
            } else if file_type.is_char_device() || file_type.is_block_device() {
                self.reject(shown, RejectReason::DeviceFile);
            } else {
                let entry_type = if file_type.is_socket() {
                    "socket"
                } else {
                    "unknown"
                };
                self.reject(
                    shown,
                    RejectReason::Unsupported {
                        entry_type: entry_type.to_owned(),
                    },
                );
            }
        }
        Ok(())
    }

    fn symlink(&mut self, link: &Path, relative: String) -> Result<(), BundleError> {
        let target = fs::read_link(link)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let resolved = match fs::canonicalize(link) {
            Ok(resolved) => resolved,
            Err(_) => {
                self.reject(relative, RejectReason::LinkUnresolved { target });
                return Ok(());
            }
        };
        if !resolved.starts_with(&self.root) {
            self.reject(relative, RejectReason::LinkOutside { target });
            return Ok(());
        }
        if !fs::metadata(&resolved).is_ok_and(|m| m.is_file()) {
            self.reject(relative, RejectReason::LinkUnresolved { target });
            return Ok(());
        }
        self.file(&resolved, relative)
    }

    fn file(&mut self, path: &Path, relative: String) -> Result<(), BundleError> {
        if self.only.as_ref().is_some_and(|only| *only != relative) {
            self.files.push((relative, Vec::new()));
            return Ok(());
        }
        match read_regular_file(path, &self.limits, &mut self.total_bytes) {
            Ok(content) => {
                if let Some(time) = fs::metadata(path).ok().as_ref().and_then(modified) {
                    self.newest = Some(self.newest.map_or(time, |n| n.max(time)));
                }
                self.files.push((relative, content));
                Ok(())
            }
            Err(BundleError::Io { source, .. }) => {
                self.reject(relative, unreadable(&source));
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    fn reject(&mut self, path: String, reason: RejectReason) {
        self.rejected.push(Rejected { path, reason });
    }
}

/// Reads a regular file whole, within the file and total limits; adds its
/// size to `total_bytes`.
pub(crate) fn read_regular_file(
    path: &Path,
    limits: &Limits,
    total_bytes: &mut u64,
) -> Result<Vec<u8>, BundleError> {
    let io = |source| io_error(path, source);
    let mut file = fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    check_file_size(metadata.len(), limits)?;
    check_total(*total_bytes, metadata.len(), limits)?;
    let capacity = usize::try_from(metadata.len()).unwrap_or(0);
    let mut content = Vec::with_capacity(capacity);
    // The file may grow while it is read (a live log): the cap holds anyway.
    (&mut file)
        .take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut content)
        .map_err(io)?;
    let read = content.len() as u64;
    check_file_size(read, limits)?;
    check_total(*total_bytes, read, limits)?;
    *total_bytes += read;
    Ok(content)
}

/// A file's modification time as a [`Timestamp`].
pub(crate) fn modified(metadata: &fs::Metadata) -> Option<Timestamp> {
    let since_epoch = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_micros()).ok().map(Timestamp)
}

fn io_error(path: &Path, source: std::io::Error) -> BundleError {
    BundleError::Io {
        path: path.to_owned(),
        source,
    }
}

fn unreadable(error: &std::io::Error) -> RejectReason {
    RejectReason::Unreadable {
        error: error.to_string(),
    }
}

//! Reads an EKS node log bundle into memory, safely.
//!
//! # Overview
//!
//! `eks-log-collector.sh` (which the SSM document
//! AWSSupport-CollectEKSInstanceLogs runs) fills a folder and packs it as
//! `eks_<instance-id>_<YYYY-MM-DD_HHMM-UTC>_<version>.tar.gz`. This crate
//! turns such a bundle into a [`BundleFiles`]: every file's bytes under its
//! normalised, root-relative path (`networking/conntrack.txt`), plus the
//! entries it refused and why.
//!
//! - [`read_path`]: a directory, a `.tar.gz` (recognised by its gzip magic,
//!   whatever its extension) or an uncompressed `.tar`.
//! - [`read_tar_gz`]: a gzip-compressed tar stream from any reader.
//! - [`read_dir`]: a directory (the bundle itself, or a folder holding one
//!   `eks_…` bundle folder).
//! - [`read_single_file`]: one artifact file with its kind named, filed
//!   under the path the collector would give it.
//!
//! What the files mean is `node_artifacts::layout`'s business
//! ([`classify`](node_artifacts::layout::classify),
//! [`metadata_from`](node_artifacts::layout::metadata_from),
//! [`snapshot_id`](node_artifacts::layout::snapshot_id)); this crate only
//! reads.
//!
//! # Design decisions
//!
//! A key design decision is that **this crate is the IO boundary** for
//! bundles: `node-artifacts` stays sans-IO, and only this crate (and the
//! server, which calls it) touches the filesystem for bundles.
//!
//! Bundles come from machines under investigation and from people we do not
//! know, so they are **untrusted input**. Nothing is ever written to disk:
//! archives are decompressed as a stream into memory, so a hostile entry name
//! cannot overwrite anything. Entry names are still checked (`..`, absolute
//! paths, links, device files and FIFOs are refused and listed in
//! [`BundleFiles::rejected`]) because a path that escapes the root would
//! otherwise masquerade as another file of the bundle, and reading a FIFO or
//! a device could block forever or never end. Size, entry count and
//! compression ratio are capped by [`Limits`] while decompressing, so a
//! decompression bomb stops with [`BundleError::LimitExceeded`] after a few
//! megabytes of work instead of exhausting the machine.
//!
//! Files are read whole, however large (up to the limits): a log's last line
//! is often the one that matters, so there are no head-only reads.
//!
//! # Example
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let bundle = dir.path().join("eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9");
//! std::fs::create_dir_all(bundle.join("system"))?;
//! std::fs::write(bundle.join("system/region.txt"), "us-west-2\n")?;
//!
//! let files = node_bundle::read_path(dir.path(), &node_bundle::Limits::default())?;
//! assert_eq!(files.get("system/region.txt"), Some(&b"us-west-2\n"[..]));
//! assert_eq!(files.metadata().instance_id.as_deref(), Some("i-0123456789abcdef0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod directory;
mod limits;
mod root;
mod store;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use node_artifacts::layout::{self, ArtifactKind, BundleMetadata};
use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, OwnedSnapshotInput, SnapshotInput};
use node_artifacts::time::Timestamp;
use serde::Serialize;

pub use limits::{Limit, Limits};
pub use store::{FileStore, KEEP_BELOW, StoredFile};

/// The files of one bundle, in memory.
///
/// `Debug` shows each file's size rather than its bytes, so a bundle can be
/// logged without printing hundreds of megabytes.
#[derive(Clone, PartialEq, Eq)]
pub struct BundleFiles {
    /// Where the bundle came from.
    pub source: BundleSource,
    /// The archive's file name or the bundle directory's name
    /// (`eks_i-…_0.7.9.tar.gz`), when known.
    pub name: Option<String>,
    /// The wrapping folders stripped from every path to reach the bundle
    /// root (`eks_i-…_0.7.9`, `tmp/eks-log-collector`), or empty.
    pub root_prefix: String,
    /// Every file, by normalised root-relative path (`/` separators, no
    /// `.` or `..` segments). The contents are shared with the snapshot's
    /// models that point into them (journal messages), not copied.
    pub files: BTreeMap<String, FileBytes>,
    /// Entries refused, with the reason, in input order.
    pub rejected: Vec<Rejected>,
    /// Sum of the sizes of [`files`](Self::files).
    pub total_bytes: u64,
    /// The newest modification time among the files (from the archive
    /// headers or the filesystem), a fallback for the collection time.
    pub newest_file_time: Option<Timestamp>,
    /// Set when an archive ended early or was damaged after some entries had
    /// been read: the files before the damage are kept, and this says what
    /// went wrong.
    pub truncated: Option<String>,
}

/// Where a bundle came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleSource {
    /// A directory on disk.
    Directory(PathBuf),
    /// A tar archive, gzip-compressed or not; `None` when read from a stream
    /// without a path.
    Archive(Option<PathBuf>),
    /// One artifact file read with its kind named.
    SingleFile {
        /// The file read.
        path: PathBuf,
        /// The kind the caller named.
        kind: ArtifactKind,
    },
}

/// An entry that was not read into the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The entry's path as the archive or directory gave it (lossily
    /// decoded when it is not UTF-8).
    pub path: String,
    /// Why it was refused.
    pub reason: RejectReason,
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RejectReason {
    /// The path has a `..` segment.
    PathTraversal,
    /// The path starts at `/`.
    AbsolutePath,
    /// The path is not valid UTF-8.
    NonUtf8Path,
    /// A symbolic or hard link whose target lies outside the bundle root.
    LinkOutside {
        /// The link's target as written.
        target: String,
    },
    /// A link whose target is not a regular file of the bundle (missing,
    /// a directory, or a chain of links too long).
    LinkUnresolved {
        /// The link's target as written.
        target: String,
    },
    /// A character or block device.
    DeviceFile,
    /// A named pipe.
    Fifo,
    /// A socket or another entry type that is not a regular file.
    Unsupported {
        /// What it was.
        entry_type: String,
    },
    /// The entry was cut short by the end or damage of the archive.
    Truncated,
    /// A later entry had the same path and replaced this one (as `tar`
    /// extraction would).
    Duplicate,
    /// The file could not be read.
    Unreadable {
        /// The operating system's message.
        error: String,
    },
}

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Reading from the filesystem failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A limit of [`Limits`] was exceeded; reading stopped there.
    #[error("{limit} limit exceeded: {} > {}", limit.render(*value), limit.render(*max))]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The value reached when reading stopped.
        value: u64,
        /// The limit in force.
        max: u64,
    },
    /// The stream is not a readable gzip-compressed tar archive.
    #[error("not a readable tar archive: {reason}")]
    Archive {
        /// What the decoder reported.
        reason: String,
    },
    /// The path is neither a directory nor an archive.
    #[error("{} is not a bundle: {reason}", path.display())]
    NotABundle {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// A file read again ([`FileStore::read`]) no longer has the size and
    /// checksum it had when the snapshot was built.
    #[error("`{path}` changed since the bundle was read; take a new snapshot")]
    Changed {
        /// The root-relative path.
        path: String,
    },
    /// [`read_single_file`] was given a kind name no parser reads.
    #[error("unknown artifact kind `{name}`")]
    UnknownKind {
        /// The name given.
        name: String,
    },
}

impl std::fmt::Debug for BundleFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes: BTreeMap<&str, usize> = self
            .files
            .iter()
            .map(|(path, content)| (path.as_str(), content.len()))
            .collect();
        f.debug_struct("BundleFiles")
            .field("source", &self.source)
            .field("name", &self.name)
            .field("root_prefix", &self.root_prefix)
            .field("file_sizes", &sizes)
            .field("rejected", &self.rejected)
            .field("total_bytes", &self.total_bytes)
            .field("newest_file_time", &self.newest_file_time)
            .field("truncated", &self.truncated)
            .finish()
    }
}

impl BundleFiles {
    /// The content of the file at root-relative `path`.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(FileBytes::as_bytes)
    }

    /// The bundle's metadata: identity from `system/*.txt`, time and
    /// version from the archive or root folder name, else the newest file
    /// time.
    pub fn metadata(&self) -> BundleMetadata {
        let lookup = |path: &str| self.get(path);
        layout::metadata_from(self.collector_name(), &lookup).with_file_time(self.newest_file_time)
    }

    /// The content-derived id of the files (see
    /// [`node_artifacts::layout::snapshot_id`]).
    pub fn snapshot_id(&self) -> String {
        layout::snapshot_id(self.files.iter().map(|(p, c)| (p.as_str(), c.as_bytes())))
    }

    /// Parses every file into a [`NodeSnapshot`] (see
    /// [`node_artifacts::snapshot`]); refused entries appear in its coverage.
    pub fn snapshot(&self) -> NodeSnapshot {
        let rejected: Vec<layout::FileCoverage> =
            self.rejected.iter().map(Rejected::coverage).collect();
        NodeSnapshot::build(SnapshotInput {
            name: self.collector_name(),
            files: &self.files,
            rejected: &rejected,
            newest_file_time: self.newest_file_time,
        })
    }

    /// Parses every file into a [`NodeSnapshot`] like
    /// [`snapshot`](Self::snapshot), handing the files over so that each
    /// file's bytes are released once parsed (the journals' stay: their
    /// models slice into them). Use it when the raw files are not needed
    /// afterwards; it keeps the peak memory of a load near the size of the
    /// bundle.
    pub fn into_snapshot(self) -> NodeSnapshot {
        let rejected: Vec<layout::FileCoverage> =
            self.rejected.iter().map(Rejected::coverage).collect();
        let name = self.collector_name().map(str::to_owned);
        NodeSnapshot::build_owned(OwnedSnapshotInput {
            name: name.as_deref(),
            files: self.files,
            rejected: &rejected,
            newest_file_time: self.newest_file_time,
        })
    }

    /// The name that carries the collector's instance, time and version:
    /// [`name`](Self::name) when it parses as one, else the last stripped
    /// root folder when that does, else `name`.
    pub fn collector_name(&self) -> Option<&str> {
        let root_leaf = self
            .root_prefix
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty());
        [self.name.as_deref(), root_leaf]
            .into_iter()
            .flatten()
            .find(|candidate| layout::parse_archive_name(candidate).is_some())
            .or(self.name.as_deref())
    }
}

/// Reads a bundle from a directory or an archive file.
///
/// A file is read as an archive when its first bytes are the gzip magic
/// (`1f 8b`) or it carries the `ustar` tar magic, whatever its name; any
/// other file is refused (name its kind and use [`read_single_file`]).
pub fn read_path(path: &Path, limits: &Limits) -> Result<BundleFiles, BundleError> {
    read_path_selected(path, limits, None)
}

/// [`read_path`], reading the content of `only` (a path before the root
/// prefix is stripped) and no other file's when it is given.
fn read_path_selected(
    path: &Path,
    limits: &Limits,
    only: Option<&str>,
) -> Result<BundleFiles, BundleError> {
    let io_error = |source| BundleError::Io {
        path: path.to_owned(),
        source,
    };
    let metadata = fs::metadata(path).map_err(io_error)?;
    if metadata.is_dir() {
        return directory::read(path, limits, only);
    }
    if !metadata.is_file() {
        return Err(BundleError::NotABundle {
            path: path.to_owned(),
            reason: "neither a directory nor a regular file",
        });
    }
    let mut file = fs::File::open(path).map_err(io_error)?;
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    let compressed = if head.starts_with(&[0x1f, 0x8b]) {
        true
    } else if head.get(257..262) == Some(b"ustar") {
        false
    } else {
        return Err(BundleError::NotABundle {
            path: path.to_owned(),
            reason: "neither a directory, a gzip file nor a tar archive (to read one artifact, name its kind)",
        });
    };
    // The sniffed bytes are replayed in front of the rest of the file, so
    // the archive is still read in one pass, without seeking.
    let chained = io::Cursor::new(head).chain(file);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let source = BundleSource::Archive(Some(path.to_owned()));
    archive::read(chained, compressed, name, source, limits, only)
}

/// Reads a gzip-compressed tar stream (the collector's `.tar.gz`) without
/// writing anything to disk.
///
/// `name` is the archive's file name when known; it carries the instance
/// id, collection time and collector version.
pub fn read_tar_gz<R: Read>(
    reader: R,
    name: Option<String>,
    limits: &Limits,
) -> Result<BundleFiles, BundleError> {
    archive::read(
        reader,
        true,
        name,
        BundleSource::Archive(None),
        limits,
        None,
    )
}

/// Reads a bundle directory.
///
/// The bundle root is `path` itself, or its only `eks_…` child folder when
/// `path` holds one (a scenario folder with a README next to the bundle).
/// Symbolic links are followed only to regular files inside the root.
pub fn read_dir(path: &Path, limits: &Limits) -> Result<BundleFiles, BundleError> {
    directory::read(path, limits, None)
}

/// Reads one artifact file whose kind the caller names (`conntrack`,
/// `kubelet-journal`, see [`ArtifactKind::name`]).
///
/// The file is filed under the path the collector gives that kind
/// (`networking/conntrack.txt`), so the rest of the pipeline treats it like a
/// bundle holding only that file.
pub fn read_single_file(
    path: &Path,
    kind_name: &str,
    limits: &Limits,
) -> Result<BundleFiles, BundleError> {
    let unknown = || BundleError::UnknownKind {
        name: kind_name.to_owned(),
    };
    let kind = ArtifactKind::from_name(kind_name).ok_or_else(unknown)?;
    let filed_under = kind.sample_path().ok_or_else(unknown)?;
    let metadata = fs::metadata(path).map_err(|source| BundleError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(BundleError::NotABundle {
            path: path.to_owned(),
            reason: "a single artifact must be a regular file",
        });
    }
    let mut total = 0;
    let content = directory::read_regular_file(path, limits, &mut total)?;
    let mut files = BTreeMap::new();
    files.insert(filed_under.to_owned(), FileBytes::new(content));
    Ok(BundleFiles {
        source: BundleSource::SingleFile {
            path: path.to_owned(),
            kind,
        },
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        root_prefix: String::new(),
        files,
        rejected: Vec::new(),
        total_bytes: total,
        newest_file_time: directory::modified(&metadata),
        truncated: None,
    })
}

impl Rejected {
    /// The coverage report row for this entry (status `rejected`, 0 bytes:
    /// its content was not kept).
    pub fn coverage(&self) -> layout::FileCoverage {
        layout::FileCoverage::new(
            self.path.clone(),
            0,
            layout::CoverageStatus::Rejected {
                reason: self.reason.to_string(),
            },
        )
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PathTraversal => f.write_str("path has a `..` segment"),
            Self::AbsolutePath => f.write_str("absolute path"),
            Self::NonUtf8Path => f.write_str("path is not valid utf-8"),
            Self::LinkOutside { target } => {
                write!(f, "link to `{target}` points outside the bundle")
            }
            Self::LinkUnresolved { target } => write!(
                f,
                "link to `{target}` does not lead to a regular file of the bundle"
            ),
            Self::DeviceFile => f.write_str("device file"),
            Self::Fifo => f.write_str("named pipe (fifo)"),
            Self::Unsupported { entry_type } => write!(f, "unsupported entry type: {entry_type}"),
            Self::Truncated => f.write_str("cut short by the end of the archive"),
            Self::Duplicate => f.write_str("replaced by a later entry with the same path"),
            Self::Unreadable { error } => write!(f, "unreadable: {error}"),
        }
    }
}

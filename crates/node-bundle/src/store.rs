//! The files of a parsed bundle, for reading lines after the parse without
//! keeping every byte in memory.
//!
//! [`BundleFiles::into_snapshot_and_store`] hands the files to
//! [`NodeSnapshot::build_owned`], which releases each file's bytes once
//! parsed, and keeps in the [`FileStore`]:
//!
//! - every file a model still holds (the journals: their messages are
//!   slices of the file), found by upgrading a weak handle after the parse,
//!   so keeping it costs nothing;
//! - every small file (≤ [`KEEP_BELOW`] bytes) and every file of a source
//!   that cannot be read again (an archive read from a stream);
//! - for the others (conntrack, iptables, the kernel log, …) only their
//!   size, line count and CRC-32. [`FileStore::read`] reads such a file
//!   again from the bundle's directory or archive, reading no other file's
//!   content, and refuses it if it no longer has the size and checksum it
//!   had when the snapshot was built.
//!
//! The checksum guards against a bundle changed on disk after it was
//! loaded, so that a line reference from a finding never shows a line of
//! other content; it is not a defence against a deliberate forgery (the
//! server reads only bundles from its configured directories).

use std::collections::BTreeMap;

use node_artifacts::layout;
use node_artifacts::shared::{FileBytes, WeakFileBytes};
use node_artifacts::snapshot::{NodeSnapshot, OwnedSnapshotInput};

use crate::{BundleError, BundleFiles, BundleSource, Limits, Rejected, directory};

/// Files at most this large stay in memory.
pub const KEEP_BELOW: u64 = 1 << 20;

/// The files of a parsed bundle: kept in memory or read again on demand.
///
/// Kept: every file a model still holds after the parse (the journals),
/// every file of at most [`KEEP_BELOW`] bytes, and every file of a source
/// that cannot be read again (an archive read from a stream). The others
/// keep their size, line count and CRC-32, and [`FileStore::read`] reads
/// them again from the bundle's directory or archive, refusing content that
/// no longer matches.
#[derive(Debug, Clone)]
pub struct FileStore {
    source: BundleSource,
    root_prefix: String,
    limits: Limits,
    files: BTreeMap<String, StoredFile>,
}

/// One file of a [`FileStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoredFile {
    /// In memory.
    Kept(FileBytes),
    /// Released after parsing; read again from the source when asked for.
    Released {
        /// Size in bytes.
        bytes: u64,
        /// Lines in the file.
        lines: u64,
        /// CRC-32 (IEEE) of the content.
        crc32: u32,
    },
}

impl StoredFile {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Kept(content) => content.len() as u64,
            Self::Released { bytes, .. } => *bytes,
        }
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl BundleFiles {
    /// Parses every file into a [`NodeSnapshot`] like
    /// [`into_snapshot`](Self::into_snapshot), and returns the files the
    /// caller may need afterwards (to show an artifact's lines) as a
    /// [`FileStore`] that keeps in memory only what the snapshot keeps
    /// anyway and the small files (see [`FileStore`]).
    pub fn into_snapshot_and_store(self) -> (NodeSnapshot, FileStore) {
        let rereadable = !matches!(self.source, BundleSource::Archive(None));
        let mut files = BTreeMap::new();
        let mut pending: Vec<(String, WeakFileBytes, StoredFile)> = Vec::new();
        for (path, content) in &self.files {
            if !rereadable || content.len() as u64 <= KEEP_BELOW {
                files.insert(path.clone(), StoredFile::Kept(content.clone()));
            } else {
                let released = StoredFile::Released {
                    bytes: content.len() as u64,
                    lines: count_lines(content),
                    crc32: crc32fast::hash(content),
                };
                pending.push((path.clone(), content.downgrade(), released));
            }
        }
        let rejected: Vec<layout::FileCoverage> =
            self.rejected.iter().map(Rejected::coverage).collect();
        let name = self.collector_name().map(str::to_owned);
        let store_source = self.source.clone();
        let root_prefix = self.root_prefix.clone();
        let snapshot = NodeSnapshot::build_owned(OwnedSnapshotInput {
            name: name.as_deref(),
            files: self.files,
            rejected: &rejected,
            newest_file_time: self.newest_file_time,
        });
        for (path, weak, released) in pending {
            let stored = weak.upgrade().map_or(released, StoredFile::Kept);
            files.insert(path, stored);
        }
        let store = FileStore {
            source: store_source,
            root_prefix,
            limits: Limits::default(),
            files,
        };
        (snapshot, store)
    }
}

impl FileStore {
    /// Sets the limits a file is read again under (the ones the bundle was
    /// first read with, so that a file that was accepted is accepted again).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether the bundle has a file at root-relative `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The file at `path`, without reading it.
    pub fn get(&self, path: &str) -> Option<&StoredFile> {
        self.files.get(path)
    }

    /// Every file, by root-relative path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &StoredFile)> {
        self.files.iter().map(|(path, file)| (path.as_str(), file))
    }

    /// Lines in the file at `path` (counted when it was first read).
    pub fn lines(&self, path: &str) -> Option<u64> {
        match self.files.get(path)? {
            StoredFile::Kept(content) => Some(count_lines(content)),
            StoredFile::Released { lines, .. } => Some(*lines),
        }
    }

    /// How many bytes the store holds in memory.
    pub fn kept_bytes(&self) -> u64 {
        self.files
            .values()
            .filter_map(|file| match file {
                StoredFile::Kept(content) => Some(content.len() as u64),
                StoredFile::Released { .. } => None,
            })
            .sum()
    }

    /// The content of the file at `path`: from memory, or read again from
    /// the bundle's directory or archive (no other file's content is read).
    ///
    /// `Ok(None)` when the bundle has no such file; an error when it cannot
    /// be read again or no longer has the size and CRC-32 it had when the
    /// snapshot was built ([`BundleError::Changed`]).
    pub fn read(&self, path: &str) -> Result<Option<FileBytes>, BundleError> {
        let (bytes, crc32) = match self.files.get(path) {
            None => return Ok(None),
            Some(StoredFile::Kept(content)) => return Ok(Some(content.clone())),
            Some(StoredFile::Released { bytes, crc32, .. }) => (*bytes, *crc32),
        };
        let content = self.read_again(path)?;
        match content {
            Some(content)
                if content.len() as u64 == bytes && crc32fast::hash(&content) == crc32 =>
            {
                Ok(Some(content))
            }
            _ => Err(BundleError::Changed {
                path: path.to_owned(),
            }),
        }
    }

    fn read_again(&self, path: &str) -> Result<Option<FileBytes>, BundleError> {
        let only = if self.root_prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.root_prefix)
        };
        let mut files = match &self.source {
            BundleSource::Directory(dir) => directory::read(dir, &self.limits, Some(&only))?,
            BundleSource::Archive(Some(archive)) => {
                crate::read_path_selected(archive, &self.limits, Some(&only))?
            }
            BundleSource::SingleFile { path: file, .. } => {
                let mut total = 0;
                let content = directory::read_regular_file(file, &self.limits, &mut total)?;
                return Ok(Some(FileBytes::new(content)));
            }
            // Never released (see `into_snapshot_and_store`).
            BundleSource::Archive(None) => return Ok(None),
        };
        let found = files.files.remove(path);
        // A file the first read took through a link (to a target whose
        // content the selective read skipped) needs the whole bundle.
        if found.as_ref().is_some_and(|content| content.is_empty()) {
            let whole = match &self.source {
                BundleSource::Directory(dir) => directory::read(dir, &self.limits, None)?,
                BundleSource::Archive(Some(archive)) => crate::read_path(archive, &self.limits)?,
                _ => return Ok(found),
            };
            return Ok(whole.files.get(path).cloned());
        }
        Ok(found)
    }
}

/// Lines as the coverage report counts them (a last line without a newline
/// counts).
fn count_lines(content: &[u8]) -> u64 {
    let newlines = content.iter().filter(|&&b| b == b'\n').count() as u64;
    match content.last() {
        None => 0,
        Some(b'\n') => newlines,
        Some(_) => newlines + 1,
    }
}

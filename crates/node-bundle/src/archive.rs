//! Reading a tar archive, gzip-compressed or not, as a stream into memory.
//!
//! ```text
//! reader ─► Counting (compressed bytes) ─► BufReader ─► MultiGzDecoder ─► Guard (inflated bytes, limits) ─► tar::Archive
//! ```
//!
//! Nothing is written to disk. [`Guard`] sits between the decompressor and
//! the tar parser and sees every inflated byte (file data, headers, padding,
//! long-name and pax records alike), so the total size and compression ratio
//! limits hold for the whole stream, not only for the files kept.
//!
//! Links: a symbolic or hard link entry is resolved only to a regular file
//! of the same bundle, after the whole archive has been read (its target may
//! come later in the stream), and the link's path then holds a copy of the
//! target's bytes. A link whose target is absolute, climbs above the
//! archive's top, or lies outside the detected bundle root is refused: the
//! collector copies files (`cp --dereference`), so a link pointing out of
//! the bundle can only be a mistake or an attack, and following it would
//! let an archive claim content it does not hold.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use flate2::bufread::MultiGzDecoder;
use node_artifacts::shared::FileBytes;
use node_artifacts::time::Timestamp;

use crate::root::{detect_root, leading_segments, normalise, resolve_relative, strip_segments};
use crate::{BundleError, BundleFiles, BundleSource, Limit, Limits, RejectReason, Rejected};

/// How many links a chain of links may hold before it is refused.
const MAX_LINK_HOPS: usize = 8;

/// Reads an archive stream; `compressed` selects gzip decoding.
///
/// With `only` (a normalised archive path, before the root is stripped),
/// every other regular file is listed with empty content and its bytes are
/// skipped, not read: [`crate::FileStore`] re-reads one file that way.
pub(crate) fn read<R: Read>(
    reader: R,
    compressed: bool,
    name: Option<String>,
    source: BundleSource,
    limits: &Limits,
    only: Option<&str>,
) -> Result<BundleFiles, BundleError> {
    let meter = Rc::new(Meter::default());
    let counted = Counting {
        inner: reader,
        meter: Rc::clone(&meter),
    };
    let collected = if compressed {
        // 64 KiB reads keep the decoder fed with few calls; the decoder's own
        // output is pulled by the tar reader straight into each file's buffer.
        let decoder = MultiGzDecoder::new(BufReader::with_capacity(64 << 10, counted));
        collect(decoder, &meter, true, limits, only)?
    } else {
        collect(counted, &meter, false, limits, only)?
    };
    collected.finish(name, source, limits)
}

/// Byte counts shared by the two ends of the pipeline.
#[derive(Default)]
struct Meter {
    compressed: Cell<u64>,
    inflated: Cell<u64>,
    tripped: Cell<Option<(Limit, u64, u64)>>,
}

impl Meter {
    fn tripped_error(&self) -> Option<BundleError> {
        self.tripped
            .get()
            .map(|(limit, value, max)| BundleError::LimitExceeded { limit, value, max })
    }
}

/// Counts the bytes read from the (compressed) input.
struct Counting<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter
            .compressed
            .set(self.meter.compressed.get() + n as u64);
        Ok(n)
    }
}

/// Counts inflated bytes and stops the stream when a limit trips.
///
/// The check runs on every read, before the tar parser sees the bytes, so a
/// bomb is stopped after at most one read buffer past the limit.
struct Guard<R> {
    inner: R,
    meter: Rc<Meter>,
    check_ratio: bool,
    limits: Limits,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.meter.tripped.get().is_some() {
            return Err(io::Error::other("bundle limit exceeded"));
        }
        let n = self.inner.read(buf)?;
        let inflated = self.meter.inflated.get() + n as u64;
        self.meter.inflated.set(inflated);
        let limits = &self.limits;
        if inflated > limits.max_stream_bytes() {
            self.meter
                .tripped
                .set(Some((Limit::TotalBytes, inflated, limits.max_total_bytes)));
        } else if self.check_ratio && inflated > limits.ratio_grace_bytes {
            let ratio = inflated / self.meter.compressed.get().max(1);
            if ratio > limits.max_compression_ratio {
                self.meter.tripped.set(Some((
                    Limit::CompressionRatio,
                    ratio,
                    limits.max_compression_ratio,
                )));
            }
        }
        if self.meter.tripped.get().is_some() {
            return Err(io::Error::other("bundle limit exceeded"));
        }
        Ok(n)
    }
}

/// What the stream held, before the root is known.
#[derive(Default)]
struct Collected {
    /// `(normalised path, content)` in stream order.
    files: Vec<(String, Vec<u8>)>,
    links: Vec<PendingLink>,
    rejected: Vec<Rejected>,
    total_bytes: u64,
    newest: Option<i64>,
    truncated: Option<String>,
}

struct PendingLink {
    /// The link's normalised path.
    path: String,
    /// The target as written in the archive.
    target: String,
    /// The target resolved to a normalised archive path, when it stays
    /// inside the archive.
    resolved: Option<String>,
}

fn collect<R: Read>(
    inflated: R,
    meter: &Rc<Meter>,
    check_ratio: bool,
    limits: &Limits,
    only: Option<&str>,
) -> Result<Collected, BundleError> {
    let guard = Guard {
        inner: inflated,
        meter: Rc::clone(meter),
        check_ratio,
        limits: *limits,
    };
    let mut archive = tar::Archive::new(guard);
    let stream_error = |error: io::Error| {
        meter
            .tripped_error()
            .unwrap_or_else(|| BundleError::Archive {
                reason: error.to_string(),
            })
    };
    let entries = archive.entries().map_err(stream_error)?;
    let mut out = Collected::default();
    let mut n_entries: u64 = 0;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                // A damaged or cut archive keeps what came before the damage;
                // one that fails on its very first entry is not an archive.
                let error = stream_error(error);
                if n_entries == 0 || !matches!(error, BundleError::Archive { .. }) {
                    return Err(error);
                }
                out.truncated = Some(error.to_string());
                break;
            }
        };
        n_entries += 1;
        if n_entries > limits.max_entries {
            return Err(BundleError::LimitExceeded {
                limit: Limit::Entries,
                value: n_entries,
                max: limits.max_entries,
            });
        }
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let entry_type = entry.header().entry_type();
        if entry_type.is_dir() {
            continue;
        }
        let mut reject = |reason| {
            out.rejected.push(Rejected {
                path: shown.clone(),
                reason,
            });
        };
        let path = match normalise(&raw_path) {
            Ok(path) if path.is_empty() => {
                reject(RejectReason::Unsupported {
                    entry_type: "entry without a name".to_owned(),
                });
                continue;
            }
            Ok(path) => path,
            Err(reason) => {
                reject(reason);
                continue;
            }
        };
        if entry_type.is_symlink() || entry_type.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let resolved = if entry_type.is_symlink() {
                let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                resolve_relative(dir, &target)
            } else {
                // A hard link names another entry of the archive by its
                // archive path.
                normalise(target.as_bytes()).ok().filter(|p| !p.is_empty())
            };
            out.links.push(PendingLink {
                path,
                target,
                resolved,
            });
            continue;
        }
        if entry_type.is_character_special() || entry_type.is_block_special() {
            reject(RejectReason::DeviceFile);
            continue;
        }
        if entry_type.is_fifo() {
            reject(RejectReason::Fifo);
            continue;
        }
        if !(entry_type.is_file() || entry_type.is_contiguous() || entry_type.is_gnu_sparse()) {
            reject(RejectReason::Unsupported {
                entry_type: format!("{entry_type:?} (type byte {})", entry_type.as_byte()),
            });
            continue;
        }

        if only.is_some_and(|only| only != path) {
            out.files.push((path, Vec::new()));
            continue;
        }
        let size = entry.size();
        check_file_size(size, limits)?;
        check_total(out.total_bytes, size, limits)?;
        let capacity = usize::try_from(size.min(limits.max_file_bytes)).unwrap_or(0);
        let mut content = Vec::with_capacity(capacity);
        if let Err(error) = (&mut entry)
            .take(limits.max_file_bytes.saturating_add(1))
            .read_to_end(&mut content)
        {
            let error = stream_error(error);
            if !matches!(error, BundleError::Archive { .. }) {
                return Err(error);
            }
            reject(RejectReason::Truncated);
            out.truncated = Some(error.to_string());
            break;
        }
        let read = content.len() as u64;
        if read < size && !entry_type.is_gnu_sparse() {
            // The tar reader ends an entry quietly at the end of the stream;
            // a short read means the archive was cut inside this file.
            reject(RejectReason::Truncated);
            out.truncated = Some(format!(
                "archive ends inside `{shown}` after {read} of {size} bytes"
            ));
            break;
        }
        check_file_size(read, limits)?;
        check_total(out.total_bytes, read, limits)?;
        out.total_bytes += read;
        if let Ok(mtime) = entry.header().mtime() {
            let micros = i64::try_from(mtime)
                .unwrap_or(i64::MAX / 2)
                .saturating_mul(1_000_000);
            out.newest = Some(out.newest.map_or(micros, |n| n.max(micros)));
        }
        out.files.push((path, content));
    }
    Ok(out)
}

impl Collected {
    /// Finds the root, resolves links inside it and keys files by their
    /// root-relative paths.
    fn finish(
        mut self,
        name: Option<String>,
        source: BundleSource,
        limits: &Limits,
    ) -> Result<BundleFiles, BundleError> {
        let depth = detect_root(
            self.files
                .iter()
                .map(|(path, _)| path.as_str())
                .chain(self.links.iter().map(|link| link.path.as_str())),
        );
        let root_prefix = self
            .files
            .first()
            .map(|(path, _)| path.as_str())
            .or_else(|| self.links.first().map(|link| link.path.as_str()))
            .map_or("", |path| leading_segments(path, depth))
            .to_owned();

        let by_path: HashMap<&str, usize> = self
            .files
            .iter()
            .enumerate()
            .map(|(index, (path, _))| (path.as_str(), index))
            .collect();
        let link_targets: HashMap<&str, Option<&str>> = self
            .links
            .iter()
            .map(|link| (link.path.as_str(), link.resolved.as_deref()))
            .collect();
        let inside_root = |path: &str| {
            root_prefix.is_empty()
                || path
                    .strip_prefix(root_prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        };

        let mut resolved_links: Vec<(String, Vec<u8>)> = Vec::new();
        for link in &self.links {
            let outside = RejectReason::LinkOutside {
                target: link.target.clone(),
            };
            let mut hop = match link.resolved.as_deref() {
                Some(target) if inside_root(target) => target,
                _ => {
                    self.rejected.push(Rejected {
                        path: link.path.clone(),
                        reason: outside,
                    });
                    continue;
                }
            };
            let mut found = None;
            for _ in 0..=MAX_LINK_HOPS {
                if let Some(&index) = by_path.get(hop) {
                    found = Some(index);
                    break;
                }
                match link_targets.get(hop) {
                    Some(Some(next)) if inside_root(next) => hop = next,
                    _ => break,
                }
            }
            let Some(index) = found else {
                self.rejected.push(Rejected {
                    path: link.path.clone(),
                    reason: RejectReason::LinkUnresolved {
                        target: link.target.clone(),
                    },
                });
                continue;
            };
            let content = self.files[index].1.clone();
            check_total(self.total_bytes, content.len() as u64, limits)?;
            self.total_bytes += content.len() as u64;
            resolved_links.push((link.path.clone(), content));
        }

        let mut files = BTreeMap::new();
        for (path, content) in self.files.into_iter().chain(resolved_links) {
            let relative = strip_segments(&path, depth).to_owned();
            if let Some(replaced) = files.insert(relative, FileBytes::new(content)) {
                // Like tar itself, the later entry of a path wins; the
                // earlier one is reported, not silently dropped.
                self.total_bytes -= replaced.len() as u64;
                self.rejected.push(Rejected {
                    path,
                    reason: RejectReason::Duplicate,
                });
            }
        }
        Ok(BundleFiles {
            source,
            name,
            root_prefix,
            files,
            rejected: self.rejected,
            total_bytes: self.total_bytes,
            newest_file_time: self.newest.map(Timestamp),
            truncated: self.truncated,
        })
    }
}

pub(crate) fn check_file_size(size: u64, limits: &Limits) -> Result<(), BundleError> {
    if size > limits.max_file_bytes {
        return Err(BundleError::LimitExceeded {
            limit: Limit::FileBytes,
            value: size,
            max: limits.max_file_bytes,
        });
    }
    Ok(())
}

pub(crate) fn check_total(total: u64, adding: u64, limits: &Limits) -> Result<(), BundleError> {
    let value = total.saturating_add(adding);
    if value > limits.max_total_bytes {
        return Err(BundleError::LimitExceeded {
            limit: Limit::TotalBytes,
            value,
            max: limits.max_total_bytes,
        });
    }
    Ok(())
}

//! Where snapshots come from and how they are kept: bundle directories, the
//! persisted store directory, and the loaded snapshots themselves.
//!
//! [`Engine`] is the server's state without MCP: it lists the bundles found
//! in the configured directories (re-scanned on every listing, so a bundle
//! copied in while the server runs appears at once), loads a bundle into a
//! [`Loaded`] value (read, parse and check, once) through the
//! [`SnapshotStore`], and resolves snapshot ids, reloading an evicted or
//! persisted id from the source that produced it.
//!
//! Loading is CPU work (parsing hundreds of megabytes), so it runs on the
//! blocking pool and never stalls the protocol task.

use std::collections::BTreeMap;
use std::fs;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use findings::{Context, Report};
use node_artifacts::layout::{self, BundleMetadata};
use node_artifacts::snapshot::NodeSnapshot;
use node_bundle::{BundleFiles, FileStore, Limits};
use serde::{Deserialize, Serialize};

use crate::store::SnapshotStore;

/// Snapshots kept in memory unless configured otherwise.
pub const DEFAULT_CAPACITY: usize = 8;

/// The name of the index file in the store directory: snapshot id → source.
const INDEX_FILE: &str = "index.json";

/// One loaded snapshot: the parsed artifacts, the report computed once, the
/// raw files (for line reads and resources) and derived query views.
pub struct Loaded {
    /// The parsed snapshot.
    pub snapshot: NodeSnapshot,
    /// The findings report, computed once at load.
    pub report: Report,
    /// The bundle's files by root-relative path: the small ones and those
    /// the snapshot's models share (the journals) in memory, the others
    /// read again from the bundle on demand (see [`FileStore`]).
    pub files: FileStore,
    /// The bundle's name (archive or directory), when known.
    pub name: Option<String>,
    /// The source key the snapshot was loaded from (a canonical path).
    pub source: String,
    /// Milliseconds spent reading, parsing and checking.
    pub load_ms: u64,
}

/// Where bundles are found.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Directories whose entries (directories or archives) are bundles.
    pub bundle_dirs: Vec<PathBuf>,
    /// Where collected bundles are persisted, keyed by snapshot id; also
    /// scanned for bundles.
    pub store_dir: Option<PathBuf>,
    /// Size limits for reading one bundle.
    pub limits: Limits,
}

/// One bundle found in a configured directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// The entry's file name (what `take_snapshot` accepts as `bundle`).
    pub name: String,
    /// Its canonical path (the source key).
    pub path: PathBuf,
    /// Identity and time read from the name alone.
    pub metadata: BundleMetadata,
}

/// The server state without MCP.
pub struct Engine {
    sources: Sources,
    store: SnapshotStore<Loaded>,
}

/// Why a load failed, split by whose fault it is.
#[derive(Debug)]
pub enum LoadError {
    /// The caller named something that is not there; the message says what
    /// to call instead and is safe to show.
    NotFound(String),
    /// The bundle could not be read or the work failed; the message is safe
    /// to show, the chain is logged.
    Failed(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    sources: BTreeMap<String, String>,
}

impl Engine {
    /// An engine over `sources` keeping at most `capacity` snapshots loaded.
    pub fn new(sources: Sources, capacity: NonZeroUsize) -> Self {
        let engine = Self {
            sources,
            store: SnapshotStore::new(capacity),
        };
        if let Some(index) = engine.read_index() {
            for (id, source) in index.sources {
                engine.store.remember(&id, &source);
            }
        }
        engine
    }

    /// The configured sources.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The store of loaded snapshots.
    pub fn store(&self) -> &SnapshotStore<Loaded> {
        &self.store
    }

    /// Every bundle in the configured directories, sorted by name, scanned
    /// now.
    pub fn scan(&self) -> Vec<BundleEntry> {
        let mut entries = Vec::new();
        let dirs = self
            .sources
            .bundle_dirs
            .iter()
            .chain(self.sources.store_dir.iter());
        for dir in dirs {
            let Ok(read) = fs::read_dir(dir) else {
                tracing::debug!(dir = %dir.display(), "bundle directory not readable");
                continue;
            };
            for item in read.flatten() {
                let path = item.path();
                let name = item.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name == INDEX_FILE || !is_bundle_candidate(&path) {
                    continue;
                }
                let Ok(path) = path.canonicalize() else {
                    continue;
                };
                let metadata =
                    layout::metadata_from(Some(&bundle_folder_name(&path, &name)), &|_| None);
                entries.push(BundleEntry {
                    name,
                    path,
                    metadata,
                });
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
        entries.dedup_by(|a, b| a.path == b.path);
        entries
    }

    /// Resolves a bundle named by its entry name or by a path inside one of
    /// the configured directories. Paths elsewhere are refused: the caller
    /// is a model, and the server must not become a way to read any file.
    pub fn resolve_bundle(&self, bundle: &str) -> Result<BundleEntry, LoadError> {
        let entries = self.scan();
        if let Some(entry) = entries.iter().find(|entry| entry.name == bundle) {
            return Ok(entry.clone());
        }
        if let Ok(path) = Path::new(bundle).canonicalize()
            && let Some(entry) = entries.iter().find(|entry| entry.path == path)
        {
            return Ok(entry.clone());
        }
        let names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
        Err(LoadError::NotFound(format!(
            "no bundle named `{bundle}` in the configured directories; call list_snapshots and pass one of its `bundle` values ({})",
            if names.is_empty() {
                "none are configured".to_owned()
            } else {
                names.join(", ")
            }
        )))
    }

    /// Loads (or finds loaded) the bundle at `path`, parsing it at most once
    /// however many calls ask at the same time.
    pub async fn load_path(&self, path: &Path) -> Result<Arc<Loaded>, LoadError> {
        let source = path.to_string_lossy().into_owned();
        let limits = self.sources.limits;
        let owned = path.to_path_buf();
        let key = source.clone();
        let result = self
            .store
            .get_or_load(&source, || async move {
                let task = tokio::task::spawn_blocking(move || load_blocking(&owned, &limits, key));
                match task.await {
                    Ok(Ok(loaded)) => Ok((loaded.snapshot.id.clone(), loaded)),
                    Ok(Err(message)) => Err(message),
                    Err(join) => {
                        tracing::error!(error = %join, "snapshot load task failed");
                        Err(
                            "the snapshot could not be built (internal error, see the server log)"
                                .to_owned(),
                        )
                    }
                }
            })
            .await;
        match result {
            Ok((id, loaded)) => {
                self.record(&id, &source);
                Ok(loaded)
            }
            Err(message) => Err(LoadError::Failed(message)),
        }
    }

    /// The snapshot with this id: in memory, or reloaded from its source.
    pub async fn get(&self, id: &str) -> Result<Arc<Loaded>, LoadError> {
        if let Some(loaded) = self.store.get(id) {
            return Ok(loaded);
        }
        let Some(source) = self.store.source_of(id) else {
            return Err(LoadError::NotFound(format!(
                "unknown snapshot id `{id}`; call list_snapshots to see the ids, or take_snapshot to load a bundle and get its id"
            )));
        };
        let loaded = self.load_path(Path::new(&source)).await?;
        if loaded.snapshot.id != id {
            return Err(LoadError::NotFound(format!(
                "snapshot `{id}` is gone: its source `{}` now holds snapshot `{}`; use that id",
                display_source(&source),
                loaded.snapshot.id
            )));
        }
        Ok(loaded)
    }

    /// Stores a collected archive under the store directory as a bundle
    /// directory named after its snapshot id, and returns its path.
    pub fn persist(&self, files: &BundleFiles) -> std::io::Result<Option<PathBuf>> {
        let Some(store_dir) = &self.sources.store_dir else {
            return Ok(None);
        };
        let id = files.snapshot_id();
        // The folder keeps the collector's name inside so that the metadata
        // (instance id, collection time) still comes from the name.
        let inner = files.name.clone().unwrap_or_else(|| "bundle".to_owned());
        let inner = inner
            .trim_end_matches(".tar.gz")
            .trim_end_matches(".tgz")
            .to_owned();
        let root = store_dir.join(&id);
        for (path, content) in &files.files {
            let target = root.join(&inner).join(path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(target, content)?;
        }
        Ok(Some(root))
    }

    fn record(&self, id: &str, source: &str) {
        let Some(store_dir) = &self.sources.store_dir else {
            return;
        };
        let mut index = self.read_index().unwrap_or_default();
        if index.sources.get(id).map(String::as_str) == Some(source) {
            return;
        }
        index.sources.insert(id.to_owned(), source.to_owned());
        let written = fs::create_dir_all(store_dir).and_then(|()| {
            let text = serde_json::to_vec_pretty(&index).map_err(std::io::Error::other)?;
            let temp = store_dir.join(format!(".{INDEX_FILE}.tmp"));
            fs::write(&temp, text)?;
            fs::rename(temp, store_dir.join(INDEX_FILE))
        });
        if let Err(error) = written {
            tracing::warn!(error = %error, dir = %store_dir.display(), "could not persist the snapshot index");
        }
    }

    fn read_index(&self) -> Option<Index> {
        let dir = self.sources.store_dir.as_ref()?;
        let text = fs::read(dir.join(INDEX_FILE)).ok()?;
        serde_json::from_slice(&text)
            .map_err(
                |error| tracing::warn!(error = %error, "ignoring an unreadable snapshot index"),
            )
            .ok()
    }
}

/// Reads, parses and checks one bundle (blocking).
pub fn load_blocking(path: &Path, limits: &Limits, source: String) -> Result<Loaded, String> {
    let started = Instant::now();
    let files = node_bundle::read_path(path, limits).map_err(|error| {
        tracing::warn!(error = %error, path = %path.display(), "bundle could not be read");
        format!("the bundle could not be read: {error}")
    })?;
    Ok(build_loaded(files, source, started, *limits))
}

/// Parses and checks files already read. Each file's bytes are released
/// once parsed unless a model shares them or they are small; `limits` are
/// the ones a released file is read again under.
pub fn build_loaded(
    files: BundleFiles,
    source: String,
    started: Instant,
    limits: Limits,
) -> Loaded {
    let name = files.name.clone();
    let (snapshot, store) = files.into_snapshot_and_store();
    // `NodeSnapshot::build` made the Kubernetes view and conntrack indexes
    // already, so the first tool call that needs one does not wait.
    let report = findings::check(&snapshot, &Context::default());
    let load_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(id = %snapshot.id, findings = report.findings.len(), load_ms, "snapshot loaded");
    Loaded {
        name,
        files: store.with_limits(limits),
        snapshot,
        report,
        source,
        load_ms,
    }
}

/// A source path as shown to a client: the file name only, so server paths
/// do not leak.
pub fn display_source(source: &str) -> String {
    Path::new(source)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_owned())
}

fn is_bundle_candidate(path: &Path) -> bool {
    if path.is_dir() {
        // A bundle folder, or a folder holding one (a scenario folder with a
        // README next to the bundle); other folders (tools, notes) are not.
        return fs::read_dir(path).is_ok_and(|read| {
            read.flatten().any(|item| {
                let name = item.file_name().to_string_lossy().into_owned();
                name.starts_with("eks_")
                    || ["system", "networking", "kubelet", "kernel"].contains(&name.as_str())
            })
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar")
}

/// The name that carries the collector's identity: for a scenario folder
/// holding one `eks_…` folder, that inner name.
fn bundle_folder_name(path: &Path, name: &str) -> String {
    if path.is_dir()
        && let Ok(read) = fs::read_dir(path)
    {
        for item in read.flatten() {
            let inner = item.file_name().to_string_lossy().into_owned();
            if inner.starts_with("eks_") {
                return inner;
            }
        }
    }
    name.to_owned()
}

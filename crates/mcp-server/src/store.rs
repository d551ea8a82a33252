//! The snapshot store: parsed snapshots kept by id, loaded once.
//!
//! Tools address snapshots by their content-derived id, so the store is a map
//! from id to the loaded value, bounded in size with least-recently-used
//! eviction. Loading is single-flight per source: when several tool calls ask
//! for the same bundle at once, one of them parses it and the others wait for
//! that result instead of parsing it again.
//!
//! An evicted snapshot is not lost: the store remembers which source produced
//! each id it has seen, so a later call with that id loads it again.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use tokio::sync::OnceCell;

/// One load, shared by every caller that asks for its source meanwhile.
type LoadCell<V> = OnceCell<Result<(String, Arc<V>), String>>;

/// A bounded, single-flight cache of loaded snapshots keyed by snapshot id.
pub struct SnapshotStore<V> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    by_id: LruCache<String, Arc<V>>,
    /// Which source produced each id ever loaded, so evicted ids reload.
    source_of: HashMap<String, String>,
    /// Loads in flight or done, by source key.
    loading: HashMap<String, Arc<LoadCell<V>>>,
}

impl<V: Send + Sync + 'static> SnapshotStore<V> {
    /// A store keeping at most `capacity` snapshots in memory.
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                by_id: LruCache::new(capacity),
                source_of: HashMap::new(),
                loading: HashMap::new(),
            }),
        }
    }

    /// The snapshot with this id, when it is in memory.
    pub fn get(&self, id: &str) -> Option<Arc<V>> {
        self.lock().by_id.get(id).cloned()
    }

    /// The source that produced `id`, when the store has seen it.
    pub fn source_of(&self, id: &str) -> Option<String> {
        self.lock().source_of.get(id).cloned()
    }

    /// Records that `id` comes from `source` (for ids persisted by an
    /// earlier run), so that the id loads on first use.
    pub fn remember(&self, id: &str, source: &str) {
        self.lock()
            .source_of
            .insert(id.to_owned(), source.to_owned());
    }

    /// Every snapshot id the store has seen, with its source, sorted by id.
    pub fn known(&self) -> Vec<(String, String)> {
        let mut known: Vec<_> = self
            .lock()
            .source_of
            .iter()
            .map(|(id, source)| (id.clone(), source.clone()))
            .collect();
        known.sort();
        known
    }

    /// Returns the snapshot loaded from `source_key`, running `load` only if
    /// no other call has loaded or is loading that source.
    ///
    /// `load` returns the snapshot id and value, or an error message. A failed
    /// load is not cached: the next call tries again.
    pub async fn get_or_load<F, Fut>(
        &self,
        source_key: &str,
        load: F,
    ) -> Result<(String, Arc<V>), String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, V), String>>,
    {
        let cell = {
            let mut inner = self.lock();
            Arc::clone(inner.loading.entry(source_key.to_owned()).or_default())
        };
        let result = cell
            .get_or_init(|| async { load().await.map(|(id, value)| (id, Arc::new(value))) })
            .await
            .clone();
        let mut inner = self.lock();
        match &result {
            Ok((id, value)) => {
                inner.source_of.insert(id.clone(), source_key.to_owned());
                inner.by_id.put(id.clone(), Arc::clone(value));
                // The cell has served its waiters; later calls go through the
                // LRU so that eviction really frees the memory.
                inner.loading.remove(source_key);
            }
            Err(_) => {
                inner.loading.remove(source_key);
            }
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave the maps inconsistent
        // (each update is a single insert or remove), so keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::SnapshotStore;

    fn store(capacity: usize) -> Arc<SnapshotStore<String>> {
        Arc::new(SnapshotStore::new(NonZeroUsize::new(capacity).unwrap()))
    }

    #[tokio::test]
    async fn concurrent_loads_of_one_source_run_once() {
        let store = store(4);
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let store = Arc::clone(&store);
            let loads = Arc::clone(&loads);
            tasks.push(tokio::spawn(async move {
                store
                    .get_or_load("bundle-a", || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(("s1_a".to_owned(), "parsed".to_owned()))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().0, "s1_a");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(
            store.get("s1_a").as_deref().map(String::as_str),
            Some("parsed")
        );
    }

    #[tokio::test]
    async fn evicts_least_recently_used_but_remembers_sources() {
        let store = store(2);
        for name in ["a", "b", "c"] {
            store
                .get_or_load(name, || async move {
                    Ok((format!("s1_{name}"), name.to_owned()))
                })
                .await
                .unwrap();
        }
        assert!(store.get("s1_a").is_none());
        assert!(store.get("s1_c").is_some());
        assert_eq!(store.source_of("s1_a").as_deref(), Some("a"));
        assert_eq!(store.known().len(), 3);
    }

    #[tokio::test]
    async fn failed_loads_are_retried() {
        let store = store(2);
        let first = store
            .get_or_load("x", || async { Err("disk on fire".to_owned()) })
            .await;
        assert_eq!(first.unwrap_err(), "disk on fire");
        let second = store
            .get_or_load("x", || async { Ok(("s1_x".to_owned(), "ok".to_owned())) })
            .await;
        assert_eq!(second.unwrap().0, "s1_x");
    }
}

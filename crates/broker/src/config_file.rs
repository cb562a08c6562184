//! Config JSON files with Java's `ConfigManager` scheme: write `<f>.tmp`, keep the previous
//! file as `<f>.bak`, rename the tmp into place; read `<f>`, falling back to `<f>.bak`.

use ferrocket_protocol::json::{self, FromJson, ToJson};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Writes `value` to `path` durably, keeping the previous version as `.bak`.
pub fn persist(path: &Path, value: &impl ToJson) -> io::Result<()> {
    write_text(path, &json::to_vec(value))
}

/// A JSON file that holds a table (topics, subscription groups), rewritten whole after each
/// change. The change is serialised while its table is locked; the write, with its fsyncs,
/// happens on a blocking thread, so neither a runtime worker nor the table's lock waits for
/// the disk. Writes may finish in any order; the file always ends with the newest snapshot.
#[derive(Debug)]
pub struct SnapshotFile {
    path: PathBuf,
    /// Numbers snapshots in the order of the changes they follow.
    taken: AtomicU64,
    /// The number of the snapshot on disk; held while writing, so one write runs at a time.
    written: Mutex<u64>,
}

impl SnapshotFile {
    pub fn new(path: PathBuf) -> Arc<SnapshotFile> {
        Arc::new(SnapshotFile {
            path,
            taken: AtomicU64::new(0),
            written: Mutex::new(0),
        })
    }

    /// Serialises `table`. Call it with the table's lock held, so that snapshots are numbered
    /// in the order of the changes.
    pub fn snapshot(self: &Arc<Self>, table: &impl ToJson) -> PendingWrite {
        PendingWrite {
            file: self.clone(),
            number: self.taken.fetch_add(1, Ordering::Relaxed) + 1,
            bytes: json::to_vec(table),
        }
    }
}

/// A snapshot not yet on disk.
#[must_use = "a snapshot is written only by `written` or `write_blocking`"]
pub struct PendingWrite {
    file: Arc<SnapshotFile>,
    number: u64,
    bytes: Vec<u8>,
}

impl PendingWrite {
    /// Writes the snapshot on a blocking thread; resolves once it (or a newer one) is on disk.
    pub async fn written(self) -> io::Result<()> {
        tokio::task::spawn_blocking(move || self.write_blocking())
            .await
            .map_err(io::Error::other)?
    }

    /// Writes the snapshot on this thread, unless a newer one is on disk already.
    pub fn write_blocking(self) -> io::Result<()> {
        let mut written = self.file.written.lock().expect("snapshot file lock");
        if *written >= self.number {
            return Ok(());
        }
        write_text(&self.file.path, &self.bytes)?;
        *written = self.number;
        Ok(())
    }
}

/// Writes `bytes` to `path` durably with the tmp/bak scheme.
pub fn write_text(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = with_suffix(path, ".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    if path.exists() {
        std::fs::copy(path, with_suffix(path, ".bak"))?;
    }
    std::fs::rename(&tmp, path)
}

/// Reads `path`, or its `.bak` when it is missing, empty or unparseable; `None` if neither.
pub fn load<T: FromJson>(path: &Path) -> Option<T> {
    let read = |p: &Path| -> Option<T> {
        let bytes = std::fs::read(p).ok()?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        match json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(file = %p.display(), "unreadable config file: {e}");
                None
            }
        }
    };
    read(path).or_else(|| read(&with_suffix(path, ".bak")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferrocket-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_newest_snapshot_stays_whatever_order_the_writes_finish_in() {
        let dir = temp_dir("snapshot-order");
        let file = SnapshotFile::new(dir.join("topics.json"));
        let older = file.snapshot(&1i64);
        let newer = file.snapshot(&2i64);
        newer.write_blocking().unwrap();
        older.write_blocking().unwrap();
        assert_eq!(load::<i64>(&dir.join("topics.json")), Some(2));
        // The older write was skipped, so no backup holds it either.
        assert!(!dir.join("topics.json.bak").exists());
        file.snapshot(&3i64).write_blocking().unwrap();
        assert_eq!(load::<i64>(&dir.join("topics.json")), Some(3));
        assert_eq!(load::<i64>(&dir.join("topics.json.bak")), Some(2));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_snapshot_written_off_the_runtime_is_on_disk_when_awaited() {
        let dir = temp_dir("snapshot-async");
        let file = SnapshotFile::new(dir.join("subscriptionGroup.json"));
        file.snapshot(&7i64).written().await.unwrap();
        assert_eq!(load::<i64>(&dir.join("subscriptionGroup.json")), Some(7));
        let _ = std::fs::remove_dir_all(dir);
    }
}

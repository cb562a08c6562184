//! Durable writes of the name server's files with Java's `MixAll.string2File` scheme.

use std::io;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `<path>.tmp`, syncs it, keeps the previous file as `<path>.bak` and
/// renames the tmp into place.
pub fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
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

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

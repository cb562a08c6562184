//! Config JSON files with Java's `ConfigManager` scheme: write `<f>.tmp`, keep the previous
//! file as `<f>.bak`, rename the tmp into place; read `<f>`, falling back to `<f>.bak`.

use ferrocket_protocol::json::{self, FromJson, ToJson};
use std::io;
use std::path::Path;

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Writes `value` to `path` durably, keeping the previous version as `.bak`.
pub fn persist(path: &Path, value: &impl ToJson) -> io::Result<()> {
    write_text(path, &json::to_vec(value))
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

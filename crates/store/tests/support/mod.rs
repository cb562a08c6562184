//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

pub use ferrocket_testkit::TempDir;

pub use ferrocket_testkit::put_message as message;

/// A store in `dir` with 64 MiB CommitLog segments (no roll during a test that measures the
/// put path), and a single-threaded runtime to put from.
pub fn open_store_64m(
    dir: &TempDir,
    flush: ferrocket_store::FlushDiskType,
) -> (ferrocket_store::MessageStore, tokio::runtime::Runtime) {
    let config = ferrocket_store::StoreConfig {
        root_dir: dir.path().to_owned(),
        commit_log_segment_bytes: 64 << 20,
        flush_disk_type: flush,
        ..ferrocket_store::StoreConfig::default()
    };
    let (store, _) = ferrocket_store::MessageStore::open(config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (store, runtime)
}

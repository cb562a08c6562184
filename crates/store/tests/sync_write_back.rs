//! Under SYNC_FLUSH a sync writes back about the bytes appended since the previous one, not
//! the large folio around the write position. Before the CommitLog kept its write position in
//! single pages, each of these syncs (one putter: one sync per put) wrote about 1 MiB to the
//! disk, 1 GB for 1000 puts of 1 KiB; now a few KiB each.

use ferrocket_store::{FlushDiskType, PutStatus};

mod support;
use support::{message, open_store_64m, TempDir};

/// Bytes written so far to the block device holding `path` (`/proc/diskstats`), if it is one.
fn bytes_written_to_device_of(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).ok()?.dev();
    let device = [libc::major(dev).to_string(), libc::minor(dev).to_string()];
    let stats = std::fs::read_to_string("/proc/diskstats").ok()?;
    stats.lines().find_map(|line| {
        // major, minor, name, then counters; the 10th field is sectors written (512 bytes).
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(..2)? == device).then_some(())?;
        Some(fields.get(9)?.parse::<u64>().ok()? * 512)
    })
}

#[test]
fn a_sync_rewrites_little_more_than_the_bytes_appended() {
    let dir = TempDir::new("sync-write-back");
    let (store, runtime) = open_store_64m(&dir, FlushDiskType::SyncFlush);
    let body = vec![b's'; 1024];
    // Far enough into the segment for the kernel's read-around to have grown its folios.
    while store.commit_log().max_offset() < 32 << 20 {
        store
            .commit_log()
            .append(&message("WriteBack", 0, &body, ""))
            .unwrap();
    }
    runtime.block_on(store.commit_log().flush_all()).unwrap();
    let Some(before) = bytes_written_to_device_of(dir.path()) else {
        eprintln!("the temp dir is on no block device: nothing to measure");
        return;
    };
    let start = store.commit_log().max_offset();
    let syncs_before = store.commit_log().sync_count();
    let puts = 1000;
    runtime.block_on(async {
        for _ in 0..puts {
            let put = store
                .put(&message("WriteBack", 0, &body, ""))
                .await
                .unwrap();
            assert_eq!(put.status, PutStatus::PutOk);
        }
    });
    let appended = store.commit_log().max_offset() - start;
    let syncs = store.commit_log().sync_count() - syncs_before;
    store.shutdown().unwrap();
    let written = bytes_written_to_device_of(dir.path()).unwrap() - before;
    eprintln!("{puts} puts, {syncs} syncs: {appended} bytes appended, {written} written");
    assert!(
        syncs >= puts / 2,
        "one putter: about a sync per put, got {syncs}"
    );
    // Each sync rewrites the page it ends in, plus the file system's own few blocks.
    let allowed = appended + syncs * (16 << 10);
    assert!(
        written <= allowed,
        "{syncs} syncs of {appended} bytes appended wrote {written} bytes (allowed {allowed})"
    );
}

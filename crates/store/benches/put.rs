//! Store throughput: `cargo bench -p ferrocket-store --bench put`.
//!
//! Puts go through the whole store (CommitLog append + consume-queue and index dispatch).
//! ASYNC_FLUSH: one thread appending in a loop, then 1, 16 and 64 concurrent putter tasks, for
//! 100 B and 1 KiB bodies. SYNC_FLUSH: 1, 16 and 64 putters for both sizes and 1024 putters of
//! 1 KiB, printed next to the group-commit bound `putters / fdatasync latency` measured in the
//! same run on the same disk; then 64 and 1024 putters on a simulated 4 ms disk. Then
//! sequential reads through the consume queue, and the time to reopen (recover) a 1 GiB
//! CommitLog.

use ferrocket_store::{FlushDiskType, MessageStore, PutMessage, StoreConfig};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn temp_root(name: &str) -> std::path::PathBuf {
    let root = std::env::current_dir()
        .unwrap()
        .join("target")
        .join(format!("bench-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

fn message(body: &[u8]) -> PutMessage<'_> {
    let properties = "UNIQ_KEY\u{1}7F0000015AEB1DBD16A668765D9800F9\u{2}TAGS\u{1}TagA";
    ferrocket_testkit::put_message("BenchTopic", 0, body, properties)
}

fn async_single_putter(body_len: usize) {
    let root = temp_root("async");
    let config = StoreConfig {
        root_dir: root.clone(),
        commit_log_segment_bytes: 1 << 30,
        flush_disk_type: FlushDiskType::AsyncFlush,
        ..StoreConfig::default()
    };
    let (store, _) = MessageStore::open(config).unwrap();
    let log = store.commit_log();
    let body = vec![b'x'; body_len];
    let msg = message(&body);
    // Warm up: touch the first pages.
    for _ in 0..10_000 {
        log.append(&msg).unwrap();
    }
    let n = if body_len >= 1024 { 400_000 } else { 1_000_000 };
    let start = Instant::now();
    for _ in 0..n {
        log.append(&msg).unwrap();
    }
    let elapsed = start.elapsed();
    let bytes = (log.max_offset() as f64) * (n as f64) / ((n + 10_000) as f64);
    println!(
        "ASYNC_FLUSH  body {body_len:>5} B  1 thread, append loop: {:>9.0} msgs/s {:>7.1} MB/s (record bytes)  {:>6.0} ns/put",
        n as f64 / elapsed.as_secs_f64(),
        bytes / elapsed.as_secs_f64() / 1e6,
        elapsed.as_nanos() as f64 / n as f64
    );
    store.shutdown().unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(root);
}

fn fdatasync_latency(dir: &std::path::Path) -> Duration {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut samples = Vec::new();
    for _ in 0..50 {
        f.write_all(&[1u8; 1024]).unwrap();
        let t = Instant::now();
        f.sync_data().unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    let _ = std::fs::remove_file(path);
    samples[samples.len() / 2]
}

/// `putters` tasks on a 2-worker runtime, each putting `body_len`-byte messages one after the
/// other for 3 s through the whole store. Under SYNC_FLUSH the figure is printed beside the
/// group-commit bound `putters / sync latency`: the real `fsync` latency measured before, or
/// `simulated`, a sync stretched to last that long (the ~4 ms fdatasync of the VMs the targets
/// were written for).
fn concurrent_putters(
    runtime: &tokio::runtime::Runtime,
    flush: FlushDiskType,
    body_len: usize,
    putters: usize,
    fsync: Duration,
    simulated: Option<Duration>,
) {
    let root = temp_root("putters");
    let config = StoreConfig {
        root_dir: root.clone(),
        commit_log_segment_bytes: 1 << 30,
        flush_disk_type: flush,
        ..StoreConfig::default()
    };
    let (store, _) = MessageStore::open(config).unwrap();
    let store = Arc::new(store);
    if let Some(latency) = simulated {
        store.commit_log().simulate_sync_latency(latency);
    }
    let syncs_before = store.commit_log().sync_count();
    let sync_time_before = store.commit_log().sync_time();
    let run_for = Duration::from_secs(3);
    let total: u64 = runtime.block_on(async {
        let deadline = Instant::now() + run_for;
        let tasks: Vec<_> = (0..putters)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let body = vec![b'y'; body_len];
                    let msg = message(&body);
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        store.put(&msg).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });
    let rate = total as f64 / run_for.as_secs_f64();
    let record_bytes = store.commit_log().max_offset() as f64 / total.max(1) as f64;
    let mode = match flush {
        FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
        FlushDiskType::SyncFlush => "SYNC_FLUSH ",
    };
    let mut line = format!(
        "{mode}  body {body_len:>5} B {putters:>5} putters: {rate:>9.0} msgs/s {:>7.1} MB/s",
        rate * record_bytes / 1e6
    );
    if flush == FlushDiskType::SyncFlush {
        let syncs = store.commit_log().sync_count() - syncs_before;
        let synced_for = store.commit_log().sync_time() - sync_time_before;
        let latency = simulated.unwrap_or(fsync);
        let bound = putters as f64 / latency.as_secs_f64();
        let disk = match simulated {
            Some(l) => format!("simulated {l:?} sync"),
            None => "real disk".to_string(),
        };
        line += &format!(
            "  {disk}: bound putters/sync latency = {bound:>9.0}  ratio {:>3.0}%  {:.1} puts per sync, a round every {:.2} ms, each syncing {:.2} ms ({:.1} in flight on average)",
            100.0 * rate / bound,
            total as f64 / syncs.max(1) as f64,
            run_for.as_secs_f64() * 1e3 / syncs.max(1) as f64,
            synced_for.as_secs_f64() * 1e3 / syncs.max(1) as f64,
            synced_for.as_secs_f64() / run_for.as_secs_f64()
        );
    }
    println!("{line}");
    store.shutdown().unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(root);
}

/// Fills a store with 1 GiB of 1 KiB messages over 4 queues, reads one queue back through the
/// consume queue, then times a reopen (recovery) of the whole CommitLog.
fn read_and_recover() {
    let root = temp_root("recover");
    let config = StoreConfig {
        root_dir: root.clone(),
        commit_log_segment_bytes: 1 << 30,
        flush_disk_type: FlushDiskType::AsyncFlush,
        ..StoreConfig::default()
    };
    let (store, _) = MessageStore::open(config.clone()).unwrap();
    let body = vec![b'z'; 1024];
    let mut msg = message(&body);
    let mut n = 0u64;
    while store.commit_log().max_offset() < (1 << 30) - (64 << 10) {
        msg.queue_id = (n % 4) as i32;
        store.commit_log().append(&msg).unwrap();
        n += 1;
    }
    let in_queue = store.max_offset("BenchTopic", 0);
    let all = |_: i64| true;
    let start = Instant::now();
    let (mut offset, mut read, mut bytes) = (0i64, 0u64, 0u64);
    while offset < in_queue {
        let got = store.get_messages("BenchTopic", 0, offset, 32, &all);
        read += got.messages.len() as u64;
        bytes += got.messages.iter().map(|m| m.len() as u64).sum::<u64>();
        offset = got.next_begin_offset;
    }
    let elapsed = start.elapsed();
    println!(
        "read via ConsumeQueue, 32 per pull: {:>9.0} msgs/s  {:>7.1} MB/s  ({read} messages)",
        read as f64 / elapsed.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6
    );
    let total = store.commit_log().max_offset();
    store.shutdown().unwrap();
    drop(store);
    let start = Instant::now();
    let (store, report) = MessageStore::open(config).unwrap();
    println!(
        "recovery (clean reopen) of a {:.2} GiB CommitLog, {} records: {:?}",
        total as f64 / (1u64 << 30) as f64,
        report.records,
        start.elapsed()
    );
    store.shutdown().unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(root);
}

fn main() {
    // `cargo bench -p ferrocket-store --bench put -- <part>` runs one part: async, sync, read
    // (`sync-slow-disk`: only the simulated 4 ms disk of `sync`).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if wanted("async") {
        async_single_putter(100);
        async_single_putter(1024);
        for body_len in [100, 1024] {
            for putters in [1, 16, 64] {
                concurrent_putters(
                    &runtime,
                    FlushDiskType::AsyncFlush,
                    body_len,
                    putters,
                    Duration::ZERO,
                    None,
                );
            }
        }
    }
    if wanted("sync") || wanted("sync-slow-disk") {
        let probe = temp_root("probe");
        let fsync = fdatasync_latency(&probe);
        let _ = std::fs::remove_dir_all(probe);
        println!("fdatasync latency (median of 50, 1 KiB appends): {fsync:?}");
        let sync = |body_len, putters, simulated| {
            concurrent_putters(
                &runtime,
                FlushDiskType::SyncFlush,
                body_len,
                putters,
                fsync,
                simulated,
            )
        };
        if wanted("sync") {
            for body_len in [100, 1024] {
                for putters in [1, 16, 64] {
                    sync(body_len, putters, None);
                }
            }
            sync(1024, 1024, None);
        }
        // `FERROCKET_BENCH_ROUNDS=n` repeats the simulated-disk part: on a VM that hands freed
        // memory back to its host, the first round faults fresh pages in and later rounds
        // reuse the page cache the earlier ones freed.
        let rounds = std::env::var("FERROCKET_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1usize);
        let slow_disk = Some(Duration::from_millis(4));
        for _ in 0..rounds {
            for putters in [64, 1024] {
                sync(1024, putters, slow_disk);
            }
        }
    }
    if wanted("read") {
        read_and_recover();
    }
}

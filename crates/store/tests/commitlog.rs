//! CommitLog behaviour on real files in a temporary directory.

use ferrocket_common::record::{self, Peek, RecordView};
use ferrocket_common::sysflag;
use ferrocket_store::{CommitLog, FlushDiskType, PutStatus, StoreConfig, StoreError};
use std::sync::Arc;

mod support;
use support::{message, TempDir};

fn config(dir: &TempDir, segment: u64, flush: FlushDiskType) -> StoreConfig {
    StoreConfig {
        root_dir: dir.path().to_owned(),
        commit_log_segment_bytes: segment,
        flush_disk_type: flush,
        ..StoreConfig::default()
    }
}

#[test]
fn appended_record_equals_the_common_encoding() {
    let dir = TempDir::new("store");
    let (log, report) =
        CommitLog::open(config(&dir, 64 * 1024, FlushDiskType::AsyncFlush)).unwrap();
    assert_eq!(report.valid_end, 0);
    let msg = message("TopicTest", 2, b"hello", "TAGS\u{1}A\u{2}KEYS\u{1}k1");
    let first = log.append(&msg).unwrap();
    let second = log.append(&msg).unwrap();
    assert_eq!(first.physical_offset, 0);
    assert_eq!(second.physical_offset, u64::from(first.size));
    assert_eq!((first.queue_offset, second.queue_offset), (0, 1));
    let bytes = log.record_at(second.physical_offset).unwrap();
    let view = RecordView::decode(&bytes, true).unwrap();
    assert_eq!(view.header.physical_offset as u64, second.physical_offset);
    assert_eq!(view.header.queue_offset, 1);
    assert_eq!(view.header.store_timestamp, second.store_timestamp);
    assert_eq!(
        (view.topic, view.body, view.properties),
        ("TopicTest", &b"hello"[..], msg.properties)
    );
    // The stored bytes are exactly what the common codec writes for those fields.
    assert_eq!(&view.encode_to_vec().unwrap()[..], &bytes[..]);
    assert_eq!(log.next_queue_offset("TopicTest", 2), 2);
    assert_eq!(log.next_queue_offset("TopicTest", 0), 0);
    assert!(
        log.read(log.max_offset(), 1).is_none(),
        "nothing readable past the end"
    );
}

#[test]
fn segments_roll_with_a_blank_marker_and_java_names() {
    let dir = TempDir::new("store");
    let segment = 4096u64;
    let (log, _) = CommitLog::open(config(&dir, segment, FlushDiskType::AsyncFlush)).unwrap();
    let body = [7u8; 300];
    let results: Vec<_> = (0..40)
        .map(|_| log.append(&message("T", 0, &body, "")).unwrap())
        .collect();
    let size = u64::from(results[0].size);
    let per_segment = (segment - 8) / size; // a record never leaves less than 8 bytes for the marker
    assert_eq!(
        results[per_segment as usize].physical_offset, segment,
        "first record of segment 2"
    );
    for r in &results {
        assert!(
            r.physical_offset % segment + u64::from(r.size) + 8 <= segment,
            "record never spans segments"
        );
        assert!(log.record_at(r.physical_offset).is_some());
    }
    let blank_at = per_segment * size;
    let blank = log.read(blank_at, 8).unwrap();
    assert_eq!(
        record::peek(&blank),
        Peek::Blank {
            total_size: (segment - blank_at) as i32
        }
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names[0], "00000000000000000000");
    assert_eq!(names[1], "00000000000000004096");
    for name in &names {
        assert_eq!(
            std::fs::metadata(dir.path().join("commitlog").join(name))
                .unwrap()
                .len(),
            segment
        );
    }
    assert_eq!(results.last().unwrap().queue_offset, 39);
}

/// A pull's records, shared without a copy: the pieces hold exactly the records' bytes in
/// order, adjacent records make one piece, and a segment boundary or a gap splits them.
#[test]
fn shared_records_are_the_records_bytes_in_runs() {
    let dir = TempDir::new("store");
    let (log, _) = CommitLog::open(config(&dir, 4096, FlushDiskType::AsyncFlush)).unwrap();
    let results: Vec<_> = (0..20u8)
        .map(|i| {
            log.append(&message("T", i32::from(i % 2), &[i; 300], ""))
                .unwrap()
        })
        .collect();
    let size = u64::from(results[0].size);
    let per_segment = ((4096 - 8) / size) as usize;
    let record = |i: usize| log.record_at(results[i].physical_offset).unwrap();
    // 0..=3 adjacent, 5 after a gap, then the last record of segment 1 and the first of 2.
    let picked = [0, 1, 2, 3, 5, per_segment - 1, per_segment, per_segment + 1];
    let expected: Vec<u8> = picked.iter().flat_map(|&i| record(i).to_vec()).collect();
    let shared =
        ferrocket_store::SegmentSlice::share_all(picked.iter().map(|&i| record(i)).collect());
    let lens: Vec<u64> = shared.iter().map(|b| b.len() as u64).collect();
    assert_eq!(lens, [4 * size, size, size, 2 * size]);
    assert_eq!(shared.concat(), expected);
    assert!(ferrocket_store::SegmentSlice::share_all(Vec::new()).is_empty());
}

#[test]
fn prepared_and_rolled_back_records_get_no_queue_offset() {
    let dir = TempDir::new("store");
    let (log, _) = CommitLog::open(config(&dir, 64 * 1024, FlushDiskType::AsyncFlush)).unwrap();
    let mut m = message("T", 0, b"x", "");
    log.append(&m).unwrap();
    m.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
    assert_eq!(log.append(&m).unwrap().queue_offset, 0);
    m.sys_flag = sysflag::TRANSACTION_ROLLBACK_TYPE;
    assert_eq!(log.append(&m).unwrap().queue_offset, 0);
    m.sys_flag = sysflag::TRANSACTION_COMMIT_TYPE;
    assert_eq!(log.append(&m).unwrap().queue_offset, 1);
    m.queue_id = -1;
    assert!(log.append(&m).is_err(), "negative queue id refused");
}

#[test]
fn oversized_messages_are_refused() {
    let dir = TempDir::new("store");
    let mut cfg = config(&dir, 64 * 1024, FlushDiskType::AsyncFlush);
    cfg.max_message_bytes = 1000;
    let (log, _) = CommitLog::open(cfg).unwrap();
    let big = vec![0u8; 1001];
    assert!(matches!(
        log.append(&message("T", 0, &big, "")),
        Err(StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(log.max_offset(), 0);
    // maxMessageSize changed while running applies to the next put.
    let mut raised = config(&dir, 64 * 1024, FlushDiskType::AsyncFlush);
    raised.max_message_bytes = 2000;
    log.set_put_limits(&raised);
    log.append(&message("T", 0, &big, "")).unwrap();
    raised.max_message_bytes = 10;
    log.set_put_limits(&raised);
    assert!(matches!(
        log.append(&message("T", 0, b"0123456789a", "")),
        Err(StoreError::MessageTooLarge { size: 11, max: 10 })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_puts_complete_after_a_covering_flush() {
    let dir = TempDir::new("store");
    let (log, _) = CommitLog::open(config(&dir, 1 << 20, FlushDiskType::SyncFlush)).unwrap();
    let log = Arc::new(log);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!("message {i}");
            let r = log
                .put(&message("T", i % 4, body.as_bytes(), ""))
                .await
                .unwrap();
            assert_eq!(r.status, PutStatus::PutOk);
            assert!(
                log.flushed_offset() >= r.append.end_offset(),
                "acknowledged before flushed"
            );
            r.append
        }));
    }
    let mut ends = Vec::new();
    for t in tasks {
        ends.push(t.await.unwrap().end_offset());
    }
    assert_eq!(ends.iter().max().copied(), Some(log.max_offset()));
    log.shutdown().unwrap();
}

/// Group commit: with a slow disk, putters that keep putting share syncs — the number of
/// syncs follows the rounds each putter goes through, not the number of puts. Rounds sync
/// concurrently, and the puts of one putter round go out in a few of them (a flusher issues
/// once a quarter of the puts woken together came back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_puts_share_one_sync() {
    let dir = TempDir::new("store");
    let (log, _) = CommitLog::open(config(&dir, 1 << 20, FlushDiskType::SyncFlush)).unwrap();
    let log = Arc::new(log);
    log.simulate_sync_latency(std::time::Duration::from_millis(20));
    let (putters, rounds) = (50, 4);
    let before = log.sync_count();
    let tasks: Vec<_> = (0..putters)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                for round in 0..rounds {
                    let body = format!("putter {i} round {round}");
                    let r = log
                        .put(&message("T", 0, body.as_bytes(), ""))
                        .await
                        .unwrap();
                    assert_eq!(r.status, PutStatus::PutOk);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let syncs = log.sync_count() - before;
    // Up to four syncs per putter round, twice that for putters that started or came back
    // late: 32 for 200 puts, against one sync per put without group commit.
    assert!(
        syncs <= 8 * rounds as u64,
        "{} puts took {syncs} syncs",
        putters * rounds
    );
    assert!(syncs >= rounds as u64, "each put waits for its own sync");
    log.shutdown().unwrap();
}

#[tokio::test]
async fn a_failed_flush_poisons_the_log() {
    let dir = TempDir::new("store");
    let (log, _) = CommitLog::open(config(&dir, 1 << 20, FlushDiskType::SyncFlush)).unwrap();
    log.put(&message("T", 0, b"durable", "")).await.unwrap();
    log.inject_flush_failure();
    let err = log
        .put(&message("T", 0, b"not durable", ""))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Poisoned(_)), "{err}");
    let err = log.append(&message("T", 0, b"later", "")).unwrap_err();
    assert!(
        err.to_string().contains("injected fdatasync failure"),
        "{err}"
    );
    // Reads still work.
    assert!(log.record_at(0).is_some());
}

#[test]
fn reopen_after_clean_shutdown_continues_where_it_stopped() {
    let dir = TempDir::new("store");
    let cfg = config(&dir, 4096, FlushDiskType::AsyncFlush);
    let (log, _) = CommitLog::open(cfg.clone()).unwrap();
    for i in 0..30 {
        log.append(&message("T", i % 3, &[1u8; 200], "")).unwrap();
    }
    let end = log.max_offset();
    log.shutdown().unwrap();
    drop(log);
    let (log, report) = CommitLog::open(cfg).unwrap();
    assert_eq!(report.valid_end, end);
    assert_eq!(report.records, 30);
    assert_eq!(report.stopped_by, None);
    assert_eq!(log.next_queue_offset("T", 0), 10);
    let next = log.append(&message("T", 0, b"after", "")).unwrap();
    assert_eq!(next.queue_offset, 10);
    assert!(next.physical_offset >= end);
}

fn damage_and_recover(damage: impl Fn(&mut Vec<u8>, usize)) {
    let dir = TempDir::new("store");
    let cfg = config(&dir, 64 * 1024, FlushDiskType::AsyncFlush);
    let (log, _) = CommitLog::open(cfg.clone()).unwrap();
    let mut last = None;
    for i in 0..10u8 {
        last = Some(
            log.append(&message("T", 0, &[i; 100], "KEYS\u{1}k"))
                .unwrap(),
        );
    }
    let last = last.unwrap();
    log.shutdown().unwrap();
    drop(log);
    let path = dir.path().join("commitlog").join("00000000000000000000");
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes, last.physical_offset as usize);
    std::fs::write(&path, &bytes).unwrap();

    let (log, report) = CommitLog::open(cfg).unwrap();
    assert_eq!(
        report.valid_end, last.physical_offset,
        "exactly the damaged record is cut"
    );
    assert_eq!(report.records, 9);
    assert!(report.stopped_by.is_some());
    assert!(log.record_at(last.physical_offset).is_none());
    let again = log.append(&message("T", 0, b"new", "")).unwrap();
    assert_eq!(again.physical_offset, last.physical_offset);
    assert_eq!(again.queue_offset, 9);
    // Nothing of the damage survives past the new record.
    let after = (again.physical_offset + u64::from(again.size)) as usize;
    log.shutdown().unwrap();
    drop(log);
    let on_disk = std::fs::read(dir.path().join("commitlog").join("00000000000000000000")).unwrap();
    let damaged_end = last.physical_offset as usize + 600;
    assert!(
        on_disk[after..damaged_end].iter().all(|&b| b == 0),
        "damaged bytes left behind"
    );
}

#[test]
fn recovery_cuts_a_torn_record() {
    damage_and_recover(|bytes, at| {
        let size = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        bytes[at + size / 2..at + size].fill(0);
    });
}

#[test]
fn recovery_cuts_a_corrupted_body() {
    damage_and_recover(|bytes, at| bytes[at + 90] ^= 0xFF);
}

#[test]
fn recovery_cuts_garbage() {
    damage_and_recover(|bytes, at| {
        for (i, b) in bytes[at..at + 500].iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
    });
}

#[test]
fn preallocated_segments_are_never_data() {
    let dir = TempDir::new("store");
    let cfg = config(&dir, 4096, FlushDiskType::AsyncFlush);
    {
        let (log, _) = CommitLog::open(cfg.clone()).unwrap();
        for _ in 0..40 {
            log.append(&message("T", 0, &[3u8; 300], "")).unwrap();
        }
        log.shutdown().unwrap();
    }
    let cl = dir.path().join("commitlog");
    // A stale pre-allocated file from an earlier run, full of garbage.
    std::fs::write(cl.join("00000000000009999999.prealloc"), vec![0xAB; 4096]).unwrap();
    let (log, report) = CommitLog::open(cfg).unwrap();
    assert_eq!(report.stopped_by, None);
    assert!(report.dropped_segments.is_empty());
    assert!(
        !cl.join("00000000000009999999.prealloc").exists(),
        "stale pre-allocation removed"
    );
    assert_eq!(log.next_queue_offset("T", 0), 40);
    // Rolling uses (or recreates) the next segment under its real name.
    for _ in 0..20 {
        log.append(&message("T", 0, &[4u8; 300], "")).unwrap();
    }
    let mut data: Vec<String> = std::fs::read_dir(&cl)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".prealloc"))
        .collect();
    data.sort();
    for (i, name) in data.iter().enumerate() {
        assert_eq!(name, &format!("{:020}", i as u64 * 4096));
    }
}

#[tokio::test]
async fn a_slow_flush_reports_flush_disk_timeout_but_keeps_the_message() {
    let dir = TempDir::new("store");
    let mut cfg = config(&dir, 1 << 20, FlushDiskType::SyncFlush);
    cfg.sync_flush_timeout = std::time::Duration::from_millis(50);
    let (log, _) = CommitLog::open(cfg).unwrap();
    log.put(&message("T", 0, b"warm", "")).await.unwrap();
    log.inject_flush_delay(std::time::Duration::from_millis(400));
    let started = std::time::Instant::now();
    let r = log.put(&message("T", 0, b"slow disk", "")).await.unwrap();
    assert_eq!(r.status, PutStatus::FlushDiskTimeout);
    // Reported while the flush is still stuck, not when it comes back.
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(50)
            && waited < std::time::Duration::from_millis(350),
        "timed out after {waited:?}"
    );
    // Stored all the same, and flushed once the disk catches up.
    let bytes = log.record_at(r.append.physical_offset).unwrap();
    assert_eq!(RecordView::decode(&bytes, true).unwrap().body, b"slow disk");
    log.flush_all().await.unwrap();
    assert!(log.flushed_offset() >= r.append.end_offset());
    let next = log.put(&message("T", 0, b"fast again", "")).await.unwrap();
    assert_eq!(next.status, PutStatus::PutOk);
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_put_does_not_strand_the_puts_completed_with_it() {
    // The flush thread wakes only the last-registered put of a round, which wakes the others;
    // when that put's task is gone, the flush thread must wake them itself, few or many.
    for puts in [8, 100] {
        let dir = TempDir::new("store");
        let mut cfg = config(&dir, 1 << 20, FlushDiskType::SyncFlush);
        cfg.flush_interval = std::time::Duration::from_secs(60);
        let (log, _) = CommitLog::open(cfg).unwrap();
        let log = Arc::new(log);
        log.put(&message("T", 0, b"warm", "")).await.unwrap();
        log.inject_flush_delay(std::time::Duration::from_millis(200));
        let mut tasks: Vec<_> = (0..puts)
            .map(|_| {
                let log = log.clone();
                tokio::spawn(async move { log.put(&message("T", 0, b"x", "")).await })
            })
            .collect();
        // On this single-threaded runtime every put registers, in spawn order, before this
        // yield returns; the flush is still stalled.
        tokio::task::yield_now().await;
        tasks.pop().unwrap().abort();
        for task in tasks {
            let put = tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .expect("a put was left waiting");
            assert_eq!(
                put.unwrap().unwrap().status,
                PutStatus::PutOk,
                "{puts} puts"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_is_durable_only_once_every_older_round_synced() {
    // Rounds sync concurrently: a later round that returns first must not report its puts
    // durable while an older round, covering bytes before them, is still syncing.
    let dir = TempDir::new("store");
    let (log, _) = CommitLog::open(config(&dir, 1 << 20, FlushDiskType::SyncFlush)).unwrap();
    let log = Arc::new(log);
    log.put(&message("T", 0, b"warm", "")).await.unwrap();
    let synced_before = log.flushed_offset();
    log.inject_flush_delay(std::time::Duration::from_millis(400));
    let first = {
        let log = log.clone();
        tokio::spawn(async move { log.put(&message("T", 0, b"first", "")).await })
    };
    // Let the first put's round start (and stall) before the second put appends.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut second = {
        let log = log.clone();
        tokio::spawn(async move { log.put(&message("T", 0, b"second", "")).await })
    };
    let early = tokio::time::timeout(std::time::Duration::from_millis(200), &mut second).await;
    assert!(
        early.is_err(),
        "the second put completed while the first round was syncing"
    );
    assert_eq!(log.flushed_offset(), synced_before);
    assert_eq!(first.await.unwrap().unwrap().status, PutStatus::PutOk);
    assert_eq!(second.await.unwrap().unwrap().status, PutStatus::PutOk);
    assert_eq!(log.flushed_offset(), log.max_offset());
}

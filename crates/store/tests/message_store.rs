//! Consume queues and reads by queue, on real files.

use ferrocket_common::record::RecordView;
use ferrocket_common::tag::java_string_hash;
use ferrocket_store::{BrokerRole, FlushDiskType, GetMessageStatus, MessageStore, StoreConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

mod support;
use support::{message, TempDir};

fn config(dir: &TempDir) -> StoreConfig {
    StoreConfig {
        root_dir: dir.path().to_owned(),
        commit_log_segment_bytes: 8 * 1024,
        flush_disk_type: FlushDiskType::AsyncFlush,
        consume_queue_units_per_file: UNITS_PER_FILE,
        index_hash_slots: 64,
        index_num: 40,
        ..StoreConfig::default()
    }
}

const UNITS_PER_FILE: u64 = 10;

fn all(_: i64) -> bool {
    true
}

async fn fill(store: &MessageStore, n: usize) -> Vec<ferrocket_store::PutResult> {
    let mut out = Vec::new();
    for i in 0..n {
        let tag = if i % 2 == 0 {
            "TAGS\u{1}TagA"
        } else {
            "TAGS\u{1}TagB"
        };
        let body = format!("body-{i}");
        out.push(
            store
                .put(&message("T", 0, body.as_bytes(), tag))
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn consume_queue_units_have_the_java_layout() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let puts = fill(&store, 25).await;
    store.shutdown().unwrap();
    let qdir = dir.path().join("consumequeue").join("T").join("0");
    let mut names: Vec<String> = std::fs::read_dir(&qdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "00000000000000000000",
            "00000000000000000200",
            "00000000000000000400"
        ]
    );
    let first = std::fs::read(qdir.join("00000000000000000000")).unwrap();
    assert_eq!(first.len(), 200);
    for (i, unit) in first.chunks(20).enumerate() {
        assert_eq!(
            i64::from_be_bytes(unit[0..8].try_into().unwrap()) as u64,
            puts[i].append.physical_offset
        );
        assert_eq!(
            i32::from_be_bytes(unit[8..12].try_into().unwrap()) as u32,
            puts[i].append.size
        );
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        assert_eq!(
            i64::from_be_bytes(unit[12..20].try_into().unwrap()),
            i64::from(java_string_hash(tag))
        );
    }
}

#[tokio::test]
async fn queue_units_stop_at_the_end_of_their_file_as_get_index_buffer_does() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let puts = fill(&store, 25).await;
    assert!(store.queue_units("T", 1, 0, 5).is_none(), "no such queue");
    assert!(store.queue_units("Nope", 0, 0, 5).is_none());
    let window = |index, count| store.queue_units("T", 0, index, count).unwrap();
    let read = window(7, 10);
    assert_eq!((read.min_offset, read.max_offset), (0, 25));
    // Units 7, 8, 9: the first file ends at 10 (UNITS_PER_FILE), however many are asked for.
    let units = read.units.unwrap();
    assert_eq!(units.len(), 3);
    for (unit, put) in units.iter().zip(&puts[7..]) {
        assert_eq!(unit.commit_log_offset as u64, put.append.physical_offset);
        assert_eq!(unit.size as u32, put.append.size);
    }
    assert_eq!(window(20, 3).units.unwrap().len(), 3);
    assert_eq!(
        window(20, 100).units.unwrap().len(),
        5,
        "up to the written end"
    );
    assert_eq!(
        window(3, 0).units.unwrap(),
        vec![],
        "a count of 0 reads nothing"
    );
    assert_eq!(window(25, 1).units, None, "not written yet");
    assert_eq!(window(-1, 1).units, None, "below the minimum");
    store.shutdown().unwrap();
}

#[tokio::test]
async fn get_messages_statuses_and_offsets() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let unknown = store.get_messages("Nope", 0, 0, 32, &all);
    assert_eq!(
        (unknown.status, unknown.next_begin_offset),
        (GetMessageStatus::NoMatchedLogicQueue, 0)
    );
    let puts = fill(&store, 25).await;

    let found = store.get_messages("T", 0, 3, 5, &all);
    assert_eq!(found.status, GetMessageStatus::Found);
    assert_eq!(found.status.name(), "FOUND");
    assert_eq!(
        (found.min_offset, found.max_offset, found.next_begin_offset),
        (0, 25, 8)
    );
    assert_eq!(found.messages.len(), 5);
    for (i, m) in found.messages.iter().enumerate() {
        let view = RecordView::decode(m, true).unwrap();
        assert_eq!(view.header.queue_offset, 3 + i as i64);
        assert_eq!(
            view.header.physical_offset as u64,
            puts[3 + i].append.physical_offset
        );
        assert_eq!(view.body, format!("body-{}", 3 + i).as_bytes());
    }
    // Java's per-pull cap of 32 messages.
    assert_eq!(store.get_messages("T", 0, 0, 1000, &all).messages.len(), 25);

    let one = store.get_messages("T", 0, 25, 32, &all);
    assert_eq!(
        (one.status, one.next_begin_offset),
        (GetMessageStatus::OffsetOverflowOne, 25)
    );
    // 4.9.4 and later: past the end, the end.
    let badly = store.get_messages("T", 0, 40, 32, &all);
    assert_eq!(
        (badly.status, badly.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 25)
    );
    // Java's `nextOffsetCorrection`: a slave that does not check offsets leaves the reader
    // where it asked to be; with `offsetCheckInSlave` it corrects like a master.
    let mut slave = config(&dir);
    slave.broker_role = BrokerRole::Slave;
    store.apply_live_settings(&slave);
    assert_eq!(
        store.get_messages("T", 0, 40, 32, &all).next_begin_offset,
        40
    );
    assert_eq!(
        store.get_messages("Nope", 0, 7, 32, &all).next_begin_offset,
        7
    );
    assert_eq!(store.get_messages("T", 0, 3, 5, &all).next_begin_offset, 8);
    slave.offset_check_in_slave = true;
    store.apply_live_settings(&slave);
    assert_eq!(
        store.get_messages("T", 0, 40, 32, &all).next_begin_offset,
        25
    );
    store.apply_live_settings(&config(&dir));

    // Tag filtering by hash: only TagB (odd offsets).
    let tag_b = i64::from(java_string_hash("TagB"));
    let only_b = |code: i64| code == tag_b;
    let filtered = store.get_messages("T", 0, 0, 4, &only_b);
    let offsets: Vec<i64> = filtered
        .messages
        .iter()
        .map(|m| RecordView::decode(m, false).unwrap().header.queue_offset)
        .collect();
    assert_eq!(offsets, vec![1, 3, 5, 7]);
    assert_eq!(filtered.next_begin_offset, 8);
    let none = |_: i64| false;
    let nothing = store.get_messages("T", 0, 10, 4, &none);
    assert_eq!(
        (nothing.status, nothing.next_begin_offset),
        (GetMessageStatus::NoMatchedMessage, 25)
    );
    assert!(nothing.messages.is_empty());

    store.put(&message("Empty", 1, b"x", "")).await.unwrap();
    let empty = store.get_messages("Empty", 0, 0, 32, &all);
    assert_eq!(empty.status, GetMessageStatus::NoMatchedLogicQueue);
}

#[tokio::test]
async fn reads_of_data_on_disk_take_java_smaller_batches() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(StoreConfig {
        commit_log_segment_bytes: 1 << 20,
        ..config(&dir)
    })
    .unwrap();
    fill(&store, 25).await;
    let in_memory = store.get_messages("T", 0, 0, 32, &all);
    assert_eq!(in_memory.messages.len(), 25);
    assert!(!in_memory.suggest_pulling_from_slave);

    // With no memory share, every record behind the end of the log counts as on disk: 8
    // messages a pull, and the reader is told to go to a slave.
    let mut on_disk = config(&dir);
    on_disk.access_message_in_memory_max_ratio = 0;
    store.apply_live_settings(&on_disk);
    let read = store.get_messages("T", 0, 0, 32, &all);
    assert_eq!(read.messages.len(), 8);
    assert_eq!(read.next_begin_offset, 8);
    assert!(read.suggest_pulling_from_slave);
    assert_eq!(store.get_messages("T", 0, 0, 5, &all).messages.len(), 5);

    // ... and at most 64 KiB (the first message always).
    let body = vec![b'k'; 20 * 1024];
    for _ in 0..5 {
        store.put(&message("Big", 0, &body, "")).await.unwrap();
    }
    assert_eq!(store.get_messages("Big", 0, 0, 32, &all).messages.len(), 3);
    store.apply_live_settings(&config(&dir));
    assert_eq!(store.get_messages("Big", 0, 0, 32, &all).messages.len(), 5);
}

#[tokio::test]
async fn queues_survive_reopen_and_rebuild_from_the_commitlog() {
    let dir = TempDir::new("store");
    {
        let (store, _) = MessageStore::open(config(&dir)).unwrap();
        fill(&store, 25).await;
        for q in 1..4 {
            store.put(&message("T", q, b"q", "")).await.unwrap();
        }
        store.shutdown().unwrap();
    }
    {
        let (store, report) = MessageStore::open(config(&dir)).unwrap();
        assert_eq!(report.stopped_by, None);
        assert_eq!(store.max_offset("T", 0), 25);
        assert_eq!(store.max_offset("T", 3), 1);
        // Appends continue the queue.
        let next = store.put(&message("T", 0, b"after", "")).await.unwrap();
        assert_eq!(next.append.queue_offset, 25);
        assert_eq!(
            store.unit("T", 0, 25).unwrap().commit_log_offset as u64,
            next.append.physical_offset
        );
        store.shutdown().unwrap();
    }
    // Derived data is rebuildable: remove every consume queue and reopen.
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    assert_eq!(store.max_offset("T", 0), 26);
    assert_eq!(store.max_offset("T", 2), 1);
    let got = store.get_messages("T", 0, 20, 32, &all);
    assert_eq!(got.messages.len(), 6);
    assert_eq!(
        RecordView::decode(got.messages.last().unwrap(), true)
            .unwrap()
            .body,
        b"after"
    );
}

/// After a crash, recovery starts at the segment the checkpoint names, not at the oldest,
/// and queues whose records all lie before it continue from their consume queues.
#[tokio::test]
async fn crash_recovery_starts_at_the_checkpoint() {
    use ferrocket_store::checkpoint::Checkpoint;
    let dir = TempDir::new("store");
    let mut cfg = config(&dir);
    cfg.flush_interval_consume_queue = std::time::Duration::from_millis(20);
    let (q1_last, last);
    {
        let (store, _) = MessageStore::open(cfg.clone()).unwrap();
        // Queue 1 gets messages only at the start, queue 0 all along.
        for _ in 0..3 {
            store.put(&message("T", 1, b"early", "")).await.unwrap();
        }
        q1_last = store.max_offset("T", 1);
        let puts = fill(&store, 300).await;
        last = puts[299].append;
        // The periodic checkpoint catches up with the puts.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let cp = Checkpoint::load(dir.path()).unwrap();
            if cp.logics_msg_timestamp >= last.store_timestamp
                && cp.physic_msg_timestamp >= last.store_timestamp
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "checkpoint not written: {cp:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // No shutdown: the process "dies" with `abort` in place.
    }
    // Pretend the crash came 10 s later, so the margin of 3 s covers every record.
    Checkpoint {
        physic_msg_timestamp: last.store_timestamp + 10_000,
        logics_msg_timestamp: last.store_timestamp + 10_000,
        index_msg_timestamp: 0,
    }
    .store(dir.path())
    .unwrap();
    let (store, report) = MessageStore::open(cfg.clone()).unwrap();
    assert!(report.previous_run_crashed);
    let last_segment = last.physical_offset - last.physical_offset % (8 * 1024);
    assert!(last_segment >= 3 * 8 * 1024, "the log has several segments");
    assert_eq!(report.scanned_from, last_segment);
    assert!(report.records < 100, "scanned {} records", report.records);
    assert_eq!(
        report.valid_end,
        last.physical_offset + u64::from(last.size)
    );
    // Queue 1 was not in the scanned part: it continues from its consume queue.
    let next = store.put(&message("T", 1, b"late", "")).await.unwrap();
    assert_eq!(next.append.queue_offset, q1_last);
    let next = store.put(&message("T", 0, b"late", "")).await.unwrap();
    assert_eq!(next.append.queue_offset, 300);
    let mut read = 0;
    let mut offset = 0;
    loop {
        let got = store.get_messages("T", 0, offset, 32, &all);
        if got.messages.is_empty() {
            break;
        }
        read += got.messages.len();
        offset = got.next_begin_offset;
    }
    assert_eq!(read, 301);
    store.shutdown().unwrap();
    drop(store);

    // Without consume queues the whole log is scanned, whatever the checkpoint says.
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let (store, report) = MessageStore::open(cfg).unwrap();
    assert_eq!(report.scanned_from, 0);
    assert_eq!(store.max_offset("T", 1), q1_last + 1);
    assert_eq!(store.max_offset("T", 0), 301);
}

/// Deleting a topic drops its consume queues and queue offsets (Java's `cleanUnusedTopic`).
#[tokio::test]
async fn unused_topics_lose_their_queues() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    for q in 0..2 {
        store.put(&message("Gone", q, b"g", "")).await.unwrap();
        store.put(&message("Gone", q, b"g", "")).await.unwrap();
    }
    store.put(&message("Kept", 0, b"k", "")).await.unwrap();
    let dropped = store.clean_unused_topics(&|topic| topic == "Kept").unwrap();
    assert_eq!(dropped, vec!["Gone".to_string()]);
    assert!(!dir.path().join("consumequeue").join("Gone").exists());
    assert!(dir.path().join("consumequeue").join("Kept").exists());
    assert_eq!(store.max_offset("Gone", 0), 0);
    assert_eq!(store.max_offset("Kept", 0), 1);
    // Created again, the topic starts at queue offset 0 and reads only its new messages.
    let again = store.put(&message("Gone", 1, b"new", "")).await.unwrap();
    assert_eq!(again.append.queue_offset, 0);
    let got = store.get_messages("Gone", 1, 0, 32, &all);
    assert_eq!(got.messages.len(), 1);
    assert_eq!(
        RecordView::decode(&got.messages[0], true).unwrap().body,
        b"new"
    );
    let next = store.put(&message("Kept", 0, b"k", "")).await.unwrap();
    assert_eq!(next.append.queue_offset, 1);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_cut_commitlog_cuts_the_queues() {
    let dir = TempDir::new("store");
    let last;
    {
        let (store, _) = MessageStore::open(config(&dir)).unwrap();
        let puts = fill(&store, 12).await;
        last = puts[11].append;
        store.shutdown().unwrap();
    }
    // Tear the last record.
    let segment = dir.path().join("commitlog").join(format!(
        "{:020}",
        last.physical_offset - last.physical_offset % (8 * 1024)
    ));
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = (last.physical_offset % (8 * 1024)) as usize;
    bytes[at + 20..at + last.size as usize].fill(0);
    std::fs::write(&segment, &bytes).unwrap();
    let (store, report) = MessageStore::open(config(&dir)).unwrap();
    assert_eq!(report.valid_end, last.physical_offset);
    assert_eq!(
        store.max_offset("T", 0),
        11,
        "the unit of the torn record is gone"
    );
    let again = store.put(&message("T", 0, b"again", "")).await.unwrap();
    assert_eq!(again.append.queue_offset, 11);
}

#[tokio::test]
async fn arrival_hook_sees_every_put() {
    let dir = TempDir::new("store");
    let (mut store, _) = MessageStore::open(config(&dir)).unwrap();
    let seen = Arc::new(AtomicI64::new(0));
    let s = seen.clone();
    store.on_arrival(Arc::new(move |topic, qid, max| {
        assert_eq!((topic, qid), ("T", 0));
        s.store(max, Ordering::SeqCst);
    }));
    fill(&store, 3).await;
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_is_stored_whole_and_back_to_back() {
    let dir = TempDir::new("store");
    let (mut store, _) = MessageStore::open(StoreConfig {
        commit_log_segment_bytes: 64 * 1024,
        ..config(&dir)
    })
    .unwrap();
    let arrivals = Arc::new(AtomicI64::new(0));
    let a = arrivals.clone();
    store.on_arrival(Arc::new(move |_, _, _| {
        a.fetch_add(1, Ordering::SeqCst);
    }));
    let store = Arc::new(store);
    // Four putters send batches of 10 to one queue at once: each batch's messages must take
    // consecutive queue offsets and consecutive records, as Java's `putMessages` stores them.
    let putters: Vec<_> = (0..4)
        .map(|putter| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut batches = Vec::new();
                for round in 0..20 {
                    let bodies: Vec<String> =
                        (0..10).map(|i| format!("{putter}-{round}-{i}")).collect();
                    let msgs: Vec<_> = bodies
                        .iter()
                        .map(|b| message("B", 1, b.as_bytes(), "TAGS\u{1}x"))
                        .collect();
                    let mut landed = Vec::new();
                    let status = store
                        .put_batch(&msgs, ferrocket_store::PutWait::StoreOk, |a| {
                            landed.push(*a)
                        })
                        .await
                        .unwrap();
                    assert_eq!(status, ferrocket_store::PutStatus::PutOk);
                    batches.push((bodies, landed));
                }
                batches
            })
        })
        .collect();
    for putter in putters {
        for (bodies, landed) in putter.await.unwrap() {
            assert_eq!(landed.len(), 10);
            for (i, (a, b)) in landed.iter().zip(&landed[1..]).enumerate() {
                assert_eq!(b.queue_offset, a.queue_offset + 1, "message {i} of a batch");
                assert_eq!(b.physical_offset, a.end_offset(), "message {i} of a batch");
                assert_eq!(b.store_timestamp, a.store_timestamp);
            }
            let got = store.get_messages("B", 1, landed[0].queue_offset, 10, &all);
            assert_eq!(got.messages.len(), 10);
            for (record, body) in got.messages.iter().zip(&bodies) {
                assert_eq!(
                    RecordView::decode(record, true).unwrap().body,
                    body.as_bytes()
                );
            }
        }
    }
    assert_eq!(store.max_offset("B", 1), 800);
    assert_eq!(arrivals.load(Ordering::SeqCst), 80, "one arrival per batch");

    // One message too large refuses the whole batch: nothing of it is stored.
    let big = vec![0u8; 5 * 1024 * 1024];
    let msgs = [message("B", 1, b"small", ""), message("B", 1, &big, "")];
    let refused = store
        .put_batch(&msgs, ferrocket_store::PutWait::StoreOk, |_| {
            panic!("nothing of a refused batch lands")
        })
        .await;
    assert!(matches!(
        refused,
        Err(ferrocket_store::StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(store.max_offset("B", 1), 800);
}

#[tokio::test]
async fn query_by_key_and_uniq_key_across_index_files() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    // 30 messages × 2 keys each = 60 items: rolls past the 40-item test index file.
    let mut puts = Vec::new();
    for i in 0..30 {
        let props = format!(
            "KEYS\u{1}order-{} common\u{2}UNIQ_KEY\u{1}UNIQ{i:04}",
            i % 10
        );
        puts.push(
            store
                .put(&message("T", 0, format!("m{i}").as_bytes(), &props))
                .await
                .unwrap(),
        );
    }
    let end = store.commit_log().max_offset();
    assert!(
        store.wait_indexed(end, std::time::Duration::from_secs(5)),
        "indexer caught up"
    );
    let index_files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert!(index_files >= 2, "index rolled: {index_files} files");

    let by_uniq = store.query_messages("T", "UNIQ0017", 32, 0, i64::MAX);
    assert_eq!(by_uniq.messages.len(), 1);
    assert_eq!(
        RecordView::decode(&by_uniq.messages[0], true).unwrap().body,
        b"m17"
    );

    let by_key = store.query_messages("T", "order-3", 32, 0, i64::MAX);
    let mut bodies: Vec<Vec<u8>> = by_key
        .messages
        .iter()
        .map(|m| RecordView::decode(m, true).unwrap().body.to_vec())
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        vec![b"m13".to_vec(), b"m23".to_vec(), b"m3".to_vec()]
    );
    assert_eq!(
        by_key.index_last_update_phy_offset as u64,
        puts[29].append.physical_offset
    );

    // Java caps a query at 64; ask for 5 of the 30 "common" ones.
    assert_eq!(
        store
            .query_messages("T", "common", 5, 0, i64::MAX)
            .messages
            .len(),
        5
    );
    // Wrong topic or a time window before everything: nothing.
    assert!(store
        .query_messages("Other", "order-3", 32, 0, i64::MAX)
        .messages
        .is_empty());
    assert!(store
        .query_messages("T", "order-3", 32, 0, 1000)
        .messages
        .is_empty());
    store.shutdown().unwrap();
    drop(store);

    // The index is derived data: delete it and reopen.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    assert!(store.wait_indexed(
        store.commit_log().max_offset(),
        std::time::Duration::from_secs(5)
    ));
    assert_eq!(
        store
            .query_messages("T", "UNIQ0029", 32, 0, i64::MAX)
            .messages
            .len(),
        1
    );
    assert_eq!(
        store
            .query_messages("T", "order-9", 32, 0, i64::MAX)
            .messages
            .len(),
        3
    );
}

#[tokio::test]
async fn lock_abort_and_checkpoint_files() {
    let dir = TempDir::new("store");
    let (store, report) = MessageStore::open(config(&dir)).unwrap();
    assert!(!report.previous_run_crashed);
    assert!(
        dir.path().join("abort").exists(),
        "abort marks a running store"
    );
    let err = MessageStore::open(config(&dir)).unwrap_err();
    assert!(err.to_string().contains("Lock failed"), "{err}");
    let put = store.put(&message("T", 0, b"x", "")).await.unwrap();
    store.shutdown().unwrap();
    drop(store);
    assert!(
        !dir.path().join("abort").exists(),
        "clean shutdown removes abort"
    );
    let checkpoint = ferrocket_store::checkpoint::Checkpoint::load(dir.path()).unwrap();
    assert_eq!(checkpoint.physic_msg_timestamp, put.append.store_timestamp);
    assert_eq!(
        std::fs::metadata(dir.path().join("checkpoint"))
            .unwrap()
            .len(),
        4096
    );

    let (store, report) = MessageStore::open(config(&dir)).unwrap();
    assert!(!report.previous_run_crashed);
    drop(store); // no shutdown: as if the process died
    let (_store, report) = MessageStore::open(config(&dir)).unwrap();
    assert!(report.previous_run_crashed);
}

#[tokio::test]
async fn offset_by_time_and_earliest_store_time() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    assert_eq!(store.earliest_store_time("T", 0), -1);
    assert_eq!(store.offset_by_time("T", 0, 12345), 0);
    let mut times = Vec::new();
    for i in 0..6 {
        let r = store
            .put(&message("T", 0, format!("{i}").as_bytes(), ""))
            .await
            .unwrap();
        times.push(r.append.store_timestamp);
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    assert_eq!(store.earliest_store_time("T", 0), times[0]);
    for (i, t) in times.iter().enumerate() {
        assert_eq!(store.offset_by_time("T", 0, *t), i as i64, "exact match");
    }
    // Between two messages: the nearer one, the smaller on a tie.
    assert_eq!(store.offset_by_time("T", 0, times[2] + 1), 2);
    assert_eq!(store.offset_by_time("T", 0, times[3] - 1), 3);
    let mid = (times[4] + times[5]) / 2;
    let expected = if (mid - times[4]) <= (times[5] - mid) {
        4
    } else {
        5
    };
    assert_eq!(store.offset_by_time("T", 0, mid), expected);
    // Before everything / after everything: the only neighbour.
    assert_eq!(store.offset_by_time("T", 0, 0), 0);
    assert_eq!(store.offset_by_time("T", 0, i64::MAX), 5);
}

/// The CommitLog segment files (not the one pre-allocated ahead of use), oldest first.
fn segment_files(dir: &TempDir) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none())
        .collect();
    names.sort();
    names
}

/// Makes every CommitLog segment but the newest look `age` old.
/// Makes every segment but the last `age` old at the moment `at` (not at the real time: the
/// passes below run at chosen hours of today, earlier or later than now).
fn age_segments(dir: &TempDir, at: std::time::SystemTime, age: std::time::Duration) {
    let mut names = segment_files(dir);
    names.pop();
    for path in names {
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(at - age).unwrap();
    }
}

/// A moment at 04:xx UTC (in `deleteWhen`) and one at 10:xx (not).
fn at_hour(hour: u64) -> std::time::SystemTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let day_start = now - now % 86_400;
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(day_start + hour * 3600 + 60)
}

#[tokio::test]
async fn retention_deletes_expired_segments_and_what_points_into_them() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let body = vec![b'r'; 700];
    for _ in 0..60 {
        store
            .put(&message("T", 0, &body, "KEYS\u{1}k"))
            .await
            .unwrap();
    }
    let segments = segment_files(&dir).len();
    assert!(segments >= 5, "{segments} segments");
    let cq_files = std::fs::read_dir(dir.path().join("consumequeue/T/0"))
        .unwrap()
        .count();

    // Not old enough: nothing goes, even at the delete hour.
    let report = store.clean(at_hour(4), 0.10).unwrap();
    assert!(report.commit_log_segments.is_empty());

    age_segments(&dir, at_hour(4), std::time::Duration::from_secs(80 * 3600));
    // Old, but not the hour and no disk pressure: kept.
    assert!(store
        .clean(at_hour(10), 0.10)
        .unwrap()
        .commit_log_segments
        .is_empty());
    // The hour: every expired segment goes, the one being written stays.
    let report = store.clean(at_hour(4), 0.10).unwrap();
    assert_eq!(report.commit_log_segments.len(), segments - 1);
    assert_eq!(segment_files(&dir).len(), 1);
    assert!(report.consume_queue_files > 0);
    assert!(
        std::fs::read_dir(dir.path().join("consumequeue/T/0"))
            .unwrap()
            .count()
            < cq_files
    );

    // Reads below the new minimum are told where to go.
    let min = store.min_offset("T", 0);
    assert!(min > 0);
    let old = store.get_messages("T", 0, 0, 32, &all);
    assert_eq!(
        (old.status, old.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, min)
    );
    let first = store.get_messages("T", 0, min, 1, &all);
    assert_eq!(first.status, GetMessageStatus::Found);
    // The new min offset is the first unit whose record still exists.
    let first_unit = store.unit("T", 0, min).unwrap();
    assert!(first_unit.commit_log_offset as u64 >= store.commit_log().min_offset());
    // The store keeps working.
    store.put(&message("T", 0, b"after", "")).await.unwrap();
}

#[tokio::test]
async fn a_manual_delete_request_lasts_twenty_passes_whatever_the_hour() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let body = vec![b'm'; 700];
    for _ in 0..30 {
        store.put(&message("T", 0, &body, "")).await.unwrap();
    }
    let segments = segment_files(&dir).len();
    assert!(segments >= 3, "{segments} segments");
    // The request's passes run out on segments too young to go.
    store.delete_expired_files_manually();
    for _ in 0..ferrocket_store::message_store::MANUAL_DELETE_PASSES {
        assert!(store
            .clean(at_hour(10), 0.10)
            .unwrap()
            .commit_log_segments
            .is_empty());
    }
    age_segments(&dir, at_hour(10), std::time::Duration::from_secs(80 * 3600));
    assert!(
        store
            .clean(at_hour(10), 0.10)
            .unwrap()
            .commit_log_segments
            .is_empty(),
        "not the hour, and no request left"
    );
    store.delete_expired_files_manually();
    let report = store.clean(at_hour(10), 0.10).unwrap();
    assert_eq!(report.commit_log_segments.len(), segments - 1);
}

#[tokio::test]
async fn disk_pressure_deletes_early_and_a_full_disk_refuses_puts() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let body = vec![b'd'; 700];
    for _ in 0..30 {
        store.put(&message("T", 0, &body, "")).await.unwrap();
    }
    // Above diskMaxUsedSpaceRatio (75 %): expired segments go at any hour.
    age_segments(&dir, at_hour(10), std::time::Duration::from_secs(80 * 3600));
    assert!(!store
        .clean(at_hour(10), 0.80)
        .unwrap()
        .commit_log_segments
        .is_empty());
    for _ in 0..30 {
        store.put(&message("T", 0, &body, "")).await.unwrap();
    }
    // Above 85 %: even young segments go.
    assert!(!store
        .clean(at_hour(10), 0.86)
        .unwrap()
        .commit_log_segments
        .is_empty());

    // Above 90 %: puts are refused, reads still work; below it again, puts resume.
    store.clean(at_hour(10), 0.95).unwrap();
    let err = store.put(&message("T", 0, b"x", "")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ferrocket_store::StoreError::DiskFull { used_percent: 95 }
        ),
        "{err}"
    );
    let max = store.max_offset("T", 0);
    assert_eq!(
        store.get_messages("T", 0, max - 1, 1, &all).status,
        GetMessageStatus::Found
    );
    store.clean(at_hour(10), 0.50).unwrap();
    store.put(&message("T", 0, b"x", "")).await.unwrap();
    assert!(store.disk_usage().unwrap() > 0.0);
}

#[tokio::test]
async fn the_cleaner_thread_runs_and_stops() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let store = Arc::new(store);
    let cleaner = store.start_cleaner(std::time::Duration::from_millis(20));
    std::thread::sleep(std::time::Duration::from_millis(100));
    store
        .put(&message("T", 0, b"still works", ""))
        .await
        .unwrap();
    store.shutdown().unwrap();
    // After shutdown the thread notices and ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !cleaner.is_finished() {
        assert!(std::time::Instant::now() < deadline, "cleaner did not stop");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[tokio::test]
async fn expired_consume_queues_are_destroyed_and_their_offsets_start_again() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let body = vec![b'e'; 700];
    // Old: everything of Gone/0 and Gone/1, and the first of Kept/0 and of the delay topic.
    for i in 0..30 {
        store.put(&message("Gone", i % 2, &body, "")).await.unwrap();
    }
    store.put(&message("Kept", 0, &body, "")).await.unwrap();
    let mut delayed = message("SCHEDULE_TOPIC_XXXX", 0, &body, "");
    delayed.properties = "REAL_TOPIC\u{1}Kept\u{2}REAL_QID\u{1}0\u{2}DELAY\u{1}1";
    store.put(&delayed).await.unwrap();
    // New: enough of Kept/0 to fill a segment of its own.
    for _ in 0..30 {
        store.put(&message("Kept", 0, &body, "")).await.unwrap();
    }
    // Nothing has expired yet.
    assert!(store.clean_expired_consume_queues().unwrap().is_empty());

    age_segments(&dir, at_hour(4), std::time::Duration::from_secs(80 * 3600));
    let cleaned = store.clean(at_hour(4), 0.10).unwrap();
    assert!(!cleaned.commit_log_segments.is_empty());
    assert!(store.commit_log().min_offset() > 0);

    let mut destroyed = store.clean_expired_consume_queues().unwrap();
    destroyed.sort();
    assert_eq!(destroyed, [("Gone".to_owned(), 0), ("Gone".to_owned(), 1)]);
    assert!(!dir.path().join("consumequeue/Gone").exists());
    assert!(dir.path().join("consumequeue/Kept/0").exists());
    assert!(dir
        .path()
        .join("consumequeue/SCHEDULE_TOPIC_XXXX/0")
        .exists());
    assert_eq!(store.max_offset("Gone", 0), 0);
    assert_eq!(store.max_offset("Kept", 0), 31);
    // A second pass finds nothing more.
    assert!(store.clean_expired_consume_queues().unwrap().is_empty());

    // The queue starts again at 0, and stays so across a reopen.
    let again = store.put(&message("Gone", 1, b"again", "")).await.unwrap();
    assert_eq!(again.append.queue_offset, 0);
    store.shutdown().unwrap();
    drop(store);
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    assert_eq!(store.max_offset("Gone", 1), 1);
    let got = store.get_messages("Gone", 1, 0, 32, &all);
    assert_eq!(got.messages.len(), 1);
    assert_eq!(store.max_offset("Gone", 0), 0);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn retention_settings_changed_live_apply_to_the_next_pass() {
    let dir = TempDir::new("store");
    let (store, _) = MessageStore::open(config(&dir)).unwrap();
    let body = vec![b'l'; 700];
    for _ in 0..30 {
        store.put(&message("T", 0, &body, "")).await.unwrap();
    }
    let segments = segment_files(&dir).len();
    assert!(segments >= 3, "{segments} segments");
    age_segments(&dir, at_hour(10), std::time::Duration::from_secs(80 * 3600));
    let mut live = config(&dir);
    // Kept for 100 hours, deleted at 10:xx: 80 hours old is not expired yet.
    live.set("fileReservedTime", "100").unwrap();
    live.set("deleteWhen", "10").unwrap();
    store.apply_live_settings(&live);
    assert!(store
        .clean(at_hour(10), 0.10)
        .unwrap()
        .commit_log_segments
        .is_empty());
    // Down to 72 hours: now they go, at the new hour.
    live.set("fileReservedTime", "72").unwrap();
    store.apply_live_settings(&live);
    let report = store.clean(at_hour(10), 0.10).unwrap();
    assert_eq!(report.commit_log_segments.len(), segments - 1);
}

/// A record put to `SCHEDULE_TOPIC_XXXX` with a delay level gets its due time as the tags
/// code of its unit, at put time and again when the queues are rebuilt from the log.
#[tokio::test]
async fn scheduled_records_carry_their_due_time() {
    let dir = TempDir::new("store");
    let mut cfg = config(&dir);
    cfg.message_delay_level = ferrocket_store::DelayLevels::parse("1s 5s 2m").unwrap();
    let topic = ferrocket_common::names::SCHEDULE_TOPIC;
    let due = |r: &ferrocket_store::PutResult, delay: i64| r.append.store_timestamp + delay;
    let (two, clamped);
    {
        let (store, _) = MessageStore::open(cfg.clone()).unwrap();
        two = store
            .put(&message(topic, 1, b"a", "DELAY\u{1}2\u{2}TAGS\u{1}x"))
            .await
            .unwrap();
        clamped = store
            .put(&message(topic, 2, b"b", "DELAY\u{1}9"))
            .await
            .unwrap();
        // No level: an ordinary tag hash, as Java.
        store
            .put(&message(topic, 0, b"c", "TAGS\u{1}x"))
            .await
            .unwrap();
        store.shutdown().unwrap();
    }
    let codes = |store: &MessageStore| -> Vec<i64> {
        (0..3)
            .map(|q| store.unit(topic, q, 0).unwrap().tags_code)
            .collect()
    };
    let expected = vec![
        java_string_hash("x") as i64,
        due(&two, 5_000),
        due(&clamped, 120_000),
    ];
    let (store, _) = MessageStore::open(cfg.clone()).unwrap();
    assert_eq!(codes(&store), expected, "as put");
    store.shutdown().unwrap();
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let (store, _) = MessageStore::open(cfg).unwrap();
    assert_eq!(codes(&store), expected, "rebuilt from the log");
}

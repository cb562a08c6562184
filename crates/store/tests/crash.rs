//! Crash test: a child process appends with SYNC_FLUSH and reports every acknowledged
//! record; the parent kills it with SIGKILL at random moments, reopens the store and checks
//! that every acknowledged record is there, byte for byte, reachable through its consume
//! queue and findable by key, and that appends continue after the last valid record. Bounded: 20 rounds of at most a few hundred milliseconds.

use ferrocket_common::record::RecordView;
use ferrocket_store::{FlushDiskType, MessageStore, PutMessage, PutStatus, StoreConfig};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHILD_ENV: &str = "FERROCKET_CRASH_CHILD_DIR";
const ROUNDS: usize = 20;

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        root_dir: root.to_owned(),
        // Small segments so crashes also land around rolls.
        commit_log_segment_bytes: 64 * 1024,
        flush_disk_type: FlushDiskType::SyncFlush,
        ..StoreConfig::default()
    }
}

fn body_of(seq: u64) -> Vec<u8> {
    format!("crash-test message {seq} ")
        .repeat(1 + (seq % 7) as usize)
        .into_bytes()
}

/// The child: runs only when the parent starts this test binary with CHILD_ENV set.
#[test]
fn crash_child() {
    let Ok(root) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (log, _) = MessageStore::open(config(Path::new(&root))).unwrap();
        let first: u64 = std::env::var("FERROCKET_CRASH_FIRST_SEQ")
            .unwrap()
            .parse()
            .unwrap();
        for seq in first.. {
            let body = body_of(seq);
            let props = format!("KEYS\u{1}seq-{seq}");
            let msg = PutMessage {
                born_timestamp: seq as i64,
                ..ferrocket_testkit::put_message("CrashTopic", (seq % 4) as i32, &body, &props)
            };
            let r = log.put(&msg).await.unwrap();
            if r.status == PutStatus::PutOk {
                println!(
                    "ACK {seq} {} {}",
                    r.append.physical_offset, r.append.queue_offset
                );
            }
        }
    });
}

struct Ack {
    seq: u64,
    offset: u64,
    queue_offset: i64,
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn run_child_and_kill(root: &Path, first_seq: u64, run_for: Duration) -> Vec<Ack> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, root)
        .env("FERROCKET_CRASH_FIRST_SEQ", first_seq.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let parts: Vec<&str> = line.split(' ').collect();
            if let ["ACK", seq, offset, queue_offset] = parts[..] {
                let ack = Ack {
                    seq: seq.parse().unwrap(),
                    offset: offset.parse().unwrap(),
                    queue_offset: queue_offset.parse().unwrap(),
                };
                if tx.send(ack).is_err() {
                    break;
                }
            }
        }
    });
    // Wait for the first acknowledgement (the child is up), then let it run and kill it.
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("child acknowledged nothing");
    std::thread::sleep(run_for);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    let mut acks = vec![first];
    acks.extend(rx.try_iter());
    acks
}

#[test]
fn acknowledged_sync_flush_writes_survive_kill_9() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let root: PathBuf =
        std::env::temp_dir().join(format!("ferrocket-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}");
    let started = Instant::now();
    let mut next_seq = 0u64;
    let mut all: Vec<Ack> = Vec::new();
    for round in 0..ROUNDS {
        let run_for = Duration::from_millis(20 + xorshift(&mut seed) % 200);
        let acks = run_child_and_kill(&root, next_seq, run_for);
        next_seq = acks
            .iter()
            .map(|a| a.seq + 1)
            .max()
            .unwrap_or(next_seq)
            .max(next_seq);
        all.extend(acks);

        let (store, report) = MessageStore::open(config(&root)).unwrap();
        assert!(
            report.previous_run_crashed,
            "round {round}: a SIGKILL must be seen as a crash"
        );
        let log = store.commit_log();
        assert!(
            store.wait_indexed(log.max_offset(), Duration::from_secs(30)),
            "round {round}: the index did not catch up"
        );
        for ack in &all {
            let queue_id = (ack.seq % 4) as i32;
            let unit = store
                .unit("CrashTopic", queue_id, ack.queue_offset)
                .unwrap_or_else(|| {
                    panic!("round {round}: seq {} has no consume-queue unit", ack.seq)
                });
            assert_eq!(
                unit.commit_log_offset as u64, ack.offset,
                "round {round}: seq {}",
                ack.seq
            );
            let bytes = log.record_at(ack.offset).unwrap_or_else(|| {
                panic!(
                    "round {round}: acknowledged seq {} at {} lost ({report:?})",
                    ack.seq, ack.offset
                )
            });
            let view = RecordView::decode(&bytes, true).unwrap();
            assert_eq!(
                view.body,
                &body_of(ack.seq)[..],
                "round {round}: seq {}",
                ack.seq
            );
            assert_eq!(view.properties, format!("KEYS\u{1}seq-{}", ack.seq));
            assert_eq!(view.header.queue_offset, ack.queue_offset);
            assert_eq!(view.header.born_timestamp, ack.seq as i64);
            let found =
                store.query_messages("CrashTopic", &format!("seq-{}", ack.seq), 4, 0, i64::MAX);
            assert!(
                found.messages.iter().any(|m| m[..] == bytes[..]),
                "round {round}: seq {} not found by key",
                ack.seq
            );
        }
        // Appends continue right after the last valid record.
        let end = log.max_offset();
        assert_eq!(end, report.valid_end);
        store.shutdown().unwrap();
        drop(store);
        // Unacknowledged sequence numbers may or may not have made it; continue after the
        // highest one that is stored so bodies stay unique.
        let (store, _) = MessageStore::open(config(&root)).unwrap();
        let stored = (0..4)
            .map(|q| store.max_offset("CrashTopic", q))
            .sum::<i64>() as u64;
        next_seq = next_seq.max(stored);
        store.shutdown().unwrap();
    }
    println!(
        "{} acknowledged records verified over {ROUNDS} kills in {:?}",
        all.len(),
        started.elapsed()
    );
    assert!(all.len() > ROUNDS);
    let _ = std::fs::remove_dir_all(&root);
}

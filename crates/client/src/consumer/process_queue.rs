//! The messages a push consumer has pulled from one queue and not yet finished
//! (`ProcessQueue`): flow control reads its size, the committed offset is its smallest key.

use crate::message::MessageExt;
use ferrocket_protocol::body::{MessageQueue, ProcessQueueInfo};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Cache {
    /// Pulled, not yet consumed, by queue offset.
    messages: BTreeMap<i64, MessageExt>,
    /// Orderly only: taken for consumption, not yet committed.
    consuming: BTreeMap<i64, MessageExt>,
    bytes: usize,
    /// Highest queue offset ever put.
    max_offset: i64,
}

#[derive(Debug)]
pub(crate) struct ProcessQueue {
    pub queue: MessageQueue,
    cache: Mutex<Cache>,
    dropped: AtomicBool,
    locked: AtomicBool,
    last_lock_ms: AtomicI64,
    pub last_pull_ms: AtomicI64,
    pub last_consume_ms: AtomicI64,
    /// Wakes the orderly consume task of this queue.
    pub arrived: Notify,
    /// One orderly consumption at a time per queue.
    pub consume_lock: tokio::sync::Mutex<()>,
}

impl ProcessQueue {
    pub fn new(queue: MessageQueue) -> ProcessQueue {
        ProcessQueue {
            queue,
            cache: Mutex::new(Cache {
                max_offset: -1,
                ..Default::default()
            }),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            last_lock_ms: AtomicI64::new(0),
            last_pull_ms: AtomicI64::new(0),
            last_consume_ms: AtomicI64::new(0),
            arrived: Notify::new(),
            consume_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    pub fn drop_queue(&self) {
        self.dropped.store(true, Ordering::Release);
        self.arrived.notify_one();
    }

    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Acquire)
    }

    /// Whether the broker lock is still trusted (30 s after the last successful lock).
    pub fn lock_valid(&self, now_ms: i64) -> bool {
        self.is_locked() && now_ms - self.last_lock_ms.load(Ordering::Acquire) <= 30_000
    }

    pub fn set_locked(&self, locked: bool, now_ms: i64) {
        self.locked.store(locked, Ordering::Release);
        if locked {
            self.last_lock_ms.store(now_ms, Ordering::Release);
        }
    }

    /// Adds pulled messages; returns how many were new.
    pub fn put(&self, messages: &[MessageExt]) -> usize {
        let mut c = self.cache.lock().expect("pq lock");
        let mut added = 0;
        for m in messages {
            if c.messages.insert(m.queue_offset, m.clone()).is_none() {
                c.bytes += m.body.len();
                added += 1;
            }
            c.max_offset = c.max_offset.max(m.queue_offset);
        }
        drop(c);
        self.arrived.notify_one();
        added
    }

    /// Removes finished messages; returns the offset to commit: the smallest still cached,
    /// or one past the highest ever put when none is left.
    pub fn remove(&self, offsets: impl IntoIterator<Item = i64>) -> i64 {
        let mut c = self.cache.lock().expect("pq lock");
        for o in offsets {
            if let Some(m) = c.messages.remove(&o) {
                c.bytes -= m.body.len();
            }
        }
        c.messages
            .keys()
            .next()
            .copied()
            .unwrap_or(c.max_offset + 1)
    }

    pub fn count(&self) -> usize {
        let c = self.cache.lock().expect("pq lock");
        c.messages.len() + c.consuming.len()
    }

    pub fn bytes(&self) -> usize {
        self.cache.lock().expect("pq lock").bytes
    }

    /// Offset distance between the first and last cached message.
    pub fn span(&self) -> i64 {
        let c = self.cache.lock().expect("pq lock");
        match (c.messages.keys().next(), c.messages.keys().next_back()) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Orderly: takes up to `n` messages in offset order for consumption.
    pub fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut c = self.cache.lock().expect("pq lock");
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some((offset, m)) = c.messages.pop_first() else {
                break;
            };
            c.consuming.insert(offset, m.clone());
            out.push(m);
        }
        out
    }

    /// Orderly: the taken messages are done; returns the offset to commit.
    pub fn commit(&self) -> Option<i64> {
        let mut c = self.cache.lock().expect("pq lock");
        let next = c.consuming.keys().next_back().map(|o| o + 1);
        let bytes: usize = c.consuming.values().map(|m| m.body.len()).sum();
        c.bytes -= bytes;
        c.consuming.clear();
        next
    }

    /// Orderly: puts the taken messages back to be consumed again.
    pub fn rollback(&self, messages: Vec<MessageExt>) {
        let mut c = self.cache.lock().expect("pq lock");
        for m in messages {
            c.consuming.remove(&m.queue_offset);
            c.messages.insert(m.queue_offset, m);
        }
    }

    pub fn clear(&self) {
        let mut c = self.cache.lock().expect("pq lock");
        c.messages.clear();
        c.consuming.clear();
        c.bytes = 0;
    }

    pub fn info(&self, commit_offset: i64) -> ProcessQueueInfo {
        let c = self.cache.lock().expect("pq lock");
        ProcessQueueInfo {
            cached_msg_count: c.messages.len() as i32,
            cached_msg_min_offset: c.messages.keys().next().copied().unwrap_or(0),
            cached_msg_max_offset: c.messages.keys().next_back().copied().unwrap_or(0),
            cached_msg_size_in_mib: (c.bytes / (1024 * 1024)) as i32,
            commit_offset,
            droped: self.is_dropped(),
            last_consume_timestamp: self.last_consume_ms.load(Ordering::Relaxed),
            last_lock_timestamp: self.last_lock_ms.load(Ordering::Relaxed),
            last_pull_timestamp: self.last_pull_ms.load(Ordering::Relaxed),
            locked: self.is_locked(),
            transaction_msg_count: 0,
            transaction_msg_max_offset: 0,
            transaction_msg_min_offset: 0,
            try_unlock_times: 0,
        }
    }
}

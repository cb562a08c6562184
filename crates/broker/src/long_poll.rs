//! Held pulls (`PullRequestHoldService` with long polling): a pull that finds nothing waits
//! until a message reaches its queue or its hold time ends. The store's arrival hook wakes
//! the waiters of a queue; when nobody waits, a put costs one atomic load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

struct Waiter {
    offset: i64,
    wake: oneshot::Sender<()>,
}

#[derive(Default)]
pub struct PullHolds {
    waiting: AtomicUsize,
    /// topic → queue id → waiters
    queues: Mutex<HashMap<String, HashMap<i32, Vec<Waiter>>>>,
}

impl std::fmt::Debug for PullHolds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullHolds")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl PullHolds {
    /// Registers a pull waiting for a message at `offset` or later; the receiver fires when
    /// one arrives.
    pub fn hold(&self, topic: &str, queue_id: i32, offset: i64) -> oneshot::Receiver<()> {
        let (wake, rx) = oneshot::channel();
        let mut queues = self.queues.lock().expect("holds lock");
        queues
            .entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_default()
            .push(Waiter { offset, wake });
        self.waiting.fetch_add(1, Ordering::Release);
        rx
    }

    /// Called for every stored message: wakes the queue's waiters now satisfied.
    pub fn arrived(&self, topic: &str, queue_id: i32, max_offset: i64) {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut queues = self.queues.lock().expect("holds lock");
        let Some(by_queue) = queues.get_mut(topic) else {
            return;
        };
        let Some(waiters) = by_queue.get_mut(&queue_id) else {
            return;
        };
        let before = waiters.len();
        let mut kept = Vec::with_capacity(waiters.len());
        for w in waiters.drain(..) {
            if w.offset < max_offset {
                let _ = w.wake.send(());
            } else if !w.wake.is_closed() {
                kept.push(w);
            }
        }
        *waiters = kept;
        self.waiting
            .fetch_sub(before - waiters.len(), Ordering::Release);
    }

    /// Drops waiters whose pull already gave up (timeout or closed connection).
    pub fn prune(&self) {
        let mut queues = self.queues.lock().expect("holds lock");
        let mut removed = 0;
        for by_queue in queues.values_mut() {
            for waiters in by_queue.values_mut() {
                let before = waiters.len();
                waiters.retain(|w| !w.wake.is_closed());
                removed += before - waiters.len();
            }
            by_queue.retain(|_, w| !w.is_empty());
        }
        queues.retain(|_, q| !q.is_empty());
        self.waiting.fetch_sub(removed, Ordering::Release);
    }

    /// Wakes everyone (shutdown): held pulls answer with what they have.
    pub fn wake_all(&self) {
        let mut queues = self.queues.lock().expect("holds lock");
        for (_, by_queue) in queues.drain() {
            for (_, waiters) in by_queue {
                for w in waiters {
                    let _ = w.wake.send(());
                }
            }
        }
        self.waiting.store(0, Ordering::Release);
    }
}

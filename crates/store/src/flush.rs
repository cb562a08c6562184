//! Group commit: one thread turns every waiting SYNC_FLUSH put into a single flush.
//!
//! Each round takes the published end of the CommitLog as its target, flushes the dirty range
//! of every segment up to it (msync, which waits like fdatasync), and then completes every
//! waiter whose record ends at or before the target. Puts that arrive during a round are
//! covered by the next one, so the number of syncs grows with time, not with puts. Under
//! ASYNC_FLUSH the same thread flushes every `flushIntervalCommitLog`.
//!
//! A failed flush poisons the queue: the waiters and every later put get an error, because
//! nothing written after it can be reported durable.

use crate::commitlog::Shared;
use crate::StoreError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

pub(crate) type FlushDone = oneshot::Receiver<Result<(), String>>;

struct Waiter {
    target: u64,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Default)]
struct State {
    waiters: Vec<Waiter>,
    shutdown: bool,
}

struct Inner {
    shared: Arc<Shared>,
    state: Mutex<State>,
    wake: Condvar,
    flushed: AtomicU64,
    poisoned: AtomicBool,
    poison_reason: Mutex<String>,
    inject_failure: AtomicBool,
    /// Test hook: milliseconds the next flush waits before syncing.
    inject_delay_ms: AtomicU64,
    interval: Duration,
}

pub(crate) struct FlushQueue {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FlushQueue {
    pub(crate) fn start(shared: Arc<Shared>, flushed: u64, interval: Duration) -> FlushQueue {
        let inner = Arc::new(Inner {
            shared,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            flushed: AtomicU64::new(flushed),
            poisoned: AtomicBool::new(false),
            poison_reason: Mutex::new(String::new()),
            inject_failure: AtomicBool::new(false),
            inject_delay_ms: AtomicU64::new(0),
            interval,
        });
        let worker = inner.clone();
        let thread = std::thread::Builder::new()
            .name("commitlog-flush".into())
            .spawn(move || worker.run())
            .expect("spawning the flush thread");
        FlushQueue {
            inner,
            thread: Mutex::new(Some(thread)),
        }
    }

    pub(crate) fn flushed(&self) -> u64 {
        self.inner.flushed.load(Ordering::Acquire)
    }

    pub(crate) fn check_poisoned(&self) -> Result<(), StoreError> {
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned(
                self.inner
                    .poison_reason
                    .lock()
                    .expect("poison lock")
                    .clone(),
            ));
        }
        Ok(())
    }

    /// Resolves once everything before `target` is on disk.
    pub(crate) fn request(&self, target: u64) -> Result<FlushDone, StoreError> {
        self.check_poisoned()?;
        let (done, rx) = oneshot::channel();
        if self.flushed() >= target {
            let _ = done.send(Ok(()));
            return Ok(rx);
        }
        let mut state = self.inner.state.lock().expect("flush state lock");
        if state.shutdown {
            return Err(StoreError::ShutDown);
        }
        state.waiters.push(Waiter { target, done });
        drop(state);
        self.inner.wake.notify_one();
        Ok(rx)
    }

    pub(crate) fn inject_failure(&self) {
        self.inner.inject_failure.store(true, Ordering::Release);
    }

    pub(crate) fn inject_delay(&self, delay: Duration) {
        self.inner
            .inject_delay_ms
            .store(delay.as_millis() as u64, Ordering::Release);
    }

    /// Runs a last flush and stops the thread.
    pub(crate) fn shutdown(&self) -> Result<(), StoreError> {
        self.inner.state.lock().expect("flush state lock").shutdown = true;
        self.inner.wake.notify_one();
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
        self.check_poisoned()
    }
}

impl Drop for FlushQueue {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl Inner {
    fn run(&self) {
        loop {
            let mut state = self.state.lock().expect("flush state lock");
            while state.waiters.is_empty() && !state.shutdown {
                let (guard, wait) = self
                    .wake
                    .wait_timeout(state, self.interval)
                    .expect("flush state lock");
                state = guard;
                if wait.timed_out() {
                    break;
                }
            }
            let stopping = state.shutdown;
            drop(state);

            if !self.poisoned.load(Ordering::Acquire) {
                let target = self.shared.published.load(Ordering::Acquire);
                let from = self.flushed.load(Ordering::Acquire);
                match self.flush_range(from, target) {
                    Ok(()) => self.flushed.store(target.max(from), Ordering::Release),
                    Err(e) => {
                        tracing::error!("commitlog flush failed; refusing further writes: {e}");
                        *self.poison_reason.lock().expect("poison lock") = e.to_string();
                        self.poisoned.store(true, Ordering::Release);
                    }
                }
            }

            let flushed = self.flushed.load(Ordering::Acquire);
            let poison = self
                .poisoned
                .load(Ordering::Acquire)
                .then(|| self.poison_reason.lock().expect("poison lock").clone());
            let mut state = self.state.lock().expect("flush state lock");
            let waiters = std::mem::take(&mut state.waiters);
            for waiter in waiters {
                match &poison {
                    Some(reason) => {
                        let _ = waiter.done.send(Err(reason.clone()));
                    }
                    None if waiter.target <= flushed => {
                        let _ = waiter.done.send(Ok(()));
                    }
                    None => state.waiters.push(waiter),
                }
            }
            if stopping {
                // Nothing can be appended after shutdown: anyone left is not coming through.
                state.waiters.clear();
                return;
            }
        }
    }

    fn flush_range(&self, from: u64, to: u64) -> std::io::Result<()> {
        if to <= from {
            return Ok(());
        }
        let delay = self.inject_delay_ms.swap(0, Ordering::AcqRel);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if self.inject_failure.swap(false, Ordering::AcqRel) {
            return Err(std::io::Error::other("injected fdatasync failure"));
        }
        let segments: Vec<_> = self
            .shared
            .segments
            .read()
            .expect("segments lock")
            .iter()
            .filter(|s| s.start_offset() < to && s.start_offset() + s.len() as u64 > from)
            .cloned()
            .collect();
        for seg in segments {
            let start = seg.start_offset();
            let lo = from.max(start) - start;
            let hi = to.min(start + seg.len() as u64) - start;
            seg.flush(lo as usize, hi as usize)?;
        }
        Ok(())
    }
}

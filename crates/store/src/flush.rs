//! Group commit: flush threads turn the waiting SYNC_FLUSH puts into a few shared flushes.
//!
//! Each round takes the published end of the CommitLog as its target, flushes the dirty range
//! of every segment from the previous round's target up to it (msync, which waits like
//! fdatasync), and then completes every waiter whose record ends at or before the durable
//! end. Puts that arrive during a round are covered by the next one, so the number of syncs
//! grows with time, not with puts. Under ASYNC_FLUSH the same threads flush every
//! `flushIntervalCommitLog`.
//!
//! Rounds are pipelined: [`FLUSHERS`] threads take turns, one gathering the next round while
//! the others sync. The durable end only advances over rounds that completed in issue order,
//! so a record is reported durable only once every sync covering bytes before it returned.
//!
//! A waiting put carries a deadline (`syncFlushTimeout`); a watchdog thread wakes the puts
//! whose deadline passed, which then report a timeout — so a put costs no timer, and a
//! stalled sync (when the flush thread itself is stuck) still times out on time.
//!
//! A failed flush poisons the queue: the waiters and every later put get an error, because
//! nothing written after it can be reported durable.

use crate::commitlog::Shared;
use crate::StoreError;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many rounds may sync at once. With one, every put waits for a sync plus the time the
/// puts woken with it take to append again (about a millisecond and a half for a thousand
/// puts on two cores), and the disk idles meanwhile. With several, rounds are issued while
/// others sync, so the puts coming back go out in the next few rounds instead of waiting for
/// all of them. Disks take concurrent flushes: on the VMs this was measured on, 2 threads
/// calling fdatasync on one file complete 1.6 times the syncs of one, 8 threads 2 times.
const FLUSHERS: usize = 8;

/// With syncs slower than [`SPLIT_ABOVE`], a round is issued once this share of the puts the
/// last completed round woke (1/n) has come back: the rest go out in the rounds after it, on
/// other flushers.
const GATHER_SPLIT: usize = 4;

/// Below this sync latency a round waits for all the puts woken: the CPU, not the disk,
/// bounds throughput then, and fewer, bigger rounds cost it less.
const SPLIT_ABOVE: Duration = Duration::from_millis(1);

/// The longest a round waits for the puts woken by the previous one to come back.
const MAX_GATHER: Duration = Duration::from_millis(2);

/// How long the flush thread leaves the wake-ups of a round to the first woken put before
/// doing them itself (that put's task may have been dropped).
const RELAY_GRACE: Duration = Duration::from_millis(1);

/// A put waiting for the flush that covers its record. Registering one stores the task's
/// waker in a reused vector: no allocation per put.
struct Waiter {
    target: u64,
    deadline: Option<Instant>,
    waker: Waker,
}

/// How a wait for a flush ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlushOutcome {
    /// A sync covering the target returned.
    Durable,
    /// The deadline passed first; the record stays and a later sync covers it.
    TimedOut,
}

/// A round issued to a flusher: it syncs `from..target`.
#[derive(Clone, Copy)]
struct Round {
    /// Issue order: rounds can share a target (one with nothing new to sync).
    seq: u64,
    from: u64,
    target: u64,
    /// Issued after shutdown was asked: the flusher stops after it.
    last: bool,
}

struct InFlight {
    seq: u64,
    target: u64,
    /// The store time of the last record the round covers.
    timestamp: i64,
    synced: bool,
}

#[derive(Default)]
struct State {
    waiters: Vec<Waiter>,
    /// The previous round's vector, kept for its capacity.
    spare: Vec<Waiter>,
    shutdown: bool,
    /// Wakers of puts a round completed, woken by the first of them to run
    /// (`Inner::relay_wakes`).
    relay: Vec<Waker>,
    /// While the gathering flusher is parked: how many fresh waiters it wants before the
    /// next round. Puts notify it only when they reach that count, so a busy round costs no
    /// wake-ups.
    parked_until: Option<usize>,
    /// Waiters registered since the last round was issued: no round covers them yet.
    fresh: usize,
    /// The target of the last round issued; the next one syncs from there.
    issued: u64,
    /// Rounds issued and not yet folded into `flushed`, oldest first. A round that synced
    /// waits here until every older one has too.
    in_flight: VecDeque<InFlight>,
    /// The sequence number of the next round issued.
    next_seq: u64,
    /// A flusher is gathering the next round; the others wait for it to issue.
    gathering: bool,
    /// How many puts the next round waits for (those the last completed round woke, plus
    /// those already waiting), and when that round woke them.
    expected: usize,
    woke_at: Option<Instant>,
    /// How long the last sync took.
    last_flush: Duration,
}

struct Inner {
    shared: Arc<Shared>,
    state: Mutex<State>,
    /// Wakes the gathering flusher.
    wake: Condvar,
    /// Wakes the flushers waiting for their turn to gather.
    turn: Condvar,
    flushed: AtomicU64,
    /// Flushes that synced something: with `puts / syncs`, how well group commit batches.
    syncs: AtomicU64,
    /// Time those flushes took, in nanoseconds.
    sync_nanos: AtomicU64,
    /// Records nobody waits for were appended (`WAIT=false` under SYNC_FLUSH): the next
    /// round starts without waiting for a put to ask. An atomic, so that every unwaited put
    /// after the first of a round costs no lock.
    nudged: AtomicBool,
    poisoned: AtomicBool,
    /// `state.relay` holds wakers: lets a poll skip the lock when there is nothing to relay.
    relay_pending: AtomicBool,
    poison_reason: Mutex<String>,
    inject_failure: AtomicBool,
    /// Test hook: the next flush first waits this long (nanoseconds), like a stalled disk.
    delay_next_ns: AtomicU64,
    /// Bench hook: every flush takes at least this long (nanoseconds), like a slower disk.
    sync_floor_ns: AtomicU64,
    interval: Duration,
    /// `syncFlushTimeout` in milliseconds; changed live.
    timeout_ms: AtomicU64,
    /// Wakes the watchdog at shutdown.
    watchdog_wake: Condvar,
}

pub(crate) struct FlushQueue {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl FlushQueue {
    pub(crate) fn start(
        shared: Arc<Shared>,
        flushed: u64,
        interval: Duration,
        timeout: Duration,
    ) -> FlushQueue {
        let inner = Arc::new(Inner {
            shared,
            state: Mutex::new(State {
                issued: flushed,
                ..State::default()
            }),
            wake: Condvar::new(),
            turn: Condvar::new(),
            flushed: AtomicU64::new(flushed),
            syncs: AtomicU64::new(0),
            sync_nanos: AtomicU64::new(0),
            nudged: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            relay_pending: AtomicBool::new(false),
            poison_reason: Mutex::new(String::new()),
            inject_failure: AtomicBool::new(false),
            delay_next_ns: AtomicU64::new(0),
            sync_floor_ns: AtomicU64::new(0),
            interval,
            timeout_ms: AtomicU64::new(millis(timeout)),
            watchdog_wake: Condvar::new(),
        });
        let mut threads: Vec<_> = (0..FLUSHERS)
            .map(|_| {
                let worker = inner.clone();
                std::thread::Builder::new()
                    .name("commitlog-flush".into())
                    .spawn(move || worker.run())
                    .expect("spawning a flush thread")
            })
            .collect();
        let worker = inner.clone();
        threads.push(
            std::thread::Builder::new()
                .name("commitlog-flush-timeout".into())
                .spawn(move || worker.expire_waiters())
                .expect("spawning the flush watchdog"),
        );
        FlushQueue {
            inner,
            threads: Mutex::new(threads),
        }
    }

    /// `syncFlushTimeout` for the waits that start from now on.
    pub(crate) fn set_timeout(&self, timeout: Duration) {
        self.inner
            .timeout_ms
            .store(millis(timeout), Ordering::Relaxed);
    }

    pub(crate) fn flushed(&self) -> u64 {
        self.inner.flushed.load(Ordering::Acquire)
    }

    pub(crate) fn syncs(&self) -> u64 {
        self.inner.syncs.load(Ordering::Relaxed)
    }

    /// Time spent in the flushes [`syncs`](Self::syncs) counts.
    pub(crate) fn sync_time(&self) -> Duration {
        Duration::from_nanos(self.inner.sync_nanos.load(Ordering::Relaxed))
    }

    pub(crate) fn check_poisoned(&self) -> Result<(), StoreError> {
        self.inner.check_poisoned()
    }

    /// Resolves once everything before `target` is on disk, or `syncFlushTimeout` passed.
    pub(crate) fn request(&self, target: u64) -> Result<FlushWait<'_>, StoreError> {
        let timeout = Duration::from_millis(self.inner.timeout_ms.load(Ordering::Relaxed));
        self.wait_for(target, Some(timeout))
    }

    /// Resolves once everything before `target` is on disk, however long that takes.
    pub(crate) fn request_untimed(&self, target: u64) -> Result<FlushWait<'_>, StoreError> {
        self.wait_for(target, None)
    }

    fn wait_for(
        &self,
        target: u64,
        timeout: Option<Duration>,
    ) -> Result<FlushWait<'_>, StoreError> {
        self.check_poisoned()?;
        Ok(FlushWait {
            inner: &self.inner,
            target,
            timeout,
            deadline: None,
        })
    }

    /// Starts a round soon even though no put waits for it.
    pub(crate) fn nudge(&self) {
        if self.inner.nudged.swap(true, Ordering::AcqRel) {
            return;
        }
        // The flush thread reads the flag under the state lock before it parks, so either it
        // sees the flag or this sees it parked.
        let mut state = self.inner.state.lock().expect("flush state lock");
        let parked = state.parked_until.take().is_some();
        drop(state);
        if parked {
            self.inner.wake.notify_one();
        }
    }

    pub(crate) fn inject_failure(&self) {
        self.inner.inject_failure.store(true, Ordering::Release);
    }

    /// The next flush first waits `delay`.
    pub(crate) fn delay_next(&self, delay: Duration) {
        self.inner
            .delay_next_ns
            .store(delay.as_nanos() as u64, Ordering::Release);
    }

    /// From now on every flush lasts at least `latency`: a disk whose sync is that slow.
    pub(crate) fn set_sync_floor(&self, latency: Duration) {
        self.inner
            .sync_floor_ns
            .store(latency.as_nanos() as u64, Ordering::Release);
    }

    /// Runs a last flush and stops the threads.
    pub(crate) fn shutdown(&self) -> Result<(), StoreError> {
        self.inner.state.lock().expect("flush state lock").shutdown = true;
        self.inner.wake.notify_all();
        self.inner.watchdog_wake.notify_one();
        for thread in self.threads.lock().expect("thread lock").drain(..) {
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

/// The future of [`FlushQueue::request`].
pub(crate) struct FlushWait<'a> {
    inner: &'a Inner,
    target: u64,
    /// `syncFlushTimeout`, counted from the first poll that has to wait; `None`: no limit.
    timeout: Option<Duration>,
    /// Set when the wait registers first: a put covered at once reads no clock.
    deadline: Option<Instant>,
}

impl Future for FlushWait<'_> {
    type Output = Result<FlushOutcome, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner;
        inner.relay_wakes();
        inner.check_poisoned()?;
        if inner.flushed.load(Ordering::Acquire) >= self.target {
            return Poll::Ready(Ok(FlushOutcome::Durable));
        }
        let mut state = inner.state.lock().expect("flush state lock");
        // The flush thread publishes `flushed` before it takes this lock to wake waiters, so
        // a target covered by now is seen here and one not covered is woken later.
        if inner.flushed.load(Ordering::Acquire) >= self.target {
            return Poll::Ready(Ok(FlushOutcome::Durable));
        }
        inner.check_poisoned()?;
        if state.shutdown {
            return Poll::Ready(Err(StoreError::ShutDown));
        }
        match (self.deadline, self.timeout) {
            // The watchdog's wake-up lands here: past the deadline, the put reports a timeout.
            (Some(deadline), _) if Instant::now() >= deadline => {
                return Poll::Ready(Ok(FlushOutcome::TimedOut));
            }
            (Some(_), _) | (None, None) => {}
            (None, Some(timeout)) => self.deadline = Instant::now().checked_add(timeout),
        }
        // A re-poll before the wake adds a second entry; waking a task twice is harmless.
        state.waiters.push(Waiter {
            target: self.target,
            deadline: self.deadline,
            waker: cx.waker().clone(),
        });
        if self.target > state.issued {
            state.fresh += 1;
        }
        if state.parked_until.is_some_and(|n| state.fresh >= n) {
            state.parked_until = None;
            drop(state);
            inner.wake.notify_one();
        }
        Poll::Pending
    }
}

impl Inner {
    /// Wakes the puts the last round completed. The flush thread wakes only the first one:
    /// a wake from outside the runtime costs a shared-queue push and often a futex call to
    /// unpark a worker — about a millisecond for a thousand puts — while this runs on a
    /// worker, where each wake is a push to its own run queue.
    fn relay_wakes(&self) {
        if !self.relay_pending.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.state.lock().expect("flush state lock");
        let mut relay = std::mem::take(&mut state.relay);
        self.relay_pending.store(false, Ordering::Release);
        drop(state);
        for waker in relay.drain(..) {
            waker.wake();
        }
        // Give the emptied vector back for its capacity, unless a newer round filled the slot.
        let mut state = self.state.lock().expect("flush state lock");
        if state.relay.is_empty() {
            state.relay = relay;
        }
    }

    fn check_poisoned(&self) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned(
                self.poison_reason.lock().expect("poison lock").clone(),
            ));
        }
        Ok(())
    }

    /// One flusher: gathers a round when its turn comes, syncs it, completes it; until a
    /// round issued after shutdown.
    fn run(&self) {
        let mut woken = Vec::new();
        let mut direct = Vec::new();
        loop {
            let round = self.gather();
            let started = Instant::now();
            // After a failed flush nothing is synced again: no later round may count as one.
            let synced = !self.poisoned.load(Ordering::Acquire)
                && match self.flush_range(round.from, round.target) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!("commitlog flush failed; refusing further writes: {e}");
                        *self.poison_reason.lock().expect("poison lock") = e.to_string();
                        self.poisoned.store(true, Ordering::Release);
                        false
                    }
                };
            self.complete(round, synced, started.elapsed(), &mut woken, &mut direct);
            if round.last {
                return;
            }
        }
    }

    /// Waits for this flusher's turn, then for the puts of the next round, and issues it.
    ///
    /// A round's target is the published end of the log, so it covers every record appended
    /// before it is issued. The puts a round wakes append again over the next millisecond or
    /// so; issuing a round for the first of them would tie a flusher up for a sync of a few
    /// puts. Instead the next round waits until all of the puts woken, or a quarter of them
    /// on a slow disk (GATHER_SPLIT), have come back, for at most half of the last sync's
    /// duration after they were woken and never more than MAX_GATHER (one stalled sync must
    /// not make the next puts wait long).
    fn gather(&self) -> Round {
        let mut state = self.state.lock().expect("flush state lock");
        while state.gathering {
            state = self.turn.wait(state).expect("flush state lock");
        }
        state.gathering = true;
        let turn_started = Instant::now();
        loop {
            let split = if state.last_flush >= SPLIT_ABOVE {
                GATHER_SPLIT
            } else {
                1
            };
            if state.shutdown
                || self.nudged.load(Ordering::Acquire)
                || (state.fresh > 0 && state.fresh * split >= state.expected)
            {
                break;
            }
            let mut until = if state.fresh == 0 {
                turn_started + self.interval
            } else {
                let window = (state.last_flush / 2).min(MAX_GATHER);
                state.woke_at.unwrap_or(turn_started) + window
            };
            if !state.relay.is_empty() {
                // The put woken to relay has not run yet; if its task was dropped it never
                // will, and the end of the next round wakes the others from there.
                until = until.min(state.woke_at.unwrap_or(turn_started) + RELAY_GRACE);
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            // With nothing waiting, the first put wakes the flusher: the gathering window,
            // counted from the last wake, may be over already.
            state.parked_until = Some(if state.fresh == 0 {
                1
            } else {
                state.expected.div_ceil(split)
            });
            state = self
                .wake
                .wait_timeout(state, left)
                .expect("flush state lock")
                .0;
            state.parked_until = None;
        }
        self.nudged.store(false, Ordering::Release);
        // The writer publishes a record's end before its store time (Release): a time read
        // first belongs to a record the target read next covers.
        let timestamp = self.shared.last_store_timestamp.load(Ordering::Acquire);
        let from = state.issued;
        let target = self.shared.published.load(Ordering::Acquire).max(from);
        // Every waiter registered so far appended before `target` was read.
        state.fresh = 0;
        state.issued = target;
        let seq = state.next_seq;
        state.next_seq += 1;
        state.in_flight.push_back(InFlight {
            seq,
            target,
            timestamp,
            synced: false,
        });
        state.gathering = false;
        let last = state.shutdown;
        drop(state);
        self.turn.notify_one();
        Round {
            seq,
            from,
            target,
            last,
        }
    }

    /// Folds a synced round into the durable end once every older round synced too, and
    /// wakes the puts that end covers (all of them when poisoned, or after the last round).
    fn complete(
        &self,
        round: Round,
        synced: bool,
        took: Duration,
        woken: &mut Vec<Waker>,
        direct: &mut Vec<Waker>,
    ) {
        let mut state = self.state.lock().expect("flush state lock");
        if round.target > round.from {
            state.last_flush = took;
        }
        if synced {
            if let Some(entry) = state.in_flight.iter_mut().find(|e| e.seq == round.seq) {
                entry.synced = true;
            }
        }
        // Published under the lock a waiter checks `flushed` under: a target covered by now
        // is seen there, and one not covered is woken here later.
        while let Some(oldest) = state.in_flight.front().filter(|e| e.synced) {
            if oldest.target > self.flushed.load(Ordering::Acquire) {
                self.flushed.store(oldest.target, Ordering::Release);
                self.shared
                    .flushed_timestamp
                    .store(oldest.timestamp, Ordering::Release);
            }
            state.in_flight.pop_front();
        }
        let flushed = self.flushed.load(Ordering::Acquire);
        let poisoned = self.poisoned.load(Ordering::Acquire);
        // After the last round, a waiter not covered sees `ShutDown`.
        let everyone = poisoned || (round.last && state.in_flight.is_empty());
        let mut pending = std::mem::take(&mut state.spare);
        std::mem::swap(&mut pending, &mut state.waiters);
        for waiter in pending.drain(..) {
            if everyone || waiter.target <= flushed {
                woken.push(waiter.waker);
            } else {
                state.waiters.push(waiter);
            }
        }
        state.spare = pending;
        if !woken.is_empty() {
            state.expected = state.fresh + woken.len() + state.relay.len();
            state.woke_at = Some(Instant::now());
        }
        // The first woken put wakes the others from a runtime thread (`relay_wakes`).
        // Wakers an earlier round left for relaying that no put took are woken from here.
        direct.append(&mut state.relay);
        let first = if round.last {
            // No later round of this flusher would rescue a relay that never happens.
            direct.append(woken);
            None
        } else {
            woken.pop()
        };
        state.relay.append(woken);
        let relaying = !state.relay.is_empty();
        self.relay_pending.store(relaying, Ordering::Release);
        drop(state);
        if relaying {
            // The gathering flusher bounds how long a relay may stay untaken.
            self.wake.notify_one();
        }
        for waker in direct.drain(..).chain(first) {
            waker.wake();
        }
    }

    /// The watchdog: every sixteenth of `syncFlushTimeout` (1–250 ms) wakes the waiters whose
    /// deadline passed; they see it and report a timeout.
    fn expire_waiters(&self) {
        let mut expired = Vec::new();
        let mut state = self.state.lock().expect("flush state lock");
        loop {
            if state.shutdown {
                return;
            }
            let tick = Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed) / 16)
                .clamp(Duration::from_millis(1), Duration::from_millis(250));
            state = self
                .watchdog_wake
                .wait_timeout(state, tick)
                .expect("flush state lock")
                .0;
            let now = Instant::now();
            state.waiters.retain(|w| {
                let late = w.deadline.is_some_and(|d| now >= d);
                if late {
                    expired.push(w.waker.clone());
                }
                !late
            });
            if expired.is_empty() {
                continue;
            }
            drop(state);
            for waker in expired.drain(..) {
                waker.wake();
            }
            state = self.state.lock().expect("flush state lock");
        }
    }

    fn flush_range(&self, from: u64, to: u64) -> std::io::Result<()> {
        if to <= from {
            return Ok(());
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let delay = self.delay_next_ns.swap(0, Ordering::AcqRel);
        if delay > 0 {
            std::thread::sleep(Duration::from_nanos(delay));
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
            seg.flush_appended(lo as usize, hi as usize)?;
        }
        let floor = Duration::from_nanos(self.sync_floor_ns.load(Ordering::Acquire));
        wait_until(started + floor);
        self.sync_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Sleeps until `deadline`, waking a little early and spinning the rest: a plain sleep on a
/// VM overshoots by a tenth of a millisecond or more, which would make the simulated disk
/// slower than the latency the bench divides by. The spin is short: with several flushers
/// spinning, a long one takes CPU from the puts.
fn wait_until(deadline: Instant) {
    const EARLY: Duration = Duration::from_micros(100);
    if let Some(rest) = deadline.checked_duration_since(Instant::now()) {
        if rest > EARLY {
            std::thread::sleep(rest - EARLY);
        }
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

//! The CommitLog: every message of every topic appended to one sequence of fixed-size
//! segments named by their start offset.
//!
//! One writer at a time appends under a short lock: it assigns the physical offset, the
//! queue offset and the store timestamp, encodes the record straight into the mapped segment
//! and publishes the new end. Readers see only published bytes and never take that lock.
//! Flushing happens on a thread of its own ([`crate::flush`]).

use crate::config::{FlushDiskType, StoreConfig};
use crate::delay::DelayLevels;
use crate::flush::{FlushOutcome, FlushQueue};
use crate::segment::{PagePolicy, Segment};
use crate::StoreError;
use bytes::Bytes;
use ferrocket_common::record::{self, MessageVersion, Peek, RecordHeader, RecordView};
use ferrocket_common::{crc, names, properties, sysflag, tag};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};

/// What a producer's message becomes in the CommitLog; the store fills in the rest.
#[derive(Debug, Clone, Copy)]
pub struct PutMessage<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub properties: &'a str,
}

impl<'a> PutMessage<'a> {
    /// A stored record put again, to `topic`/`queue_id` with `properties` (the broker's
    /// re-puts: scheduled delivery, transaction commits and checks): the producer's fields
    /// carried over, no prepared-transaction offset.
    pub fn restored(
        record: &RecordView<'a>,
        topic: &'a str,
        queue_id: i32,
        properties: &'a str,
    ) -> PutMessage<'a> {
        let h = &record.header;
        PutMessage {
            topic,
            queue_id,
            flag: h.flag,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: h.born_host,
            store_host: h.store_host,
            reconsume_times: h.reconsume_times,
            prepared_transaction_offset: 0,
            body: record.body,
            properties,
        }
    }
}

/// What the CommitLog tells the derived indexes about a stored record.
#[derive(Debug, Clone, Copy)]
pub struct DispatchRequest<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: u64,
    pub size: u32,
    pub tags_code: i64,
    pub store_timestamp: i64,
    pub sys_flag: i32,
    pub properties: &'a str,
}

impl<'a> DispatchRequest<'a> {
    /// The request for a stored record found at `physical_offset` (recovery, the indexer).
    pub fn from_record(
        view: &RecordView<'a>,
        physical_offset: u64,
        delays: &DelayLevels,
    ) -> DispatchRequest<'a> {
        let tags_code = match scheduled_delay(view.topic, view.properties, delays) {
            Some(delay) => view.header.store_timestamp + delay,
            None => tag::tags_code(properties::find(view.properties, properties::keys::TAGS)),
        };
        DispatchRequest {
            topic: view.topic,
            queue_id: view.header.queue_id,
            queue_offset: view.header.queue_offset,
            physical_offset,
            size: view.encoded_len() as u32,
            tags_code,
            store_timestamp: view.header.store_timestamp,
            sys_flag: view.header.sys_flag,
            properties: view.properties,
        }
    }
}

/// For a record of `SCHEDULE_TOPIC_XXXX` with a delay level: how long after its store time
/// it is due, which its consume-queue unit holds in place of a tag hash (Java's
/// `checkMessageAndReturnSize`).
fn scheduled_delay(topic: &str, properties: &str, delays: &DelayLevels) -> Option<i64> {
    if topic != names::SCHEDULE_TOPIC {
        return None;
    }
    delays.delay_ms(delays.level_of(properties)?)
}

/// Builds derived data (consume queues) from records in CommitLog order. Called under the
/// writer lock for every record that gets a queue offset, and again for every valid record
/// when the log is opened: it must skip what it already has.
pub trait Dispatcher: Send + Sync {
    fn dispatch(&self, request: &DispatchRequest<'_>) -> std::io::Result<()>;
    /// The records of one append (a batch), in log order.
    fn dispatch_batch(
        &self,
        requests: &mut dyn Iterator<Item = DispatchRequest<'_>>,
    ) -> std::io::Result<()> {
        for request in requests {
            self.dispatch(&request)?;
        }
        Ok(())
    }
    /// The CommitLog now ends at `end`: forget anything that points at or past it.
    fn truncate_beyond(&self, end: u64) -> std::io::Result<()>;
    /// Store time (ms) up to which every record is durably dispatched (the checkpoint):
    /// recovery starts at the segment holding it instead of at the oldest. `None` (the
    /// default, or derived data that is missing) scans the whole log.
    fn dispatched_until(&self) -> Option<i64> {
        None
    }
    /// The next offset of every queue the derived data holds (after `truncate_beyond`).
    fn queue_offsets(&self) -> QueueOffsets {
        QueueOffsets::new()
    }
}

/// topic → next queue offset per queue id.
pub type QueueOffsets = HashMap<String, Vec<i64>>;

/// Records this much older than the checkpoint are taken as dispatched (Java's margin): a
/// record's store time is taken a moment before it is published and dispatched.
const CHECKPOINT_MARGIN_MS: i64 = 3_000;

/// A dispatcher that keeps nothing (a bare CommitLog).
#[derive(Debug, Default)]
pub struct NoDispatch;

impl Dispatcher for NoDispatch {
    fn dispatch(&self, _: &DispatchRequest<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn truncate_beyond(&self, _: u64) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where an appended record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub physical_offset: u64,
    pub size: u32,
    /// The consume-queue offset; 0 for records that get no queue entry (prepared, rolled back).
    pub queue_offset: i64,
    pub store_timestamp: i64,
}

impl AppendResult {
    pub fn end_offset(&self) -> u64 {
        self.physical_offset + u64::from(self.size)
    }
}

/// How a put ended; both mean the record is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    PutOk,
    /// SYNC_FLUSH: no flush covered the record within `syncFlushTimeout`.
    FlushDiskTimeout,
    /// SYNC_MASTER: no slave holds the record (none is connected).
    SlaveNotAvailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutResult {
    pub status: PutStatus,
    pub append: AppendResult,
}

/// What recovery found when the CommitLog was opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// Offset just after the last valid record.
    pub valid_end: u64,
    pub records: u64,
    /// Why the scan stopped where it did, when it was not clean zeroes.
    pub stopped_by: Option<String>,
    /// Segment files after the valid end that were deleted.
    pub dropped_segments: Vec<PathBuf>,
    /// Store time of the last valid record (0 for an empty log).
    pub last_store_timestamp: i64,
    /// The `abort` marker was present: the previous run did not shut down cleanly.
    pub previous_run_crashed: bool,
    /// Where the scan began: the start of the segment holding the checkpoint (0 when the
    /// whole log was scanned). Records before it were not read.
    pub scanned_from: u64,
}

/// A published byte range of a segment; keeps the segment mapped while alive.
#[derive(Debug, Clone)]
pub struct SegmentSlice {
    segment: Arc<Segment>,
    pos: usize,
    len: usize,
}

impl std::ops::Deref for SegmentSlice {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.segment.read(self.pos, self.len)
    }
}

impl AsRef<[u8]> for SegmentSlice {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl SegmentSlice {
    /// Zero-copy `Bytes` over the mapped segment, e.g. for a pull response body.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(self)
    }

    /// Records (in log order, as a read returns them) as a few zero-copy `Bytes`: one shared
    /// owner per segment, covering that segment's records, sliced into runs of adjacent
    /// records — so a pull of 32 records costs one allocation, not 32.
    pub fn share_all(records: Vec<SegmentSlice>) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(records.len());
        let mut rest = &records[..];
        while let Some(first) = rest.first() {
            let same = rest
                .iter()
                .take_while(|r| Arc::ptr_eq(&r.segment, &first.segment))
                .count();
            let (group, after) = rest.split_at(same);
            rest = after;
            let lo = group.iter().map(|r| r.pos).min().unwrap_or(first.pos);
            let hi = group.iter().map(|r| r.pos + r.len).max().unwrap_or(lo);
            // Every byte of lo..hi is published: it lies between records that are.
            let owner = Bytes::from_owner(SegmentSlice {
                segment: first.segment.clone(),
                pos: lo,
                len: hi - lo,
            });
            let mut i = 0;
            while i < group.len() {
                let start = group[i].pos;
                let mut end = start + group[i].len;
                i += 1;
                while i < group.len() && group[i].pos == end {
                    end += group[i].len;
                    i += 1;
                }
                out.push(owner.slice(start - lo..end - lo));
            }
        }
        out
    }
}

struct Writer {
    segment: Arc<Segment>,
    pos: usize,
    /// topic → next queue offset per queue id.
    queue_offsets: HashMap<String, Vec<i64>>,
}

/// Takes the writer lock, spinning a while before sleeping on it. The lock is held for well
/// under a microsecond (one record's copy and its queue unit), while sleeping on a contended
/// lock costs a context switch and a cross-CPU wake-up that take far longer: the puts a group
/// commit wakes come back all at once, and parking them on the futex one by one stretched the
/// gap between two syncs (the store bench's 1024 SYNC_FLUSH putters gained about 8 points of
/// the group-commit bound). The spin is bounded (a few hundred pauses), so a holder that is
/// descheduled or faulting costs little CPU before the waiter sleeps. On a single CPU the
/// holder cannot run while a waiter spins, so there a waiter tries once and sleeps.
fn lock_writer(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    const ATTEMPTS: u32 = 50;
    const MAX_PAUSES: u32 = 16;
    static ATTEMPTS_ON_THIS_MACHINE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let attempts = *ATTEMPTS_ON_THIS_MACHINE.get_or_init(|| {
        match std::thread::available_parallelism().map(|n| n.get()) {
            Ok(1) => 1,
            _ => ATTEMPTS,
        }
    });
    for attempt in 0..attempts {
        match writer.try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::WouldBlock) => {
                for _ in 0..attempt.min(MAX_PAUSES) {
                    std::hint::spin_loop();
                }
            }
            Err(TryLockError::Poisoned(_)) => break,
        }
    }
    writer.lock().expect("writer lock")
}

impl Writer {
    /// The next queue offset of `topic`/`queue_index`, counted as taken.
    fn take_queue_offset(&mut self, topic: &str, queue_index: usize) -> i64 {
        let offsets = match self.queue_offsets.get_mut(topic) {
            Some(v) => v,
            None => self.queue_offsets.entry(topic.to_owned()).or_default(),
        };
        if offsets.len() <= queue_index {
            offsets.resize(queue_index + 1, 0);
        }
        let next = offsets[queue_index];
        offsets[queue_index] += 1;
        next
    }
}

/// A message checked outside the writer lock, waiting for its place in the log; once
/// written, its header holds where it landed.
struct Pending<'a> {
    view: RecordView<'a>,
    len: usize,
    queue_index: usize,
    /// Gets a queue offset and a consume-queue unit (not a prepared transaction half).
    dispatchable: bool,
    tags_code: i64,
    /// For a scheduled record, its due time less its store time (see [`scheduled_delay`]).
    deliver_delay: Option<i64>,
}

impl<'a> Pending<'a> {
    fn appended(&self) -> AppendResult {
        AppendResult {
            physical_offset: self.view.header.physical_offset as u64,
            size: self.len as u32,
            queue_offset: self.view.header.queue_offset,
            store_timestamp: self.view.header.store_timestamp,
        }
    }

    fn dispatch_request(&self) -> DispatchRequest<'a> {
        DispatchRequest {
            topic: self.view.topic,
            queue_id: self.view.header.queue_id,
            queue_offset: self.view.header.queue_offset,
            physical_offset: self.view.header.physical_offset as u64,
            size: self.len as u32,
            tags_code: match self.deliver_delay {
                Some(delay) => self.view.header.store_timestamp + delay,
                None => self.tags_code,
            },
            store_timestamp: self.view.header.store_timestamp,
            sys_flag: self.view.header.sys_flag,
            properties: self.view.properties,
        }
    }
}

pub(crate) struct Shared {
    /// Store time of the newest record (for the checkpoint).
    pub(crate) last_store_timestamp: std::sync::atomic::AtomicI64,
    /// Store time of the newest record known to be on disk (the checkpoint's physical time).
    pub(crate) flushed_timestamp: std::sync::atomic::AtomicI64,
    pub(crate) segment_bytes: u64,
    pub(crate) segments: RwLock<Vec<Arc<Segment>>>,
    /// Records below this offset are complete and readable.
    pub(crate) published: AtomicU64,
    /// Wakes the indexer when records follow a quiet spell.
    pub(crate) appended: Doorbell,
}

/// Lets a thread that follows the log sleep while nothing is appended, instead of polling:
/// the writer rings only when the follower said it is going to sleep, so a busy log costs
/// one relaxed load per append.
#[derive(Default)]
pub(crate) struct Doorbell {
    sleeping: AtomicBool,
    lock: Mutex<()>,
    ring: std::sync::Condvar,
}

impl Doorbell {
    /// Called after publishing a record.
    pub(crate) fn ring(&self) {
        if self.sleeping.load(Ordering::Relaxed) {
            self.sleeping.store(false, Ordering::Relaxed);
            let _guard = self.lock.lock().expect("doorbell lock");
            self.ring.notify_all();
        }
    }

    /// Wakes the follower whether or not it said it sleeps (to stop it).
    pub(crate) fn wake(&self) {
        let _guard = self.lock.lock().expect("doorbell lock");
        self.ring.notify_all();
    }

    /// Sleeps until a ring or a `wake`, or `limit`, if `quiet` (checked after saying so, under
    /// the lock `wake` takes) still holds. The writer's check of `sleeping` is not ordered
    /// against its publish, so a ring can be missed in a race: `limit` bounds what that costs.
    pub(crate) fn wait(&self, quiet: impl Fn() -> bool, limit: std::time::Duration) {
        let guard = self.lock.lock().expect("doorbell lock");
        self.sleeping.store(true, Ordering::SeqCst);
        if quiet() {
            let _ = self.ring.wait_timeout(guard, limit).expect("doorbell lock");
        }
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

impl Shared {
    pub(crate) fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segments = self.segments.read().expect("segments lock");
        let idx = segments
            .partition_point(|s| s.start_offset() <= offset)
            .checked_sub(1)?;
        let seg = &segments[idx];
        (offset < seg.start_offset() + seg.len() as u64).then(|| seg.clone())
    }
}

/// Suffix of a segment prepared ahead of use; such files are not part of the log.
const PREALLOC_SUFFIX: &str = ".prealloc";

/// Pages of the segment being written are faulted in this far ahead of the writer, a chunk
/// at a time (see [`Segment::prefault`]). Zero-filling fresh pages is the largest cost of a
/// put into a new file — on memory the hypervisor has to back first, about 3 ms per MiB —
/// and the writer would otherwise pay it under its lock.
const WARM_AHEAD: usize = 16 << 20;
/// ... in steps of this size: the writer asks for more each time it crosses one.
const WARM_STEP: usize = 4 << 20;

enum PreallocJob {
    /// Create the segment starting at this offset.
    Prepare(u64),
    /// Fault in `from..to` of a segment in use.
    Warm(Arc<Segment>, usize, usize),
}

/// A thread of its own that creates the next segment, so that rolling does not wait for it,
/// and faults pages in ahead of the writer, so that appends do not wait for the kernel to
/// zero-fill fresh pages (the largest cost of a put into a new file).
struct Preallocator {
    ready: Arc<Mutex<Option<(u64, Segment)>>>,
    requests: Mutex<std::sync::mpsc::Sender<PreallocJob>>,
    /// Start offset of the segment being written. Warming a segment the writer has left is
    /// skipped: a write fault would also stamp the file's mtime, which retention reads as
    /// the segment's age.
    writing: Arc<AtomicU64>,
    pages: PagePolicy,
}

impl Preallocator {
    fn start(dir: PathBuf, segment_bytes: u64, pages: PagePolicy) -> Preallocator {
        let ready: Arc<Mutex<Option<(u64, Segment)>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = std::sync::mpsc::channel::<PreallocJob>();
        let slot = ready.clone();
        let writing = Arc::new(AtomicU64::new(0));
        let writer_at = writing.clone();
        std::thread::Builder::new()
            .name("commitlog-prealloc".into())
            .spawn(move || {
                crate::segment::lower_thread_priority();
                let mut warming = true;
                for job in rx {
                    match job {
                        PreallocJob::Prepare(start) => {
                            let name =
                                format!("{}{PREALLOC_SUFFIX}", crate::segment::file_name(start));
                            match Segment::open_named(&dir, &name, segment_bytes) {
                                Ok(seg) => {
                                    *slot.lock().expect("prealloc slot") = Some((start, seg))
                                }
                                Err(e) => {
                                    tracing::warn!(start, "could not pre-allocate a segment: {e}")
                                }
                            }
                        }
                        PreallocJob::Warm(seg, ..)
                            if seg.start_offset() < writer_at.load(Ordering::Acquire) => {}
                        PreallocJob::Warm(seg, from, to) if warming => {
                            if let Err(e) = seg.prefault(from, to.saturating_sub(from), pages) {
                                // A kernel without MADV_POPULATE_WRITE (before 5.14): appends fault.
                                tracing::debug!("not faulting commitlog pages in ahead: {e}");
                                warming = false;
                            }
                        }
                        PreallocJob::Warm(..) => {}
                    }
                }
            })
            .expect("spawning the pre-allocation thread");
        Preallocator {
            ready,
            requests: Mutex::new(tx),
            writing,
            pages,
        }
    }

    fn send(&self, job: PreallocJob) {
        let _ = self.requests.lock().expect("prealloc requests").send(job);
    }

    /// Faults in the whole window ahead of a writer now at `pos` of `segment`, the segment it
    /// writes from now on.
    fn warm_from(&self, segment: &Arc<Segment>, pos: usize) {
        if self.pages == PagePolicy::SinglePages {
            segment.expect_appends_from(pos);
        }
        self.writing
            .store(segment.start_offset(), Ordering::Release);
        self.send(PreallocJob::Warm(segment.clone(), pos, pos + WARM_AHEAD));
    }

    /// The writer has moved on from `segment` to the next one.
    fn writer_left(&self, segment: &Segment) {
        if self.pages == PagePolicy::SinglePages {
            segment.appends_done();
        }
    }

    /// The writer went from `before` to `after`: when it crossed a step, the window moves on
    /// by one step (one message per WARM_STEP bytes written).
    fn writer_moved(&self, segment: &Arc<Segment>, before: usize, after: usize) {
        if before / WARM_STEP != after / WARM_STEP {
            let step_start = after / WARM_STEP * WARM_STEP;
            self.send(PreallocJob::Warm(
                segment.clone(),
                step_start + WARM_AHEAD - WARM_STEP,
                step_start + WARM_AHEAD,
            ));
        }
    }

    fn request(&self, start: u64) {
        self.send(PreallocJob::Prepare(start));
    }

    /// The pre-allocated segment for `start`, renamed into place, if it is ready.
    fn take(&self, dir: &Path, start: u64) -> Option<Segment> {
        let (ready_start, mut seg) = self.ready.lock().expect("prealloc slot").take()?;
        if ready_start != start {
            let _ = std::fs::remove_file(seg.path());
            return None;
        }
        match seg.rename_to(dir.join(crate::segment::file_name(start)), start) {
            Ok(()) => Some(seg),
            Err(e) => {
                tracing::warn!(start, "could not rename a pre-allocated segment: {e}");
                None
            }
        }
    }
}

pub struct CommitLog {
    preallocator: Preallocator,
    dir: PathBuf,
    config: StoreConfig,
    /// `maxMessageSize`, which UPDATE_BROKER_CONFIG changes live.
    max_message_bytes: AtomicUsize,
    shared: Arc<Shared>,
    writer: Mutex<Writer>,
    flush: FlushQueue,
    dispatcher: Arc<dyn Dispatcher>,
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("dir", &self.dir)
            .field("published", &self.max_offset())
            .field("flushed", &self.flushed_offset())
            .finish()
    }
}

impl CommitLog {
    /// Opens (creating if needed) the CommitLog under `config.commit_log_dir()`, recovering its
    /// tail: the first invalid record ends the log and everything after it is removed.
    pub fn open(config: StoreConfig) -> Result<(CommitLog, RecoveryReport), StoreError> {
        Self::open_with(config, Arc::new(NoDispatch))
    }

    /// Opens the CommitLog and brings `dispatcher` up to date with every valid record.
    pub fn open_with(
        config: StoreConfig,
        dispatcher: Arc<dyn Dispatcher>,
    ) -> Result<(CommitLog, RecoveryReport), StoreError> {
        let dir = config.commit_log_dir();
        std::fs::create_dir_all(&dir)?;
        let mut segments = load_segments(&dir, config.commit_log_segment_bytes)?;
        if segments.is_empty() {
            segments.push(Arc::new(Segment::open(
                &dir,
                0,
                config.commit_log_segment_bytes,
            )?));
        }
        let (report, mut queue_offsets, end_index, end_pos) = recover(
            &mut segments,
            config.check_crc_on_recover,
            &config.message_delay_level,
            dispatcher.as_ref(),
        )?;
        dispatcher.truncate_beyond(report.valid_end)?;
        // Queues whose last records lie before the scanned part continue from the derived data.
        for (topic, known) in dispatcher.queue_offsets() {
            let scanned = queue_offsets.entry(topic).or_default();
            if scanned.len() < known.len() {
                scanned.resize(known.len(), 0);
            }
            for (next, known) in scanned.iter_mut().zip(known) {
                *next = (*next).max(known);
            }
        }
        let mut current = segments[end_index].clone();
        let mut pos = end_pos;
        if pos + record::BLANK_MIN_LEN > current.len() {
            // The last segment is full: writing continues in a fresh one.
            let next = current.start_offset() + current.len() as u64;
            current = Arc::new(Segment::open(&dir, next, config.commit_log_segment_bytes)?);
            segments.push(current.clone());
            pos = 0;
        }
        let shared = Arc::new(Shared {
            last_store_timestamp: std::sync::atomic::AtomicI64::new(report.last_store_timestamp),
            flushed_timestamp: std::sync::atomic::AtomicI64::new(report.last_store_timestamp),
            segment_bytes: config.commit_log_segment_bytes,
            segments: RwLock::new(segments),
            published: AtomicU64::new(report.valid_end),
            appended: Doorbell::default(),
        });
        let flush = FlushQueue::start(
            shared.clone(),
            report.valid_end,
            config.flush_interval,
            config.sync_flush_timeout,
        );
        let preallocator = Preallocator::start(
            dir.clone(),
            config.commit_log_segment_bytes,
            PagePolicy::for_flush(config.flush_disk_type),
        );
        preallocator.warm_from(&current, pos);
        preallocator.request(current.start_offset() + current.len() as u64);
        let log = CommitLog {
            preallocator,
            dir,
            max_message_bytes: AtomicUsize::new(config.max_message_bytes),
            config,
            shared,
            writer: Mutex::new(Writer {
                segment: current,
                pos,
                queue_offsets,
            }),
            flush,
            dispatcher,
        };
        Ok((log, report))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Offset after the last readable record (the next append's offset, save for rolling).
    pub fn max_offset(&self) -> u64 {
        self.shared.published.load(Ordering::Acquire)
    }

    /// Start offset of the oldest segment.
    pub fn min_offset(&self) -> u64 {
        self.shared
            .segments
            .read()
            .expect("segments lock")
            .first()
            .map_or(0, |s| s.start_offset())
    }

    /// The segments and published end, for readers that follow the log (the indexer).
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Store time of the newest record.
    pub fn last_store_timestamp(&self) -> i64 {
        self.shared.last_store_timestamp.load(Ordering::Relaxed)
    }

    pub fn flushed_offset(&self) -> u64 {
        self.flush.flushed()
    }

    /// The next queue offset of `topic`/`queue_id` (its message count so far).
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        let writer = self.writer.lock().expect("writer lock");
        writer
            .queue_offsets
            .get(topic)
            .and_then(|v| v.get(usize::try_from(queue_id).ok()?).copied())
            .unwrap_or(0)
    }

    /// Takes new `maxMessageSize` and `syncFlushTimeout` values for the puts that follow.
    pub fn set_put_limits(&self, config: &StoreConfig) {
        self.max_message_bytes
            .store(config.max_message_bytes, Ordering::Relaxed);
        self.flush.set_timeout(config.sync_flush_timeout);
    }

    /// Appends one record to the page cache and publishes it. Does not wait for a flush.
    pub fn append(&self, msg: &PutMessage<'_>) -> Result<AppendResult, StoreError> {
        self.flush.check_poisoned()?;
        let mut one = [self.prepare(msg)?];
        self.write_pending(&mut one)?;
        Ok(one[0].appended())
    }

    /// Appends the messages of a batch back to back in one segment, under one hold of the
    /// writer lock, as Java's `putMessages` does: nothing lands between them, so messages for
    /// one queue take consecutive queue offsets, and all share one store time. Every message
    /// is checked before any is written: a batch is stored whole or not at all. `each` sees
    /// where every message landed, in order.
    pub fn append_batch(
        &self,
        msgs: &[PutMessage<'_>],
        mut each: impl FnMut(&AppendResult),
    ) -> Result<(), StoreError> {
        self.flush.check_poisoned()?;
        let mut pending = Vec::with_capacity(msgs.len());
        for msg in msgs {
            pending.push(self.prepare(msg)?);
        }
        self.write_pending(&mut pending)?;
        pending.iter().for_each(|p| each(&p.appended()));
        Ok(())
    }

    /// Checks a message and computes what can be computed before taking the lock: the body
    /// CRC (the costliest step), the encoded length and the tag hash.
    fn prepare<'a>(&self, msg: &PutMessage<'a>) -> Result<Pending<'a>, StoreError> {
        let max = self.max_message_bytes.load(Ordering::Relaxed);
        if msg.body.len() > max {
            return Err(StoreError::MessageTooLarge {
                size: msg.body.len(),
                max,
            });
        }
        let queue_index = usize::try_from(msg.queue_id)
            .map_err(|_| ferrocket_common::CodecError::BadLength(i64::from(msg.queue_id)))?;
        let view = RecordView {
            header: RecordHeader {
                version: if msg.topic.len() > i8::MAX as usize {
                    MessageVersion::V2
                } else {
                    MessageVersion::V1
                },
                body_crc: crc::body_crc(msg.body),
                queue_id: msg.queue_id,
                flag: msg.flag,
                queue_offset: 0,
                physical_offset: 0,
                sys_flag: msg.sys_flag,
                born_timestamp: msg.born_timestamp,
                born_host: msg.born_host,
                store_timestamp: 0,
                store_host: msg.store_host,
                reconsume_times: msg.reconsume_times,
                prepared_transaction_offset: msg.prepared_transaction_offset,
            },
            body: msg.body,
            topic: msg.topic,
            properties: msg.properties,
        };
        view.check_lengths()?;
        let len = view.encoded_len();
        if len + record::BLANK_MIN_LEN > self.shared.segment_bytes as usize {
            return Err(StoreError::MessageTooLarge {
                size: len,
                max: self.shared.segment_bytes as usize - record::BLANK_MIN_LEN,
            });
        }
        Ok(Pending {
            view,
            len,
            queue_index,
            dispatchable: sysflag::is_dispatchable(msg.sys_flag),
            tags_code: tag::tags_code(properties::find(msg.properties, properties::keys::TAGS)),
            deliver_delay: scheduled_delay(
                msg.topic,
                msg.properties,
                &self.config.message_delay_level,
            ),
        })
    }

    /// Writes `pending` back to back in one segment, publishes them and dispatches them, all
    /// under the writer lock; fills in each one's offsets and store time.
    fn write_pending(&self, pending: &mut [Pending<'_>]) -> Result<(), StoreError> {
        let total: usize = pending.iter().map(|p| p.len).sum();
        if total + record::BLANK_MIN_LEN > self.shared.segment_bytes as usize {
            return Err(StoreError::MessageTooLarge {
                size: total,
                max: self.shared.segment_bytes as usize - record::BLANK_MIN_LEN,
            });
        }
        let mut writer = lock_writer(&self.writer);
        if writer.pos + total + record::BLANK_MIN_LEN > writer.segment.len() {
            self.roll(&mut writer)?;
        }
        let store_timestamp = ferrocket_common::time::now_ms();
        let before = writer.pos;
        for p in pending.iter_mut() {
            p.view.header.queue_offset = if p.dispatchable {
                writer.take_queue_offset(p.view.topic, p.queue_index)
            } else {
                0
            };
            p.view.header.physical_offset =
                (writer.segment.start_offset() + writer.pos as u64) as i64;
            p.view.header.store_timestamp = store_timestamp;
            let mut out = writer.segment.unpublished_mut(writer.pos, p.len);
            p.view.encode_into(&mut out)?;
            writer.pos += p.len;
        }
        self.preallocator
            .writer_moved(&writer.segment, before, writer.pos);
        self.shared.published.store(
            writer.segment.start_offset() + writer.pos as u64,
            Ordering::Release,
        );
        self.shared.appended.ring();
        // After `published`: whoever reads this time then sees the records published.
        self.shared
            .last_store_timestamp
            .store(store_timestamp, Ordering::Release);
        // Still under the lock: units reach each queue in offset order.
        match pending {
            [one] if one.dispatchable => self.dispatcher.dispatch(&one.dispatch_request())?,
            [_] => {}
            batch => self.dispatcher.dispatch_batch(
                &mut batch
                    .iter()
                    .filter(|p| p.dispatchable)
                    .map(Pending::dispatch_request),
            )?,
        }
        Ok(())
    }

    /// Closes the current segment with the blank marker and continues in a new one.
    fn roll(&self, writer: &mut Writer) -> Result<(), StoreError> {
        let remaining = writer.segment.len() - writer.pos;
        let mut out = writer
            .segment
            .unpublished_mut(writer.pos, record::BLANK_MIN_LEN);
        record::encode_blank(&mut out, remaining);
        let next_start = writer.segment.start_offset() + writer.segment.len() as u64;
        let next = match self.preallocator.take(&self.dir, next_start) {
            Some(seg) => Arc::new(seg),
            None => Arc::new(Segment::open(
                &self.dir,
                next_start,
                self.shared.segment_bytes,
            )?),
        };
        self.preallocator.warm_from(&next, 0);
        self.preallocator.writer_left(&writer.segment);
        self.preallocator
            .request(next_start + self.shared.segment_bytes);
        self.shared
            .segments
            .write()
            .expect("segments lock")
            .push(next.clone());
        self.shared.published.store(next_start, Ordering::Release);
        writer.segment = next;
        writer.pos = 0;
        Ok(())
    }

    /// Appends and, under SYNC_FLUSH, waits for a flush covering the record.
    pub async fn put(&self, msg: &PutMessage<'_>) -> Result<PutResult, StoreError> {
        let append = self.append(msg)?;
        let status = self.wait_durable(append.end_offset()).await?;
        Ok(PutResult { status, append })
    }

    /// Under SYNC_FLUSH, waits for a flush covering everything below `end`; under
    /// ASYNC_FLUSH there is nothing to wait for.
    pub async fn wait_durable(&self, end: u64) -> Result<PutStatus, StoreError> {
        Ok(match self.config.flush_disk_type {
            FlushDiskType::AsyncFlush => PutStatus::PutOk,
            FlushDiskType::SyncFlush => match self.flush.request(end)?.await? {
                FlushOutcome::Durable => PutStatus::PutOk,
                FlushOutcome::TimedOut => PutStatus::FlushDiskTimeout,
            },
        })
    }

    /// For appends nobody waits for: under SYNC_FLUSH the flush thread is nudged, so they are
    /// synced with the next round.
    pub fn nudge_flush(&self) {
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.flush.nudge();
        }
    }

    /// Flushes everything appended so far and waits for it.
    pub async fn flush_all(&self) -> Result<(), StoreError> {
        self.flush.request_untimed(self.max_offset())?.await?;
        Ok(())
    }

    /// `len` published bytes at `offset`, or `None` if any of them is not readable.
    pub fn read(&self, offset: u64, len: usize) -> Option<SegmentSlice> {
        if offset + len as u64 > self.max_offset() {
            return None;
        }
        let segment = self.shared.segment_for(offset)?;
        let pos = (offset - segment.start_offset()) as usize;
        (pos + len <= segment.len()).then_some(SegmentSlice { segment, pos, len })
    }

    /// The whole record starting at `offset`.
    pub fn record_at(&self, offset: u64) -> Option<SegmentSlice> {
        let head = self.read(offset, 8)?;
        match record::peek(&head) {
            Peek::Message { total_size } if total_size > 0 => {
                self.read(offset, total_size as usize)
            }
            _ => None,
        }
    }

    /// Deletes the oldest segments whose files were last modified more than `reserved` ago
    /// (all of them with `force`), at most `max_files`, stopping at the first one kept. The
    /// segment being written is never deleted. Returns the deleted paths.
    pub fn delete_expired_segments(
        &self,
        now: std::time::SystemTime,
        reserved: std::time::Duration,
        force: bool,
        max_files: usize,
    ) -> Result<Vec<PathBuf>, StoreError> {
        let mut deleted = Vec::new();
        let mut segments = self.shared.segments.write().expect("segments lock");
        while deleted.len() < max_files && segments.len() > 1 {
            let oldest = &segments[0];
            let modified = std::fs::metadata(oldest.path())?.modified()?;
            let expired = now.duration_since(modified).is_ok_and(|age| age > reserved);
            if !(expired || force) {
                break;
            }
            let path = oldest.path().to_owned();
            // Readers holding slices keep the mapping; the file goes now.
            segments.remove(0);
            std::fs::remove_file(&path)?;
            deleted.push(path);
        }
        Ok(deleted)
    }

    /// Forgets the next queue offsets of `topics` and runs `then` before any further append,
    /// so that nothing is dispatched to a queue being dropped (Java's
    /// `removeQueueFromTopicQueueTable`): a topic created again starts at queue offset 0.
    pub fn forget_topics(&self, topics: &[String], then: impl FnOnce()) {
        let mut writer = self.writer.lock().expect("writer lock");
        for topic in topics {
            writer.queue_offsets.remove(topic);
        }
        then();
    }

    /// Forgets the next offset of each `(topic, queue_id, next_offset)` whose queue still
    /// stands at that next offset, so that a queue appended to again starts at 0 (Java's
    /// `removeQueueFromTopicQueueTable`). The writer lock is held throughout, `then`
    /// included: no put takes an offset of a forgotten queue in between. Returns the queues
    /// forgotten.
    pub fn forget_queues<'a>(
        &self,
        candidates: impl IntoIterator<Item = (&'a str, i32, i64)>,
        then: impl FnOnce(&[(String, i32)]),
    ) -> Vec<(String, i32)> {
        let mut writer = self.writer.lock().expect("writer lock");
        let mut picked = Vec::new();
        for (topic, queue_id, expected_next) in candidates {
            let Some(offsets) = writer.queue_offsets.get_mut(topic) else {
                continue;
            };
            let Some(next) = usize::try_from(queue_id)
                .ok()
                .and_then(|i| offsets.get_mut(i))
            else {
                continue;
            };
            if *next != expected_next {
                continue;
            }
            *next = 0;
            if offsets.iter().all(|&n| n == 0) {
                writer.queue_offsets.remove(topic);
            }
            picked.push((topic.to_owned(), queue_id));
        }
        then(&picked);
        picked
    }

    /// Store time of the newest record known to be on disk (the checkpoint's physical time).
    pub fn flushed_store_timestamp(&self) -> i64 {
        self.shared.flushed_timestamp.load(Ordering::Acquire)
    }

    /// How many flushes have synced data so far (group commit: many puts per sync).
    pub fn sync_count(&self) -> u64 {
        self.flush.syncs()
    }

    /// The time spent in the syncs [`sync_count`](Self::sync_count) counts.
    pub fn sync_time(&self) -> std::time::Duration {
        self.flush.sync_time()
    }

    /// Test hook: the next flush takes at least `delay` (a slow disk).
    #[doc(hidden)]
    pub fn inject_flush_delay(&self, delay: std::time::Duration) {
        self.flush.delay_next(delay);
    }

    /// Bench hook: from now on every flush lasts at least `latency`, like a disk whose sync
    /// takes that long (the group-commit bound is then `putters / latency`).
    #[doc(hidden)]
    pub fn simulate_sync_latency(&self, latency: std::time::Duration) {
        self.flush.set_sync_floor(latency);
    }

    /// Test hook: the next flush fails as if `fdatasync` had returned EIO.
    #[doc(hidden)]
    pub fn inject_flush_failure(&self) {
        self.flush.inject_failure();
    }

    /// Flushes everything and stops the flusher.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.flush.shutdown()
    }
}

/// Opens every segment file of `dir`, oldest first.
fn load_segments(dir: &Path, segment_bytes: u64) -> Result<Vec<Arc<Segment>>, StoreError> {
    let mut starts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(PREALLOC_SUFFIX) {
            // Prepared by a previous run but never used.
            std::fs::remove_file(dir.join(name))?;
        } else if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
            starts.push(name.parse::<u64>().expect("20 digits fit u64"));
        } else {
            tracing::warn!(
                file = name,
                "ignoring unexpected file in the commitlog directory"
            );
        }
    }
    starts.sort_unstable();
    starts
        .into_iter()
        .map(|start| Ok(Arc::new(Segment::open(dir, start, segment_bytes)?)))
        .collect()
}

/// The newest segment whose first record was stored at or before `until`, or 0.
fn scan_start(segments: &[Arc<Segment>], until: i64) -> usize {
    segments
        .iter()
        .rposition(|seg| {
            let head = seg.read(0, seg.len());
            match record::peek(head) {
                Peek::Message { .. } => RecordView::decode(head, false)
                    .is_ok_and(|view| view.header.store_timestamp <= until),
                _ => false,
            }
        })
        .unwrap_or(0)
}

/// Scans the segments from the one holding the checkpoint (see
/// [`Dispatcher::dispatched_until`]) for the end of valid data, re-dispatching what it reads
/// and rebuilding the next queue offsets, and removes what lies beyond. Returns the report,
/// the offsets, and the segment index and position where writing continues.
fn recover(
    segments: &mut Vec<Arc<Segment>>,
    check_crc: bool,
    delays: &DelayLevels,
    dispatcher: &dyn Dispatcher,
) -> Result<(RecoveryReport, QueueOffsets, usize, usize), StoreError> {
    let first = dispatcher.dispatched_until().map_or(0, |until| {
        scan_start(segments, until - CHECKPOINT_MARGIN_MS)
    });
    let mut report = RecoveryReport {
        scanned_from: segments[first].start_offset(),
        ..RecoveryReport::default()
    };
    let mut offsets: QueueOffsets = HashMap::new();
    let mut end = (first, 0usize);
    'segments: for (index, seg) in segments.iter().enumerate().skip(first) {
        if index > first
            && seg.start_offset()
                != segments[index - 1].start_offset() + segments[index - 1].len() as u64
        {
            report.stopped_by = Some(format!("gap before segment {}", seg.path().display()));
            break;
        }
        let mut pos = 0usize;
        end = (index, 0);
        loop {
            if pos + record::BLANK_MIN_LEN > seg.len() {
                continue 'segments;
            }
            let rest = seg.read(pos, seg.len() - pos);
            match record::peek(rest) {
                Peek::Blank { .. } => continue 'segments,
                Peek::Message { .. } => match RecordView::decode(rest, check_crc) {
                    Ok(view) => {
                        if sysflag::is_dispatchable(view.header.sys_flag) {
                            let qid = usize::try_from(view.header.queue_id).unwrap_or(0);
                            let v = offsets.entry(view.topic.to_owned()).or_default();
                            if v.len() <= qid {
                                v.resize(qid + 1, 0);
                            }
                            v[qid] = v[qid].max(view.header.queue_offset + 1);
                            dispatcher.dispatch(&DispatchRequest::from_record(
                                &view,
                                seg.start_offset() + pos as u64,
                                delays,
                            ))?;
                        }
                        pos += view.encoded_len();
                        end = (index, pos);
                        report.records += 1;
                        report.last_store_timestamp = view.header.store_timestamp;
                    }
                    Err(e) => {
                        report.stopped_by = Some(format!(
                            "invalid record at {}: {e}",
                            seg.start_offset() + pos as u64
                        ));
                        break 'segments;
                    }
                },
                Peek::Other => {
                    if rest[..record::BLANK_MIN_LEN].iter().any(|&b| b != 0) {
                        report.stopped_by =
                            Some(format!("garbage at {}", seg.start_offset() + pos as u64));
                    }
                    break 'segments;
                }
            }
        }
    }
    let (end_index, end_pos) = end;
    report.valid_end = segments[end_index].start_offset() + end_pos as u64;
    // Everything after the valid end goes: the rest of its segment and all later segments.
    segments[end_index].zero_from(end_pos)?;
    for seg in segments.drain(end_index + 1..) {
        report.dropped_segments.push(seg.path().to_owned());
        let path = seg.path().to_owned();
        drop(seg);
        std::fs::remove_file(&path)?;
    }
    if report.stopped_by.is_some() || !report.dropped_segments.is_empty() {
        tracing::warn!(?report, "commitlog recovery truncated the tail");
    }
    Ok((report, offsets, end_index, end_pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The follower sleeps with a limit far beyond the test's patience: only the ring can
    /// end its wait in time.
    #[test]
    fn a_ring_wakes_the_sleeping_follower() {
        let bell = Arc::new(Doorbell::default());
        let (done, finished) = std::sync::mpsc::channel();
        let follower = bell.clone();
        std::thread::spawn(move || {
            follower.wait(|| true, Duration::from_secs(600));
            let _ = done.send(());
        });
        while !bell.sleeping.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        bell.ring();
        finished
            .recv_timeout(Duration::from_secs(60))
            .expect("the ring woke the follower");
        assert!(!bell.sleeping.load(Ordering::SeqCst));
    }

    #[test]
    fn a_follower_that_sees_new_records_does_not_sleep() {
        let bell = Doorbell::default();
        let started = std::time::Instant::now();
        bell.wait(|| false, Duration::from_secs(600));
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}

//! The store as the broker uses it: the CommitLog plus one consume queue per topic queue,
//! reads by queue with Java's `GetMessageStatus` outcomes, and a hook fired when a message
//! arrives (for long polling).

use crate::checkpoint::{Checkpoint, RunGuard};
use crate::commitlog::{
    CommitLog, DispatchRequest, Dispatcher, PutMessage, PutResult, PutStatus, QueueOffsets,
    RecoveryReport, SegmentSlice,
};
use crate::consume_queue::{ConsumeQueue, CqUnit};
use crate::index::{IndexConfig, IndexService, Indexer};
use crate::stats::StoreStats;
use crate::{BrokerRole, StoreConfig, StoreError};
use ferrocket_common::record::RecordView;
use ferrocket_common::time::now_ms;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// The outcome of a read by queue (`GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// The Java enum name, which PULL responses carry as their remark.
    pub fn name(self) -> &'static str {
        match self {
            GetMessageStatus::Found => "FOUND",
            GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// What a read by queue returns.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Whole records, in queue order, as slices of the mapped CommitLog.
    pub messages: Vec<SegmentSlice>,
    /// The reader is so far behind that its data is likely on disk, not in memory
    /// (`suggestPullingFromSlave`).
    pub suggest_pulling_from_slave: bool,
}

/// Java's per-pull limits for data in memory (`maxTransferBytes/CountOnMessageInMemory`)
/// and on disk (`...OnMessageInDisk`).
const MAX_TRANSFER_BYTES: usize = 256 * 1024;
const MAX_TRANSFER_COUNT: usize = 32;
const MAX_TRANSFER_BYTES_ON_DISK: usize = 64 * 1024;
const MAX_TRANSFER_COUNT_ON_DISK: usize = 8;
/// How many units one pull may scan while filtering (`Math.max(16000, n*20)` bytes).
const MIN_FILTER_SCAN_BYTES: usize = 16_000;

/// Above this disk usage puts are refused (`diskSpaceWarningLevelRatio`).
const DISK_WARNING_RATIO: f64 = 0.90;
/// Above this even unexpired segments are deleted (`diskSpaceCleanForciblyRatio`).
const DISK_CLEAN_FORCIBLY_RATIO: f64 = 0.85;
/// Java deletes at most 10 files per pass.
const MAX_DELETED_PER_PASS: usize = 10;

/// Passes a manual delete request lasts (`manualDeleteFileSeveralTimes`).
pub const MANUAL_DELETE_PASSES: u32 = 20;

/// What one retention pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanReport {
    pub commit_log_segments: Vec<PathBuf>,
    pub consume_queue_files: usize,
    pub index_files: usize,
}

/// A consume queue as QUERY_CONSUME_QUEUE shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUnits {
    pub min_offset: i64,
    pub max_offset: i64,
    /// The units read, or `None` when the index asked for holds none.
    pub units: Option<Vec<CqUnit>>,
}

/// A queue entry next to a searched time: (offset, store time).
type Neighbour = Option<(i64, i64)>;

/// Called with topic, queue id and the queue's new max offset after each put.
pub type ArrivalHook = Arc<dyn Fn(&str, i32, i64) + Send + Sync>;

/// Every consume queue of the store, created on first dispatch.
pub struct ConsumeQueues {
    root: PathBuf,
    units_per_file: u64,
    queues: RwLock<HashMap<String, Vec<Option<Arc<ConsumeQueue>>>>>,
}

impl std::fmt::Debug for ConsumeQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumeQueues")
            .field("root", &self.root)
            .finish()
    }
}

impl ConsumeQueues {
    /// Opens every queue under `<root>/consumequeue/<topic>/<queueId>/`.
    pub fn open(root: PathBuf, units_per_file: u64) -> io::Result<ConsumeQueues> {
        std::fs::create_dir_all(&root)?;
        let mut queues: HashMap<String, Vec<Option<Arc<ConsumeQueue>>>> = HashMap::new();
        for topic_dir in std::fs::read_dir(&root)? {
            let topic_dir = topic_dir?;
            let Some(topic) = topic_dir.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            for queue_dir in std::fs::read_dir(topic_dir.path())? {
                let queue_dir = queue_dir?;
                let Some(qid) = queue_dir
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<usize>().ok())
                else {
                    continue;
                };
                let queue = Arc::new(ConsumeQueue::open(&queue_dir.path(), units_per_file)?);
                let slots = queues.entry(topic.clone()).or_default();
                if slots.len() <= qid {
                    slots.resize(qid + 1, None);
                }
                slots[qid] = Some(queue);
            }
        }
        Ok(ConsumeQueues {
            root,
            units_per_file,
            queues: RwLock::new(queues),
        })
    }

    pub fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.with_queue(topic, queue_id, Arc::clone)
    }

    /// Runs `f` on the queue under the read guard: a put bumps no reference count.
    fn with_queue<R>(
        &self,
        topic: &str,
        queue_id: i32,
        f: impl FnOnce(&Arc<ConsumeQueue>) -> R,
    ) -> Option<R> {
        let qid = usize::try_from(queue_id).ok()?;
        let queues = self.queues.read().expect("queues lock");
        queues.get(topic)?.get(qid)?.as_ref().map(f)
    }

    fn find_or_create(&self, topic: &str, queue_id: i32) -> io::Result<Arc<ConsumeQueue>> {
        if let Some(q) = self.find(topic, queue_id) {
            return Ok(q);
        }
        let qid = usize::try_from(queue_id)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "negative queue id"))?;
        let mut queues = self.queues.write().expect("queues lock");
        let slots = queues.entry(topic.to_owned()).or_default();
        if slots.len() <= qid {
            slots.resize(qid + 1, None);
        }
        if let Some(q) = &slots[qid] {
            return Ok(q.clone());
        }
        let dir = self.root.join(topic).join(qid.to_string());
        let queue = Arc::new(ConsumeQueue::open(&dir, self.units_per_file)?);
        slots[qid] = Some(queue.clone());
        Ok(queue)
    }

    fn is_empty(&self) -> bool {
        self.queues.read().expect("queues lock").is_empty()
    }

    fn topics(&self) -> Vec<String> {
        self.queues
            .read()
            .expect("queues lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Every queue with its topic and id.
    fn all_named(&self) -> Vec<(String, i32, Arc<ConsumeQueue>)> {
        let queues = self.queues.read().expect("queues lock");
        let mut all = Vec::new();
        for (topic, slots) in queues.iter() {
            for (queue_id, queue) in slots.iter().enumerate() {
                if let Some(queue) = queue {
                    all.push((topic.clone(), queue_id as i32, queue.clone()));
                }
            }
        }
        all
    }

    /// Forgets single queues, and a topic left with none; readers holding one keep its
    /// mapping.
    fn remove_queues(&self, picked: &[(String, i32)]) {
        let mut queues = self.queues.write().expect("queues lock");
        for (topic, queue_id) in picked {
            if let Some(slots) = queues.get_mut(topic) {
                if let Some(slot) = slots.get_mut(*queue_id as usize) {
                    *slot = None;
                }
                if slots.iter().all(Option::is_none) {
                    queues.remove(topic);
                }
            }
        }
    }

    /// Forgets the queues of `topics`; readers holding one keep its mapping.
    fn remove(&self, topics: &[String]) {
        let mut queues = self.queues.write().expect("queues lock");
        for topic in topics {
            queues.remove(topic);
        }
    }

    /// The next offset of every queue.
    fn next_offsets(&self) -> QueueOffsets {
        self.queues
            .read()
            .expect("queues lock")
            .iter()
            .map(|(topic, slots)| {
                let offsets = slots
                    .iter()
                    .map(|q| q.as_ref().map_or(0, |q| q.max_offset()))
                    .collect();
                (topic.clone(), offsets)
            })
            .collect()
    }

    /// Flushes every queue.
    fn flush(&self) -> io::Result<()> {
        for queue in self.all() {
            queue.flush()?;
        }
        Ok(())
    }

    fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .expect("queues lock")
            .values()
            .flatten()
            .flatten()
            .cloned()
            .collect()
    }
}

fn put_unit(queue: &ConsumeQueue, r: &DispatchRequest<'_>) -> io::Result<()> {
    queue.put(
        r.queue_offset,
        CqUnit {
            commit_log_offset: r.physical_offset as i64,
            size: r.size as i32,
            tags_code: r.tags_code,
        },
    )
}

impl Dispatcher for ConsumeQueues {
    fn dispatch(&self, r: &DispatchRequest<'_>) -> io::Result<()> {
        if let Some(done) = self.with_queue(r.topic, r.queue_id, |queue| put_unit(queue, r)) {
            return done;
        }
        let queue = self.find_or_create(r.topic, r.queue_id)?;
        put_unit(&queue, r)
    }

    /// A batch goes to one queue: it is looked up once, not once per message.
    fn dispatch_batch(
        &self,
        requests: &mut dyn Iterator<Item = DispatchRequest<'_>>,
    ) -> io::Result<()> {
        let mut last: Option<(&str, i32, Arc<ConsumeQueue>)> = None;
        for r in requests {
            let queue = match &last {
                Some((topic, queue_id, queue)) if *topic == r.topic && *queue_id == r.queue_id => {
                    queue
                }
                _ => {
                    &last
                        .insert((
                            r.topic,
                            r.queue_id,
                            self.find_or_create(r.topic, r.queue_id)?,
                        ))
                        .2
                }
            };
            put_unit(queue, &r)?;
        }
        Ok(())
    }

    fn truncate_beyond(&self, end: u64) -> io::Result<()> {
        for queue in self.all() {
            queue.truncate_beyond(end as i64)?;
        }
        Ok(())
    }
}

/// What the CommitLog writer maintains itself: the consume queues. It also cuts the index
/// back when recovery cuts the log; the index is built by the [`Indexer`] thread.
struct Derived {
    queues: Arc<ConsumeQueues>,
    index: Option<Arc<IndexService>>,
    /// The checkpoint found at open.
    checkpoint: Checkpoint,
}

impl Dispatcher for Derived {
    fn dispatch(&self, request: &DispatchRequest<'_>) -> io::Result<()> {
        self.queues.dispatch(request)
    }

    fn dispatch_batch(
        &self,
        requests: &mut dyn Iterator<Item = DispatchRequest<'_>>,
    ) -> io::Result<()> {
        self.queues.dispatch_batch(requests)
    }

    fn truncate_beyond(&self, end: u64) -> io::Result<()> {
        self.queues.truncate_beyond(end)?;
        match &self.index {
            Some(index) => index.truncate_beyond(end),
            None => Ok(()),
        }
    }

    fn dispatched_until(&self) -> Option<i64> {
        // Without consume queues (a new store, or one whose queues were deleted) everything
        // is rebuilt from the oldest record.
        (!self.queues.is_empty()).then(|| {
            self.checkpoint
                .physic_msg_timestamp
                .min(self.checkpoint.logics_msg_timestamp)
        })
    }

    fn queue_offsets(&self) -> QueueOffsets {
        self.queues.next_offsets()
    }
}

/// Every `flushIntervalConsumeQueue`: flushes the consume queues and writes the checkpoint,
/// so that recovery after a crash can start at the segment it names.
struct Checkpointer {
    stop: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    fn start(
        root: PathBuf,
        queues: Arc<ConsumeQueues>,
        log: Arc<crate::commitlog::Shared>,
        interval: std::time::Duration,
    ) -> Checkpointer {
        use std::sync::atomic::Ordering;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || {
                let mut written = Checkpoint::load(&root).unwrap_or_default();
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(interval)
                {
                    // Read before the flush: every unit dispatched by then is flushed below.
                    let logics = log.last_store_timestamp.load(Ordering::Acquire);
                    if let Err(e) = queues.flush() {
                        tracing::error!("consume queue flush failed: {e}");
                        continue;
                    }
                    let checkpoint = Checkpoint {
                        physic_msg_timestamp: log.flushed_timestamp.load(Ordering::Acquire),
                        logics_msg_timestamp: logics,
                        index_msg_timestamp: 0,
                    };
                    if checkpoint != written {
                        match checkpoint.store(&root) {
                            Ok(()) => written = checkpoint,
                            Err(e) => tracing::error!("could not write the checkpoint: {e}"),
                        }
                    }
                }
            })
            .expect("spawning the checkpoint thread");
        Checkpointer {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        }
    }

    fn stop(&self) {
        drop(self.stop.lock().expect("checkpoint stop lock").take());
        if let Some(thread) = self.thread.lock().expect("checkpoint thread lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The retention settings of [`StoreConfig`].
#[derive(Debug, Clone)]
struct Retention {
    file_reserved_hours: u64,
    delete_when_hours: Vec<u32>,
    disk_max_used_space_ratio: u32,
}

impl Retention {
    fn of(config: &StoreConfig) -> Retention {
        Retention {
            file_reserved_hours: config.file_reserved_hours,
            delete_when_hours: config.delete_when_hours.clone(),
            disk_max_used_space_ratio: config.disk_max_used_space_ratio,
        }
    }
}

/// The CommitLog, its consume queues and its index.
pub struct MessageStore {
    commit_log: CommitLog,
    queues: Arc<ConsumeQueues>,
    index: Option<Arc<IndexService>>,
    indexer: Option<Indexer>,
    checkpointer: Checkpointer,
    arrival: Option<ArrivalHook>,
    root: PathBuf,
    /// `fileReservedTime`, `deleteWhen`, `diskMaxUsedSpaceRatio`: read by each retention pass,
    /// changed live by [`MessageStore::apply_live_settings`].
    retention: std::sync::Mutex<Retention>,
    /// Disk usage in percent when it passed the warning level, else 0.
    disk_full_percent: std::sync::atomic::AtomicU32,
    /// Retention passes left that run as if at `deleteWhen` (DELETE_EXPIRED_COMMITLOG).
    manual_delete_passes: std::sync::atomic::AtomicU32,
    /// `brokerRole` (as [`role_code`]), changed live like Java's: read on each put.
    role: std::sync::atomic::AtomicU8,
    /// `accessMessageInMemoryMaxRatio`, live; with the machine's memory it says which reads
    /// are of data on disk.
    in_memory_ratio: std::sync::atomic::AtomicU32,
    physical_memory_bytes: u64,
    /// A read of an offset the queue does not hold says where to go instead: on a master, or
    /// on a slave with `offsetCheckInSlave`. Else it says to stay.
    corrects_offsets: std::sync::atomic::AtomicBool,
    /// The `lock` and `abort` files, released by a clean shutdown.
    run_guard: std::sync::Mutex<Option<RunGuard>>,
    stats: StoreStats,
}

/// The machine's memory (`MemTotal`), which Java's in-memory rule is a share of; unknown
/// counts as unlimited, every read then being of data in memory.
fn physical_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(u64::MAX / 2)
}

fn corrects_offsets(config: &StoreConfig) -> bool {
    config.broker_role.is_master() || config.offset_check_in_slave
}

fn role_code(role: BrokerRole) -> u8 {
    match role {
        BrokerRole::AsyncMaster => 0,
        BrokerRole::SyncMaster => 1,
        BrokerRole::Slave => 2,
    }
}

/// What a put waits for before it reports: Java's `WAIT` message property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutWait {
    /// `WAIT=true` (or absent): under SYNC_FLUSH until a sync covers the message, and on a
    /// SYNC_MASTER until a slave holds it.
    StoreOk,
    /// `WAIT=false`: reports once the message is appended.
    Appended,
}

/// What a lookup by key found (QUERY_MESSAGE).
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub messages: Vec<SegmentSlice>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phy_offset: i64,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("commit_log", &self.commit_log)
            .finish()
    }
}

/// The two filters of a queue read: by a unit's tag hash, then by the stored record.
#[derive(Clone, Copy)]
struct ReadFilters<'f> {
    by_tags_code: &'f dyn Fn(i64) -> bool,
    by_record: &'f dyn Fn(&[u8]) -> bool,
}

impl MessageStore {
    /// Opens the store: consume queues and index first, then the CommitLog, whose recovery
    /// re-dispatches whatever they miss and cuts whatever they hold beyond its valid end.
    pub fn open(config: StoreConfig) -> Result<(MessageStore, RecoveryReport), StoreError> {
        let run_guard = RunGuard::acquire(&config.root_dir)?;
        let root = config.root_dir.clone();
        let queues = Arc::new(ConsumeQueues::open(
            config.root_dir.join("consumequeue"),
            config.consume_queue_units_per_file,
        )?);
        let index = if config.message_index_enable {
            let index_config = IndexConfig {
                hash_slots: config.index_hash_slots,
                index_num: config.index_num,
            };
            Some(Arc::new(IndexService::open(
                config.root_dir.join("index"),
                index_config,
            )?))
        } else {
            None
        };
        let derived = Arc::new(Derived {
            queues: queues.clone(),
            index: index.clone(),
            checkpoint: Checkpoint::load(&config.root_dir)?,
        });
        let (commit_log, mut report) = CommitLog::open_with(config.clone(), derived)?;
        report.previous_run_crashed = run_guard.previous_run_crashed;
        let indexer = index.as_ref().map(|index| {
            let from = index.resume_offset(commit_log.min_offset());
            Indexer::start(index.clone(), commit_log.shared(), from)
        });
        if report.previous_run_crashed {
            tracing::warn!(root = %root.display(), "the previous run did not shut down cleanly; recovered {} records from commitlog offset {}", report.records, report.scanned_from);
        }
        let checkpointer = Checkpointer::start(
            root.clone(),
            queues.clone(),
            commit_log.shared(),
            config.flush_interval_consume_queue,
        );
        Ok((
            MessageStore {
                commit_log,
                queues,
                index,
                indexer,
                checkpointer,
                arrival: None,
                root,
                retention: std::sync::Mutex::new(Retention::of(&config)),
                disk_full_percent: std::sync::atomic::AtomicU32::new(0),
                manual_delete_passes: std::sync::atomic::AtomicU32::new(0),
                role: std::sync::atomic::AtomicU8::new(role_code(config.broker_role)),
                corrects_offsets: std::sync::atomic::AtomicBool::new(corrects_offsets(&config)),
                in_memory_ratio: std::sync::atomic::AtomicU32::new(
                    config.access_message_in_memory_max_ratio,
                ),
                physical_memory_bytes: physical_memory_bytes(),
                run_guard: std::sync::Mutex::new(Some(run_guard)),
                stats: StoreStats::new(now_ms()),
            },
            report,
        ))
    }

    /// Takes the settings of `config` that apply while running, as Java's broker reads them
    /// on each use: `maxMessageSize`, `syncFlushTimeout`, `fileReservedTime`, `deleteWhen`,
    /// `diskMaxUsedSpaceRatio`, `brokerRole`, `offsetCheckInSlave`. The others (paths, file sizes, flush type) need a restart.
    pub fn apply_live_settings(&self, config: &StoreConfig) {
        self.commit_log.set_put_limits(config);
        self.role.store(
            role_code(config.broker_role),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.corrects_offsets.store(
            corrects_offsets(config),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.in_memory_ratio.store(
            config.access_message_in_memory_max_ratio,
            std::sync::atomic::Ordering::Relaxed,
        );
        *self.retention.lock().expect("retention lock") = Retention::of(config);
    }

    /// Waits until every record before `offset` is indexed, or `timeout` passes; true if it
    /// was. Indexing follows puts within about a millisecond.
    pub fn wait_indexed(&self, offset: u64, timeout: std::time::Duration) -> bool {
        let Some(indexer) = &self.indexer else {
            return true;
        };
        let deadline = std::time::Instant::now() + timeout;
        while indexer.progress() < offset {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        true
    }

    /// Messages of `topic` whose `KEYS` or `UNIQ_KEY` is `key`, stored within `[begin, end]`
    /// (ms), at most `min(max, 64)`. Like Java, candidates are not re-checked against the key
    /// (the client does that); offsets that no longer hold a record are dropped.
    pub fn query_messages(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> QueryResult {
        let Some(index) = &self.index else {
            return QueryResult {
                messages: Vec::new(),
                index_last_update_timestamp: 0,
                index_last_update_phy_offset: 0,
            };
        };
        let (offsets, ts, phy) = index.query(topic, key, max, begin, end);
        QueryResult {
            messages: offsets
                .into_iter()
                .filter_map(|o| u64::try_from(o).ok())
                .filter_map(|o| self.commit_log.record_at(o))
                .collect(),
            index_last_update_timestamp: ts,
            index_last_update_phy_offset: phy,
        }
    }

    /// Java's `cleanUnusedTopic`, run when a topic is deleted: every topic for which `keep` is
    /// false loses its consume queues (files included) and its queue offsets, so a topic
    /// created again starts empty. CommitLog records stay until retention removes them.
    /// Returns the topics dropped.
    pub fn clean_unused_topics(&self, keep: &dyn Fn(&str) -> bool) -> io::Result<Vec<String>> {
        let unused: Vec<String> = self
            .queues
            .topics()
            .into_iter()
            .filter(|topic| !keep(topic))
            .collect();
        if unused.is_empty() {
            return Ok(unused);
        }
        self.commit_log
            .forget_topics(&unused, || self.queues.remove(&unused));
        for topic in &unused {
            match std::fs::remove_dir_all(self.queues.root.join(topic)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            tracing::info!(topic, "consume queues of an unused topic removed");
        }
        Ok(unused)
    }

    /// Java's `cleanExpiredConsumerQueue` (CLEAN_EXPIRED_CONSUMEQUEUE): a queue whose last
    /// record lies wholly below the CommitLog's min offset has nothing left to serve; it is
    /// destroyed, files and directory, and its queue offset forgotten, so a message sent to it
    /// again is its offset 0. The delay topic's queues are kept. A queue whose last appended
    /// record is not dispatched yet is left alone. Returns the queues destroyed.
    pub fn clean_expired_consume_queues(&self) -> io::Result<Vec<(String, i32)>> {
        let min = self.commit_log.min_offset() as i64;
        let expired: Vec<(String, i32, Arc<ConsumeQueue>)> = self
            .queues
            .all_named()
            .into_iter()
            .filter(|(topic, _, queue)| {
                let end = queue.last_unit_end();
                topic != ferrocket_common::names::SCHEDULE_TOPIC && end != -1 && end < min
            })
            .collect();
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        // A queue whose next offset moved past its last dispatched unit got a message the
        // check above has not seen: it stays.
        let picked = self.commit_log.forget_queues(
            expired
                .iter()
                .map(|(topic, queue_id, queue)| (topic.as_str(), *queue_id, queue.max_offset())),
            |picked| self.queues.remove_queues(picked),
        );
        for (topic, queue_id) in &picked {
            let topic_dir = self.queues.root.join(topic);
            match std::fs::remove_dir_all(topic_dir.join(queue_id.to_string())) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            // Gone with its last queue; kept (not empty) otherwise.
            let _ = std::fs::remove_dir(&topic_dir);
            tracing::info!(topic, queue_id, min, "expired consume queue destroyed");
        }
        Ok(picked)
    }

    /// Registers the hook called after every put with the queue's new max offset.
    pub fn on_arrival(&mut self, hook: ArrivalHook) {
        self.arrival = Some(hook);
    }

    /// `storePathRootDir`.
    pub fn root_dir(&self) -> &std::path::Path {
        &self.root
    }

    pub fn commit_log(&self) -> &CommitLog {
        &self.commit_log
    }

    /// Stores the messages of a batch back to back (see [`CommitLog::append_batch`]) and waits
    /// once, for the last, as `put_waiting` waits for one message. `each` sees where every
    /// message landed, in order.
    pub async fn put_batch(
        &self,
        msgs: &[PutMessage<'_>],
        wait: PutWait,
        mut each: impl FnMut(&crate::AppendResult),
    ) -> Result<PutStatus, StoreError> {
        let role = self.check_writable()?;
        let (mut last, mut count, mut bytes) = (None, 0, 0);
        let appended = self.commit_log.append_batch(msgs, |appended| {
            last = Some(*appended);
            count += 1;
            bytes += u64::from(appended.size);
            each(appended)
        });
        if let Err(e) = appended {
            self.stats.record_put_failed();
            self.stats.record_put_time(0);
            return Err(e);
        }
        self.stats.record_put(count, bytes);
        let (Some(last), Some(first)) = (last, msgs.first()) else {
            return Ok(PutStatus::PutOk);
        };
        let status = self.settle(first, last, wait, role).await;
        // A batch's records share one store time, taken when it was appended.
        self.stats.record_put_time(now_ms() - last.store_timestamp);
        status
    }

    /// Stores a message and waits for what `WAIT=true` waits for (the default).
    pub async fn put(&self, msg: &PutMessage<'_>) -> Result<PutResult, StoreError> {
        self.put_waiting(msg, PutWait::StoreOk).await
    }

    /// Stores a message; `wait` says what it waits for before it reports, as the message's
    /// `WAIT` property does in Java (`CommitLog.submitFlushRequest`/`submitReplicaRequest`).
    pub async fn put_waiting(
        &self,
        msg: &PutMessage<'_>,
        wait: PutWait,
    ) -> Result<PutResult, StoreError> {
        let role = self.check_writable()?;
        // Java times a put from the append to the end of its flush wait, and counts every
        // append the CommitLog refuses as failed (`DefaultMessageStore.asyncPutMessage`).
        // The record's store time, read under the writer lock, is the start: one clock
        // read per put, not two.
        let append = match self.commit_log.append(msg) {
            Ok(append) => append,
            Err(e) => {
                self.stats.record_put_failed();
                self.stats.record_put_time(0);
                return Err(e);
            }
        };
        self.stats.record_put(1, u64::from(append.size));
        let status = self.settle(msg, append, wait, role).await;
        self.stats
            .record_put_time(now_ms() - append.store_timestamp);
        Ok(PutResult {
            status: status?,
            append,
        })
    }

    /// CommitLog bytes the index has not covered yet (Java's `dispatchBehindBytes`, whose
    /// dispatch also builds the index; consume-queue units are written with the record).
    pub fn index_behind_bytes(&self) -> u64 {
        self.indexer.as_ref().map_or(0, |indexer| {
            self.commit_log
                .max_offset()
                .saturating_sub(indexer.progress())
        })
    }

    /// Put and read statistics since the store opened (GET_BROKER_RUNTIME_INFO).
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// `DefaultMessageStore.getRuntimeInfo`: the statistics, the used share of the disks
    /// holding the CommitLog and the consume queues, and the CommitLog's bounds.
    pub fn runtime_info(&self, now_ms: i64) -> Vec<(String, String)> {
        let mut info: Vec<(String, String)> = self
            .stats
            .runtime_info(now_ms)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let used = |dir: &std::path::Path| crate::segment::disk_usage(dir).unwrap_or(-1.0);
        let commit_log_dir = self.commit_log.dir();
        let commit_log_ratio = ferrocket_common::java_format::double(used(commit_log_dir));
        info.push((
            format!("commitLogDiskRatio_{}", commit_log_dir.display()),
            commit_log_ratio.clone(),
        ));
        info.push(("commitLogDiskRatio".into(), commit_log_ratio));
        info.push((
            "consumeQueueDiskRatio".into(),
            ferrocket_common::java_format::double(used(&self.root.join("consumequeue"))),
        ));
        info.push((
            "commitLogMinOffset".into(),
            self.commit_log.min_offset().to_string(),
        ));
        info.push((
            "commitLogMaxOffset".into(),
            self.commit_log.max_offset().to_string(),
        ));
        info
    }

    /// After an append ending with `last` into `msg`'s queue: waits for what `wait` asks,
    /// combines the outcome with the role's, and fires the arrival hook.
    async fn settle(
        &self,
        msg: &PutMessage<'_>,
        last: crate::AppendResult,
        wait: PutWait,
        role: BrokerRole,
    ) -> Result<PutStatus, StoreError> {
        let status = match wait {
            PutWait::StoreOk => self.commit_log.wait_durable(last.end_offset()).await?,
            PutWait::Appended => {
                self.commit_log.nudge_flush();
                PutStatus::PutOk
            }
        };
        if let Some(hook) = &self.arrival {
            hook(msg.topic, msg.queue_id, last.queue_offset + 1);
        }
        // Java combines the flush and replication outcomes; a failed replication wins.
        Ok(
            if wait == PutWait::StoreOk && role == BrokerRole::SyncMaster {
                PutStatus::SlaveNotAvailable
            } else {
                status
            },
        )
    }

    /// Java's `checkStoreStatus`: a slave's store refuses puts, and so does a full disk.
    fn check_writable(&self) -> Result<BrokerRole, StoreError> {
        let role = match self.role.load(std::sync::atomic::Ordering::Relaxed) {
            0 => BrokerRole::AsyncMaster,
            1 => BrokerRole::SyncMaster,
            _ => BrokerRole::Slave,
        };
        if role == BrokerRole::Slave {
            return Err(StoreError::SlaveMode);
        }
        let full = self
            .disk_full_percent
            .load(std::sync::atomic::Ordering::Relaxed);
        if full > 0 {
            return Err(StoreError::DiskFull { used_percent: full });
        }
        Ok(role)
    }

    pub fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .find(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    pub fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .find(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// A queue's bounds and its units from `index` (see [`ConsumeQueue::units_in_file_from`]),
    /// or `None` when the store has no such queue.
    pub fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        index: i64,
        count: i64,
    ) -> Option<QueueUnits> {
        let queue = self.queues.find(topic, queue_id)?;
        Some(QueueUnits {
            min_offset: queue.min_offset(),
            max_offset: queue.max_offset(),
            units: queue.units_in_file_from(index, count),
        })
    }

    /// The consume-queue unit at `offset`.
    pub fn unit(&self, topic: &str, queue_id: i32, offset: i64) -> Option<CqUnit> {
        self.queues.find(topic, queue_id)?.get(offset)
    }

    /// Reads up to `max_count` messages of a queue from `offset`, skipping units whose tag
    /// code `accept` rejects, with the statuses and next offsets of `DefaultMessageStore.getMessage`.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        accept: &dyn Fn(i64) -> bool,
    ) -> GetMessageResult {
        self.get_messages_matching(topic, queue_id, offset, max_count, accept, &|_| true)
    }

    /// [`get_messages`](Self::get_messages) with a second filter over each stored record,
    /// after the tag-hash one (Java's `isMatchedByCommitLog`): a record it refuses is skipped
    /// like one the tag hash refuses.
    pub fn get_messages_matching(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        accept: &dyn Fn(i64) -> bool,
        accept_record: &dyn Fn(&[u8]) -> bool,
    ) -> GetMessageResult {
        let began = now_ms();
        let filters = ReadFilters {
            by_tags_code: accept,
            by_record: accept_record,
        };
        let result = self.read_queue(topic, queue_id, offset, max_count, filters);
        self.stats.record_get(
            result.status == GetMessageStatus::Found,
            result.messages.len() as u64,
            now_ms() - began,
        );
        result
    }

    fn read_queue(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        filters: ReadFilters<'_>,
    ) -> GetMessageResult {
        let mut result = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            suggest_pulling_from_slave: false,
        };
        // Java's `nextOffsetCorrection`: a slave that does not check offsets leaves the
        // client where it asked to be.
        let corrects = self
            .corrects_offsets
            .load(std::sync::atomic::Ordering::Relaxed);
        let correction = |new: i64| if corrects { new } else { offset };
        let Some(queue) = self.queues.find(topic, queue_id) else {
            result.next_begin_offset = correction(0);
            return result;
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        result.min_offset = min;
        result.max_offset = max;
        let (status, next) = if max == 0 {
            (GetMessageStatus::NoMessageInQueue, 0)
        } else if offset < min {
            (GetMessageStatus::OffsetTooSmall, min)
        } else if offset == max {
            (GetMessageStatus::OffsetOverflowOne, offset)
        } else if offset > max {
            // 4.9.4 and later: the end of the queue (before, the start of an untrimmed one).
            (GetMessageStatus::OffsetOverflowBadly, max)
        } else {
            return self.read_units(&queue, offset, max_count, filters, result, correction);
        };
        result.status = status;
        result.next_begin_offset = correction(next);
        result
    }

    /// The FOUND / NO_MATCHED_MESSAGE / OFFSET_FOUND_NULL / MESSAGE_WAS_REMOVING part of
    /// [`get_messages`](Self::get_messages): `offset` lies in `min..max`.
    fn read_units(
        &self,
        queue: &ConsumeQueue,
        offset: i64,
        max_count: usize,
        filters: ReadFilters<'_>,
        mut result: GetMessageResult,
        correction: impl Fn(i64) -> i64,
    ) -> GetMessageResult {
        let max = result.max_offset;
        let scan_limit = (MIN_FILTER_SCAN_BYTES.max(max_count * crate::consume_queue::UNIT_SIZE)
            / crate::consume_queue::UNIT_SIZE) as i64;
        let commit_log_min = self.commit_log.min_offset() as i64;
        // Java's `checkInDiskByCommitOffset`: further behind the end than this is on disk.
        let commit_log_end = self.commit_log.max_offset() as i64;
        let in_memory = (self.physical_memory_bytes as f64
            * (f64::from(
                self.in_memory_ratio
                    .load(std::sync::atomic::Ordering::Relaxed),
            ) / 100.0)) as i64;
        let mut last_looked_at = 0i64;
        result.status = GetMessageStatus::NoMatchedMessage;
        let mut bytes = 0usize;
        let mut next = offset;
        while next < max && next - offset < scan_limit {
            let Some(unit) = queue.get(next) else {
                if next == offset {
                    // The unit's file is missing: on to the start of the next file.
                    let per_file = queue.units_per_file() as i64;
                    result.status = GetMessageStatus::OffsetFoundNull;
                    result.next_begin_offset = correction(offset + per_file - offset % per_file);
                    return result;
                }
                break;
            };
            let size = unit.size as usize;
            last_looked_at = unit.commit_log_offset;
            let (max_transfer_count, max_transfer_bytes) =
                if commit_log_end - unit.commit_log_offset > in_memory {
                    (MAX_TRANSFER_COUNT_ON_DISK, MAX_TRANSFER_BYTES_ON_DISK)
                } else {
                    (MAX_TRANSFER_COUNT, MAX_TRANSFER_BYTES)
                };
            if !result.messages.is_empty()
                && (result.messages.len() >= max_count.min(max_transfer_count)
                    || bytes + size > max_transfer_bytes)
            {
                break;
            }
            next += 1;
            if !(filters.by_tags_code)(unit.tags_code) {
                continue;
            }
            if unit.commit_log_offset < commit_log_min {
                if result.messages.is_empty() {
                    result.status = GetMessageStatus::MessageWasRemoving;
                }
                continue;
            }
            match self.commit_log.read(unit.commit_log_offset as u64, size) {
                Some(slice) if !(filters.by_record)(&slice) => {}
                Some(slice) => {
                    bytes += size;
                    result.messages.push(slice);
                    result.status = GetMessageStatus::Found;
                }
                None if result.messages.is_empty() => {
                    result.status = GetMessageStatus::MessageWasRemoving
                }
                None => {}
            }
        }
        result.next_begin_offset = next;
        result.suggest_pulling_from_slave = commit_log_end - last_looked_at > in_memory;
        result
    }

    /// Store timestamp of the message at `offset` of a queue.
    pub fn store_time_at(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let unit = self.unit(topic, queue_id, offset)?;
        self.store_time_of(&unit)
    }

    fn store_time_of(&self, unit: &CqUnit) -> Option<i64> {
        let bytes = self.commit_log.read(
            u64::try_from(unit.commit_log_offset).ok()?,
            unit.size as usize,
        )?;
        RecordView::decode(&bytes, false)
            .ok()
            .map(|v| v.header.store_timestamp)
    }

    /// Store time of the oldest record in the CommitLog, or -1 when it holds none
    /// (`DefaultMessageStore.getEarliestMessageTime`).
    pub fn earliest_message_time(&self) -> i64 {
        self.commit_log
            .record_at(self.commit_log.min_offset())
            .and_then(|bytes| {
                RecordView::decode(&bytes, false)
                    .ok()
                    .map(|v| v.header.store_timestamp)
            })
            .unwrap_or(-1)
    }

    /// Store time of the oldest message still in the queue, or -1 (GET_EARLIEST_MSG_STORETIME).
    pub fn earliest_store_time(&self, topic: &str, queue_id: i32) -> i64 {
        let min = self.min_offset(topic, queue_id);
        self.store_time_at(topic, queue_id, min).unwrap_or(-1)
    }

    /// The queue offset for `timestamp` (SEARCH_OFFSET_BY_TIMESTAMP, `getOffsetInQueueByTime`):
    /// an exact store-time match, else the nearer neighbour (the smaller on a tie), else the
    /// only neighbour; 0 when the queue holds nothing readable.
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        let Some(queue) = self.queues.find(topic, queue_id) else {
            return 0;
        };
        let commit_log_min = self.commit_log.min_offset() as i64;
        // Entries whose record was deleted are not searched.
        let (mut low, mut high) = (queue.min_offset(), queue.max_offset() - 1);
        while low <= high
            && queue
                .get(low)
                .is_some_and(|u| u.commit_log_offset < commit_log_min)
        {
            low += 1;
        }
        let time_of = |offset: i64| queue.get(offset).and_then(|u| self.store_time_of(&u));
        // (offset, store time) of the nearest entries below and above `timestamp`.
        let (mut left, mut right): (Neighbour, Neighbour) = (None, None);
        while low <= high {
            let mid = low + (high - low) / 2;
            let Some(t) = time_of(mid) else { return 0 };
            match t.cmp(&timestamp) {
                std::cmp::Ordering::Equal => {
                    // The first of equal store times.
                    let mut first = mid;
                    while first > low && time_of(first - 1) == Some(timestamp) {
                        first -= 1;
                    }
                    return first;
                }
                std::cmp::Ordering::Less => {
                    left = Some((mid, t));
                    low = mid + 1;
                }
                std::cmp::Ordering::Greater => {
                    right = Some((mid, t));
                    high = mid - 1;
                }
            }
        }
        match (left, right) {
            (Some((lo, lt)), Some((ro, rt))) => {
                if timestamp - lt <= rt - timestamp {
                    lo
                } else {
                    ro
                }
            }
            (Some((lo, _)), None) => lo,
            (None, Some((ro, _))) => ro,
            (None, None) => 0,
        }
    }

    /// Disk usage of the store's file system, 0.0..=1.0 (statvfs).
    pub fn disk_usage(&self) -> io::Result<f64> {
        crate::segment::disk_usage(&self.root)
    }

    /// One retention pass (`CleanCommitLogService`), given the time and the disk usage:
    /// expired CommitLog segments go at a `deleteWhen` hour or when usage passes
    /// `diskMaxUsedSpaceRatio`; above 85 % even unexpired ones go; then consume-queue and
    /// index files wholly below the new minimum. Above 90 % puts are refused until usage drops.
    pub fn clean(
        &self,
        now: std::time::SystemTime,
        disk_usage: f64,
    ) -> Result<CleanReport, StoreError> {
        let used_percent = (disk_usage * 100.0).round() as u32;
        let warning = disk_usage > DISK_WARNING_RATIO;
        if warning
            != (self
                .disk_full_percent
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0)
        {
            if warning {
                tracing::error!(used_percent, "disk nearly full: refusing new messages");
            } else {
                tracing::info!(
                    used_percent,
                    "disk usage back to normal: accepting messages"
                );
            }
        }
        self.disk_full_percent.store(
            if warning { used_percent.max(1) } else { 0 },
            std::sync::atomic::Ordering::Relaxed,
        );

        let hour = (now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            / 3600
            % 24) as u32;
        let retention = self.retention.lock().expect("retention lock").clone();
        let manual = self
            .manual_delete_passes
            .fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |left| left.checked_sub(1),
            )
            .is_ok();
        let at_delete_hour = manual || retention.delete_when_hours.contains(&hour);
        let space_pressure = disk_usage * 100.0 > f64::from(retention.disk_max_used_space_ratio);
        let force = disk_usage > DISK_CLEAN_FORCIBLY_RATIO;
        let mut report = CleanReport::default();
        if at_delete_hour || space_pressure || force {
            let reserved = std::time::Duration::from_secs(retention.file_reserved_hours * 3600);
            report.commit_log_segments = self.commit_log.delete_expired_segments(
                now,
                reserved,
                force,
                MAX_DELETED_PER_PASS,
            )?;
        }
        let min = self.commit_log.min_offset() as i64;
        for queue in self.queues.all() {
            report.consume_queue_files += queue.delete_below(min)?;
        }
        if let Some(index) = &self.index {
            report.index_files = index.delete_below(min)?;
        }
        Ok(report)
    }

    /// Runs [`clean`](Self::clean) every `interval` (Java: `cleanResourceInterval`, 10 s) with
    /// the real clock and disk usage, on a thread of its own, until the store is dropped.
    /// DELETE_EXPIRED_COMMITLOG (`executeDeleteFilesManually`): the next
    /// [`MANUAL_DELETE_PASSES`] retention passes delete expired segments whatever the hour.
    pub fn delete_expired_files_manually(&self) {
        self.manual_delete_passes
            .store(MANUAL_DELETE_PASSES, std::sync::atomic::Ordering::Release);
        tracing::info!("expired commitlog files will be deleted by the next retention passes");
    }

    pub fn start_cleaner(
        self: &Arc<Self>,
        interval: std::time::Duration,
    ) -> std::thread::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("store-cleaner".into())
            .spawn(move || loop {
                std::thread::sleep(interval);
                let Some(store) = weak.upgrade() else { return };
                if store.is_shut_down() {
                    return;
                }
                let outcome = store
                    .disk_usage()
                    .map_err(StoreError::from)
                    .and_then(|usage| store.clean(std::time::SystemTime::now(), usage));
                match outcome {
                    Ok(report) if !report.commit_log_segments.is_empty() => {
                        tracing::info!(?report, "retention deleted expired files")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("retention pass failed: {e}"),
                }
            })
            .expect("spawning the cleaner thread")
    }

    fn is_shut_down(&self) -> bool {
        self.run_guard.lock().expect("run guard lock").is_none()
    }

    /// Flushes the CommitLog and every consume queue, and stops the flusher.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.checkpointer.stop();
        self.commit_log.shutdown()?;
        if let Some(indexer) = &self.indexer {
            indexer.stop();
        }
        self.queues.flush()?;
        if let Some(index) = &self.index {
            index.flush()?;
        }
        let last = self.commit_log.last_store_timestamp();
        Checkpoint {
            physic_msg_timestamp: last,
            logics_msg_timestamp: last,
            index_msg_timestamp: 0,
        }
        .store(&self.root)?;
        if let Some(guard) = self.run_guard.lock().expect("run guard lock").take() {
            guard.release()?;
        }
        Ok(())
    }
}

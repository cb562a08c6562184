//! IndexFile: lookup of messages by key (`KEYS` tokens and `UNIQ_KEY`) within a time range.
//!
//! ```text
//! header (40 B): beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 | endPhyOffset i64
//!                | hashSlotCount i32 | indexCount i32 (next item number, starts at 1)
//! slots:         hashSlotNum × i32 — newest item number of the bucket, 0 = empty
//! items:         indexNum × 20 B: keyHash i32 | phyOffset i64 | timeDiff i32 (s since begin) | prevItem i32
//! ```
//! Key string = `topic#key`; `keyHash = |String.hashCode|` (0 for `Integer.MIN_VALUE`);
//! bucket = keyHash % hashSlotNum. Files are named by their creation time and a new one starts
//! when one is full.

use crate::commitlog::{DispatchRequest, Dispatcher};
use crate::delay::DelayLevels;
use crate::segment::Segment;
use ferrocket_common::properties::{self, keys};
use ferrocket_common::{sysflag, tag, time};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const HEADER_SIZE: usize = 40;
const SLOT_SIZE: usize = 4;
const ITEM_SIZE: usize = 20;
/// `maxHashSlotNum` and `maxIndexNum` of Java: files of 420 000 040 bytes.
pub const DEFAULT_HASH_SLOTS: u32 = 5_000_000;
pub const DEFAULT_INDEX_NUM: u32 = 20_000_000;
/// Java caps one query at `maxMsgsNumBatch` results.
pub const MAX_QUERY_RESULTS: usize = 64;

/// The header of an index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

impl IndexHeader {
    fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        b[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        b[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        b[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> IndexHeader {
        let i64_at = |o: usize| i64::from_be_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let i32_at = |o: usize| i32::from_be_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        IndexHeader {
            begin_timestamp: i64_at(0),
            end_timestamp: i64_at(8),
            begin_phy_offset: i64_at(16),
            end_phy_offset: i64_at(24),
            hash_slot_count: i32_at(32),
            index_count: i32_at(36),
        }
    }
}

/// `abs(String.hashCode(key))`, with `Integer.MIN_VALUE` mapped to 0 as Java does.
pub fn key_hash(key: &str) -> i32 {
    tag::java_string_hash(key).checked_abs().unwrap_or(0)
}

/// One index file. Writes are serialised by the caller; the header lives in memory and in
/// the file's first 40 bytes.
#[derive(Debug)]
pub struct IndexFile {
    segment: Segment,
    hash_slots: u32,
    index_num: u32,
    header: IndexHeader,
}

impl IndexFile {
    fn file_len(hash_slots: u32, index_num: u32) -> u64 {
        (HEADER_SIZE + hash_slots as usize * SLOT_SIZE + index_num as usize * ITEM_SIZE) as u64
    }

    /// Opens an existing index file at `path`.
    fn open(path: &Path, hash_slots: u32, index_num: u32) -> io::Result<IndexFile> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let segment = Segment::open_named(
            dir,
            path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
            Self::file_len(hash_slots, index_num),
        )?;
        let mut header = IndexHeader::decode(segment.read(0, HEADER_SIZE));
        if header.index_count < 1 {
            header.index_count = 1;
        }
        Ok(IndexFile {
            segment,
            hash_slots,
            index_num,
            header,
        })
    }

    fn create(dir: &Path, name: &str, hash_slots: u32, index_num: u32) -> io::Result<IndexFile> {
        let segment = Segment::open_named(dir, name, Self::file_len(hash_slots, index_num))?;
        let file = IndexFile {
            segment,
            hash_slots,
            index_num,
            header: IndexHeader {
                index_count: 1,
                ..IndexHeader::default()
            },
        };
        file.write_header();
        Ok(file)
    }

    pub fn header(&self) -> IndexHeader {
        self.header
    }

    pub fn path(&self) -> &Path {
        self.segment.path()
    }

    pub fn is_full(&self) -> bool {
        self.header.index_count >= self.index_num as i32
    }

    fn write_header(&self) {
        self.segment.write_at(0, &self.header.encode());
    }

    fn slot_pos(&self, hash: i32) -> usize {
        HEADER_SIZE + (hash as u32 % self.hash_slots) as usize * SLOT_SIZE
    }

    fn item_pos(&self, item: i32) -> usize {
        HEADER_SIZE + self.hash_slots as usize * SLOT_SIZE + item as usize * ITEM_SIZE
    }

    fn read_i32(&self, pos: usize) -> i32 {
        i32::from_be_bytes(self.segment.read(pos, 4).try_into().expect("4 bytes"))
    }

    /// Adds `key` for the record at `phy_offset` stored at `store_timestamp`; false when full.
    pub fn put_key(&mut self, key: &str, phy_offset: i64, store_timestamp: i64) -> bool {
        if self.is_full() {
            return false;
        }
        let hash = key_hash(key);
        let slot_pos = self.slot_pos(hash);
        let mut slot_value = self.read_i32(slot_pos);
        if slot_value <= 0 || slot_value > self.header.index_count {
            slot_value = 0;
        }
        let time_diff = if self.header.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - self.header.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX))
        };
        let mut item = [0u8; ITEM_SIZE];
        item[0..4].copy_from_slice(&hash.to_be_bytes());
        item[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        item[12..16].copy_from_slice(&(time_diff as i32).to_be_bytes());
        item[16..20].copy_from_slice(&slot_value.to_be_bytes());
        let number = self.header.index_count;
        self.segment.write_at(self.item_pos(number), &item);
        self.segment.write_at(slot_pos, &number.to_be_bytes());
        if self.header.index_count <= 1 {
            self.header.begin_phy_offset = phy_offset;
            self.header.begin_timestamp = store_timestamp;
        }
        if slot_value == 0 {
            self.header.hash_slot_count += 1;
        }
        self.header.index_count += 1;
        self.header.end_phy_offset = phy_offset;
        self.header.end_timestamp = store_timestamp;
        self.write_header();
        true
    }

    /// Physical offsets of items for `key` stored within `[begin, end]` (ms), newest first.
    pub fn select(&self, key: &str, max: usize, begin: i64, end: i64, out: &mut Vec<i64>) {
        let hash = key_hash(key);
        let count = self.header.index_count;
        let mut next = self.read_i32(self.slot_pos(hash));
        if next <= 0 || next > count || count <= 1 {
            return;
        }
        while out.len() < max {
            let pos = self.item_pos(next);
            let item = self.segment.read(pos, ITEM_SIZE);
            let hash_read = i32::from_be_bytes(item[0..4].try_into().expect("4"));
            let phy = i64::from_be_bytes(item[4..12].try_into().expect("8"));
            let time_diff = i32::from_be_bytes(item[12..16].try_into().expect("4"));
            let prev = i32::from_be_bytes(item[16..20].try_into().expect("4"));
            if time_diff < 0 {
                break;
            }
            let stored_at = self.header.begin_timestamp + i64::from(time_diff) * 1000;
            if hash_read == hash && stored_at >= begin && stored_at <= end {
                out.push(phy);
            }
            if prev <= 0 || prev > count || prev == next || stored_at < begin {
                break;
            }
            next = prev;
        }
    }

    fn flush(&self) -> io::Result<()> {
        self.segment.flush(0, self.segment.len())
    }

    /// Forgets records at or after `end` for re-indexing (the CommitLog was cut there).
    fn cut_end(&mut self, end: i64) {
        if self.header.end_phy_offset >= end {
            self.header.end_phy_offset = end - 1;
            self.write_header();
        }
    }
}

/// Settings of the index service.
#[derive(Debug, Clone, Copy)]
pub struct IndexConfig {
    pub hash_slots: u32,
    pub index_num: u32,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            hash_slots: DEFAULT_HASH_SLOTS,
            index_num: DEFAULT_INDEX_NUM,
        }
    }
}

/// Every index file of the store, oldest first; the newest takes new keys.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    config: IndexConfig,
    files: Mutex<Vec<Arc<Mutex<IndexFile>>>>,
    /// Reused for `topic#key` so that indexing allocates nothing per message.
    key_buf: Mutex<String>,
}

impl IndexService {
    pub fn open(dir: PathBuf, config: IndexConfig) -> io::Result<IndexService> {
        std::fs::create_dir_all(&dir)?;
        let mut names: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        names.sort();
        let files = names
            .iter()
            .map(|n| {
                IndexFile::open(&dir.join(n), config.hash_slots, config.index_num)
                    .map(|f| Arc::new(Mutex::new(f)))
            })
            .collect::<io::Result<_>>()?;
        Ok(IndexService {
            dir,
            config,
            files: Mutex::new(files),
            key_buf: Mutex::new(String::with_capacity(256)),
        })
    }

    fn writable(&self, now_ms: i64) -> io::Result<Arc<Mutex<IndexFile>>> {
        let mut files = self.files.lock().expect("index files lock");
        if let Some(last) = files.last() {
            if !last.lock().expect("index file lock").is_full() {
                return Ok(last.clone());
            }
        }
        let mut name = time::compact_timestamp(now_ms);
        // Two files in the same millisecond: keep names distinct and ordered.
        while files
            .iter()
            .any(|f| f.lock().expect("index file lock").path().ends_with(&name))
        {
            name = format!("{:017}", name.parse::<u64>().unwrap_or(0) + 1);
        }
        let file = Arc::new(Mutex::new(IndexFile::create(
            &self.dir,
            &name,
            self.config.hash_slots,
            self.config.index_num,
        )?));
        files.push(file.clone());
        Ok(file)
    }

    fn last_end_phy(&self) -> i64 {
        self.files
            .lock()
            .expect("index files lock")
            .last()
            .map_or(-1, |f| {
                f.lock().expect("index file lock").header.end_phy_offset
            })
    }

    /// Indexes one record's `UNIQ_KEY` and `KEYS` tokens (`IndexService.buildIndex`).
    pub fn build(&self, r: &DispatchRequest<'_>) -> io::Result<()> {
        if sysflag::transaction_type(r.sys_flag) == sysflag::TRANSACTION_ROLLBACK_TYPE {
            return Ok(());
        }
        let phy = r.physical_offset as i64;
        let has_files = !self.files.lock().expect("index files lock").is_empty();
        if has_files && phy <= self.last_end_phy() {
            return Ok(()); // already indexed (re-dispatch after a restart)
        }
        let uniq = properties::find(r.properties, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
        let user_keys = properties::find(r.properties, keys::KEYS)
            .into_iter()
            .flat_map(properties::split_keys);
        let mut full = self.key_buf.lock().expect("index key buffer lock");
        for key in uniq.into_iter().chain(user_keys) {
            full.clear();
            full.push_str(r.topic);
            full.push('#');
            full.push_str(key);
            loop {
                let file = self.writable(r.store_timestamp)?;
                if file
                    .lock()
                    .expect("index file lock")
                    .put_key(&full, phy, r.store_timestamp)
                {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Offsets of messages of `topic` with `key` stored within `[begin, end]`, at most
    /// `min(max, 64)`, newest file first; plus the newest file's end timestamp and offset.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> (Vec<i64>, i64, i64) {
        let max = max.min(MAX_QUERY_RESULTS);
        let full = format!("{topic}#{key}");
        let files: Vec<_> = self.files.lock().expect("index files lock").clone();
        let mut out = Vec::new();
        let mut last = (0, 0);
        for (i, file) in files.iter().rev().enumerate() {
            let file = file.lock().expect("index file lock");
            let h = file.header;
            if i == 0 {
                last = (h.end_timestamp, h.end_phy_offset);
            }
            if h.end_timestamp >= begin && h.begin_timestamp <= end {
                file.select(&full, max, begin, end, &mut out);
            }
            if h.begin_timestamp < begin || out.len() >= max {
                break;
            }
        }
        (out, last.0, last.1)
    }

    /// Deletes index files (never the newest) whose every item points below `commit_log_min`.
    pub fn delete_below(&self, commit_log_min: i64) -> io::Result<usize> {
        let mut files = self.files.lock().expect("index files lock");
        let mut removed = 0;
        while files.len() > 1 {
            let path = {
                let first = files[0].lock().expect("index file lock");
                if first.header.end_phy_offset >= commit_log_min {
                    break;
                }
                first.path().to_owned()
            };
            files.remove(0);
            std::fs::remove_file(path)?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn flush(&self) -> io::Result<()> {
        for file in self.files.lock().expect("index files lock").iter() {
            file.lock().expect("index file lock").flush()?;
        }
        Ok(())
    }
}

impl IndexService {
    /// Where indexing must resume: the start of the last indexed record (which `build` skips),
    /// or `commit_log_min` when there is no index yet.
    pub fn resume_offset(&self, commit_log_min: u64) -> u64 {
        match self.last_end_phy() {
            end if end >= 0
                && self
                    .files
                    .lock()
                    .expect("index files lock")
                    .iter()
                    .any(|f| f.lock().expect("index file lock").header.index_count > 1) =>
            {
                (end as u64).max(commit_log_min)
            }
            _ => commit_log_min,
        }
    }
}

/// Follows the CommitLog on a thread of its own and indexes every record, as Java's reput
/// service does, so that appends never pay for the index.
pub(crate) struct Indexer {
    progress: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    log: Arc<crate::commitlog::Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How often the indexer looks for new records while they keep coming (each look indexes
/// all there is), and after how many empty looks in a row it sleeps until an append rings.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1);
const EMPTY_POLLS_BEFORE_SLEEP: u32 = 20;
/// The longest the sleeping indexer stays unaware of a record, should it miss the ring.
const MISSED_RING_LIMIT: std::time::Duration = std::time::Duration::from_millis(100);

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("progress", &self.progress)
            .finish()
    }
}

impl Indexer {
    pub(crate) fn start(
        index: Arc<IndexService>,
        log: Arc<crate::commitlog::Shared>,
        from: u64,
    ) -> Indexer {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let progress = Arc::new(AtomicU64::new(from));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s, follower) = (progress.clone(), stop.clone(), log.clone());
        let mut empty_polls = 0u32;
        let thread = std::thread::Builder::new()
            .name("store-indexer".into())
            .spawn(move || loop {
                let log = &follower;
                let stopping = s.load(Ordering::Acquire);
                let end = log.published.load(Ordering::Acquire);
                let mut at = p.load(Ordering::Acquire);
                // Retention may have deleted segments the indexer had not reached.
                let oldest = log
                    .segments
                    .read()
                    .expect("segments lock")
                    .first()
                    .map_or(0, |seg| seg.start_offset());
                at = at.max(oldest);
                let started_at = at;
                while at < end {
                    match index_one(&index, log, at) {
                        Ok(next) => at = next,
                        Err(e) => {
                            tracing::error!(offset = at, "indexing stopped: {e}");
                            return;
                        }
                    }
                    p.store(at, Ordering::Release);
                }
                if stopping {
                    return;
                }
                // Polling batches the records of a busy log; a quiet log is not polled.
                empty_polls = if at == started_at { empty_polls + 1 } else { 0 };
                if empty_polls >= EMPTY_POLLS_BEFORE_SLEEP {
                    let quiet =
                        || log.published.load(Ordering::SeqCst) == end && !s.load(Ordering::SeqCst);
                    log.appended.wait(quiet, MISSED_RING_LIMIT);
                } else {
                    std::thread::sleep(POLL_INTERVAL);
                }
            })
            .expect("spawning the indexer thread");
        Indexer {
            progress,
            stop,
            log,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// CommitLog offset up to which every record is indexed.
    pub(crate) fn progress(&self) -> u64 {
        self.progress.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Indexes what is published, then stops.
    pub(crate) fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.log.appended.wake();
        if let Some(thread) = self.thread.lock().expect("indexer thread lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Indexes the record (or skips the blank marker) at `at`; returns the next offset.
fn index_one(index: &IndexService, log: &crate::commitlog::Shared, at: u64) -> io::Result<u64> {
    use ferrocket_common::record::{peek, Peek, RecordView};
    let segment = log
        .segment_for(at)
        .ok_or_else(|| io::Error::other(format!("no segment holds offset {at}")))?;
    let pos = (at - segment.start_offset()) as usize;
    let next_segment = segment.start_offset() + segment.len() as u64;
    if pos + 8 > segment.len() {
        return Ok(next_segment);
    }
    let rest = segment.read(pos, segment.len() - pos);
    match peek(rest) {
        Peek::Blank { .. } => Ok(next_segment),
        Peek::Message { .. } => {
            let view = RecordView::decode(rest, false)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            // The index reads keys only: the delay levels (which set a scheduled record's
            // tags code) do not matter here.
            index.build(&DispatchRequest::from_record(
                &view,
                at,
                DelayLevels::java_default(),
            ))?;
            Ok(at + view.encoded_len() as u64)
        }
        Peek::Other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no record at published offset {at}"),
        )),
    }
}

impl Dispatcher for IndexService {
    fn dispatch(&self, request: &DispatchRequest<'_>) -> io::Result<()> {
        self.build(request)
    }

    fn truncate_beyond(&self, end: u64) -> io::Result<()> {
        if let Some(last) = self.files.lock().expect("index files lock").last() {
            last.lock().expect("index file lock").cut_end(end as i64);
        }
        Ok(())
    }
}

//! One consume queue: the index of one topic queue into the CommitLog.
//!
//! ```text
//! unit (20 bytes): commitLogOffset i64 | size i32 | tagsCode i64
//! ```
//! Units live in fixed-size files (300 000 units = 6 000 000 bytes by default) under
//! `consumequeue/<topic>/<queueId>/`, each named by the byte offset of its first unit
//! (`logical offset × 20`, 20 digits). Only the CommitLog writer appends (in CommitLog order,
//! so a queue's units are in order); readers see units below the published max offset.

use crate::segment::Segment;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

pub const UNIT_SIZE: usize = 20;
/// Units per file in Java (`mappedFileSizeConsumeQueue` = 300 000 × 20).
pub const DEFAULT_UNITS_PER_FILE: u64 = 300_000;

/// One unit of a consume queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqUnit {
    /// The unit as stored: offset, size, tags code, big-endian.
    pub fn encode(&self) -> [u8; UNIT_SIZE] {
        let mut out = [0u8; UNIT_SIZE];
        out[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    fn decode(b: &[u8]) -> CqUnit {
        CqUnit {
            commit_log_offset: i64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            size: i32::from_be_bytes(b[8..12].try_into().expect("4 bytes")),
            tags_code: i64::from_be_bytes(b[12..20].try_into().expect("8 bytes")),
        }
    }

    /// Recovery's rule: a unit is real while its offset is non-negative and its size positive.
    fn is_valid(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }

    /// The filler Java writes before the first unit of a queue that starts past 0.
    fn blank() -> CqUnit {
        CqUnit {
            commit_log_offset: 0,
            size: i32::MAX,
            tags_code: 0,
        }
    }
}

#[derive(Debug)]
pub struct ConsumeQueue {
    dir: PathBuf,
    file_bytes: u64,
    files: RwLock<Vec<Arc<Segment>>>,
    /// Next logical offset to write; units below it are readable.
    max_offset: AtomicI64,
    min_offset: AtomicI64,
}

impl ConsumeQueue {
    /// Opens the queue in `dir` and finds the end of its valid units.
    pub fn open(dir: &Path, units_per_file: u64) -> io::Result<ConsumeQueue> {
        std::fs::create_dir_all(dir)?;
        let file_bytes = units_per_file * UNIT_SIZE as u64;
        let mut starts: Vec<u64> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .collect();
        starts.sort_unstable();
        let files: Vec<Arc<Segment>> = starts
            .into_iter()
            .map(|s| Segment::open(dir, s, file_bytes).map(Arc::new))
            .collect::<io::Result<_>>()?;
        let queue = ConsumeQueue {
            dir: dir.to_owned(),
            file_bytes,
            files: RwLock::new(files),
            max_offset: AtomicI64::new(0),
            min_offset: AtomicI64::new(0),
        };
        queue.recover()?;
        Ok(queue)
    }

    /// Finds the first invalid unit (scanning from the third-last file, as Java does) and
    /// drops everything from there on.
    fn recover(&self) -> io::Result<()> {
        let mut files = self.files.write().expect("cq files lock");
        let Some(first) = files.first() else {
            return Ok(());
        };
        let first_start = first.start_offset();
        let mut min = first_start / UNIT_SIZE as u64;
        // Leading blanks belong to a queue that started past 0.
        let first_bytes = first.read(0, first.len());
        for unit in first_bytes.chunks_exact(UNIT_SIZE) {
            if CqUnit::decode(unit) != CqUnit::blank() {
                break;
            }
            min += 1;
        }
        let mut end = first_start;
        let scan_from = files.len().saturating_sub(3);
        'files: for file in &files[scan_from..] {
            end = file.start_offset();
            for (i, unit) in file.read(0, file.len()).chunks_exact(UNIT_SIZE).enumerate() {
                let unit = CqUnit::decode(unit);
                if !unit.is_valid() {
                    break 'files;
                }
                end = file.start_offset() + ((i + 1) * UNIT_SIZE) as u64;
            }
        }
        self.truncate_files_at(&mut files, end)?;
        self.max_offset
            .store((end / UNIT_SIZE as u64) as i64, Ordering::Release);
        self.min_offset
            .store(min.min(end / UNIT_SIZE as u64) as i64, Ordering::Release);
        Ok(())
    }

    fn truncate_files_at(&self, files: &mut Vec<Arc<Segment>>, end: u64) -> io::Result<()> {
        while let Some(last) = files.last() {
            if last.start_offset() > end
                || (last.start_offset() == end && end > 0 && files.len() > 1)
            {
                let path = last.path().to_owned();
                files.pop();
                std::fs::remove_file(path)?;
            } else {
                let pos = (end - last.start_offset()) as usize;
                last.zero_from(pos)?;
                break;
            }
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The next offset to be written: the number of messages the queue has held.
    pub fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    pub fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    /// CommitLog offset just after the last unit's record, or 0 for an empty queue.
    pub fn max_physical_end(&self) -> i64 {
        let max = self.max_offset();
        if max <= self.min_offset() {
            return 0;
        }
        self.get(max - 1)
            .map_or(0, |u| u.commit_log_offset + i64::from(u.size))
    }

    /// CommitLog offset just after the record of the last unit written, even one below the
    /// min offset, or -1 when none is (`ConsumeQueue.getLastOffset`).
    pub fn last_unit_end(&self) -> i64 {
        let max = self.max_offset();
        if max == 0 {
            return -1;
        }
        match self.get_unchecked(max - 1) {
            Some(u) if u.commit_log_offset >= 0 && u.size > 0 => {
                u.commit_log_offset + i64::from(u.size)
            }
            _ => -1,
        }
    }

    fn file_for(&self, byte_pos: u64) -> Option<Arc<Segment>> {
        self.with_file(byte_pos, Arc::clone)
    }

    /// Runs `f` on the file holding `byte_pos` under the read guard: the per-unit paths bump
    /// no reference count on a cache line the other core touched last.
    fn with_file<R>(&self, byte_pos: u64, f: impl FnOnce(&Arc<Segment>) -> R) -> Option<R> {
        let files = self.files.read().expect("cq files lock");
        let idx = files
            .partition_point(|f| f.start_offset() <= byte_pos)
            .checked_sub(1)?;
        let file = &files[idx];
        (byte_pos < file.start_offset() + file.len() as u64).then(|| f(file))
    }

    /// The unit at `offset`, if it has been written.
    pub fn get(&self, offset: i64) -> Option<CqUnit> {
        if offset < self.min_offset() || offset >= self.max_offset() {
            return None;
        }
        let byte_pos = offset as u64 * UNIT_SIZE as u64;
        self.with_file(byte_pos, |file| {
            let pos = (byte_pos - file.start_offset()) as usize;
            CqUnit::decode(file.read(pos, UNIT_SIZE))
        })
    }

    /// The units from `index` to the end of the file holding it, at most `count`: what
    /// `ConsumeQueue.getIndexBuffer` selects for QUERY_CONSUME_QUEUE. `None` when `index` is
    /// below the minimum or not yet written.
    pub fn units_in_file_from(&self, index: i64, count: i64) -> Option<Vec<CqUnit>> {
        if index < self.min_offset() || index >= self.max_offset() {
            return None;
        }
        let per_file = self.units_per_file() as i64;
        let file_end = (index / per_file + 1) * per_file;
        let end = self
            .max_offset()
            .min(file_end)
            .min(index.saturating_add(count.max(0)));
        Some((index..end).map_while(|offset| self.get(offset)).collect())
    }

    /// Writes the unit for `queue_offset`. Idempotent: an offset already present is skipped
    /// (re-dispatch after recovery). A gap before the first unit is filled with blanks.
    /// Callers serialise puts (the CommitLog writer lock).
    pub fn put(&self, queue_offset: i64, unit: CqUnit) -> io::Result<()> {
        let max = self.max_offset();
        if queue_offset < max {
            return Ok(());
        }
        if queue_offset > max {
            if max == 0 && self.files.read().expect("cq files lock").is_empty() {
                // A queue whose first message has a later offset (its older files were deleted
                // or it is rebuilt from a trimmed CommitLog): blanks up to it.
                self.fill_blanks_to(queue_offset)?;
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "consume queue {} expected offset {max}, got {queue_offset}",
                        self.dir.display()
                    ),
                ));
            }
        }
        self.write_unit(queue_offset, unit)?;
        self.max_offset.store(queue_offset + 1, Ordering::Release);
        Ok(())
    }

    pub fn units_per_file(&self) -> u64 {
        self.file_bytes / UNIT_SIZE as u64
    }

    fn fill_blanks_to(&self, queue_offset: i64) -> io::Result<()> {
        // Java creates the file that holds `queue_offset` and blanks its units before it.
        let file_first = queue_offset - queue_offset % self.units_per_file() as i64;
        for offset in file_first..queue_offset {
            self.write_unit(offset, CqUnit::blank())?;
        }
        self.min_offset.store(queue_offset, Ordering::Release);
        Ok(())
    }

    fn write_unit(&self, offset: i64, unit: CqUnit) -> io::Result<()> {
        let byte_pos = offset as u64 * UNIT_SIZE as u64;
        let write = |file: &Segment| {
            file.write_at((byte_pos - file.start_offset()) as usize, &unit.encode())
        };
        if self.with_file(byte_pos, |file| write(file)).is_some() {
            return Ok(());
        }
        // Files are only added here, under the CommitLog writer lock: none appears meanwhile.
        let start = byte_pos - byte_pos % self.file_bytes;
        let file = Arc::new(Segment::open(&self.dir, start, self.file_bytes)?);
        self.files
            .write()
            .expect("cq files lock")
            .push(file.clone());
        write(&file);
        Ok(())
    }

    /// Drops units whose record starts at or after `commit_log_end` (the CommitLog was cut).
    pub fn truncate_beyond(&self, commit_log_end: i64) -> io::Result<()> {
        let mut max = self.max_offset();
        while max > self.min_offset() {
            match self.get(max - 1) {
                Some(u) if u.commit_log_offset >= commit_log_end => max -= 1,
                _ => break,
            }
        }
        if max != self.max_offset() {
            let mut files = self.files.write().expect("cq files lock");
            self.truncate_files_at(&mut files, max as u64 * UNIT_SIZE as u64)?;
            self.max_offset.store(max, Ordering::Release);
        }
        Ok(())
    }

    /// After CommitLog segments were deleted: drops files whose every unit points below
    /// `commit_log_min`, never the last file, and moves the min offset to the first unit that
    /// still has its record (`deleteExpiredFile` + `correctMinOffset`).
    pub fn delete_below(&self, commit_log_min: i64) -> io::Result<usize> {
        let mut removed = 0;
        {
            let mut files = self.files.write().expect("cq files lock");
            while files.len() > 1 {
                let first = &files[0];
                let last_unit = CqUnit::decode(first.read(first.len() - UNIT_SIZE, UNIT_SIZE));
                if last_unit.commit_log_offset + i64::from(last_unit.size) > commit_log_min {
                    break;
                }
                let path = first.path().to_owned();
                files.remove(0);
                std::fs::remove_file(path)?;
                removed += 1;
            }
        }
        let mut min = self.min_offset().max(
            self.files
                .read()
                .expect("cq files lock")
                .first()
                .map_or(0, |f| (f.start_offset() / UNIT_SIZE as u64) as i64),
        );
        while min < self.max_offset() {
            match self.get_unchecked(min) {
                Some(u) if u.commit_log_offset < commit_log_min || u == CqUnit::blank() => min += 1,
                _ => break,
            }
        }
        self.min_offset.store(min, Ordering::Release);
        Ok(removed)
    }

    fn get_unchecked(&self, offset: i64) -> Option<CqUnit> {
        let byte_pos = offset as u64 * UNIT_SIZE as u64;
        let file = self.file_for(byte_pos)?;
        let pos = (byte_pos - file.start_offset()) as usize;
        Some(CqUnit::decode(file.read(pos, UNIT_SIZE)))
    }

    /// Flushes every file.
    pub fn flush(&self) -> io::Result<()> {
        for file in self.files.read().expect("cq files lock").iter() {
            file.flush(0, file.len())?;
        }
        Ok(())
    }
}

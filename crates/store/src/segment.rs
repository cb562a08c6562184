//! A fixed-size, memory-mapped file: one CommitLog segment.
//!
//! The only `unsafe` of the store lives here: the mapping, a few plain syscalls (readahead,
//! page size, thread priority, statvfs) and one `madvise` that memmap2 marks unsafe. The
//! mapping is shared between one writer (which copies records into bytes at or after the
//! write position, under the CommitLog's writer lock) and any number of readers (which only
//! read bytes below the published write position). Published bytes are never written again
//! while the segment is open, so readers and the writer never touch the same bytes at the
//! same time.
//!
//! Finished pages are unmapped before they are written back, so that cleaning them costs
//! one TLB shoot-down instead of one per page ([`Segment::flush_appended`]); what pages the
//! writer gets is the [`PagePolicy`].
#![allow(unsafe_code)]

use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// What page-cache pages the writer's appends land in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePolicy {
    /// One page per folio (SYNC_FLUSH). A sync every few hundred microseconds covers the
    /// latest appends, and writeback writes a folio whole: with the kernel's large folios a
    /// sync rewrote up to 2 MiB around the write position, 10 to 100 times the bytes appended
    /// (store bench, 1024 and 64 putters on a simulated 4 ms disk), which a disk with a few
    /// milliseconds per sync has no bandwidth for.
    SinglePages,
    /// Whatever the kernel's read-around gives, large folios in practice (ASYNC_FLUSH). A
    /// flush every half second rewrites at most the folio at the write position, and large
    /// folios fault in three times faster than single pages, which a single putter at
    /// 800 MB/s needs.
    LargeFolios,
}

impl PagePolicy {
    pub fn for_flush(flush: crate::config::FlushDiskType) -> PagePolicy {
        match flush {
            crate::config::FlushDiskType::SyncFlush => PagePolicy::SinglePages,
            crate::config::FlushDiskType::AsyncFlush => PagePolicy::LargeFolios,
        }
    }
}

#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    start_offset: u64,
    len: usize,
    file: File,
    mmap: MmapMut,
    ptr: *mut u8,
}

// SAFETY: `ptr` points into `mmap`, which lives as long as the segment. Concurrent access
// follows the discipline in the module doc: disjoint writes under the writer lock, reads only
// of published (no longer written) bytes.
unsafe impl Send for Segment {}
// SAFETY: as above.
unsafe impl Sync for Segment {}

/// The 20-digit file name of a segment starting at `offset` (`UtilAll.offset2FileName`).
pub fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

impl Segment {
    /// Opens or creates the segment file at full size (sparse: unwritten bytes read as zero).
    pub fn open(dir: &Path, start_offset: u64, len: u64) -> io::Result<Segment> {
        let mut segment = Self::open_named(dir, &file_name(start_offset), len)?;
        segment.start_offset = start_offset;
        Ok(segment)
    }

    /// Opens or creates a fixed-size file with any name (index files are named by time).
    pub fn open_named(dir: &Path, name: &str, len: u64) -> io::Result<Segment> {
        let start_offset = 0;
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let actual = file.metadata()?.len();
        if actual == 0 {
            file.set_len(len)?;
        } else if actual != len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is {actual} bytes, expected the segment size {len}",
                    path.display()
                ),
            ));
        }
        let len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment too large"))?;
        // SAFETY: the file is opened read-write and sized to `len`; nothing else in this
        // process truncates it while mapped (deletion unmaps first by dropping the segment).
        let mut mmap = unsafe { memmap2::MmapOptions::new().map_mut(&file)? };
        let ptr = mmap.as_mut_ptr();
        Ok(Segment {
            path,
            start_offset,
            len,
            file,
            mmap,
            ptr,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the file its final name (a pre-allocated segment going into use). The mapping
    /// is unaffected by the rename.
    pub fn rename_to(&mut self, path: PathBuf, start_offset: u64) -> io::Result<()> {
        std::fs::rename(&self.path, &path)?;
        self.path = path;
        self.start_offset = start_offset;
        Ok(())
    }

    pub fn start_offset(&self) -> u64 {
        self.start_offset
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `data` to `pos`.
    ///
    /// The caller must hold the writer's exclusive right to `pos..pos+data.len()`: those bytes
    /// are not yet published to readers and no other write covers them.
    pub fn write_at(&self, pos: usize, data: &[u8]) {
        assert!(
            pos.checked_add(data.len())
                .is_some_and(|end| end <= self.len),
            "write past segment end"
        );
        // SAFETY: bounds checked above; exclusivity of the range is the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(pos), data.len()) }
    }

    /// A mutable view of unpublished bytes, for encoding a record in place.
    ///
    /// Same contract as [`write_at`](Self::write_at).
    #[allow(clippy::mut_from_ref)]
    pub fn unpublished_mut(&self, pos: usize, len: usize) -> &mut [u8] {
        assert!(
            pos.checked_add(len).is_some_and(|end| end <= self.len),
            "range past segment end"
        );
        // SAFETY: bounds checked; the range is exclusively the writer's until it is published.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(pos), len) }
    }

    /// Faults `from..from+len` in writable, content unchanged, on the caller's thread, so
    /// appends landing there later take no fault at all. (Read-only population still left a
    /// write fault with ext4's block reservation per page to the writer: 27 % of SYNC put CPU
    /// in perf.)
    ///
    /// `MADV_POPULATE_WRITE` maps the pages writable and reserves their blocks. Left to the
    /// fault alone, the kernel reads around the first one (the device's `read_ahead_kb`, 8 MiB
    /// on the VMs measured) into large folios, in one stretch that a non-preemptive kernel
    /// does not interrupt. With [`PagePolicy::SinglePages`] it goes chunk by chunk, and
    /// `readahead` first puts each chunk's fresh pages into the page cache — zero-filled, one
    /// page per folio, never over a page already cached — so the fault finds them there (and
    /// the range is `MADV_RANDOM`, see [`expect_appends_from`](Self::expect_appends_from)).
    ///
    /// The pages become dirty zeros; if writeback gets to them before the writer does, they
    /// are written once more — zeros, which recovery reads as the end of the log, as it reads
    /// the holes of a sparse file.
    pub fn prefault(&self, from: usize, len: usize, pages: PagePolicy) -> io::Result<()> {
        const CHUNK: usize = 256 << 10;
        let end = from.saturating_add(len).min(self.len);
        if pages == PagePolicy::LargeFolios {
            return match end.checked_sub(from) {
                Some(len) if len > 0 => {
                    self.mmap
                        .advise_range(memmap2::Advice::PopulateWrite, from, len)
                }
                _ => Ok(()),
            };
        }
        let mut at = from;
        while at < end {
            let n = CHUNK.min(end - at);
            self.read_ahead(at, n);
            self.mmap
                .advise_range(memmap2::Advice::PopulateWrite, at, n)?;
            at += n;
        }
        Ok(())
    }

    /// Asks the kernel to bring `from..from+len` into the page cache (a hint: failure only
    /// leaves the work to the fault).
    fn read_ahead(&self, from: usize, len: usize) {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain syscall on a file descriptor this segment owns; no memory is passed.
        let result = unsafe { libc::readahead(self.file.as_raw_fd(), from as libc::off64_t, len) };
        if result != 0 {
            tracing::trace!("readahead: {}", io::Error::last_os_error());
        }
    }

    /// Appends land in `from..` from now on, in single pages ([`PagePolicy::SinglePages`]):
    /// faults there read nothing around them (`MADV_RANDOM`), should the writer overtake
    /// [`prefault`](Self::prefault). The bytes below keep the default read-around for
    /// readers catching up from disk.
    pub fn expect_appends_from(&self, from: usize) {
        let start = from / page_size() * page_size();
        if start < self.len {
            if let Err(e) = self
                .mmap
                .advise_range(memmap2::Advice::Random, start, self.len - start)
            {
                tracing::debug!("madvise(MADV_RANDOM) on {}: {e}", self.path.display());
            }
        }
    }

    /// The writer has left the segment: reads get the default read-around again.
    pub fn appends_done(&self) {
        if let Err(e) = self.mmap.advise(memmap2::Advice::Normal) {
            tracing::debug!("madvise(MADV_NORMAL) on {}: {e}", self.path.display());
        }
    }

    /// Bytes `pos..pos+len`, which must lie below the published write position.
    pub fn read(&self, pos: usize, len: usize) -> &[u8] {
        assert!(
            pos.checked_add(len).is_some_and(|end| end <= self.len),
            "read past segment end"
        );
        // SAFETY: bounds checked; published bytes are not written while readers may see them.
        unsafe { std::slice::from_raw_parts(self.ptr.add(pos), len) }
    }

    /// Writes dirty pages of `from..to` to disk and waits (msync + fdatasync semantics).
    pub fn flush(&self, from: usize, to: usize) -> io::Result<()> {
        if to > from {
            self.mmap.flush_range(from, to - from)?;
        }
        Ok(())
    }

    /// [`flush`](Self::flush) for appended bytes, `to` being at or below the write position:
    /// first unmaps the pages lying wholly inside `from..to` (`MADV_DONTNEED`; on a shared
    /// file mapping the page cache keeps the pages and their dirty state, and a later read
    /// maps them again). Writeback write-protects every page it cleans that is mapped
    /// writable, one TLB shoot-down (an inter-processor interrupt, a VM exit on a VM) per
    /// page: unmapping the whole range first costs one. Those pages are finished — the writer
    /// only writes at or after `to` — so only the page holding `to`, which it is still
    /// filling, stays mapped.
    pub fn flush_appended(&self, from: usize, to: usize) -> io::Result<()> {
        let page = page_size();
        let (first, last) = (from.div_ceil(page) * page, to / page * page);
        if last > first {
            // SAFETY: on a shared file mapping MADV_DONTNEED only drops this process's page
            // table entries: the file's bytes stay in the page cache (dirty ones stay dirty)
            // and any access to the range, including through slices readers hold, maps them
            // again. It never discards data, unlike on a private mapping.
            let dropped = unsafe {
                self.mmap.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    first,
                    last - first,
                )
            };
            if let Err(e) = dropped {
                tracing::debug!("madvise(MADV_DONTNEED) on {}: {e}", self.path.display());
            }
        }
        self.flush(from, to)
    }

    /// Zeroes `from..` so a later scan stops there (recovery truncation): shrinking the file
    /// drops those pages and growing it back leaves a sparse, zero-filled tail, without
    /// touching up to a gigabyte of memory. Needs exclusive access to the segment.
    pub fn zero_from(&self, from: usize) -> io::Result<()> {
        if from < self.len {
            self.file.set_len(from as u64)?;
            self.file.set_len(self.len as u64)?;
            self.file.sync_all()?;
        }
        Ok(())
    }

    pub fn sync_metadata(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

/// The size of a memory page, for aligning `madvise` ranges.
fn page_size() -> usize {
    static PAGE_SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE_SIZE.get_or_init(|| {
        // SAFETY: sysconf reads a constant of the system.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|&s| s > 0)
            .unwrap_or(4096)
    })
}

/// Background work should not take CPU from puts when both want it: nice 10 for the calling
/// thread (Linux applies `setpriority` to a single thread when given its id).
pub fn lower_thread_priority() {
    // SAFETY: plain syscalls on the calling thread's own id; no memory is passed.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10)
    };
    if result != 0 {
        tracing::debug!(
            "could not lower the background thread's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The space of the file system holding `path`, in bytes: what Java's `File.getTotalSpace`,
/// `getFreeSpace` (blocks reserved for root included) and `getUsableSpace` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    pub free: u64,
    pub usable: u64,
}

impl DiskSpace {
    /// `UtilAll.getDiskPartitionSpaceUsedPercent`, as a fraction: used ÷ (used + usable),
    /// rounded up to a hundredth — the `Use%` of `df`. Blocks reserved for root count as
    /// neither, so on a file system with a large reserve this is well below
    /// `1 - usable / total`. -1 when the file system reports no size.
    pub fn used_ratio(&self) -> f64 {
        let used = self.total.saturating_sub(self.free);
        let entire = used + self.usable;
        if self.total == 0 || entire == 0 {
            return -1.0;
        }
        let (used, entire) = (u128::from(used), u128::from(entire));
        let percent = (used * 100).div_ceil(entire);
        percent as f64 / 100.0
    }
}

pub fn disk_space(path: &std::path::Path) -> io::Result<DiskSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` is writable memory of the
    // right type; statvfs fills it completely when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so `stat` is initialised.
    let stat = unsafe { stat.assume_init() };
    // The field types (`c_ulong`, `fsblkcnt_t`) are u64 here but narrower on other targets.
    #[allow(clippy::unnecessary_cast)]
    let (block, blocks, free, usable) = (
        stat.f_frsize as u64,
        stat.f_blocks as u64,
        stat.f_bfree as u64,
        stat.f_bavail as u64,
    );
    Ok(DiskSpace {
        total: blocks * block,
        free: free * block,
        usable: usable * block,
    })
}

/// The used fraction of the file system holding `path`, as Java computes it
/// ([`DiskSpace::used_ratio`]).
pub fn disk_usage(path: &std::path::Path) -> io::Result<f64> {
    Ok(disk_space(path)?.used_ratio())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_is_javas_df_style_percentage() {
        // This machine's root file system: 270.5 GB, 225 GB free of which 52 GB usable
        // (the rest reserved). df and Java say 47 %; 1 - usable/total would say 81 %.
        let space = DiskSpace {
            total: 66_053_021 * 4096,
            free: 54_942_269 * 4096,
            usable: 12_710_720 * 4096,
        };
        assert_eq!(space.used_ratio(), 0.47);
        // Rounded up to the next hundredth, exact hundredths kept.
        let space = |used: u64, usable: u64| DiskSpace {
            total: used + usable,
            free: usable,
            usable,
        };
        assert_eq!(space(1, 999).used_ratio(), 0.01);
        assert_eq!(space(50, 50).used_ratio(), 0.5);
        assert_eq!(space(0, 100).used_ratio(), 0.0);
        assert_eq!(
            DiskSpace {
                total: 0,
                free: 0,
                usable: 0
            }
            .used_ratio(),
            -1.0
        );
        let here = disk_space(Path::new(".")).unwrap();
        assert!(here.total >= here.free && here.free >= here.usable);
        assert!((0.0..=1.0).contains(&here.used_ratio()));
    }
}

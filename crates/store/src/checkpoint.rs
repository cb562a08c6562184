//! The `checkpoint`, `abort` and `lock` files of the store root.
//!
//! ```text
//! checkpoint (4096 bytes): physicMsgTimestamp i64 | logicsMsgTimestamp i64 | indexMsgTimestamp i64 | zeros
//! ```
//! `abort` exists while the store is open: found at start, the last run crashed. `lock` is held
//! with an exclusive file lock so that two brokers never share a store.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub const CHECKPOINT_LEN: usize = 4096;

/// The three timestamps of `StoreCheckpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
}

impl Checkpoint {
    pub fn encode(&self) -> [u8; CHECKPOINT_LEN] {
        let mut b = [0u8; CHECKPOINT_LEN];
        b[0..8].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.logics_msg_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.index_msg_timestamp.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<Checkpoint> {
        let at = |o: usize| Some(i64::from_be_bytes(b.get(o..o + 8)?.try_into().ok()?));
        Some(Checkpoint {
            physic_msg_timestamp: at(0)?,
            logics_msg_timestamp: at(8)?,
            index_msg_timestamp: at(16)?,
        })
    }

    /// Reads `<root>/checkpoint`; a missing or short file is an empty checkpoint.
    pub fn load(root: &Path) -> io::Result<Checkpoint> {
        match File::open(root.join("checkpoint")) {
            Ok(mut f) => {
                let mut buf = Vec::new();
                f.read_to_end(&mut buf)?;
                Ok(Checkpoint::decode(&buf).unwrap_or_default())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes and syncs `<root>/checkpoint`.
    pub fn store(&self, root: &Path) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(root.join("checkpoint"))?;
        f.write_all(&self.encode())?;
        f.sync_data()
    }
}

/// Holds the store's `lock` file and its `abort` marker for as long as the store is open.
#[derive(Debug)]
pub struct RunGuard {
    root: PathBuf,
    lock: File,
    /// The `abort` file was there when the store opened: the previous run did not shut down.
    pub previous_run_crashed: bool,
}

impl RunGuard {
    pub fn acquire(root: &Path) -> io::Result<RunGuard> {
        std::fs::create_dir_all(root)?;
        let lock = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(root.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "Lock failed, MQ already started: {} is in use by another process",
                        root.display()
                    ),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        let abort = root.join("abort");
        let previous_run_crashed = abort.exists();
        File::create(&abort)?.sync_all()?;
        Ok(RunGuard {
            root: root.to_owned(),
            lock,
            previous_run_crashed,
        })
    }

    /// A clean shutdown: remove `abort` (the lock goes with the file handle).
    pub fn release(self) -> io::Result<()> {
        std::fs::remove_file(self.root.join("abort"))?;
        drop(self.lock);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_layout() {
        let c = Checkpoint {
            physic_msg_timestamp: 1_795_243_809_671,
            logics_msg_timestamp: 1_795_243_809_671,
            index_msg_timestamp: 0,
        };
        let golden = include_bytes!("../../../testdata/golden/store/checkpoint");
        assert_eq!(
            &c.encode()[..],
            &golden[..],
            "matches the checkpoint Java wrote"
        );
        assert_eq!(Checkpoint::decode(golden), Some(c));
    }
}

//! Store settings, read under the Java `MessageStoreConfig` key names.

use crate::delay::DelayLevels;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// The put returns once the record is in the page cache; a background task flushes.
    AsyncFlush,
    /// The put returns once an fdatasync covering it has returned.
    SyncFlush,
}

/// `brokerRole`: what the store of this broker is in a master/slave pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// A master whose puts do not wait for a slave (the default).
    AsyncMaster,
    /// A master whose waiting puts also wait for a slave to hold the message. Ferrocket has no
    /// replication yet, so no slave ever is available: such puts are stored and report
    /// SLAVE_NOT_AVAILABLE, as a Java SYNC_MASTER does while its slave is away.
    SyncMaster,
    /// A slave: puts from clients are refused.
    Slave,
}

impl BrokerRole {
    /// The Java name, as `broker.conf` spells it.
    pub fn name(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    pub fn parse(name: &str) -> Option<BrokerRole> {
        [
            BrokerRole::AsyncMaster,
            BrokerRole::SyncMaster,
            BrokerRole::Slave,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }

    pub fn is_master(self) -> bool {
        self != BrokerRole::Slave
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// `storePathRootDir`: holds `commitlog/`, `consumequeue/`, `index/`, `checkpoint`, `abort`.
    pub root_dir: PathBuf,
    /// `mappedFileSizeCommitLog`, bytes per CommitLog segment (1 GiB).
    pub commit_log_segment_bytes: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `syncFlushTimeout`: a SYNC_FLUSH put not flushed by then reports FLUSH_DISK_TIMEOUT.
    pub sync_flush_timeout: Duration,
    /// `flushIntervalCommitLog`: the ASYNC_FLUSH background flush period.
    pub flush_interval: Duration,
    /// `flushIntervalConsumeQueue`: how often consume queues are flushed and the checkpoint
    /// written (recovery after a crash starts at the checkpoint).
    pub flush_interval_consume_queue: Duration,
    /// `maxMessageSize`: largest body accepted, bytes.
    pub max_message_bytes: usize,
    /// `checkCRCOnRecover`.
    pub check_crc_on_recover: bool,
    /// `mappedFileSizeConsumeQueue` ÷ 20: units per consume-queue file.
    pub consume_queue_units_per_file: u64,
    /// `messageIndexEnable`: build index files for lookup by key.
    pub message_index_enable: bool,
    /// `maxHashSlotNum`.
    pub index_hash_slots: u32,
    /// `maxIndexNum`.
    pub index_num: u32,
    /// `fileReservedTime`: CommitLog segments older than this many hours may be deleted.
    pub file_reserved_hours: u64,
    /// `deleteWhen`: hours of the day (UTC here; Java uses local time) when expired files go.
    pub delete_when_hours: Vec<u32>,
    /// `diskMaxUsedSpaceRatio` (percent): above it expired files go at any hour.
    pub disk_max_used_space_ratio: u32,
    /// `brokerRole`.
    pub broker_role: BrokerRole,
    /// `offsetCheckInSlave`: a slave answers a pull for an offset its queue does not hold
    /// with OFFSET_MOVED (true) or PULL_RETRY_IMMEDIATELY (false, the default).
    pub offset_check_in_slave: bool,
    /// `messageDelayLevel`: the delay of each level a message's `DELAY` can ask for.
    pub message_delay_level: DelayLevels,
    /// `flushDelayOffsetInterval`: how often the scheduler's progress (`delayOffset.json`)
    /// is written.
    pub flush_delay_offset_interval: Duration,
    /// `accessMessageInMemoryMaxRatio` (percent of physical memory): a message further than
    /// that behind the CommitLog's end counts as on disk, where a pull takes at most 8
    /// messages / 64 KiB (32 / 256 KiB in memory) and is told to go to a slave.
    pub access_message_in_memory_max_ratio: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            root_dir: PathBuf::from("store"),
            commit_log_segment_bytes: 1 << 30,
            flush_disk_type: FlushDiskType::AsyncFlush,
            sync_flush_timeout: Duration::from_secs(5),
            flush_interval: Duration::from_millis(500),
            flush_interval_consume_queue: Duration::from_millis(1000),
            max_message_bytes: 4 * 1024 * 1024,
            check_crc_on_recover: true,
            consume_queue_units_per_file: crate::consume_queue::DEFAULT_UNITS_PER_FILE,
            message_index_enable: true,
            index_hash_slots: crate::index::DEFAULT_HASH_SLOTS,
            index_num: crate::index::DEFAULT_INDEX_NUM,
            file_reserved_hours: 72,
            delete_when_hours: vec![4],
            disk_max_used_space_ratio: 75,
            broker_role: BrokerRole::AsyncMaster,
            offset_check_in_slave: false,
            message_delay_level: DelayLevels::default(),
            flush_delay_offset_interval: Duration::from_secs(10),
            access_message_in_memory_max_ratio: 40,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("invalid value `{value}` for `{key}`: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: &'static str,
    },
}

impl StoreConfig {
    pub fn commit_log_dir(&self) -> PathBuf {
        self.root_dir.join("commitlog")
    }

    /// The settings under their Java key names, in the form [`set`](Self::set) reads back
    /// (GET_BROKER_CONFIG shows them).
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let millis = |d: Duration| d.as_millis().to_string();
        vec![
            ("storePathRootDir", self.root_dir.display().to_string()),
            (
                "mappedFileSizeCommitLog",
                self.commit_log_segment_bytes.to_string(),
            ),
            (
                "flushDiskType",
                match self.flush_disk_type {
                    FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
                    FlushDiskType::SyncFlush => "SYNC_FLUSH",
                }
                .to_owned(),
            ),
            ("syncFlushTimeout", millis(self.sync_flush_timeout)),
            ("flushIntervalCommitLog", millis(self.flush_interval)),
            (
                "flushIntervalConsumeQueue",
                millis(self.flush_interval_consume_queue),
            ),
            ("maxMessageSize", self.max_message_bytes.to_string()),
            ("checkCRCOnRecover", self.check_crc_on_recover.to_string()),
            ("messageIndexEnable", self.message_index_enable.to_string()),
            (
                "mappedFileSizeConsumeQueue",
                (self.consume_queue_units_per_file * 20).to_string(),
            ),
            ("fileReservedTime", self.file_reserved_hours.to_string()),
            (
                "deleteWhen",
                self.delete_when_hours
                    .iter()
                    .map(|h| format!("{h:02}"))
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            (
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio.to_string(),
            ),
            ("maxHashSlotNum", self.index_hash_slots.to_string()),
            ("maxIndexNum", self.index_num.to_string()),
            ("brokerRole", self.broker_role.name().to_owned()),
            ("offsetCheckInSlave", self.offset_check_in_slave.to_string()),
            (
                "messageDelayLevel",
                self.message_delay_level.as_text().to_owned(),
            ),
            (
                "flushDelayOffsetInterval",
                millis(self.flush_delay_offset_interval),
            ),
            (
                "accessMessageInMemoryMaxRatio",
                self.access_message_in_memory_max_ratio.to_string(),
            ),
        ]
    }

    /// Applies one `key=value` setting. Returns `Ok(false)` for a key the store does not know
    /// (the caller warns), an error naming the key for a value it cannot use.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let invalid = |reason| ConfigError::Invalid {
            key: key.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let boolean = || match value.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid("expected true or false")),
        };
        let millis = || {
            value
                .trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid("expected milliseconds"))
        };
        match key {
            "storePathRootDir" => self.root_dir = PathBuf::from(value.trim()),
            "mappedFileSizeCommitLog" => {
                let bytes: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected a byte count"))?;
                if bytes < 4096 {
                    return Err(invalid("must be at least 4096"));
                }
                self.commit_log_segment_bytes = bytes;
            }
            "flushDiskType" => {
                self.flush_disk_type = match value.trim() {
                    "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                    "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                    _ => return Err(invalid("expected ASYNC_FLUSH or SYNC_FLUSH")),
                }
            }
            "syncFlushTimeout" => self.sync_flush_timeout = millis()?,
            "flushIntervalCommitLog" => self.flush_interval = millis()?,
            "flushIntervalConsumeQueue" => self.flush_interval_consume_queue = millis()?,
            "maxMessageSize" => {
                self.max_message_bytes = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected a byte count"))?
            }
            "checkCRCOnRecover" => self.check_crc_on_recover = boolean()?,
            "accessMessageInMemoryMaxRatio" => {
                self.access_message_in_memory_max_ratio = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected a percentage"))?
            }
            "messageIndexEnable" => self.message_index_enable = boolean()?,
            "mappedFileSizeConsumeQueue" => {
                let bytes: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected a byte count"))?;
                if bytes < 20 || !bytes.is_multiple_of(20) {
                    return Err(invalid("must be a positive multiple of 20"));
                }
                self.consume_queue_units_per_file = bytes / 20;
            }
            "fileReservedTime" => {
                self.file_reserved_hours = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("expected hours"))?
            }
            "deleteWhen" => {
                self.delete_when_hours = value
                    .split(';')
                    .map(|h| h.trim().parse::<u32>().ok().filter(|&h| h < 24))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| invalid("expected hours 00-23 separated by ';'"))?
            }
            "diskMaxUsedSpaceRatio" => {
                self.disk_max_used_space_ratio = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&r| (10..=95).contains(&r))
                    .ok_or_else(|| invalid("expected a percentage from 10 to 95"))?
            }
            "maxHashSlotNum" => {
                self.index_hash_slots = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| invalid("expected a positive count"))?
            }
            "maxIndexNum" => {
                self.index_num = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&n| n > 1)
                    .ok_or_else(|| invalid("expected a count above 1"))?
            }
            "brokerRole" => {
                self.broker_role = BrokerRole::parse(value.trim())
                    .ok_or_else(|| invalid("expected ASYNC_MASTER, SYNC_MASTER or SLAVE"))?
            }
            "offsetCheckInSlave" => self.offset_check_in_slave = boolean()?,
            "messageDelayLevel" => {
                self.message_delay_level = DelayLevels::parse(value.trim()).map_err(invalid)?
            }
            "flushDelayOffsetInterval" => self.flush_delay_offset_interval = millis()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_back_to_the_same_config() {
        let mut c = StoreConfig::default();
        c.set("deleteWhen", "04;16").unwrap();
        c.set("flushDiskType", "SYNC_FLUSH").unwrap();
        c.set("syncFlushTimeout", "250").unwrap();
        c.set("brokerRole", "SYNC_MASTER").unwrap();
        c.set("offsetCheckInSlave", "true").unwrap();
        c.set("messageDelayLevel", "1s 2m 3h").unwrap();
        let mut back = StoreConfig::default();
        for (k, v) in c.to_properties() {
            assert_eq!(back.set(k, &v), Ok(true), "{k}={v}");
        }
        assert_eq!(back, c);
        assert!(c
            .to_properties()
            .contains(&("deleteWhen", "04;16".to_owned())));
    }

    #[test]
    fn java_keys_and_errors() {
        let mut c = StoreConfig::default();
        assert_eq!(c.set("flushDiskType", "SYNC_FLUSH"), Ok(true));
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.set("mappedFileSizeCommitLog", "65536"), Ok(true));
        assert_eq!(c.commit_log_segment_bytes, 65536);
        assert_eq!(c.set("syncFlushTimeout", "100"), Ok(true));
        assert_eq!(c.sync_flush_timeout, Duration::from_millis(100));
        assert_eq!(c.set("noSuchKey", "1"), Ok(false));
        let err = c.set("messageDelayLevel", "1s 5x").unwrap_err();
        assert!(err.to_string().contains("messageDelayLevel"), "{err}");
        let err = c.set("flushDiskType", "SOMETIMES").unwrap_err();
        assert!(err.to_string().contains("flushDiskType"));
        assert!(c.set("mappedFileSizeCommitLog", "12").is_err());
        assert_eq!(c.set("deleteWhen", "04;16"), Ok(true));
        assert_eq!(c.delete_when_hours, vec![4, 16]);
        assert!(c.set("deleteWhen", "25").is_err());
        assert!(c.set("diskMaxUsedSpaceRatio", "99").is_err());
        assert_eq!(c.set("brokerRole", "SLAVE"), Ok(true));
        assert_eq!(c.broker_role, BrokerRole::Slave);
        let err = c.set("brokerRole", "MASTER").unwrap_err();
        assert!(err.to_string().contains("brokerRole"), "{err}");
        assert_eq!(
            c.broker_role,
            BrokerRole::Slave,
            "a bad value changes nothing"
        );
    }
}

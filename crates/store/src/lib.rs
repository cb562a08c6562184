//! The message store: what the broker keeps on disk, with no network code.
//!
//! So far this crate owns the CommitLog ([`commitlog`]): fixed-size memory-mapped segments
//! ([`segment`]) in RocketMQ's naming and record format, one short-lock writer that assigns
//! physical offsets, queue offsets and store timestamps, group-commit flushing for
//! SYNC_FLUSH and periodic flushing for ASYNC_FLUSH ([`flush`]), zero-copy reads, and tail
//! recovery that truncates a torn or corrupted end; the consume queues ([`consume_queue`])
//! built from it; the [`message_store`] that reads by queue with Java's statuses; and the
//! put and read statistics Java's broker reports ([`stats`]); the delay levels that give
//! scheduled records their due time ([`delay`]).
//! Settings use the Java key names ([`config`]).

pub mod checkpoint;
pub mod commitlog;
pub mod config;
pub mod consume_queue;
pub mod delay;
mod error;
mod flush;
pub mod index;
pub mod message_store;
pub mod segment;
pub mod stats;

pub use commitlog::{
    AppendResult, CommitLog, DispatchRequest, Dispatcher, PutMessage, PutResult, PutStatus,
    RecoveryReport, SegmentSlice,
};
pub use config::{BrokerRole, FlushDiskType, StoreConfig};
pub use consume_queue::{ConsumeQueue, CqUnit};
pub use delay::DelayLevels;
pub use error::StoreError;
pub use message_store::{
    CleanReport, GetMessageResult, GetMessageStatus, MessageStore, PutWait, QueryResult, QueueUnits,
};

//! Consumers: the push consumer (long-polling pull loops under a listener), the lite pull
//! consumer (poll), and what they share — pulls, offset stores, queue allocation and the
//! broker requests about offsets.

pub mod allocate;
pub(crate) mod broker_api;
pub mod lite_pull;
pub(crate) mod offset_store;
pub(crate) mod process_queue;
pub(crate) mod pull;
pub mod push;

pub use ferrocket_protocol::body::{ConsumeFromWhere, MessageModel};

/// Largest body a consumer inflates from a compressed message.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// Where a consumer group without a committed offset starts, with the timestamp used by
/// [`ConsumeFromWhere::ConsumeFromTimestamp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPosition {
    pub from: ConsumeFromWhere,
    /// Unix milliseconds for `ConsumeFromTimestamp` (Java's default: half an hour ago).
    pub timestamp_ms: i64,
}

impl Default for StartPosition {
    fn default() -> Self {
        StartPosition {
            from: ConsumeFromWhere::ConsumeFromLastOffset,
            timestamp_ms: now_ms() - 30 * 60 * 1000,
        }
    }
}

pub(crate) use ferrocket_common::time::now_ms;

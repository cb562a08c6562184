//! Domain types and on-the-wire / on-disk message formats of RocketMQ 4.x, with no I/O.
//!
//! This crate owns what a message *is*: the CommitLog / pull record layout ([`record`]),
//! the properties string ([`properties`]), sysFlag bits ([`sysflag`]), the body CRC ([`crc`]),
//! message ids ([`message_id`]), the consume-queue tag hash ([`tag`]), the SEND_BATCH_MESSAGE
//! body ([`batch`]), body compression ([`compression`]), Java properties text for config files
//! ([`config_text`]), numbers formatted as Java formats them ([`java_format`]), SQL92 message
//! selectors ([`sql92`]) and the validated names and
//! offsets that the rest of the workspace passes around ([`names`], [`ids`]).
//!
//! Everything here is pure and total: decoders return [`CodecError`] for any malformed
//! input and never panic, so they can be fed arbitrary bytes.

pub mod batch;
pub mod compression;
pub mod config_text;
pub mod crc;
mod error;
pub mod ids;
pub mod java_format;
pub mod message_id;
pub mod names;
pub mod properties;
pub mod record;
pub mod sql92;
pub mod sysflag;
pub mod tag;
pub mod time;

pub use error::CodecError;
pub use ids::{CommitLogOffset, QueueId, QueueOffset};
pub use names::{GroupName, NameError, TopicName, TopicNameRef};
pub use properties::Properties;
pub use record::{MessageRecord, RecordView};

//! One module per group of request codes; each handler reads its header and body, acts on
//! the broker's state and store, and builds the response Java would send.

/// `FAQUrl.suggestTodo(...)`: the tail Java adds to many remarks.
const FAQ: &str = "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";

/// The stored record an offset message id names (Java's `MessageDecoder.decodeMessageId`
/// then a read at its CommitLog offset); `None` for a missing or malformed id or no record.
fn record_by_offset_id(
    broker: &crate::Broker,
    msg_id: Option<&str>,
) -> Option<ferrocket_store::SegmentSlice> {
    let id = ferrocket_common::message_id::OffsetMessageId::decode(msg_id?).ok()?;
    let offset = u64::try_from(id.commit_log_offset).ok()?;
    broker.store.commit_log().record_at(offset)
}

pub mod acl;
pub mod admin;
pub mod call_consumer;
pub mod clients;
pub mod offsets;
pub mod progress;
pub mod pull;
pub mod query;
pub mod reply;
pub mod send;
pub mod send_back;
pub mod transaction;

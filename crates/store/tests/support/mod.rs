//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

pub use ferrocket_testkit::TempDir;

/// A plain message for `topic`/`queue_id`; the store fills in offsets and timestamps.
pub fn message<'a>(
    topic: &'a str,
    queue_id: i32,
    body: &'a [u8],
    properties: &'a str,
) -> ferrocket_store::PutMessage<'a> {
    ferrocket_store::PutMessage {
        topic,
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.5:50000".parse().unwrap(),
        store_host: "10.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties,
    }
}

//! Golden test: the consume queue of `SCHEDULE_TOPIC_XXXX` that Apache RocketMQ 4.9.8 built
//! holds each scheduled record's due time (store time + its level's delay) in place of a tag
//! hash; dispatching the Java CommitLog must give the same unit bytes.

use ferrocket_common::names;
use ferrocket_common::record::{peek, Peek, RecordView};
use ferrocket_store::consume_queue::CqUnit;
use ferrocket_store::{DelayLevels, DispatchRequest};

const COMMITLOG: &[u8] =
    include_bytes!("../../../testdata/golden/store/commitlog/00000000000000000000");
/// Queue 2 = delay level 3 (10 s): one retry on its way back to `%RETRY%<group>`.
const SCHEDULE_QUEUE_2: &[u8] = include_bytes!(
    "../../../testdata/golden/store/consumequeue/SCHEDULE_TOPIC_XXXX/2/00000000000000000000"
);

#[test]
fn scheduled_records_dispatch_to_the_java_units() {
    let mut units = Vec::new();
    let mut pos = 0;
    while pos < COMMITLOG.len() {
        let Peek::Message { total_size } = peek(&COMMITLOG[pos..]) else {
            panic!("record expected at {pos}")
        };
        let v = RecordView::decode(&COMMITLOG[pos..], true).unwrap();
        if v.topic == names::SCHEDULE_TOPIC && v.header.queue_id == 2 {
            let r = DispatchRequest::from_record(&v, pos as u64, DelayLevels::java_default());
            assert_eq!(r.tags_code, v.header.store_timestamp + 10_000);
            units.extend_from_slice(
                &CqUnit {
                    commit_log_offset: r.physical_offset as i64,
                    size: r.size as i32,
                    tags_code: r.tags_code,
                }
                .encode(),
            );
        }
        pos += total_size as usize;
    }
    assert_eq!(units, SCHEDULE_QUEUE_2);
}

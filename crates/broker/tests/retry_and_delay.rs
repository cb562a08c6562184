//! Delay levels, consumers' send-back, retry and dead-letter topics against a real broker on
//! loopback (behaviour.md §5–§6), with short delay levels so the schedule runs in seconds.

mod support;
use support::*;

use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::properties::find;
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::DelayOffsetSerializeWrapper;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::RemotingClient;
use ferrocket_store::DelayLevels;

const SCHEDULE: &str = "SCHEDULE_TOPIC_XXXX";

async fn start_with_levels(levels: &str) -> Cluster {
    let levels = DelayLevels::parse(levels).unwrap();
    start(move |c| c.store.message_delay_level = levels).await
}

async fn send_back(
    c: &RemotingClient,
    cluster: &Cluster,
    offset: i64,
    delay_level: i32,
    max_reconsume_times: i32,
) -> RemotingCommand {
    let req = RemotingCommand::request_with_header(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset,
            group: "G".into(),
            delay_level,
            origin_msg_id: None,
            origin_topic: None,
            unit_mode: Some(false),
            max_reconsume_times: Some(max_reconsume_times),
            bname: None,
        },
    );
    cluster.call(c, req).await
}

fn props(record: &MessageRecord, key: &str) -> Option<String> {
    find(&record.properties, key).map(str::to_owned)
}

#[tokio::test]
async fn a_delayed_send_waits_in_the_schedule_then_arrives_in_its_topic() {
    let cluster = start_with_levels("1s 2s").await;
    let c = client();
    let sent = send_ok(
        &c,
        &cluster,
        v2("Delayed", 0, "DELAY\u{1}2\u{2}WAIT\u{1}true\u{2}TAGS\u{1}T"),
        b"later",
    )
    .await;
    // Stored in the schedule, queue level - 1, due two seconds after it was stored.
    let scheduled = stored(&cluster, &sent.msg_id);
    assert_eq!(scheduled.topic, SCHEDULE);
    assert_eq!(scheduled.header.queue_id, 1);
    assert_eq!(props(&scheduled, "REAL_TOPIC").as_deref(), Some("Delayed"));
    assert_eq!(props(&scheduled, "REAL_QID").as_deref(), Some("0"));
    assert_eq!(props(&scheduled, "WAIT").as_deref(), Some("true"));
    let due = scheduled.header.store_timestamp + 2_000;
    assert_eq!(cluster.store.unit(SCHEDULE, 1, 0).unwrap().tags_code, due);
    assert_eq!(cluster.store.max_offset("Delayed", 0), 0, "not there yet");

    wait_for_messages(&cluster, "Delayed", 0, 1).await;
    let (_, delivered) = record_in(&cluster, "Delayed", 0, 0);
    assert!(delivered.header.store_timestamp >= due);
    assert_eq!(&delivered.body[..], b"later");
    assert_eq!(
        delivered.properties, scheduled.properties,
        "Java delivers the scheduled properties as they are, DELAY included"
    );
    assert_eq!(
        delivered.header.born_timestamp,
        scheduled.header.born_timestamp
    );

    let resp = cluster
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_ALL_DELAY_OFFSET),
        )
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let offsets: DelayOffsetSerializeWrapper = json::from_slice(resp.body_bytes()).unwrap();
    assert_eq!(
        offsets.offset_table.into_iter().collect::<Vec<_>>(),
        [(2, 1)]
    );
}

#[tokio::test]
async fn send_back_retries_through_the_schedule_then_dead_letters() {
    let cluster = start_with_levels("1s 1s 1s 1s").await;
    let c = client();
    let sent = send_ok(
        &c,
        &cluster,
        v2("Work", 0, "TAGS\u{1}T\u{2}KEYS\u{1}k1"),
        b"job",
    )
    .await;
    let original = OffsetMessageId::decode(&sent.msg_id)
        .unwrap()
        .commit_log_offset;

    let resp = send_back(&c, &cluster, original, 0, 2).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    // Level 3 + reconsumeTimes (0): through the schedule, then to the group's retry topic.
    assert_eq!(cluster.store.max_offset(SCHEDULE, 2), 1);
    wait_for_messages(&cluster, "%RETRY%G", 0, 1).await;
    let (retry_offset, retry) = record_in(&cluster, "%RETRY%G", 0, 0);
    assert_eq!(&retry.body[..], b"job");
    assert_eq!(retry.header.reconsume_times, 1);
    assert_eq!(props(&retry, "RETRY_TOPIC").as_deref(), Some("Work"));
    assert_eq!(
        props(&retry, "ORIGIN_MESSAGE_ID").as_deref(),
        Some(sent.msg_id.as_str())
    );
    assert_eq!(props(&retry, "WAIT").as_deref(), Some("false"));
    assert_eq!(props(&retry, "DELAY").as_deref(), Some("3"));
    assert_eq!(props(&retry, "KEYS").as_deref(), Some("k1"));

    // Reconsumed once, at most once allowed: straight to the dead-letter topic.
    let resp = send_back(&c, &cluster, retry_offset, 0, 1).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(
        cluster.store.max_offset("%DLQ%G", 0),
        1,
        "no schedule on the way"
    );
    let (_, dead) = record_in(&cluster, "%DLQ%G", 0, 0);
    assert_eq!(dead.header.reconsume_times, 2);
    assert_eq!(props(&dead, "DELAY").as_deref(), Some("0"));
    assert_eq!(props(&dead, "RETRY_TOPIC").as_deref(), Some("Work"));
    assert_eq!(
        props(&dead, "ORIGIN_MESSAGE_ID").as_deref(),
        Some(sent.msg_id.as_str()),
        "the first id is kept"
    );
    let route = wait_for_route(&c, &cluster, "%DLQ%G").await;
    assert_eq!(route.queue_datas[0].write_queue_nums, 1);
    assert_eq!(route.queue_datas[0].perm, 6);

    // A negative level means "dead-letter it now".
    let resp = send_back(&c, &cluster, original, -1, 16).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(cluster.store.max_offset("%DLQ%G", 0), 2);

    let resp = send_back(&c, &cluster, 1 << 40, 0, 16).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("look message by offset failed, 1099511627776")
    );
}

/// A consumer whose send-back failed sends the message to the retry topic itself; the broker
/// turns it to the dead-letter topic once reconsumed `maxReconsumeTimes` times. Java still
/// honours the message's `DELAY` on that way (`handleRetryAndDLQ` sets the level on a map it
/// then replaces), so it reaches the dead-letter topic through the schedule.
#[tokio::test]
async fn a_fallback_send_to_the_retry_topic_dead_letters_when_exhausted() {
    let cluster = start_with_levels("1s 1s 1s").await;
    let c = client();
    let props_text = "DELAY\u{1}3\u{2}RETRY_TOPIC\u{1}Work\u{2}TAGS\u{1}T";
    let mut header = v2("%RETRY%G", 0, props_text);
    header.j = Some(2);
    header.l = Some(2);
    let sent = send_ok(&c, &cluster, header, b"tired").await;
    let scheduled = stored(&cluster, &sent.msg_id);
    assert_eq!(scheduled.topic, SCHEDULE);
    assert_eq!(props(&scheduled, "REAL_TOPIC").as_deref(), Some("%DLQ%G"));
    wait_for_messages(&cluster, "%DLQ%G", 0, 1).await;

    let mut header = v2("%RETRY%G", 0, props_text);
    header.j = Some(1);
    header.l = Some(2);
    let sent = send_ok(&c, &cluster, header, b"again").await;
    assert_eq!(
        props(&stored(&cluster, &sent.msg_id), "REAL_TOPIC").as_deref(),
        Some("%RETRY%G")
    );
}

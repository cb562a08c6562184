//! `brokerRole` and the `WAIT` property, against a real broker on loopback: what a SYNC_MASTER
//! without a slave, a SLAVE, and a put that does not wait answer (Java's `SendMessageProcessor`,
//! `PullMessageProcessor`, `CommitLog.submitFlushRequest` / `submitReplicaRequest`).

mod support;
use support::*;

use ferrocket_common::batch;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_store::{BrokerRole, FlushDiskType};
use std::time::{Duration, Instant};

fn send(topic: &str, properties: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &v2(topic, 0, properties))
        .with_body(&b"role"[..])
}

fn batch_send(topic: &str, wait: &str) -> RemotingCommand {
    let items = [batch::BatchItem {
        flag: 0,
        body: b"in a batch",
        properties: "TAGS\u{1}B",
    }];
    let mut header = v2(topic, 0, &format!("WAIT\u{1}{wait}"));
    header.m = Some(true);
    RemotingCommand::request_with_header(RequestCode::SEND_BATCH_MESSAGE, &header)
        .with_body(batch::encode(&items).unwrap())
}

fn create_topic(topic: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
        },
    )
}

fn pull(topic: &str, offset: i64, sys_flag: i32) -> RemotingCommand {
    let mut header =
        PullMessageRequestHeader::with_subscription("RoleGroup", topic, 0, offset, 32, "*");
    header.sys_flag = sys_flag | pull_sys_flag::SUBSCRIPTION;
    header.subscription = Some("*".into());
    header.commit_offset = 1;
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header)
}

#[tokio::test]
async fn a_sync_master_without_a_slave_stores_and_says_slave_not_available() {
    let cluster = start(|c| c.store.broker_role = BrokerRole::SyncMaster).await;
    let c = client();
    let resp = cluster
        .call(&c, send("SyncMasterTopic", "WAIT\u{1}true"))
        .await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SLAVE_NOT_AVAILABLE,
        "{:?}",
        resp.remark
    );
    // As in Java, the message is stored and the answer says where.
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(&stored(&cluster, &h.msg_id).body[..], b"role");
    assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));

    // No WAIT property means WAIT=true.
    let resp = cluster
        .call(&c, send("SyncMasterTopic", "TAGS\u{1}A"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SLAVE_NOT_AVAILABLE);
    let resp = cluster
        .call(&c, batch_send("SyncMasterTopic", "true"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SLAVE_NOT_AVAILABLE);

    // A put that does not wait does not wait for the slave either.
    let resp = cluster
        .call(&c, send("SyncMasterTopic", "WAIT\u{1}false"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let resp = cluster
        .call(&c, batch_send("SyncMasterTopic", "false"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(cluster.store.max_offset("SyncMasterTopic", 0), 5);
}

#[tokio::test]
async fn a_slave_refuses_sends_and_does_not_correct_offsets() {
    let cluster = start(|c| {
        c.store.broker_role = BrokerRole::Slave;
        c.broker_id = 1;
    })
    .await;
    let c = client();
    let resp = cluster.call(&c, send("SlaveTopic", "WAIT\u{1}true")).await;
    assert_eq!(resp.response_code(), ResponseCode::SERVICE_NOT_AVAILABLE);
    let remark = resp.remark.unwrap_or_default();
    assert!(
        remark.starts_with("service not available now. It may be caused by one of the following reasons: the broker's disk is full [CL: ")
            && remark.ends_with("], messages are put to the slave, message store has been shut down, etc."),
        "{remark}"
    );
    let resp = cluster.call(&c, batch_send("SlaveTopic", "true")).await;
    assert_eq!(resp.response_code(), ResponseCode::SERVICE_NOT_AVAILABLE);

    // What replication would bring: records appended to the slave's CommitLog directly.
    assert_eq!(
        cluster
            .call(&c, create_topic("SlaveTopic"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let record = ferrocket_testkit::put_message("SlaveTopic", 0, b"replicated", "TAGS\u{1}A");
    cluster.store.commit_log().append(&record).unwrap();
    cluster.store.commit_log().append(&record).unwrap();

    // A slave serves reads, but does not take the commit offset a pull carries.
    let found = cluster
        .call(&c, pull("SlaveTopic", 0, pull_sys_flag::COMMIT_OFFSET))
        .await;
    assert_eq!(found.response_code(), ResponseCode::SUCCESS);
    let h: PullMessageResponseHeader = found.decode_header().unwrap();
    assert_eq!((h.next_begin_offset, h.suggest_which_broker_id), (2, 0));
    let query = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: "RoleGroup".into(),
            topic: "SlaveTopic".into(),
            queue_id: 0,
            bname: None,
        },
    );
    // Nothing committed: the young queue's answer for a new group, offset 0 (not the 1 the
    // pull carried).
    let offset: OffsetResponseHeader = cluster.call(&c, query).await.decode_header().unwrap();
    assert_eq!(offset.offset, 0);

    // An offset the queue does not hold: the master would answer OFFSET_MOVED and record an
    // event; a slave (offsetCheckInSlave=false) asks the client to retry, records nothing.
    let moved = cluster.call(&c, pull("SlaveTopic", 9, 0)).await;
    assert_eq!(moved.response_code(), ResponseCode::PULL_RETRY_IMMEDIATELY);
    assert_eq!(moved.remark.as_deref(), Some("OFFSET_OVERFLOW_BADLY"));
    let h: PullMessageResponseHeader = moved.decode_header().unwrap();
    // Java's `nextOffsetCorrection`: the slave leaves the client at the offset it asked for.
    assert_eq!((h.next_begin_offset, h.suggest_which_broker_id), (9, 0));
    assert_eq!(cluster.store.max_offset("OFFSET_MOVED_EVENT", 0), 0);
}

#[tokio::test]
async fn a_slave_with_offset_check_corrects_offsets() {
    let cluster = start(|c| {
        c.store.broker_role = BrokerRole::Slave;
        c.store.offset_check_in_slave = true;
        c.broker_id = 1;
    })
    .await;
    let c = client();
    cluster.call(&c, create_topic("CheckedTopic")).await;
    let moved = cluster.call(&c, pull("CheckedTopic", 9, 0)).await;
    assert_eq!(moved.response_code(), ResponseCode::PULL_OFFSET_MOVED);
    let h: PullMessageResponseHeader = moved.decode_header().unwrap();
    assert_eq!(h.next_begin_offset, 0, "corrected: the queue is empty");
}

#[tokio::test]
async fn a_send_without_wait_does_not_wait_for_the_sync() {
    let cluster = start(|c| {
        c.store.flush_disk_type = FlushDiskType::SyncFlush;
        // No periodic flush within the test: only a nudge gets an unwaited record synced.
        c.store.flush_interval = Duration::from_secs(600);
    })
    .await;
    let c = client();
    // Warm up (topic creation), then make every sync take two seconds.
    let resp = cluster.call(&c, send("NoWaitTopic", "WAIT\u{1}true")).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let log = cluster.store.commit_log();
    log.simulate_sync_latency(Duration::from_secs(2));

    let started = Instant::now();
    let resp = cluster
        .call(&c, send("NoWaitTopic", "WAIT\u{1}false"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered before its sync: {:?}",
        started.elapsed()
    );
    let end = log.max_offset();
    assert!(log.flushed_offset() < end, "not synced yet when answered");
    // The flush thread was nudged: the record is synced by the next round.
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.flushed_offset() < end {
        assert!(Instant::now() < deadline, "the record was never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // WAIT=true waits for its sync.
    let started = Instant::now();
    let resp = cluster.call(&c, send("NoWaitTopic", "WAIT\u{1}true")).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert!(started.elapsed() >= Duration::from_millis(1900));
}

//! Transactional messages against a real broker on loopback (behaviour.md §8): half sends,
//! END_TRANSACTION commit / rollback / pending, the check-back to the producer's connection,
//! and the discard after `transactionCheckMax` checks.

mod support;
use support::*;

use bytes::Bytes;
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::properties::find;
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::RemotingClient;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const HALF: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
const OP: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";

fn half_properties(group: &str, uniq: &str, key: &str) -> String {
    format!(
        "KEYS\u{1}{key}\u{2}TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}PGROUP\u{1}{group}\u{2}TAGS\u{1}TagT"
    )
}

/// Sends a half message of `group` to `topic`/`queue_id`, born now.
async fn send_half(
    c: &RemotingClient,
    cluster: &Cluster,
    topic: &str,
    queue_id: i32,
    group: &str,
    uniq: &str,
) -> SendMessageResponseHeader {
    let mut header = v2(topic, queue_id, &half_properties(group, uniq, uniq));
    header.a = group.into();
    header.f = 4; // TRANSACTION_PREPARED_TYPE, as the Java producer sets it
    header.g = ferrocket_common::time::now_ms();
    send_ok(c, cluster, header, format!("tx {uniq}").as_bytes()).await
}

fn end(
    group: &str,
    sent: &SendMessageResponseHeader,
    uniq: &str,
    action: i32,
) -> EndTransactionRequestHeader {
    EndTransactionRequestHeader {
        producer_group: group.into(),
        tran_state_table_offset: sent.queue_offset,
        commit_log_offset: OffsetMessageId::decode(&sent.msg_id)
            .unwrap()
            .commit_log_offset,
        commit_or_rollback: action,
        from_transaction_check: Some(false),
        msg_id: uniq.into(),
        transaction_id: None,
        bname: Some("broker-a".into()),
    }
}

fn end_request(header: &EndTransactionRequestHeader) -> RemotingCommand {
    RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, header)
}

async fn check_offset(c: &RemotingClient, cluster: &Cluster, topic: &str) -> i64 {
    let req = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: CHECK_GROUP.into(),
            topic: topic.into(),
            queue_id: 0,
            bname: None,
        },
    );
    let resp = cluster.call(c, req).await;
    if resp.response_code() != ResponseCode::SUCCESS {
        return -1;
    }
    resp.ext("offset").unwrap().parse().unwrap()
}

fn property(record: &MessageRecord, key: &str) -> Option<String> {
    find(&record.properties, key).map(str::to_owned)
}

#[tokio::test]
async fn commit_and_rollback_end_a_half_message_as_the_java_broker_does() {
    let cluster = start(|_| {}).await;
    let c = client();

    let sent = send_half(&c, &cluster, "Tx", 2, "PGx", "U1").await;
    assert_eq!(sent.queue_id, 2, "the response names the real queue");
    assert_eq!(sent.queue_offset, 0, "… and the offset in the half queue");
    let half = stored(&cluster, &sent.msg_id);
    assert_eq!(half.topic, HALF);
    assert_eq!(half.header.queue_id, 0);
    assert_eq!(half.header.sys_flag, 0, "stored as a plain message");
    assert_eq!(property(&half, "REAL_TOPIC").as_deref(), Some("Tx"));
    assert_eq!(property(&half, "REAL_QID").as_deref(), Some("2"));
    assert_eq!(property(&half, "WAIT").as_deref(), Some("true"));
    assert_eq!(cluster.store.max_offset("Tx", 2), 0, "no consumer sees it");

    // Commit: the half is stored again in its real queue, then marked done.
    let commit = end("PGx", &sent, "U1", 8);
    cluster.call_ok(&c, end_request(&commit)).await;
    wait_for_messages(&cluster, "Tx", 2, 1).await;
    let (_, committed) = record_in(&cluster, "Tx", 2, 0);
    assert_eq!(committed.header.sys_flag, 8);
    assert_eq!(
        committed.header.prepared_transaction_offset,
        commit.commit_log_offset
    );
    assert_eq!(committed.properties, half.properties);
    assert_eq!(committed.body, half.body);
    assert_eq!(committed.header.born_timestamp, half.header.born_timestamp);
    let (_, op) = record_in(&cluster, OP, 0, 0);
    assert_eq!(op.body.as_ref(), b"0");
    assert_eq!(property(&op, "TAGS").as_deref(), Some("d"));

    // Rollback: only the op record.
    let sent2 = send_half(&c, &cluster, "Tx", 1, "PGx", "U2").await;
    assert_eq!(sent2.queue_offset, 1);
    cluster
        .call_ok(&c, end_request(&end("PGx", &sent2, "U2", 12)))
        .await;
    wait_for_messages(&cluster, OP, 0, 2).await;
    assert_eq!(record_in(&cluster, OP, 0, 1).1.body.as_ref(), b"1");
    assert_eq!(cluster.store.max_offset("Tx", 1), 0);

    // Requests that do not match the half message are refused as Java refuses them.
    let refused = |header: EndTransactionRequestHeader, remark: &'static str| {
        let (c, cluster) = (&c, &cluster);
        async move {
            let resp = cluster.call(c, end_request(&header)).await;
            assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
            assert_eq!(resp.remark.as_deref(), Some(remark));
        }
    };
    let sent3 = send_half(&c, &cluster, "Tx", 0, "PGx", "U3").await;
    refused(end("Other", &sent3, "U3", 8), "The producer group wrong").await;
    let mut wrong = end("PGx", &sent3, "U3", 8);
    wrong.tran_state_table_offset += 1;
    refused(wrong, "The transaction state table offset wrong").await;
    let mut wrong = end("PGx", &sent3, "U3", 8);
    wrong.commit_log_offset = 1 << 40;
    refused(wrong, "Find prepared transaction message failed").await;
    // UNKNOW gets no answer at all and changes nothing.
    let pending = c
        .invoke(
            &cluster.broker,
            end_request(&end("PGx", &sent3, "U3", 0)),
            Duration::from_millis(300),
        )
        .await;
    assert!(pending.is_err(), "a pending end is not answered");
    assert_eq!(cluster.store.max_offset(OP, 0), 2);
    assert_eq!(cluster.store.max_offset("Tx", 0), 0);
}

#[tokio::test]
async fn a_broker_that_rejects_transactions_refuses_half_messages() {
    let cluster = start(|c| c.reject_transaction_message = true).await;
    let c = client();
    let mut header = v2("Tx", 0, &half_properties("PGx", "U1", "k"));
    header.f = 4;
    let req = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header)
        .with_body(b"tx".to_vec());
    let resp = cluster.call(&c, req).await;
    assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
    assert_eq!(
        resp.remark.as_deref(),
        Some("the broker[127.0.0.1] sending transaction message is forbidden")
    );
    assert_eq!(cluster.store.max_offset(HALF, 0), 0);
}

/// A producer connection that hands CHECK_TRANSACTION_STATE (oneway) to the test.
async fn checked_producer(
    cluster: &Cluster,
    group: &str,
) -> (RemotingClient, mpsc::UnboundedReceiver<RemotingCommand>) {
    producer_receiving(
        cluster,
        "10.0.0.7@tx",
        group,
        RequestCode::CHECK_TRANSACTION_STATE,
        None,
    )
    .await
}

#[tokio::test]
async fn an_open_transaction_is_checked_back_and_committed_from_the_check() {
    // A producer has until the next pass to answer a check before it is asked again: a
    // second apart leaves this test's answer plenty of time.
    let cluster = start(|c| {
        c.transaction_check_interval = Duration::from_secs(1);
        c.transaction_timeout = Duration::from_millis(300);
    })
    .await;
    let (producer, mut checks) = checked_producer(&cluster, "PGc").await;
    let sent = send_half(&producer, &cluster, "TxC", 3, "PGc", "UC1").await;
    let half = stored(&cluster, &sent.msg_id);

    let check = tokio::time::timeout(Duration::from_secs(10), checks.recv())
        .await
        .expect("a check within 10 s")
        .unwrap();
    let h: CheckTransactionStateRequestHeader = check.decode_header().unwrap();
    // The check is about the copy stored again at the end of the half queue.
    assert_eq!(h.tran_state_table_offset, 1);
    assert_eq!(h.msg_id.as_deref(), Some("UC1"));
    assert_eq!(h.transaction_id.as_deref(), Some("UC1"));
    let (_, put_back) = record_in(&cluster, HALF, 0, 1);
    assert_eq!(h.commit_log_offset, put_back.header.physical_offset);
    assert_eq!(
        h.offset_msg_id.as_deref(),
        Some(
            OffsetMessageId::new(cluster.broker.parse().unwrap(), h.commit_log_offset)
                .encode()
                .as_str()
        )
    );
    assert_eq!(
        property(&put_back, "TRANSACTION_CHECK_TIMES").as_deref(),
        Some("1")
    );
    assert!(put_back.header.store_timestamp >= half.header.store_timestamp);
    // The body is the half as first stored, addressed to its real topic and queue.
    let shipped = MessageRecord::decode(&Bytes::copy_from_slice(check.body_bytes()), true).unwrap();
    assert_eq!(shipped.topic, "TxC");
    assert_eq!(shipped.header.queue_id, 3);
    assert_eq!(shipped.header.queue_offset, 1);
    assert_eq!(shipped.header.physical_offset, h.commit_log_offset);
    assert_eq!(shipped.header.store_timestamp, half.header.store_timestamp);
    assert_eq!(shipped.body, half.body);
    assert_eq!(property(&shipped, "WAIT").as_deref(), Some("false"));
    assert_eq!(
        property(&shipped, "TRANSACTION_CHECK_TIMES").as_deref(),
        Some("1")
    );

    // The producer's checker says commit (oneway, as the Java client answers).
    let answer = EndTransactionRequestHeader {
        producer_group: "PGc".into(),
        tran_state_table_offset: h.tran_state_table_offset,
        commit_log_offset: h.commit_log_offset,
        commit_or_rollback: 8,
        from_transaction_check: Some(true),
        msg_id: "UC1".into(),
        transaction_id: h.transaction_id.clone(),
        bname: None,
    };
    producer
        .invoke_oneway(&cluster.broker, end_request(&answer))
        .await
        .unwrap();
    wait_for_messages(&cluster, "TxC", 3, 1).await;
    let (_, committed) = record_in(&cluster, "TxC", 3, 0);
    assert_eq!(
        committed.header.prepared_transaction_offset,
        h.commit_log_offset
    );
    assert_eq!(committed.properties, put_back.properties);

    // Settled: later passes move the check group past the half and its op record, and ask
    // nothing more.
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(10);
    while check_offset(&c, &cluster, HALF).await != 2 || check_offset(&c, &cluster, OP).await != 1 {
        assert!(Instant::now() < deadline, "check progress never moved on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        checks.try_recv().is_err(),
        "a settled half is not checked again"
    );
    assert_eq!(cluster.store.max_offset(HALF, 0), 2);
}

#[tokio::test]
async fn a_half_checked_too_often_is_moved_to_the_check_max_topic() {
    let cluster = start(|c| {
        c.transaction_check_interval = Duration::from_millis(100);
        c.transaction_timeout = Duration::from_millis(100);
        c.transaction_check_max = 2;
    })
    .await;
    // The producer never answers.
    let (producer, mut checks) = checked_producer(&cluster, "PGd").await;
    send_half(&producer, &cluster, "TxD", 0, "PGd", "UD1").await;
    wait_for_messages(&cluster, "TRANS_CHECK_MAX_TIME_TOPIC", 0, 1).await;
    let (_, discarded) = record_in(&cluster, "TRANS_CHECK_MAX_TIME_TOPIC", 0, 0);
    assert_eq!(
        property(&discarded, "TRANSACTION_CHECK_TIMES").as_deref(),
        Some("2")
    );
    assert_eq!(property(&discarded, "REAL_TOPIC").as_deref(), Some("TxD"));
    assert_eq!(discarded.body.as_ref(), b"tx UD1");
    let mut asked = 0;
    while checks.try_recv().is_ok() {
        asked += 1;
    }
    assert_eq!(asked, 2, "checked transactionCheckMax times");
    assert_eq!(cluster.store.max_offset("TxD", 0), 0, "never committed");

    // `mqadmin resumeCheckHalfMessage`: back in the half queue with the count reset, so the
    // producer is asked again.
    let unit = cluster
        .store
        .unit("TRANS_CHECK_MAX_TIME_TOPIC", 0, 0)
        .unwrap();
    let id = OffsetMessageId::new(cluster.broker.parse().unwrap(), unit.commit_log_offset);
    let resume = RemotingCommand::request_with_header(
        RequestCode::RESUME_CHECK_HALF_MESSAGE,
        &ResumeCheckHalfMessageRequestHeader {
            msg_id: Some(id.encode()),
        },
    );
    let c = client();
    cluster.call_ok(&c, resume).await;
    let check = tokio::time::timeout(Duration::from_secs(10), checks.recv())
        .await
        .expect("checked again after the resume")
        .unwrap();
    let shipped = MessageRecord::decode(&Bytes::copy_from_slice(check.body_bytes()), true).unwrap();
    assert_eq!(
        property(&shipped, "TRANSACTION_CHECK_TIMES").as_deref(),
        Some("1")
    );
    assert_eq!(shipped.body.as_ref(), b"tx UD1");
    let bad = RemotingCommand::request_with_header(
        RequestCode::RESUME_CHECK_HALF_MESSAGE,
        &ResumeCheckHalfMessageRequestHeader {
            msg_id: Some("not-an-id".into()),
        },
    );
    let resp = cluster.call(&c, bad).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
}

/// The golden CHECK_TRANSACTION_STATE (Apache RocketMQ 4.9.8) rebuilt from the golden
/// CommitLog: the half at 7473 put back at 63312 (queue offset 3).
#[test]
fn the_check_request_body_matches_the_java_frame() {
    use ferrocket_common::properties::JavaMap;
    let log = Bytes::from_static(include_bytes!(
        "../../../testdata/golden/store/commitlog/00000000000000000000"
    ));
    let records = MessageRecord::decode_all(&log, true).unwrap();
    let at = |offset: i64| {
        records
            .iter()
            .find(|r| r.header.physical_offset == offset)
            .unwrap()
    };
    let (half, put_back) = (at(7473), at(63312));
    let mut map = JavaMap::parse(&half.properties, 3);
    map.put("TRANSACTION_CHECK_TIMES", "1");
    let body = ferrocket_broker::transaction::check_request_body(
        &half.view(),
        "rmqc_k_q2henl",
        0,
        put_back.header.queue_offset,
        put_back.header.physical_offset,
        &ferrocket_broker::transaction::check_request_properties(&map),
    )
    .unwrap();
    let frames = include_str!("../../../testdata/golden/frames.jsonl");
    let check = frames
        .lines()
        .map(|l| json::parse(l.as_bytes()).unwrap())
        .find(|f| f.get("code") == Some(&json::Value::Int(39)))
        .expect("a golden CHECK_TRANSACTION_STATE");
    let golden = ferrocket_testkit::base64(check.get("body_b64").unwrap().as_str().unwrap());
    assert_eq!(body, golden);
}

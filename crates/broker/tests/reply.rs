//! Request-reply against a real broker: SEND_REPLY_MESSAGE(_V2) pushes the reply to the
//! requester's producer connection (PUSH_REPLY_MESSAGE_TO_CLIENT) and stores it in the
//! cluster's reply topic, as 4.9.8's `ReplyMessageProcessor` does.

mod support;

use ferrocket_common::properties;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::RemotingClient;
use std::collections::BTreeMap;
use support::*;
use tokio::sync::mpsc;

const REPLY_TOPIC: &str = "DefaultCluster_REPLY_TOPIC";
const REQUESTER: &str = "10.0.0.9@requester";

/// A requester: a producer connection that hands every pushed reply to the test and answers
/// it with `answer`.
async fn requester(
    cluster: &Cluster,
    answer: ResponseCode,
) -> (RemotingClient, mpsc::UnboundedReceiver<RemotingCommand>) {
    producer_receiving(
        cluster,
        REQUESTER,
        "RequesterGroup",
        RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT,
        Some(answer),
    )
    .await
}

/// The properties `MessageUtil.createReplyMessage` gives a reply to [`REQUESTER`].
fn reply_properties(reply_to: Option<&str>) -> String {
    let mut p = String::from(
        "CLUSTER\u{1}DefaultCluster\u{2}CORRELATION_ID\u{1}c0ffee-1\u{2}TTL\u{1}3000\u{2}MSG_TYPE\u{1}reply",
    );
    if let Some(client) = reply_to {
        p += &format!("\u{2}REPLY_TO_CLIENT\u{1}{client}");
    }
    p
}

fn send_reply(queue_id: i32, properties: &str, body: &[u8]) -> RemotingCommand {
    let mut header = v2(REPLY_TOPIC, queue_id, properties);
    header.a = "ReplierGroup".into();
    RemotingCommand::request_with_header(RequestCode::SEND_REPLY_MESSAGE_V2, &header)
        .with_body(body.to_vec())
}

fn pairs(properties: &str) -> BTreeMap<String, String> {
    properties::iter(properties)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn a_reply_is_pushed_to_its_requester_and_stored_as_sent() {
    let cluster = start(|_| {}).await;
    let (_requester, mut pushes) = requester(&cluster, ResponseCode::SUCCESS).await;
    let replier = client();
    let sent = reply_properties(Some(REQUESTER));
    let before = ferrocket_common::time::now_ms();
    // Queue -1: the broker picks one, but the push repeats the request's -1.
    let resp = cluster
        .call(&replier, send_reply(-1, &sent, b"the answer"))
        .await;
    let after = ferrocket_common::time::now_ms();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(resp.ext("TRACE_ON"), Some("true"));
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!((h.queue_id, h.queue_offset), (0, 0));

    let push = pushes
        .try_recv()
        .expect("the reply was pushed before the answer");
    let p: ReplyMessageRequestHeader = push.decode_header().unwrap();
    assert_eq!(p.producer_group, "ReplierGroup");
    assert_eq!(p.topic, REPLY_TOPIC);
    assert_eq!(
        (p.default_topic.as_str(), p.default_topic_queue_nums),
        ("TBW102", 4)
    );
    assert_eq!(p.queue_id, -1);
    assert_eq!((p.sys_flag, p.flag), (0, 0));
    assert_eq!(p.born_timestamp, 1_795_243_747_973);
    assert_eq!(p.reconsume_times, Some(0));
    assert_eq!(p.unit_mode, Some(false));
    assert_eq!(p.store_host, cluster.broker);
    assert!((before..=after).contains(&p.store_timestamp));
    assert_eq!(push.body_bytes(), b"the answer");
    // The client's properties plus the push time, re-serialised from Java's map.
    let mut pushed = pairs(p.properties.as_deref().unwrap());
    let push_time: i64 = pushed.remove("PUSH_REPLY_TIME").unwrap().parse().unwrap();
    assert!((before..=after).contains(&push_time));
    assert_eq!(pushed, pairs(&sent));

    // Stored as it came: the client's string untouched, the born host the replier's.
    let record = stored(&cluster, &h.msg_id);
    assert_eq!(record.topic, REPLY_TOPIC);
    assert_eq!(record.header.queue_id, 0);
    assert_eq!(record.properties, sent);
    assert_eq!(&record.body[..], b"the answer");
    assert_eq!(record.header.born_host.to_string(), p.born_host);
}

#[tokio::test]
async fn the_reply_is_stored_without_the_request_sys_flag() {
    // `ReplyMessageProcessor` never copies the request's sysFlag into the stored message; the
    // push carries it.
    let cluster = start(|_| {}).await;
    let (_requester, mut pushes) = requester(&cluster, ResponseCode::SUCCESS).await;
    let replier = client();
    let mut header = v2(REPLY_TOPIC, 0, &reply_properties(Some(REQUESTER)));
    header.f = 0x8; // a multi-tags flag, harmless to the bytes
    let v1 = SendMessageRequestHeader::from(header);
    let req = RemotingCommand::request_with_header(RequestCode::SEND_REPLY_MESSAGE, &v1)
        .with_body(b"x".to_vec());
    let resp = cluster.call_ok(&replier, req).await;
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    let p: ReplyMessageRequestHeader = pushes.try_recv().unwrap().decode_header().unwrap();
    assert_eq!(p.sys_flag, 0x8);
    assert_eq!(stored(&cluster, &h.msg_id).header.sys_flag, 0);
}

#[tokio::test]
async fn a_reply_for_a_requester_not_connected_fails_but_is_stored() {
    let cluster = start(|_| {}).await;
    let replier = client();
    let sent = reply_properties(Some("10.0.0.1@gone"));
    let resp = cluster.call(&replier, send_reply(0, &sent, b"late")).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("push reply message fail, channel of <10.0.0.1@gone> not found.")
    );
    // The stored reply still names itself in the header.
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.queue_offset, 0);
    assert_eq!(stored(&cluster, &h.msg_id).properties, sent);
}

#[tokio::test]
async fn a_requester_refusing_the_push_fails_the_reply() {
    let cluster = start(|_| {}).await;
    let (_requester, mut pushes) = requester(&cluster, ResponseCode::SYSTEM_ERROR).await;
    let replier = client();
    let resp = cluster
        .call(
            &replier,
            send_reply(0, &reply_properties(Some(REQUESTER)), b"r"),
        )
        .await;
    assert!(pushes.try_recv().is_ok());
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    // Java's remark, its missing space included.
    assert_eq!(
        resp.remark.as_deref(),
        Some("push reply message to 10.0.0.9@requesterfail.")
    );
}

#[tokio::test]
async fn without_storing_a_pushed_reply_answers_zeros_and_a_lost_one_no_header() {
    let cluster = start(|c| c.store_reply_message_enable = false).await;
    let (_requester, mut pushes) = requester(&cluster, ResponseCode::SUCCESS).await;
    let replier = client();

    let resp = cluster
        .call_ok(
            &replier,
            send_reply(0, &reply_properties(Some(REQUESTER)), b"r"),
        )
        .await;
    assert!(pushes.try_recv().is_ok());
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!((h.msg_id.as_str(), h.queue_id, h.queue_offset), ("0", 0, 0));

    let resp = cluster
        .call(&replier, send_reply(0, &reply_properties(None), b"r"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("reply message properties[REPLY_TO_CLIENT] is null")
    );
    assert_eq!(resp.ext("msgId"), None);
    assert_eq!(resp.ext("queueOffset"), None);
    assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(
        cluster.store.max_offset(REPLY_TOPIC, 0),
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn a_reply_to_a_topic_that_does_not_exist_is_refused_like_a_send() {
    let cluster = start(|c| c.auto_create_topic_enable = false).await;
    let replier = client();
    let mut header = v2("NoSuchReplyTopic", 0, &reply_properties(Some(REQUESTER)));
    header.c = "NoTemplate".into();
    let req = RemotingCommand::request_with_header(RequestCode::SEND_REPLY_MESSAGE_V2, &header)
        .with_body(b"r".to_vec());
    let resp = cluster.call(&replier, req).await;
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
}

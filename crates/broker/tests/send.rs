//! A real name server and broker on loopback; sends through the wire.

use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::{batch, Properties};
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

mod support;
use support::*;

#[tokio::test]
async fn broker_registers_and_auto_creates_topics_on_send() {
    let cluster = start(|_| {}).await;
    let c = client();
    let tbw = wait_for_route(&c, &cluster, "TBW102").await;
    assert_eq!(
        tbw.broker_datas[0].master_addr(),
        Some(cluster.broker.as_str())
    );
    assert_eq!(
        (tbw.queue_datas[0].perm, tbw.queue_datas[0].write_queue_nums),
        (7, 8)
    );

    let props = "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}7F0000015AEB1DBD16A668765D9800F9\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA";
    let req = RemotingCommand::request_with_header(
        RequestCode::SEND_MESSAGE_V2,
        &v2("NewTopic", 2, props),
    )
    .with_body(&b"hello"[..]);
    let resp = cluster.call(&c, req).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    assert_eq!(resp.remark, None);
    assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(resp.ext("TRACE_ON"), Some("true"));
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!((h.queue_id, h.queue_offset), (2, 0));
    let id = OffsetMessageId::decode(&h.msg_id).unwrap();
    assert_eq!(id.store_host.to_string(), cluster.broker);

    let record = stored(&cluster, &h.msg_id);
    assert_eq!(&record.body[..], b"hello");
    assert_eq!(record.topic, "NewTopic");
    assert_eq!(record.header.born_timestamp, 1_795_243_747_973);
    let p = Properties::parse(&record.properties);
    assert_eq!(p.get("CLUSTER"), Some("DefaultCluster"));
    assert_eq!(p.get("WAIT"), None, "4.9.8 does not store WAIT");
    assert_eq!(p.get("TAGS"), Some("TagA"));

    // The auto-created topic (4 queues, RW) reaches the name server.
    let created = wait_for_route(&c, &cluster, "NewTopic").await;
    assert_eq!(
        (
            created.queue_datas[0].write_queue_nums,
            created.queue_datas[0].perm
        ),
        (4, 6)
    );
    // queueId < 0: the broker picks one.
    let req =
        RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &v2("NewTopic", -1, ""))
            .with_body(&b"x"[..]);
    let h: SendMessageResponseHeader = cluster.call(&c, req).await.decode_header().unwrap();
    assert!((0..4).contains(&h.queue_id));
}

#[tokio::test]
async fn v1_binary_header_and_batch_sends() {
    let cluster = start(|_| {}).await;
    let c = client();
    let mut req = RemotingCommand::request_with_header(
        RequestCode::SEND_MESSAGE,
        &SendMessageRequestHeader::from(v2("T1", 0, "TAGS\u{1}B")),
    )
    .with_body(&b"v1 body"[..]);
    req.serialize_type = SerializeType::RocketMq;
    let resp = cluster.call(&c, req).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(&stored(&cluster, &h.msg_id).body[..], b"v1 body");

    let items: Vec<(Vec<u8>, String)> = (0..3)
        .map(|i| {
            (
                format!("body of d-{i}").into_bytes(),
                format!("KEYS\u{1}d-{i}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"),
            )
        })
        .collect();
    let views: Vec<batch::BatchItem<'_>> = items
        .iter()
        .map(|(b, p)| batch::BatchItem {
            flag: 0,
            body: b,
            properties: p,
        })
        .collect();
    let mut header = v2("T1", 0, "WAIT\u{1}true");
    header.m = Some(true);
    let req = RemotingCommand::request_with_header(RequestCode::SEND_BATCH_MESSAGE, &header)
        .with_body(batch::encode(&views).unwrap());
    let resp = cluster.call(&c, req).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    let ids: Vec<&str> = h.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(h.queue_offset, 1, "first offset of the batch");
    for (i, id) in ids.iter().enumerate() {
        let r = stored(&cluster, id);
        assert_eq!(&r.body[..], format!("body of d-{i}").as_bytes());
        assert_eq!(r.header.queue_offset, 1 + i as i64);
        assert_eq!(
            Properties::parse(&r.properties).get("KEYS"),
            Some(format!("d-{i}").as_str())
        );
        assert_eq!(r.header.queue_id, 0);
    }
}

#[tokio::test]
async fn bad_sends_get_the_java_answers() {
    let cluster = start(|c| c.store.max_message_bytes = 1024).await;
    let c = client();
    let send = |h: SendMessageRequestHeaderV2, body: &'static [u8]| {
        RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h).with_body(body)
    };

    let resp = cluster.call(&c, send(v2("bad topic!", 0, ""), b"x")).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("The specified topic[bad topic!] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")
    );
    assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));

    let resp = cluster
        .call(&c, send(v2("SCHEDULE_TOPIC_XXXX", 0, ""), b"x"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
    assert_eq!(
        resp.remark.as_deref(),
        Some("Sending message to topic[SCHEDULE_TOPIC_XXXX] is forbidden.")
    );

    let mut no_template = v2("Unknown", 0, "");
    no_template.c = "NoSuchTemplate".into();
    let resp = cluster.call(&c, send(no_template, b"x")).await;
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert!(resp
        .remark
        .unwrap()
        .starts_with("topic[Unknown] not exist, apply first please!"));

    let resp = cluster.call(&c, send(v2("Big", 0, ""), &[7u8; 2000])).await;
    assert_eq!(resp.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    assert_eq!(
        resp.remark.as_deref(),
        Some("the message is illegal, maybe msg body or properties length not matched. msg body length limit 1024B, msg properties length limit 32KB.")
    );
    assert!(resp.ext("msgId").is_none());

    let resp = cluster.call(&c, send(v2("Q", 99, ""), b"x")).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(resp
        .remark
        .unwrap()
        .starts_with("request queueId[99] is illegal"));

    let mut missing = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
    missing.ext_mut().push("a", "PG");
    let resp = cluster.call(&c, missing).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("the custom field <b> is null"));

    // Retry topics are created on demand with one queue.
    let resp = cluster.call(&c, send(v2("%RETRY%G1", 0, ""), b"r")).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
}

#[tokio::test]
async fn auto_create_off_means_topic_not_exist() {
    let cluster = start(|c| c.auto_create_topic_enable = false).await;
    let c = client();
    let req =
        RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &v2("Fresh", 0, ""))
            .with_body(&b"x"[..]);
    let resp = cluster.call(&c, req).await;
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert_eq!(
        route(&c, &cluster, "TBW102").await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );
}

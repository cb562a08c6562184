//! Pulls, long polling, offsets, lookups and heartbeats against a real broker on loopback.

mod support;
use support::*;

use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_protocol::body::ConsumerIdList;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, ClientConfig, RemotingClient, Router};
use std::time::{Duration, Instant};

async fn send(
    c: &RemotingClient,
    cluster: &Cluster,
    topic: &str,
    queue_id: i32,
    body: &str,
    props: &str,
) -> SendMessageResponseHeader {
    send_ok(c, cluster, v2(topic, queue_id, props), body.as_bytes()).await
}

fn pull(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    sys_flag: i32,
    expression: Option<&str>,
    hold_ms: i64,
) -> RemotingCommand {
    let mut header = PullMessageRequestHeader::with_subscription(
        group,
        topic,
        queue_id,
        offset,
        32,
        expression.unwrap_or(""),
    );
    header.sys_flag = sys_flag;
    header.suspend_timeout_millis = hold_ms;
    header.subscription = expression.map(str::to_owned);
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header)
}

const SUB: i32 = pull_sys_flag::SUBSCRIPTION;
const SUSPEND: i32 = pull_sys_flag::SUSPEND;

/// A pull of queue 0 of `topic` that the broker may hold for up to 15 s, in a task of its own:
/// gives the answer, when the pull was sent and when it was answered.
fn spawn_held_pull(
    c: &RemotingClient,
    cluster: &Cluster,
    topic: &'static str,
) -> tokio::task::JoinHandle<(RemotingCommand, Instant, Instant)> {
    let c = c.clone();
    let broker = cluster.broker.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let resp = c
            .invoke(
                &broker,
                pull("G", topic, 0, 1, SUB | SUSPEND, Some("*"), 15_000),
                T * 4,
            )
            .await
            .unwrap();
        (resp, started, Instant::now())
    })
}

#[tokio::test]
async fn pulls_return_the_stored_bytes() {
    let cluster = start(|_| {}).await;
    let c = client();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            send(&c, &cluster, "PullTopic", 0, &format!("m{i}"), "TAGS\u{1}A")
                .await
                .msg_id,
        );
    }
    let resp = cluster
        .call(&c, pull("G", "PullTopic", 0, 0, SUB, Some("*"), 0))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(resp.remark.as_deref(), Some("FOUND"));
    let h: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(
        (
            h.next_begin_offset,
            h.min_offset,
            h.max_offset,
            h.suggest_which_broker_id
        ),
        (3, 0, 3, 0)
    );
    let mut expected = Vec::new();
    for id in &ids {
        let offset = OffsetMessageId::decode(id).unwrap().commit_log_offset as u64;
        expected.extend_from_slice(&cluster.store.commit_log().record_at(offset).unwrap());
    }
    assert_eq!(
        resp.body_bytes(),
        &expected[..],
        "pull body = stored records, byte for byte"
    );

    // Status mapping at the edges.
    let one = cluster
        .call(&c, pull("G", "PullTopic", 0, 3, SUB, Some("*"), 0))
        .await;
    assert_eq!(
        (one.response_code(), one.remark.as_deref()),
        (ResponseCode::PULL_NOT_FOUND, Some("OFFSET_OVERFLOW_ONE"))
    );
    let badly = cluster
        .call(&c, pull("G", "PullTopic", 0, 9, SUB, Some("*"), 0))
        .await;
    assert_eq!(badly.response_code(), ResponseCode::PULL_OFFSET_MOVED);
    // 4.9.8 points past the end at the end (before 4.9.4, at 0 while the queue is untrimmed).
    assert_eq!(
        badly
            .decode_header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset,
        3
    );
    // Recorded as Java records it: a message in OFFSET_MOVED_EVENT, queue 0.
    let events = cluster
        .store
        .get_messages("OFFSET_MOVED_EVENT", 0, 0, 32, &|_| true);
    assert_eq!(events.messages.len(), 1);
    let event = ferrocket_common::record::RecordView::decode(&events.messages[0], true).unwrap();
    assert_eq!(
        std::str::from_utf8(event.body).unwrap(),
        format!(
            r#"{{"consumerGroup":"G","messageQueue":{{"brokerName":"{}","queueId":0,"topic":"PullTopic"}},"offsetNew":3,"offsetRequest":9}}"#,
            ferrocket_broker::BrokerConfig::default().broker_name
        )
    );
    assert_eq!(
        event.properties,
        "DELAY\u{1}0\u{2}TAGS\u{1}OFFSET_MOVED_EVENT"
    );
    let empty = cluster
        .call(&c, pull("G", "PullTopic", 1, 0, SUB, Some("*"), 0))
        .await;
    assert_eq!(empty.response_code(), ResponseCode::PULL_NOT_FOUND);
    let unknown = cluster
        .call(&c, pull("G", "NoTopic", 0, 0, SUB, Some("*"), 0))
        .await;
    assert_eq!(unknown.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    let bad_queue = cluster
        .call(&c, pull("G", "PullTopic", 77, 0, SUB, Some("*"), 0))
        .await;
    assert_eq!(bad_queue.response_code(), ResponseCode::SYSTEM_ERROR);
    // Without a subscription in the request, the heartbeat's is needed.
    let no_sub = cluster
        .call(&c, pull("G", "PullTopic", 0, 0, 0, None, 0))
        .await;
    assert_eq!(no_sub.response_code(), ResponseCode::SUBSCRIPTION_NOT_EXIST);
}

#[tokio::test]
async fn tag_filtering_by_hash() {
    let cluster = start(|_| {}).await;
    let c = client();
    for i in 0..6 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        send(
            &c,
            &cluster,
            "Tagged",
            0,
            &format!("m{i}"),
            &format!("TAGS\u{1}{tag}"),
        )
        .await;
    }
    let resp = cluster
        .call(&c, pull("G", "Tagged", 0, 0, SUB, Some("TagB || TagC"), 0))
        .await;
    let records =
        ferrocket_common::record::MessageRecord::decode_all(resp.body.as_ref().unwrap(), true)
            .unwrap();
    let bodies: Vec<&[u8]> = records.iter().map(|r| &r.body[..]).collect();
    assert_eq!(bodies, vec![&b"m1"[..], b"m3", b"m5"]);
    assert_eq!(
        resp.decode_header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset,
        6
    );
    // Everything filtered: retry at once from where the scan ended.
    let none = cluster
        .call(&c, pull("G", "Tagged", 0, 0, SUB, Some("TagZ"), 0))
        .await;
    assert_eq!(none.response_code(), ResponseCode::PULL_RETRY_IMMEDIATELY);
    assert_eq!(none.remark.as_deref(), Some("NO_MATCHED_MESSAGE"));
    assert_eq!(
        none.decode_header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset,
        6
    );
}

#[tokio::test]
async fn long_polling_answers_on_arrival_and_at_the_hold_time() {
    let cluster = start(|_| {}).await;
    let c = client();
    send(&c, &cluster, "Poll", 0, "first", "").await;

    // Nothing arrives: answered after the hold time, PULL_NOT_FOUND.
    let started = Instant::now();
    let resp = cluster
        .call(&c, pull("G", "Poll", 0, 1, SUB | SUSPEND, Some("*"), 600))
        .await;
    let held = started.elapsed();
    assert_eq!(resp.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert!(
        held >= Duration::from_millis(600) && held < Duration::from_millis(1500),
        "held {held:?}"
    );

    // A message arrives while held: answered within 100 ms of it.
    let puller = spawn_held_pull(&c, &cluster, "Poll");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    send(&c, &cluster, "Poll", 0, "second", "").await;
    let (resp, _, answered_at) = puller.await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let records =
        ferrocket_common::record::MessageRecord::decode_all(resp.body.as_ref().unwrap(), true)
            .unwrap();
    assert_eq!(&records[0].body[..], b"second");
    let latency = answered_at.duration_since(sent_at);
    assert!(
        latency < Duration::from_millis(100),
        "answered {latency:?} after the message"
    );
}

#[tokio::test]
async fn without_long_polling_a_pull_is_held_the_short_polling_time() {
    let cluster = start(|c| {
        c.long_polling_enable = false;
        c.short_polling_time = Duration::from_millis(400);
    })
    .await;
    let c = client();
    send(&c, &cluster, "Short", 0, "first", "").await;

    // The client asks for 15 s; the broker answers after its own 400 ms.
    let started = Instant::now();
    let resp = cluster
        .call(
            &c,
            pull("G", "Short", 0, 1, SUB | SUSPEND, Some("*"), 15_000),
        )
        .await;
    let held = started.elapsed();
    assert_eq!(resp.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert!(
        held >= Duration::from_millis(400) && held < Duration::from_millis(1500),
        "held {held:?}"
    );

    // An arrival does not wake the pull: it is seen when the short hold ends.
    let puller = spawn_held_pull(&c, &cluster, "Short");
    tokio::time::sleep(Duration::from_millis(50)).await;
    send(&c, &cluster, "Short", 0, "second", "").await;
    let (resp, started, answered_at) = puller.await.unwrap();
    let held = answered_at.duration_since(started);
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert!(held >= Duration::from_millis(400), "held {held:?}");
}

#[tokio::test]
async fn offsets_and_lookups() {
    let cluster = start(|_| {}).await;
    let c = client();
    let mut stamps = Vec::new();
    let mut last = None;
    for i in 0..5 {
        let h = send(
            &c,
            &cluster,
            "Off",
            0,
            &format!("m{i}"),
            &format!("KEYS\u{1}key-{i}"),
        )
        .await;
        let offset = OffsetMessageId::decode(&h.msg_id)
            .unwrap()
            .commit_log_offset as u64;
        let record = ferrocket_common::record::RecordView::decode(
            &cluster.store.commit_log().record_at(offset).unwrap(),
            true,
        )
        .unwrap()
        .header
        .store_timestamp;
        stamps.push(record);
        last = Some(h);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let queue = |code: RequestCode| {
        let mut r = RemotingCommand::request(code);
        r.ext_mut().push("topic", "Off");
        r.ext_mut().push("queueId", "0");
        r
    };
    let offset_of = |r: RemotingCommand| r.decode_header::<OffsetResponseHeader>().unwrap().offset;
    assert_eq!(
        offset_of(cluster.call(&c, queue(RequestCode::GET_MAX_OFFSET)).await),
        5
    );
    assert_eq!(
        offset_of(cluster.call(&c, queue(RequestCode::GET_MIN_OFFSET)).await),
        0
    );
    let mut search = queue(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP);
    search.ext_mut().push("timestamp", stamps[3].to_string());
    assert_eq!(offset_of(cluster.call(&c, search).await), 3);
    let earliest = cluster
        .call(&c, queue(RequestCode::GET_EARLIEST_MSG_STORETIME))
        .await;
    assert_eq!(
        earliest
            .decode_header::<GetEarliestMsgStoretimeResponseHeader>()
            .unwrap()
            .timestamp,
        stamps[0]
    );

    // Consumer offsets: young queue → 0, then what was committed (sync, oneway, or with a pull).
    let query = || {
        RemotingCommand::request_with_header(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: "CG".into(),
                topic: "Off".into(),
                queue_id: 0,
                bname: None,
            },
        )
    };
    assert_eq!(offset_of(cluster.call(&c, query()).await), 0);
    let update = |offset: i64| {
        RemotingCommand::request_with_header(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: "CG".into(),
                topic: "Off".into(),
                queue_id: 0,
                commit_offset: offset,
                bname: None,
            },
        )
    };
    let resp = cluster.call(&c, update(2)).await;
    assert!(
        resp.ext_fields.as_ref().is_some_and(|e| e.is_empty()),
        "extFields {{}} as Java"
    );
    assert_eq!(offset_of(cluster.call(&c, query()).await), 2);
    c.invoke_oneway(&cluster.broker, update(3)).await.unwrap();
    let deadline = Instant::now() + T;
    while offset_of(cluster.call(&c, query()).await) != 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut with_commit = pull(
        "CG",
        "Off",
        0,
        3,
        SUB | pull_sys_flag::COMMIT_OFFSET,
        Some("*"),
        0,
    );
    with_commit.ext_mut().insert("commitOffset", "4");
    cluster.call(&c, with_commit).await;
    assert_eq!(offset_of(cluster.call(&c, query()).await), 4);

    // Lookups by offset id and by key.
    let last = last.unwrap();
    let id = OffsetMessageId::decode(&last.msg_id).unwrap();
    let view = RemotingCommand::request_with_header(
        RequestCode::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader {
            offset: id.commit_log_offset,
        },
    );
    let resp = cluster.call(&c, view).await;
    let record = ferrocket_common::record::RecordView::decode(resp.body_bytes(), true).unwrap();
    assert_eq!(record.body, b"m4");
    let missing = RemotingCommand::request_with_header(
        RequestCode::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader { offset: 1 << 40 },
    );
    assert_eq!(
        cluster.call(&c, missing).await.response_code(),
        ResponseCode::SYSTEM_ERROR
    );

    let query_key = |key: &str| {
        let mut r = RemotingCommand::request_with_header(
            RequestCode::QUERY_MESSAGE,
            &QueryMessageRequestHeader {
                topic: "Off".into(),
                key: key.into(),
                max_num: 32,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
            },
        );
        r.ext_mut().push(UNIQUE_KEY_QUERY, "false");
        r
    };
    let deadline = Instant::now() + T;
    let found = loop {
        let resp = cluster.call(&c, query_key("key-2")).await;
        if resp.response_code() == ResponseCode::SUCCESS {
            break resp;
        }
        assert!(Instant::now() < deadline, "key never indexed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let records =
        ferrocket_common::record::MessageRecord::decode_all(found.body.as_ref().unwrap(), true)
            .unwrap();
    assert_eq!(&records[0].body[..], b"m2");
    let none = cluster.call(&c, query_key("no-such-key")).await;
    assert_eq!(none.response_code(), ResponseCode::QUERY_NOT_FOUND);
    assert_eq!(
        none.remark.as_deref(),
        Some("can not find message, maybe time range not correct")
    );
}

#[tokio::test]
async fn heartbeats_register_consumers_and_notify_changes() {
    let cluster = start(|_| {}).await;
    let (notified_tx, mut notified) = tokio::sync::mpsc::unbounded_channel::<String>();
    let router = Router::new().route(
        RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
        move |_ch: Channel, req: RemotingCommand| {
            let tx = notified_tx.clone();
            async move {
                let _ = tx.send(req.ext("consumerGroup").unwrap_or("").to_owned());
                Ok(None)
            }
        },
    );
    let first = RemotingClient::new(ClientConfig::default(), router);
    let resp = first
        .invoke(
            &cluster.broker,
            heartbeat("10.0.0.5@1", "CG1", "Hb", "TagA"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    // The group's retry topic was created and registered.
    let retry = wait_for_route(&first, &cluster, "%RETRY%CG1").await;
    assert_eq!(retry.queue_datas[0].write_queue_nums, 1);

    let list = |c: &RemotingClient| {
        let c = c.clone();
        let broker = cluster.broker.clone();
        async move {
            let req = RemotingCommand::request_with_header(
                RequestCode::GET_CONSUMER_LIST_BY_GROUP,
                &ConsumerGroupRequestHeader {
                    consumer_group: "CG1".into(),
                },
            );
            let resp = c.invoke(&broker, req, T).await.unwrap();
            json::from_slice::<ConsumerIdList>(resp.body_bytes())
                .unwrap()
                .consumer_id_list
        }
    };
    assert_eq!(list(&first).await, vec!["10.0.0.5@1".to_string()]);
    // A second member joins: the first hears about it.
    while notified.try_recv().is_ok() {}
    let second = client();
    second
        .invoke(
            &cluster.broker,
            heartbeat("10.0.0.6@2", "CG1", "Hb", "TagA"),
            T,
        )
        .await
        .unwrap();
    let group = tokio::time::timeout(T, notified.recv())
        .await
        .expect("notified")
        .unwrap();
    assert_eq!(group, "CG1");
    assert_eq!(list(&first).await.len(), 2);

    // Pulls without a subscription in the request use the heartbeat's (TagA only).
    let c = client();
    send(&c, &cluster, "Hb", 0, "a", "TAGS\u{1}TagA").await;
    send(&c, &cluster, "Hb", 0, "b", "TAGS\u{1}TagB").await;
    let resp = cluster.call(&c, pull("CG1", "Hb", 0, 0, 0, None, 0)).await;
    let records =
        ferrocket_common::record::MessageRecord::decode_all(resp.body.as_ref().unwrap(), true)
            .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0].body[..], b"a");

    // Unregistering the second member notifies again and shrinks the list.
    let unregister = RemotingCommand::request_with_header(
        RequestCode::UNREGISTER_CLIENT,
        &UnregisterClientRequestHeader {
            client_id: "10.0.0.6@2".into(),
            producer_group: None,
            consumer_group: Some("CG1".into()),
        },
    );
    second.invoke(&cluster.broker, unregister, T).await.unwrap();
    assert_eq!(list(&first).await, vec!["10.0.0.5@1".to_string()]);
    let none = RemotingCommand::request_with_header(
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        &ConsumerGroupRequestHeader {
            consumer_group: "Nobody".into(),
        },
    );
    let resp = cluster.call(&c, none).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("no consumer for this group, Nobody")
    );
}

//! Consumer progress, statistics and inspection codes of the administration tools, and the
//! requests the broker relays to a consumer, against a real broker on loopback.

mod support;
use support::*;

use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::tag::java_string_hash;
use ferrocket_protocol::body::*;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, ClientConfig, RemotingClient, Router};
use std::collections::BTreeMap;

fn create_topic(topic: &str, read: i32, write: i32, order: bool) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: read,
            write_queue_nums: write,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order,
        },
    )
}

fn commit(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            commit_offset: offset,
            bname: None,
        },
    )
}

async fn ok_body<T: json::FromJson>(
    cluster: &Cluster,
    c: &RemotingClient,
    req: RemotingCommand,
) -> T {
    json::from_slice(cluster.call_ok(c, req).await.body_bytes()).unwrap()
}

/// The stored bytes of the record a send's offset message id names.
fn raw_record(cluster: &Cluster, msg_id: &str) -> Vec<u8> {
    let id = OffsetMessageId::decode(msg_id).unwrap();
    let record = cluster
        .store
        .commit_log()
        .record_at(id.commit_log_offset as u64);
    record.unwrap().to_vec()
}

fn mq(topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue::new(topic, "broker-a", queue_id)
}

/// Three messages in queue 0 and one in queue 1 of `topic`; their send results.
async fn fill(
    cluster: &Cluster,
    c: &RemotingClient,
    topic: &str,
) -> Vec<SendMessageResponseHeader> {
    let mut sent = Vec::new();
    for q in [0, 0, 0, 1] {
        sent.push(send_ok(c, cluster, v2(topic, q, "TAGS\u{1}TagA"), b"progress").await);
    }
    sent
}

#[tokio::test]
async fn consume_stats_follow_java_queue_counts_and_subscriptions() {
    let cluster = start(|_| {}).await;
    let c = client();
    // Four read queues over two write queues: GET_CONSUME_STATS walks the read queues,
    // GET_BROKER_CONSUME_STATS the write queues.
    cluster.call(&c, create_topic("Prog", 4, 2, false)).await;
    cluster.call(&c, create_topic("Ordered", 1, 1, true)).await;
    fill(&cluster, &c, "Prog").await;
    send_ok(&c, &cluster, v2("Ordered", 0, ""), b"o").await;
    cluster.call(&c, commit("PG1", "Prog", 0, 1)).await;
    cluster.call(&c, commit("PG1", "Ordered", 0, 1)).await;

    let one = |topic: Option<&str>| {
        RemotingCommand::request_with_header(
            RequestCode::GET_CONSUME_STATS,
            &GetConsumeStatsRequestHeader {
                consumer_group: "PG1".into(),
                topic: topic.map(str::to_owned),
            },
        )
    };
    let stats: ConsumeStats = ok_body(&cluster, &c, one(Some("Prog"))).await;
    assert_eq!(stats.offset_table.len(), 4, "read queues");
    assert_eq!(stats.offset_table[&mq("Prog", 0)].consumer_offset, 1);
    assert_eq!(stats.offset_table[&mq("Prog", 0)].broker_offset, 3);
    assert!(stats.offset_table[&mq("Prog", 0)].last_timestamp > 0);
    assert_eq!(stats.offset_table[&mq("Prog", 3)], OffsetWrapper::default());
    let all: ConsumeStats = ok_body(&cluster, &c, one(None)).await;
    assert_eq!(all.offset_table.len(), 5, "every topic with offsets");

    // Online and subscribed to Prog only: Ordered drops out of the group's figures.
    let member = client();
    let resp = cluster
        .call(&member, heartbeat("10.0.0.9@1", "PG1", "Prog", "*"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let all: ConsumeStats = ok_body(&cluster, &c, one(None)).await;
    assert!(all.offset_table.keys().all(|q| q.topic == "Prog"));

    let broker_wide = |is_order: bool| {
        RemotingCommand::request_with_header(
            RequestCode::GET_BROKER_CONSUME_STATS,
            &GetConsumeStatsInBrokerHeader { is_order },
        )
    };
    let list: ConsumeStatsList = ok_body(&cluster, &c, broker_wide(false)).await;
    assert_eq!(list.broker_addr.as_deref(), Some(cluster.broker.as_str()));
    let groups: BTreeMap<&str, &Vec<ConsumeStats>> = list
        .consume_stats_list
        .iter()
        .flat_map(|m| m.iter().map(|(g, s)| (g.as_str(), s)))
        .collect();
    // Every subscription group is listed, those without offsets with no stats.
    assert!(groups["TOOLS_CONSUMER"].is_empty());
    let pg1 = groups["PG1"];
    assert_eq!(pg1.len(), 1);
    assert_eq!(pg1[0].offset_table.len(), 2, "write queues");
    // Queue 0: 3 - 1, queue 1: 1 - 0.
    assert_eq!(list.total_diff, 3);

    // Only subscription groups are listed: PG2 becomes one.
    let group = SubscriptionGroupConfig {
        group_name: "PG2".into(),
        ..SubscriptionGroupConfig::default()
    };
    let create = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(json::to_vec(&group));
    cluster.call(&c, create).await;
    cluster.call(&c, commit("PG2", "Ordered", 0, 0)).await;
    cluster.call(&c, commit("PG2", "Prog", 0, 0)).await;
    let list: ConsumeStatsList = ok_body(&cluster, &c, broker_wide(true)).await;
    let pg2: Vec<&ConsumeStats> = list
        .consume_stats_list
        .iter()
        .filter_map(|m| m.get("PG2"))
        .flatten()
        .collect();
    assert_eq!(pg2.len(), 1);
    assert!(pg2[0].offset_table.keys().all(|q| q.topic == "Ordered"));
    assert_eq!(list.total_diff, 1);
}

#[tokio::test]
async fn time_spans_correction_offsets_clones_and_the_offset_table() {
    let cluster = start(|_| {}).await;
    let c = client();
    cluster.call(&c, create_topic("Span", 2, 2, false)).await;
    let sent = fill(&cluster, &c, "Span").await;
    cluster.call(&c, commit("SG", "Span", 0, 2)).await;
    let store_time = |msg_id: &str| stored(&cluster, msg_id).header.store_timestamp;

    let span = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUME_TIME_SPAN,
        &QueryConsumeTimeSpanRequestHeader {
            topic: "Span".into(),
            group: "SG".into(),
        },
    );
    let body: QueryConsumeTimeSpanBody = ok_body(&cluster, &c, span).await;
    let q0 = &body.consume_time_span_set[0];
    assert_eq!(q0.message_queue, mq("Span", 0));
    assert_eq!(q0.min_time_stamp, store_time(&sent[0].msg_id));
    assert_eq!(q0.max_time_stamp, store_time(&sent[2].msg_id));
    assert_eq!(q0.consume_time_stamp, store_time(&sent[1].msg_id));
    assert!(q0.delay_time >= 0 && q0.delay_time < 60_000);
    // Queue 1: no offset, so the consume time is the first message's and the delay counts
    // from Java's -1 store time of offset -1.
    let q1 = &body.consume_time_span_set[1];
    assert_eq!(q1.consume_time_stamp, q1.min_time_stamp);
    assert!(q1.delay_time > ferrocket_common::time::now_ms() - 60_000);
    let unknown = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUME_TIME_SPAN,
        &QueryConsumeTimeSpanRequestHeader {
            topic: "Nope".into(),
            group: "SG".into(),
        },
    );
    let resp = cluster.call(&c, unknown).await;
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert_eq!(resp.remark.as_deref(), Some("topic[Nope] not exist"));

    cluster.call(&c, commit("Other", "Span", 0, 1)).await;
    let correction = |filter: Option<&str>, compare: &str| {
        RemotingCommand::request_with_header(
            RequestCode::QUERY_CORRECTION_OFFSET,
            &QueryCorrectionOffsetHeader {
                filter_groups: filter.map(str::to_owned),
                compare_group: compare.into(),
                topic: "Span".into(),
            },
        )
    };
    let body: QueryCorrectionOffsetBody = ok_body(&cluster, &c, correction(None, "Other")).await;
    assert_eq!(body.correction_offsets, BTreeMap::from([(0, 1)]));
    let body: QueryCorrectionOffsetBody = ok_body(&cluster, &c, correction(None, "SG")).await;
    assert_eq!(body.correction_offsets, BTreeMap::from([(0, 1)]));
    let body: QueryCorrectionOffsetBody =
        ok_body(&cluster, &c, correction(Some("Other"), "SG")).await;
    assert_eq!(body.correction_offsets, BTreeMap::from([(0, 2)]));
    // Other, left out of the minimum (SG's 2), is behind it: Long.MAX_VALUE.
    let body: QueryCorrectionOffsetBody =
        ok_body(&cluster, &c, correction(Some("Other"), "Other")).await;
    assert_eq!(body.correction_offsets, BTreeMap::from([(0, i64::MAX)]));

    let clone = |topic: Option<&str>| {
        RemotingCommand::request_with_header(
            RequestCode::CLONE_GROUP_OFFSET,
            &CloneGroupOffsetRequestHeader {
                src_group: "SG".into(),
                dest_group: "Copy".into(),
                topic: topic.map(str::to_owned),
                offline: Some(false),
            },
        )
    };
    let query = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: "Copy".into(),
            topic: "Span".into(),
            queue_id: 0,
            bname: None,
        },
    );
    // Without a topic Java clones nothing.
    let resp = cluster.call(&c, clone(None)).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    // (A group without an offset in a queue whose first message is in memory reads 0.)
    assert_eq!(
        cluster.call(&c, query.clone()).await.ext("offset"),
        Some("0")
    );
    cluster.call(&c, clone(Some("Span"))).await;
    let resp = cluster.call(&c, query).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(resp.ext("offset"), Some("2"));

    let all = cluster
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET),
        )
        .await;
    assert_eq!(all.response_code(), ResponseCode::SUCCESS);
    let text = String::from_utf8(all.body_bytes().to_vec()).unwrap();
    assert!(text.contains(r#""Span@SG":{0:2}"#), "{text}");
    let table: ConsumerOffsetSerializeWrapper = json::from_slice(all.body_bytes()).unwrap();
    assert_eq!(table.offset_table["Span@Copy"], BTreeMap::from([(0, 2)]));
}

#[tokio::test]
async fn consume_queue_units_and_broker_statistics_are_served() {
    let cluster = start(|_| {}).await;
    let c = client();
    cluster.call(&c, create_topic("Cq", 2, 2, false)).await;
    let sent = fill(&cluster, &c, "Cq").await;
    let query = |queue_id: i32, index: i64, count: i32, group: Option<&str>| {
        RemotingCommand::request_with_header(
            RequestCode::QUERY_CONSUME_QUEUE,
            &QueryConsumeQueueRequestHeader {
                topic: Some("Cq".into()),
                queue_id: Some(queue_id),
                index: Some(index),
                count: Some(count),
                consumer_group: group.map(str::to_owned),
            },
        )
    };
    let body: QueryConsumeQueueResponseBody = ok_body(&cluster, &c, query(0, 1, 10, None)).await;
    assert_eq!((body.min_queue_index, body.max_queue_index), (0, 3));
    let units = body.queue_data.unwrap();
    assert_eq!(units.len(), 2);
    let second = OffsetMessageId::decode(&sent[1].msg_id).unwrap();
    assert_eq!(units[0].physic_offset, second.commit_log_offset);
    assert_eq!(units[0].tags_code, i64::from(java_string_hash("TagA")));
    assert_eq!(
        units[0].physic_size as usize,
        raw_record(&cluster, &sent[1].msg_id).len()
    );
    assert!(body.filter_data.is_none() && body.subscription_data.is_none());

    let resp = cluster.call(&c, query(0, 7, 1, Some("Offline"))).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(
        resp.remark.as_deref(),
        Some("Index 7 of 0@Cq is not exist!")
    );
    assert!(resp.body.is_none());
    let resp = cluster.call(&c, query(5, 0, 1, None)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("5@Cq is not exist!"));

    let body: QueryConsumeQueueResponseBody =
        ok_body(&cluster, &c, query(1, 0, 1, Some("Offline"))).await;
    assert_eq!(
        body.filter_data.as_deref(),
        Some("Offline@Cq is not online!")
    );
    let member = client();
    cluster
        .call(&member, heartbeat("10.0.0.9@1", "Online", "Cq", "TagA"))
        .await;
    let body: QueryConsumeQueueResponseBody =
        ok_body(&cluster, &c, query(1, 0, 1, Some("Online"))).await;
    assert_eq!(body.filter_data.as_deref(), Some("null"));
    assert_eq!(body.subscription_data.unwrap().sub_string, "TagA");

    // A pull counts for the group: the counters exist once something happened.
    let pull = RemotingCommand::request_with_header(
        RequestCode::PULL_MESSAGE,
        &PullMessageRequestHeader::with_subscription("Online", "Cq", 0, 0, 32, "*"),
    );
    assert_eq!(
        cluster.call(&c, pull).await.response_code(),
        ResponseCode::SUCCESS
    );
    let view = |name: &str, key: &str| {
        RemotingCommand::request_with_header(
            RequestCode::VIEW_BROKER_STATS_DATA,
            &ViewBrokerStatsDataRequestHeader {
                stats_name: name.into(),
                stats_key: key.into(),
            },
        )
    };
    for (name, key) in [
        ("TOPIC_PUT_NUMS", "Cq"),
        ("TOPIC_PUT_SIZE", "Cq"),
        ("GROUP_GET_NUMS", "Cq@Online"),
        ("BROKER_PUT_NUMS", "DefaultCluster"),
        ("BROKER_GET_NUMS", "DefaultCluster"),
    ] {
        let data: BrokerStatsData = ok_body(&cluster, &c, view(name, key)).await;
        // Not sampled yet (every 10 s): the windows hold only their creation snapshots.
        assert_eq!(data.stats_minute.sum, 0, "{name}");
    }
    let resp = cluster.call(&c, view("GROUP_GET_NUMS", "Cq@Nobody")).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("The stats <GROUP_GET_NUMS> <Cq@Nobody> not exist")
    );
}

#[tokio::test]
async fn running_info_and_direct_consumption_are_relayed_to_the_consumer() {
    let cluster = start(|_| {}).await;
    let c = client();
    cluster.call(&c, create_topic("Relay", 1, 1, false)).await;
    let sent = send_ok(&c, &cluster, v2("Relay", 0, "TAGS\u{1}TagA"), b"direct").await;
    let record = raw_record(&cluster, &sent.msg_id);

    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<RemotingCommand>();
    let running_tx = seen_tx.clone();
    let router = Router::new()
        .route(
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            move |_: Channel, req: RemotingCommand| {
                let _ = running_tx.send(req);
                let info = ConsumerRunningInfo {
                    properties: BTreeMap::from([("PROP_CLIENT_VERSION".into(), "V4_9_8".into())]),
                    ..ConsumerRunningInfo::default()
                };
                async move {
                    Ok(Some(
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(json::to_vec(&info)),
                    ))
                }
            },
        )
        .route(
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
            move |_: Channel, req: RemotingCommand| {
                let _ = seen_tx.send(req);
                let result = ConsumeMessageDirectlyResult {
                    consume_result: Some("CR_SUCCESS".into()),
                    auto_commit: true,
                    ..ConsumeMessageDirectlyResult::default()
                };
                async move {
                    Ok(Some(
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(json::to_vec(&result)),
                    ))
                }
            },
        );
    let router = router.route(
        RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
        move |_: Channel, req: RemotingCommand| {
            let topic = req.ext("topic").unwrap_or("").to_owned();
            let status = GetConsumerStatusBody {
                message_queue_table: BTreeMap::from([(mq(&topic, 0), 1)]),
                ..GetConsumerStatusBody::default()
            };
            async move {
                Ok(Some(
                    RemotingCommand::response(ResponseCode::SUCCESS, None)
                        .with_body(json::to_vec(&status)),
                ))
            }
        },
    );
    let consumer = RemotingClient::new(ClientConfig::default(), router);
    let resp = cluster
        .call(&consumer, heartbeat("10.0.0.7@42", "RG", "Relay", "*"))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);

    let producers: ProducerTableInfo = ok_body(
        &cluster,
        &c,
        RemotingCommand::request(RequestCode::GET_ALL_PRODUCER_INFO),
    )
    .await;
    let inner = &producers.data["CLIENT_INNER_PRODUCER"];
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0].client_id, "10.0.0.7@42");
    assert_eq!(inner[0].language, "JAVA");
    assert!(inner[0].remote_ip.starts_with("/127.0.0.1:"));
    assert!((inner[0].last_update_timestamp - ferrocket_common::time::now_ms()).abs() < 60_000);

    let running = |client_id: &str| {
        RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            &GetConsumerRunningInfoRequestHeader {
                consumer_group: "RG".into(),
                client_id: client_id.into(),
                jstack_enable: Some(false),
            },
        )
    };
    let info: ConsumerRunningInfo = ok_body(&cluster, &c, running("10.0.0.7@42")).await;
    assert_eq!(info.properties["PROP_CLIENT_VERSION"], "V4_9_8");
    let relayed = seen.recv().await.unwrap();
    assert_eq!(relayed.ext("clientId"), Some("10.0.0.7@42"));
    assert_eq!(relayed.ext("jstackEnable"), Some("false"));

    let resp = cluster.call(&c, running("10.0.0.7@1")).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("The Consumer <RG> <10.0.0.7@1> not online")
    );

    let directly = RemotingCommand::request_with_header(
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: "RG".into(),
            client_id: Some("10.0.0.7@42".into()),
            msg_id: Some(sent.msg_id.clone()),
            broker_name: None,
        },
    );
    let result: ConsumeMessageDirectlyResult = ok_body(&cluster, &c, directly).await;
    assert_eq!(result.consume_result.as_deref(), Some("CR_SUCCESS"));
    let relayed = seen.recv().await.unwrap();
    assert_eq!(relayed.ext("brokerName"), Some("broker-a"));
    assert_eq!(relayed.ext("msgId"), Some(sent.msg_id.as_str()));
    assert_eq!(
        relayed.body_bytes(),
        &record[..],
        "the stored record, as it is"
    );

    let status = |group: &str, client: Option<&str>| {
        RemotingCommand::request_with_header(
            RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
            &GetConsumerStatusRequestHeader {
                topic: "Relay".into(),
                group: group.into(),
                client_addr: client.map(str::to_owned),
            },
        )
    };
    let body: GetConsumerStatusBody = ok_body(&cluster, &c, status("RG", None)).await;
    assert_eq!(
        body.consumer_table["10.0.0.7@42"],
        BTreeMap::from([(mq("Relay", 0), 1)])
    );
    let body: GetConsumerStatusBody =
        ok_body(&cluster, &c, status("RG", Some("someone-else"))).await;
    assert!(body.consumer_table.is_empty());
    let resp = cluster.call(&c, status("Nobody", None)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("No Any Consumer online in the consumer group: [Nobody]")
    );
}

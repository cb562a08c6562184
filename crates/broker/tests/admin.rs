//! Administration codes against a real broker.

mod support;
use support::*;

use ferrocket_protocol::body::*;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};

fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
        },
    )
}

/// A request whose header is just the topic (DELETE_TOPIC_IN_BROKER, GET_TOPIC_STATS_INFO).
fn topic_request(code: RequestCode, topic: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        code,
        &TopicRequestHeader {
            topic: topic.into(),
        },
    )
}

fn send_v2(topic: &str, queue_id: i32, body: &'static [u8]) -> RemotingCommand {
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &v2(topic, queue_id, ""))
        .with_body(bytes::Bytes::from_static(body))
}

/// The response's code and remark.
fn assert_answer(resp: &RemotingCommand, code: ResponseCode, remark: Option<&str>) {
    assert_eq!(
        (resp.response_code(), resp.remark.as_deref()),
        (code, remark)
    );
}

/// The JSON body answering a header-less request, which must succeed.
async fn body_of<B: json::FromJson>(
    cluster: &Cluster,
    c: &ferrocket_remoting::RemotingClient,
    code: RequestCode,
) -> B {
    let resp = cluster.call_ok(c, RemotingCommand::request(code)).await;
    json::from_slice(resp.body_bytes()).unwrap()
}

/// GET_ALL_TOPIC_CONFIG's table.
async fn topic_configs(
    cluster: &Cluster,
    c: &ferrocket_remoting::RemotingClient,
) -> std::collections::BTreeMap<String, TopicConfig> {
    body_of::<TopicConfigSerializeWrapper>(cluster, c, RequestCode::GET_ALL_TOPIC_CONFIG)
        .await
        .topic_config_table
        .into_iter()
        .collect()
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG's table.
async fn group_configs(
    cluster: &Cluster,
    c: &ferrocket_remoting::RemotingClient,
) -> std::collections::BTreeMap<String, SubscriptionGroupConfig> {
    body_of::<SubscriptionGroupWrapper>(cluster, c, RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG)
        .await
        .subscription_group_table
        .into_iter()
        .collect()
}

/// GET_BROKER_RUNTIME_INFO's table.
async fn runtime_info(
    cluster: &Cluster,
    c: &ferrocket_remoting::RemotingClient,
) -> std::collections::HashMap<String, String> {
    body_of::<KVTable>(cluster, c, RequestCode::GET_BROKER_RUNTIME_INFO)
        .await
        .table
        .into_iter()
        .collect()
}

#[tokio::test]
async fn topics_are_created_listed_and_deleted() {
    let cluster = start(|_| {}).await;
    let c = client();
    let resp = cluster.call(&c, create_topic("AdminTopic", 8)).await;
    // As captured from Java: code 0 with the default remark, and no extFields.
    assert_answer(
        &resp,
        ResponseCode::SUCCESS,
        Some("not set any response code"),
    );
    assert!(resp.ext_fields.is_none());
    let route = wait_for_route(&c, &cluster, "AdminTopic").await;
    assert_eq!(
        (
            route.queue_datas[0].read_queue_nums,
            route.queue_datas[0].perm
        ),
        (8, 6)
    );

    let all = cluster
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG),
        )
        .await;
    assert!(all.ext_fields.as_ref().is_some_and(|e| e.is_empty()));
    let wrapper: TopicConfigSerializeWrapper = json::from_slice(all.body_bytes()).unwrap();
    assert_eq!(wrapper.topic_config_table["AdminTopic"].write_queue_nums, 8);
    assert!(wrapper.topic_config_table.contains_key("TBW102"));

    let resp = cluster.call(&c, create_topic("TBW102", 8)).await;
    assert_answer(
        &resp,
        ResponseCode::SYSTEM_ERROR,
        Some("The topic[TBW102] is conflict with system topic."),
    );
    let resp = cluster.call(&c, create_topic("bad/name", 8)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);

    cluster
        .call_ok(&c, send_v2("AdminTopic", 3, b"before delete"))
        .await;
    assert_eq!(cluster.store.max_offset("AdminTopic", 3), 1);
    cluster
        .call_ok(
            &c,
            topic_request(RequestCode::DELETE_TOPIC_IN_BROKER, "AdminTopic"),
        )
        .await;
    assert!(!topic_configs(&cluster, &c).await.contains_key("AdminTopic"));
    // Its consume queues went with it (Java's cleanUnusedTopic).
    assert_eq!(cluster.store.max_offset("AdminTopic", 3), 0);
    assert!(!cluster
        .store
        .root_dir()
        .join("consumequeue")
        .join("AdminTopic")
        .exists());
}

#[tokio::test]
async fn stats_groups_and_locks() {
    let cluster = start(|_| {}).await;
    let c = client();
    cluster.call(&c, create_topic("StatsTopic", 2)).await;
    for q in [0, 0, 0, 1] {
        cluster.call_ok(&c, send_v2("StatsTopic", q, b"s")).await;
    }
    let stats = topic_request(RequestCode::GET_TOPIC_STATS_INFO, "StatsTopic");
    let table: TopicStatsTable =
        json::from_slice(cluster.call(&c, stats).await.body_bytes()).unwrap();
    let q0 = MessageQueue::new("StatsTopic", "broker-a", 0);
    assert_eq!(
        (
            table.offset_table[&q0].min_offset,
            table.offset_table[&q0].max_offset
        ),
        (0, 3)
    );
    assert!(table.offset_table[&q0].last_update_timestamp > 0);
    let unknown = topic_request(RequestCode::GET_TOPIC_STATS_INFO, "Nope");
    assert_eq!(
        cluster.call(&c, unknown).await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );

    let commit = RemotingCommand::request_with_header(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: "SG".into(),
            topic: "StatsTopic".into(),
            queue_id: 0,
            commit_offset: 1,
            bname: None,
        },
    );
    cluster.call(&c, commit).await;
    let consume = RemotingCommand::request_with_header(
        RequestCode::GET_CONSUME_STATS,
        &GetConsumeStatsRequestHeader {
            consumer_group: "SG".into(),
            topic: None,
        },
    );
    let body = cluster.call(&c, consume).await;
    assert!(String::from_utf8_lossy(body.body_bytes()).contains(r#"{{"brokerName":"broker-a","queueId":0,"topic":"StatsTopic"}:{"brokerOffset":3,"consumerOffset":1,"#));
    let stats: ConsumeStats = json::from_slice(body.body_bytes()).unwrap();
    assert_eq!(stats.total_diff(), (3 - 1) + 1);

    let group = SubscriptionGroupConfig {
        group_name: "AdminGroup".into(),
        retry_max_times: 3,
        ..SubscriptionGroupConfig::default()
    };
    let update = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(json::to_vec(&group));
    cluster.call_ok(&c, update).await;
    assert_eq!(
        group_configs(&cluster, &c).await["AdminGroup"].retry_max_times,
        3
    );

    let lock = |client_id: &str| {
        RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(json::to_vec(
            &LockBatchRequestBody {
                client_id: client_id.into(),
                consumer_group: "SG".into(),
                mq_set: vec![q0.clone(), MessageQueue::new("StatsTopic", "broker-a", 1)],
            },
        ))
    };
    let held: LockBatchResponseBody =
        json::from_slice(cluster.call(&c, lock("c1")).await.body_bytes()).unwrap();
    assert_eq!(held.lock_ok_mq_set.len(), 2);
    let held: LockBatchResponseBody =
        json::from_slice(cluster.call(&c, lock("c2")).await.body_bytes()).unwrap();
    assert!(held.lock_ok_mq_set.is_empty(), "held by c1");
    let unlock = RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(json::to_vec(
        &LockBatchRequestBody {
            client_id: "c1".into(),
            consumer_group: "SG".into(),
            mq_set: vec![q0.clone()],
        },
    ));
    cluster.call(&c, unlock).await;
    let held: LockBatchResponseBody =
        json::from_slice(cluster.call(&c, lock("c2")).await.body_bytes()).unwrap();
    assert_eq!(held.lock_ok_mq_set, vec![q0]);

    let offline = RemotingCommand::request_with_header(
        RequestCode::GET_CONSUMER_CONNECTION_LIST,
        &ConsumerGroupRequestHeader {
            consumer_group: "SG".into(),
        },
    );
    let resp = cluster.call(&c, offline).await;
    assert_eq!(resp.response_code(), ResponseCode::CONSUMER_NOT_ONLINE);

    assert_eq!(
        runtime_info(&cluster, &c).await["brokerVersionDesc"],
        "V4_9_8"
    );
    let config = cluster
        .call(&c, RemotingCommand::request(RequestCode::GET_BROKER_CONFIG))
        .await;
    assert!(String::from_utf8_lossy(config.body_bytes()).contains("brokerName=broker-a"));
    assert!(config.ext("version").unwrap().contains("counter"));
}

fn update_config(text: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

/// GET_BROKER_CONFIG: the properties text and the config version's counter.
async fn broker_config(cluster: &Cluster, c: &ferrocket_remoting::RemotingClient) -> (String, i64) {
    let resp = cluster
        .call(c, RemotingCommand::request(RequestCode::GET_BROKER_CONFIG))
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let version: DataVersion = json::from_slice(resp.ext("version").unwrap().as_bytes()).unwrap();
    (
        String::from_utf8(resp.body_bytes().to_vec()).unwrap(),
        version.counter,
    )
}

#[tokio::test]
async fn broker_config_updates_apply_live_and_persist() {
    let cluster = start(|_| {}).await;
    let c = client();
    let (text, first_version) = broker_config(&cluster, &c).await;
    assert!(text.lines().any(|l| l == "brokerPermission=6"), "{text}");
    assert!(text.lines().any(|l| l == "maxMessageSize=4194304"));
    cluster.call_ok(&c, create_topic("LiveCfg", 2)).await;
    assert_eq!(
        wait_for_route(&c, &cluster, "LiveCfg").await.queue_datas[0].perm,
        6
    );

    // Read-only, without the trace switch, small messages: all at once.
    cluster
        .call_ok(
            &c,
            update_config("brokerPermission=4\ntraceOn=false\nmaxMessageSize=100\n"),
        )
        .await;
    let (text, version) = broker_config(&cluster, &c).await;
    assert_eq!(version, first_version + 1);
    for line in ["brokerPermission=4", "traceOn=false", "maxMessageSize=100"] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    let refused = cluster.call(&c, send_v2("LiveCfg", 0, b"hello")).await;
    assert_eq!(refused.response_code(), ResponseCode::NO_PERMISSION);
    assert_eq!(refused.ext("TRACE_ON"), Some("false"));
    // The broker re-registered at once: name servers now route it read-only.
    let deadline = std::time::Instant::now() + T;
    while wait_for_route(&c, &cluster, "LiveCfg").await.queue_datas[0].perm != 4 {
        assert!(std::time::Instant::now() < deadline, "route still writable");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    cluster
        .call_ok(&c, update_config("brokerPermission=6"))
        .await;
    let too_big = cluster.call(&c, send_v2("LiveCfg", 0, &[b'x'; 101])).await;
    assert_eq!(too_big.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    cluster.call_ok(&c, send_v2("LiveCfg", 0, b"fits")).await;

    // Black-listed keys and bad values change nothing.
    for body in [
        "brokerConfigPath=/tmp/elsewhere",
        "configBlackList=",
        "rocketmqHome=/opt",
    ] {
        let resp = cluster.call(&c, update_config(body)).await;
        assert_answer(
            &resp,
            ResponseCode::NO_PERMISSION,
            Some("Can not update config in black list."),
        );
    }
    let bad = cluster
        .call(&c, update_config("traceOn=true\nlistenPort=eleven"))
        .await;
    assert_eq!(bad.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(bad.remark.as_deref().unwrap().contains("listenPort"));
    let (text, version) = broker_config(&cluster, &c).await;
    assert_eq!(version, first_version + 2);
    assert!(text.lines().any(|l| l == "traceOn=false"));
    // No body: nothing to do.
    let empty = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG);
    cluster.call_ok(&c, empty).await;

    // Persisted where a restart reads it back.
    let file = cluster
        .store
        .root_dir()
        .join("config")
        .join("broker.properties");
    let saved = std::fs::read_to_string(file).unwrap();
    let mut reread = ferrocket_broker::BrokerConfig::default();
    for (k, v) in ferrocket_common::config_text::parse(&saved) {
        assert_eq!(reread.set(&k, &v), Ok(true), "{k}={v}");
    }
    assert_eq!(
        (
            reread.broker_permission,
            reread.trace_on,
            reread.store.max_message_bytes
        ),
        (6, false, 100)
    );
}

/// Every key `AdminBrokerProcessor.prepareRuntimeInfo` reports (store statistics and disk
/// figures included), each in the form `mqadmin clusterList` / `brokerStatus` parse.
#[tokio::test]
async fn runtime_info_has_every_java_key_in_java_form() {
    let cluster = start(|_| {}).await;
    let c = client();
    let empty = runtime_info(&cluster, &c).await;
    assert_eq!(empty["earliestMessageTimeStamp"], "-1", "no message yet");
    assert_eq!(
        empty["putMessageTimesTotal"], "1",
        "Java reports at least 1"
    );
    assert_eq!(
        empty["putMessageDistributeTime"], "null",
        "no minute closed yet"
    );

    let before = ferrocket_common::time::now_ms();
    for _ in 0..3 {
        cluster.call_ok(&c, send_v2("InfoTopic", 0, b"hello")).await;
    }
    let after = ferrocket_common::time::now_ms();
    let mut header =
        PullMessageRequestHeader::with_subscription("InfoGroup", "InfoTopic", 0, 0, 32, "*");
    header.sys_flag = pull_sys_flag::SUBSCRIPTION;
    let pulled = cluster
        .call(
            &c,
            RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header),
        )
        .await;
    assert_eq!(pulled.response_code(), ResponseCode::SUCCESS);
    // Past one sample of the store statistics.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    let info = runtime_info(&cluster, &c).await;
    let store_dir = cluster.store.root_dir().to_path_buf();
    let commit_log_ratio_key = format!(
        "commitLogDiskRatio_{}",
        store_dir.join("commitlog").display()
    );
    for key in [
        "brokerVersionDesc",
        "brokerVersion",
        "msgPutTotalYesterdayMorning",
        "msgPutTotalTodayMorning",
        "msgPutTotalTodayNow",
        "msgGetTotalYesterdayMorning",
        "msgGetTotalTodayMorning",
        "msgGetTotalTodayNow",
        "sendThreadPoolQueueSize",
        "sendThreadPoolQueueCapacity",
        "pullThreadPoolQueueSize",
        "pullThreadPoolQueueCapacity",
        "queryThreadPoolQueueSize",
        "queryThreadPoolQueueCapacity",
        "EndTransactionQueueSize",
        "EndTransactionThreadPoolQueueCapacity",
        "dispatchBehindBytes",
        "pageCacheLockTimeMills",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueHeadWaitTimeMills",
        "earliestMessageTimeStamp",
        "startAcceptSendRequestTimeStamp",
        "remainTransientStoreBufferNumbs",
        "remainHowManyDataToFlush",
        "commitLogDirCapacity",
        // DefaultMessageStore.getRuntimeInfo
        "commitLogDiskRatio",
        commit_log_ratio_key.as_str(),
        "consumeQueueDiskRatio",
        "commitLogMinOffset",
        "commitLogMaxOffset",
        // StoreStatsService.getRuntimeInfo
        "bootTimestamp",
        "runtime",
        "putMessageEntireTimeMax",
        "putMessageTimesTotal",
        "putMessageFailedTimes",
        "putMessageSizeTotal",
        "putMessageDistributeTime",
        "putMessageAverageSize",
        "dispatchMaxBuffer",
        "getMessageEntireTimeMax",
        "putTps",
        "getFoundTps",
        "getMissTps",
        "getTotalTps",
        "getTransferedTps",
        "putLatency99",
        "putLatency999",
    ] {
        assert!(info.contains_key(key), "{key} missing from {info:?}");
    }
    assert_eq!(info["msgPutTotalTodayNow"], "3");
    assert_eq!(info["msgGetTotalTodayNow"], "3");
    assert_eq!(info["putMessageTimesTotal"], "3");
    let stored: u64 = info["commitLogMaxOffset"].parse().unwrap();
    assert_eq!(info["putMessageSizeTotal"], stored.to_string());
    let earliest: i64 = info["earliestMessageTimeStamp"].parse().unwrap();
    assert!((before..=after).contains(&earliest), "{earliest}");
    // clusterList: the first of the space-separated TPS figures parses as a double (Java's
    // split drops the empty windows that have too few samples yet).
    for tps in ["putTps", "getTransferedTps"] {
        if let Some(first) = info[tps].split(' ').find(|s| !s.is_empty()) {
            first.parse::<f64>().unwrap();
        }
    }
    // df-style used share, two decimals, as Java's getDiskPartitionSpaceUsedPercent.
    let ratio: f64 = info["commitLogDiskRatio"].parse().unwrap();
    let expected = ferrocket_store::segment::disk_space(&store_dir)
        .unwrap()
        .used_ratio();
    assert_eq!(ratio, expected);
    assert_eq!(
        info[commit_log_ratio_key.as_str()],
        info["commitLogDiskRatio"]
    );
    assert!(info["commitLogDirCapacity"].starts_with("Total : "));
    assert!(info["commitLogDirCapacity"].ends_with(" GiB."));
    assert!(info["runtime"].starts_with("[ 0 days, 0 hours, 0 minutes, "));
    assert_eq!(info["remainTransientStoreBufferNumbs"], "2147483647");
    assert_eq!(info["sendThreadPoolQueueCapacity"], "10000");
    assert_eq!(info["pullThreadPoolQueueCapacity"], "100000");
}

#[tokio::test]
async fn cleanup_codes_drop_unconfigured_queues_and_request_a_manual_delete() {
    let cluster = start(|_| {}).await;
    let c = client();
    cluster.call(&c, create_topic("Kept", 1)).await;
    send_ok(&c, &cluster, v2("Kept", 0, ""), b"kept").await;
    // A queue the store holds for a topic the broker has no config for.
    let orphan = ferrocket_testkit::put_message("Orphan", 0, b"orphan", "");
    cluster.store.put(&orphan).await.unwrap();
    assert_eq!(cluster.store.max_offset("Orphan", 0), 1);

    cluster
        .call_ok(
            &c,
            RemotingCommand::request(RequestCode::CLEAN_UNUSED_TOPIC),
        )
        .await;
    assert_eq!(cluster.store.max_offset("Orphan", 0), 0);
    assert_eq!(cluster.store.max_offset("Kept", 0), 1);

    cluster
        .call_ok(
            &c,
            RemotingCommand::request(RequestCode::DELETE_EXPIRED_COMMITLOG),
        )
        .await;

    // Nothing has expired from the CommitLog: every queue stays (the store's tests expire some).
    let resp = cluster
        .call(
            &c,
            RemotingCommand::request(RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE),
        )
        .await;
    assert_answer(&resp, ResponseCode::SUCCESS, None);
    assert_eq!(cluster.store.max_offset("Kept", 0), 1);
}

#[tokio::test]
async fn acl_codes_answer_as_a_java_broker_without_acl() {
    let cluster = start(|_| {}).await;
    let c = client();
    let create = RemotingCommand::request_with_header(
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
        &CreateAccessConfigRequestHeader {
            access_key: "RocketMQ".into(),
            secret_key: Some("12345678".into()),
            white_remote_address: None,
            admin: Some(false),
            default_topic_perm: Some("DENY".into()),
            default_group_perm: Some("SUB".into()),
            topic_perms: None,
            group_perms: None,
        },
    );
    let delete = RemotingCommand::request_with_header(
        RequestCode::DELETE_ACL_CONFIG,
        &DeleteAccessConfigRequestHeader {
            access_key: "RocketMQ".into(),
        },
    );
    let white = RemotingCommand::request_with_header(
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        &UpdateGlobalWhiteAddrsConfigRequestHeader {
            global_white_addrs: "10.10.103.*".into(),
            acl_file_full_path: "/conf/plain_acl.yml".into(),
        },
    );
    // A Java broker with aclEnable=false has no validator: each update fails with its own code
    // and the null message of the exception.
    for (req, code) in [
        (create, ResponseCode::UPDATE_AND_CREATE_ACL_CONFIG_FAILED),
        (delete, ResponseCode::DELETE_ACL_CONFIG_FAILED),
        (white, ResponseCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED),
    ] {
        assert_answer(&cluster.call(&c, req).await, code, None);
    }
    let resp = cluster
        .call(
            &c,
            RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_ACL_CONFIG),
        )
        .await;
    assert_answer(
        &resp,
        ResponseCode::SYSTEM_ERROR,
        Some("the custom field <accessKey> is null"),
    );

    // Java's handler returns null on the missing validator: nothing is written back.
    let version = c
        .invoke(
            &cluster.broker,
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_ACL_INFO),
            std::time::Duration::from_millis(500),
        )
        .await;
    assert!(version.is_err(), "{version:?}");
    cluster
        .call_ok(
            &c,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG),
        )
        .await;
}

#[tokio::test]
async fn system_topics_cannot_be_created_or_deleted() {
    let cluster = start(|c| c.trace_topic_enable = true).await;
    let c = client();
    let delete = |topic: &str| topic_request(RequestCode::DELETE_TOPIC_IN_BROKER, topic);
    // The static set, the broker's own cluster / name / reply topics, and the trace topic it
    // was told to create.
    for topic in [
        "RMQ_SYS_TRACE_TOPIC",
        "TBW102",
        "rmq_sys_anything",
        "DefaultCluster",
        "broker-a",
        "DefaultCluster_REPLY_TOPIC",
    ] {
        let expected = format!("The topic[{topic}] is conflict with system topic.");
        for req in [create_topic(topic, 4), delete(topic)] {
            let resp = cluster.call(&c, req).await;
            assert_answer(&resp, ResponseCode::SYSTEM_ERROR, Some(expected.as_str()));
        }
    }
    let resp = cluster.call(&c, delete("bad/name")).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);

    let trace = &topic_configs(&cluster, &c).await["RMQ_SYS_TRACE_TOPIC"];
    assert_eq!((trace.read_queue_nums, trace.write_queue_nums), (1, 1));

    // The whole set, whether the topics exist here or not.
    let list = cluster
        .call_ok(
            &c,
            RemotingCommand::request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER),
        )
        .await;
    let list: TopicList = json::from_slice(list.body_bytes()).unwrap();
    for topic in [
        "RMQ_SYS_TRANS_HALF_TOPIC",
        "RMQ_SYS_TRACE_TOPIC",
        "DefaultCluster",
        "broker-a",
        "DefaultCluster_REPLY_TOPIC",
        "OFFSET_MOVED_EVENT",
    ] {
        assert!(list.topic_list.iter().any(|t| t == topic), "{topic}");
    }
}

#[tokio::test]
async fn without_group_auto_creation_unknown_groups_are_refused() {
    let cluster = start(|c| c.auto_create_subscription_group = false).await;
    let c = client();
    cluster.call_ok(&c, create_topic("GroupTopic", 1)).await;
    cluster.call_ok(&c, send_v2("GroupTopic", 0, b"m")).await;

    // A heartbeat is served, but makes neither the group nor its retry topic.
    cluster
        .call_ok(&c, heartbeat("c1", "NoSuchGroup", "GroupTopic", "*"))
        .await;
    assert!(!group_configs(&cluster, &c)
        .await
        .contains_key("NoSuchGroup"));
    assert!(!topic_configs(&cluster, &c)
        .await
        .contains_key("%RETRY%NoSuchGroup"));

    let pull = |group: &str| {
        RemotingCommand::request_with_header(
            RequestCode::PULL_MESSAGE,
            &PullMessageRequestHeader::with_subscription(group, "GroupTopic", 0, 0, 32, "*"),
        )
    };
    assert_answer(
        &cluster.call(&c, pull("NoSuchGroup")).await,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
        Some("subscription group [NoSuchGroup] does not exist, \nSee http://rocketmq.apache.org/docs/faq/ for further details."),
    );
    let back = RemotingCommand::request_with_header(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset: 0,
            group: "NoSuchGroup".into(),
            delay_level: 0,
            origin_msg_id: None,
            origin_topic: None,
            unit_mode: Some(false),
            max_reconsume_times: None,
            bname: None,
        },
    );
    // A consumer's fallback send to its retry topic names the group as the send back does.
    let retry = send_v2("%RETRY%NoSuchGroup", 0, b"again");
    for req in [back, retry] {
        assert_answer(
            &cluster.call(&c, req).await,
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            Some("subscription group not exist, NoSuchGroup \nSee http://rocketmq.apache.org/docs/faq/ for further details."),
        );
    }

    // A group made by admin, and the broker's own system groups, are served.
    let made = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(json::to_vec(&SubscriptionGroupConfig {
            group_name: "MadeGroup".into(),
            ..SubscriptionGroupConfig::default()
        }));
    cluster.call_ok(&c, made).await;
    for group in ["MadeGroup", "CID_RMQ_SYS_PROBE"] {
        let resp = cluster.call(&c, pull(group)).await;
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{group}");
    }
}

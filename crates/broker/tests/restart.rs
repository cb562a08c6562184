//! A broker restarted on the same store keeps topics, subscription groups, offsets and
//! messages.

mod support;
use support::*;

use ferrocket_broker::BrokerConfig;
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::{
    ConsumerData, HeartbeatData, SubscriptionData, SubscriptionGroupWrapper,
    TopicConfigSerializeWrapper,
};
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use std::path::Path;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

async fn run_broker(
    dir: &Path,
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ferrocket_broker::BrokerError>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = BrokerConfig {
        listen_port: port,
        // No name server here: registration fails and is retried, the broker serves anyway.
        namesrv_addr: Some("127.0.0.1:1".into()),
        ..BrokerConfig::default()
    };
    config.store.root_dir = dir.to_owned();
    config.store.commit_log_segment_bytes = 1 << 20;
    config.store.index_hash_slots = 1024;
    config.store.index_num = 4096;
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(ferrocket_broker::run(listener, None, config, async {
        let _ = stopped.await;
    }));
    (format!("127.0.0.1:{port}"), stop, handle)
}

#[tokio::test]
async fn restart_keeps_topics_groups_offsets_and_messages() {
    let dir = std::env::temp_dir().join(format!("ferrocket-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let c = client();

    let (addr, stop, handle) = run_broker(&dir).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let body = format!("persisted {i}");
        let req = RemotingCommand::request_with_header(
            RequestCode::SEND_MESSAGE_V2,
            &v2("Durable", 0, "TAGS\u{1}A"),
        )
        .with_body(body.clone().into_bytes());
        assert_eq!(
            c.invoke(&addr, req, T).await.unwrap().response_code(),
            ResponseCode::SUCCESS
        );
        sent.push(body);
    }
    let commit = RemotingCommand::request_with_header(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: "DurableGroup".into(),
            topic: "Durable".into(),
            queue_id: 0,
            commit_offset: 3,
            bname: None,
        },
    );
    c.invoke(&addr, commit, T).await.unwrap();
    let hb = HeartbeatData {
        client_id: "1.2.3.4@9".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "DurableGroup".into(),
            subscription_data_set: vec![SubscriptionData::tag("Durable", "*", 1)],
            ..ConsumerData::default()
        }],
        producer_data_set: vec![],
    };
    c.invoke(
        &addr,
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(json::to_vec(&hb)),
        T,
    )
    .await
    .unwrap();
    c.shutdown().await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    assert!(!dir.join("abort").exists(), "clean shutdown");

    let c = client();
    let (addr, stop, handle) = run_broker(&dir).await;
    let all = c
        .invoke(
            &addr,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG),
            T,
        )
        .await
        .unwrap();
    let topics: TopicConfigSerializeWrapper = json::from_slice(all.body_bytes()).unwrap();
    assert!(topics.topic_config_table.contains_key("Durable"));
    assert!(topics
        .topic_config_table
        .contains_key("%RETRY%DurableGroup"));
    let groups = c
        .invoke(
            &addr,
            RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
            T,
        )
        .await
        .unwrap();
    let groups: SubscriptionGroupWrapper = json::from_slice(groups.body_bytes()).unwrap();
    assert!(groups.subscription_group_table.contains_key("DurableGroup"));
    let query = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: "DurableGroup".into(),
            topic: "Durable".into(),
            queue_id: 0,
            bname: None,
        },
    );
    let resp = c.invoke(&addr, query, T).await.unwrap();
    assert_eq!(
        resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
        3
    );
    let pull = RemotingCommand::request_with_header(
        RequestCode::PULL_MESSAGE,
        &PullMessageRequestHeader::with_subscription("DurableGroup", "Durable", 0, 0, 32, "*"),
    );
    let resp = c.invoke(&addr, pull, T).await.unwrap();
    let records = MessageRecord::decode_all(resp.body.as_ref().unwrap(), true).unwrap();
    let bodies: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8(r.body.to_vec()).unwrap())
        .collect();
    assert_eq!(bodies, sent);
    c.shutdown().await;
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

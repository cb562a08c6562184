//! Helpers shared by the broker's integration tests: a real name server and broker on
//! loopback, a client, request builders.
#![allow(dead_code)]

use bytes::Bytes;
use ferrocket_broker::BrokerConfig;
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::{
    ConsumerData, HeartbeatData, MessageModel, ProducerData, SubscriptionData, TopicRouteData,
};
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, ClientConfig, RemotingClient, Router};
use ferrocket_testkit::{NameServer, RunningBroker, TempDir};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const T: Duration = Duration::from_secs(5);

/// A name server and one broker on loopback; stopped and removed when dropped.
pub struct Cluster {
    pub namesrv: String,
    pub broker: String,
    pub store: Arc<ferrocket_store::MessageStore>,
    // Dropped in this order: the broker, its name server, then their files.
    _broker: RunningBroker,
    _namesrv: NameServer,
    _dir: TempDir,
}

/// Starts a name server and a broker with a small store; `tweak` adjusts the broker's config.
pub async fn start(tweak: impl FnOnce(&mut BrokerConfig)) -> Cluster {
    let dir = TempDir::new("broker");
    let namesrv = NameServer::start(ferrocket_testkit::namesrv_config(dir.path())).await;
    let broker = RunningBroker::start(|config| {
        config.namesrv_addr = Some(namesrv.addr.clone());
        config.store.root_dir = dir.path().join("store");
        config.store.commit_log_segment_bytes = 1 << 20;
        config.store.index_hash_slots = 1024;
        config.store.index_num = 4096;
        tweak(config);
    })
    .await;
    Cluster {
        namesrv: namesrv.addr.clone(),
        broker: broker.addr.clone(),
        store: broker.store.clone(),
        _broker: broker,
        _namesrv: namesrv,
        _dir: dir,
    }
}

impl Cluster {
    /// `req` sent to the broker through `c`, answered within [`T`].
    pub async fn call(&self, c: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
        c.invoke(&self.broker, req, T).await.unwrap()
    }

    /// [`call`](Self::call), which must succeed.
    pub async fn call_ok(&self, c: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
        let resp = self.call(c, req).await;
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{:?}",
            resp.remark
        );
        resp
    }
}

pub fn client() -> RemotingClient {
    RemotingClient::new(ClientConfig::default(), Router::new())
}

pub fn v2(topic: &str, queue_id: i32, properties: &str) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        a: "PG".into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: 4,
        e: queue_id,
        f: 0,
        g: 1_795_243_747_973,
        h: 0,
        i: Some(properties.into()),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: Some("broker-a".into()),
    }
}

/// SEND_MESSAGE_V2 with `header` and `body`; the send must succeed.
pub async fn send_ok(
    c: &RemotingClient,
    cluster: &Cluster,
    header: SendMessageRequestHeaderV2,
    body: &[u8],
) -> SendMessageResponseHeader {
    let req = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header)
        .with_body(body.to_vec());
    cluster.call_ok(c, req).await.decode_header().unwrap()
}

pub async fn route(c: &RemotingClient, cluster: &Cluster, topic: &str) -> RemotingCommand {
    let req = RemotingCommand::request_with_header(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    );
    c.invoke(&cluster.namesrv, req, T).await.unwrap()
}

pub async fn wait_for_route(c: &RemotingClient, cluster: &Cluster, topic: &str) -> TopicRouteData {
    let deadline = std::time::Instant::now() + T;
    loop {
        let r = route(c, cluster, topic).await;
        if r.response_code() == ResponseCode::SUCCESS {
            return json::from_slice(r.body_bytes()).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no route for {topic}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn stored(cluster: &Cluster, msg_id: &str) -> MessageRecord {
    let id = OffsetMessageId::decode(msg_id).unwrap();
    let bytes = cluster
        .store
        .commit_log()
        .record_at(id.commit_log_offset as u64)
        .unwrap();
    MessageRecord::decode(&Bytes::copy_from_slice(&bytes), true).unwrap()
}

/// The record a consume-queue unit points at.
pub fn record_in(
    cluster: &Cluster,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> (i64, MessageRecord) {
    let unit = cluster.store.unit(topic, queue_id, offset).unwrap();
    let id = OffsetMessageId::new(cluster.broker.parse().unwrap(), unit.commit_log_offset);
    (unit.commit_log_offset, stored(cluster, &id.encode()))
}

/// Waits (up to 10 s) until `topic`/`queue_id` holds `count` messages.
pub async fn wait_for_messages(cluster: &Cluster, topic: &str, queue_id: i32, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.store.max_offset(topic, queue_id) < count {
        assert!(
            Instant::now() < deadline,
            "{topic}/{queue_id} never got {count} messages"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// HEART_BEAT of a clustering consumer of `group` subscribed to `topic` by tag `expression`.
pub fn heartbeat(client_id: &str, group: &str, topic: &str, expression: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![SubscriptionData::tag(topic, expression, 1)],
            ..ConsumerData::default()
        }],
        producer_data_set: vec![ProducerData {
            group_name: "CLIENT_INNER_PRODUCER".into(),
        }],
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(json::to_vec(&data))
}

/// A producer connection (client `client_id` of `group`, registered by a heartbeat) that hands
/// every `code` request the broker sends it to the test, answering it with `answer` (`None`:
/// no answer, as for a oneway request).
pub async fn producer_receiving(
    cluster: &Cluster,
    client_id: &str,
    group: &str,
    code: RequestCode,
    answer: Option<ResponseCode>,
) -> (
    RemotingClient,
    tokio::sync::mpsc::UnboundedReceiver<RemotingCommand>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let router = Router::new().route(code, move |_: Channel, request: RemotingCommand| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(request);
            Ok(answer.map(|code| RemotingCommand::response(code, None)))
        }
    });
    let producer = RemotingClient::new(ClientConfig::default(), router);
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: Vec::new(),
        producer_data_set: vec![ProducerData {
            group_name: group.into(),
        }],
    };
    let beat = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(json::to_vec(&data));
    cluster.call_ok(&producer, beat).await;
    (producer, rx)
}

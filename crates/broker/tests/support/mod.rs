//! Helpers shared by the broker's integration tests: a real name server and broker on
//! loopback, a client, request builders.
#![allow(dead_code)]

use bytes::Bytes;
use ferrocket_broker::{Broker, BrokerConfig};
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::TopicRouteData;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{ClientConfig, RemotingClient, Router};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const T: Duration = Duration::from_secs(5);

pub struct Cluster {
    pub namesrv: String,
    pub broker: String,
    pub store: Arc<ferrocket_store::MessageStore>,
    stops: Vec<oneshot::Sender<()>>,
    dir: std::path::PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in self.stops.drain(..) {
            let _ = s.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn start(tweak: impl FnOnce(&mut BrokerConfig)) -> Cluster {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferrocket-broker-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut stops = Vec::new();

    let ns_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let namesrv = ns_listener.local_addr().unwrap().to_string();
    let ns_config = ferrocket_namesrv::NamesrvConfig {
        kv_config_path: dir.join("kv.json"),
        ..Default::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    stops.push(stop);
    tokio::spawn(ferrocket_namesrv::serve(
        ferrocket_namesrv::Namesrv::new(ns_config.clone()).unwrap(),
        ns_listener,
        ns_config,
        async {
            let _ = stopped.await;
        },
    ));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = BrokerConfig {
        listen_port: port,
        namesrv_addr: Some(namesrv.clone()),
        ..BrokerConfig::default()
    };
    config.store.root_dir = dir.join("store");
    config.store.commit_log_segment_bytes = 1 << 20;
    config.store.index_hash_slots = 1024;
    config.store.index_num = 4096;
    tweak(&mut config);
    let (store, holds) = ferrocket_broker::open_store(&config).unwrap();
    let broker = Broker::new(config, store.clone(), holds);
    let (stop, stopped) = oneshot::channel::<()>();
    stops.push(stop);
    tokio::spawn(ferrocket_broker::serve(broker, listener, None, async {
        let _ = stopped.await;
    }));
    Cluster {
        namesrv,
        broker: format!("127.0.0.1:{port}"),
        store,
        stops,
        dir,
    }
}

impl Cluster {
    /// `req` sent to the broker through `c`, answered within [`T`].
    pub async fn call(&self, c: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
        c.invoke(&self.broker, req, T).await.unwrap()
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

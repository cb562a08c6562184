//! A real name server and one or more real brokers on loopback for the client's tests.
#![allow(dead_code)]

use ferrocket_broker::BrokerConfig;
use ferrocket_client::{Admin, ClientOptions, MessageExt};
use ferrocket_protocol::body::TopicConfig;
use ferrocket_testkit::{NameServer, RunningBroker, TempDir};
use std::collections::HashMap;
use std::time::Duration;

pub const CLUSTER: &str = "DefaultCluster";

/// A name server and brokers of one cluster on loopback; stopped and removed when dropped.
pub struct Cluster {
    pub namesrv: String,
    pub brokers: Vec<String>,
    // Dropped in this order: the brokers, their name server, then their files.
    running: Vec<RunningBroker>,
    _namesrv: NameServer,
    _dir: TempDir,
}

/// Starts a name server and `brokers` brokers (`broker-a`, `broker-b` …) of one cluster.
pub async fn start(brokers: usize, tweak: impl Fn(&mut BrokerConfig)) -> Cluster {
    let dir = TempDir::new("client");
    let namesrv = NameServer::start(ferrocket_testkit::namesrv_config(dir.path())).await;
    let mut running = Vec::new();
    for i in 0..brokers {
        let name = format!("broker-{}", (b'a' + i as u8) as char);
        running.push(
            RunningBroker::start(|config| {
                config.namesrv_addr = Some(namesrv.addr.clone());
                config.broker_name = name.clone();
                config.store.root_dir = dir.path().join(&name);
                config.store.commit_log_segment_bytes = 4 << 20;
                config.store.index_hash_slots = 4096;
                config.store.index_num = 16384;
                tweak(config);
            })
            .await,
        );
    }
    let cluster = Cluster {
        namesrv: namesrv.addr.clone(),
        brokers: running.iter().map(|b| b.addr.clone()).collect(),
        running,
        _namesrv: namesrv,
        _dir: dir,
    };
    cluster.wait_registered(brokers).await;
    cluster
}

impl Cluster {
    /// Client options with this cluster's name server and short periods, so tests settle
    /// in seconds; `name` separates client instances in one process.
    pub fn options(&self, name: &str) -> ClientOptions {
        ClientOptions {
            namesrv_addr: Some(self.namesrv.clone()),
            instance_name: Some(name.to_owned()),
            poll_name_server_interval: Duration::from_millis(500),
            heartbeat_interval: Duration::from_secs(1),
            persist_offset_interval: Duration::from_secs(1),
            rebalance_interval: Duration::from_millis(500),
            ..Default::default()
        }
    }

    pub async fn admin(&self) -> Admin {
        Admin::start(self.options("admin")).await.unwrap()
    }

    async fn wait_registered(&self, n: usize) {
        let admin = self.admin().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(info) = admin.cluster_info().await {
                if info.broker_addr_table.len() == n {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "brokers did not register"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        admin.shutdown().await;
    }

    /// Creates `topic` with `queues` read/write queues on every broker and waits until the
    /// name server routes it.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let admin = self.admin().await;
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicConfig::default()
        };
        admin.create_topic(CLUSTER, &config).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(route) = admin.topic_route(topic).await {
                let total: i32 = route.queue_datas.iter().map(|q| q.write_queue_nums).sum();
                if route.queue_datas.len() == self.brokers.len()
                    && total == queues * self.brokers.len() as i32
                {
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "no route for {topic}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        admin.shutdown().await;
    }

    /// Stops broker `i` (it unregisters from the name server).
    pub fn stop_broker(&mut self, i: usize) {
        self.running[i].stop();
    }
}

/// Waits until `check` holds, polling every 50 ms, or panics with `what` after `secs`.
pub async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Received messages by body text.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<MessageExt>>>;

pub fn bodies(received: &Received) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for m in received.lock().unwrap().iter() {
        *out.entry(String::from_utf8_lossy(&m.body).into_owned())
            .or_insert(0) += 1;
    }
    out
}

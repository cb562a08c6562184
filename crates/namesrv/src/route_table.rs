//! The name server's state (`RouteInfoManager`): which brokers exist, in which cluster, at
//! which addresses, which topics they serve, and when each last registered. Pure state: no
//! frames, no sockets.

use ferrocket_protocol::body::{
    perm, BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfigSerializeWrapper,
    TopicRouteData, MASTER_ID,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// One registration (REGISTER_BROKER).
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub cluster_name: &'a str,
    pub broker_addr: &'a str,
    pub broker_name: &'a str,
    pub broker_id: i64,
    pub ha_server_addr: &'a str,
    pub topics: &'a TopicConfigSerializeWrapper,
    pub filter_servers: &'a [String],
}

/// What a registering slave learns about its master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

#[derive(Debug, Clone)]
struct LiveBroker {
    last_update: Instant,
    data_version: DataVersion,
    ha_server_addr: String,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    /// cluster → broker names
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// broker name → addresses by id
    brokers: BTreeMap<String, BrokerData>,
    /// topic → broker name → queues
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker address → liveness
    live: HashMap<String, LiveBroker>,
    /// broker address → filter servers
    filter_servers: HashMap<String, Vec<String>>,
}

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a broker's registration (`RouteInfoManager.registerBroker`).
    pub fn register(&mut self, r: &Registration<'_>, now: Instant) -> RegisterResult {
        self.clusters
            .entry(r.cluster_name.to_owned())
            .or_default()
            .insert(r.broker_name.to_owned());
        let data = self
            .brokers
            .entry(r.broker_name.to_owned())
            .or_insert_with(|| BrokerData {
                broker_addrs: BTreeMap::new(),
                broker_name: r.broker_name.to_owned(),
                cluster: r.cluster_name.to_owned(),
            });
        // The same address under another id (a slave switched to master) is dropped first.
        data.broker_addrs
            .retain(|id, addr| !(addr == r.broker_addr && *id != r.broker_id));
        let first_time = data
            .broker_addrs
            .insert(r.broker_id, r.broker_addr.to_owned())
            .is_none();

        let version = r.topics.data_version;
        let changed = self
            .live
            .get(r.broker_addr)
            .is_none_or(|live| live.data_version != version);
        if r.broker_id == MASTER_ID && (changed || first_time) {
            for config in r.topics.topic_config_table.values() {
                let queue = QueueData {
                    broker_name: r.broker_name.to_owned(),
                    perm: config.perm,
                    read_queue_nums: config.read_queue_nums,
                    topic_sys_flag: config.topic_sys_flag,
                    write_queue_nums: config.write_queue_nums,
                };
                self.topics
                    .entry(config.topic_name.clone())
                    .or_default()
                    .insert(r.broker_name.to_owned(), queue);
            }
        }
        self.live.insert(
            r.broker_addr.to_owned(),
            LiveBroker {
                last_update: now,
                data_version: version,
                ha_server_addr: r.ha_server_addr.to_owned(),
            },
        );
        if r.filter_servers.is_empty() {
            self.filter_servers.remove(r.broker_addr);
        } else {
            self.filter_servers
                .insert(r.broker_addr.to_owned(), r.filter_servers.to_vec());
        }

        let mut result = RegisterResult::default();
        if r.broker_id != MASTER_ID {
            let master = self
                .brokers
                .get(r.broker_name)
                .and_then(|d| d.broker_addrs.get(&MASTER_ID));
            if let Some(master) = master {
                if let Some(live) = self.live.get(master) {
                    result.master_addr = Some(master.clone());
                    result.ha_server_addr = Some(live.ha_server_addr.clone());
                }
            }
        }
        result
    }

    /// QUERY_DATA_VERSION: whether the broker's data changed; refreshes its liveness.
    pub fn data_version_changed(
        &mut self,
        broker_addr: &str,
        version: &DataVersion,
        now: Instant,
    ) -> bool {
        match self.live.get_mut(broker_addr) {
            Some(live) => {
                let changed = live.data_version != *version;
                if !changed {
                    live.last_update = now;
                }
                changed
            }
            None => true,
        }
    }

    pub fn data_version(&self, broker_addr: &str) -> Option<DataVersion> {
        self.live.get(broker_addr).map(|l| l.data_version)
    }

    /// UNREGISTER_BROKER.
    pub fn unregister(
        &mut self,
        cluster_name: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        self.live.remove(broker_addr);
        self.filter_servers.remove(broker_addr);
        let emptied = match self.brokers.get_mut(broker_name) {
            Some(data) => {
                if data
                    .broker_addrs
                    .get(&broker_id)
                    .is_some_and(|a| a == broker_addr)
                {
                    data.broker_addrs.remove(&broker_id);
                }
                data.broker_addrs.is_empty()
            }
            None => false,
        };
        if emptied {
            self.remove_broker_name(broker_name, Some(cluster_name));
        }
    }

    /// Forgets a broker address whose connection closed or expired (`onChannelDestroy`).
    pub fn remove_address(&mut self, broker_addr: &str) -> bool {
        let was_live = self.live.remove(broker_addr).is_some();
        self.filter_servers.remove(broker_addr);
        let mut emptied = Vec::new();
        let mut found = false;
        for (name, data) in &mut self.brokers {
            let before = data.broker_addrs.len();
            data.broker_addrs.retain(|_, addr| addr != broker_addr);
            if data.broker_addrs.len() != before {
                found = true;
                if data.broker_addrs.is_empty() {
                    emptied.push(name.clone());
                }
            }
        }
        for name in emptied {
            self.remove_broker_name(&name, None);
        }
        was_live || found
    }

    fn remove_broker_name(&mut self, broker_name: &str, cluster: Option<&str>) {
        self.brokers.remove(broker_name);
        self.clusters.retain(|name, members| {
            if cluster.is_none_or(|c| c == name) {
                members.remove(broker_name);
            }
            !members.is_empty()
        });
        self.topics.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }

    /// Brokers silent for longer than `expiry` (`scanNotActiveBroker`); removes and returns them.
    pub fn expire(&mut self, now: Instant, expiry: Duration) -> Vec<String> {
        let dead: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| now.duration_since(l.last_update) > expiry)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &dead {
            self.remove_address(addr);
        }
        dead
    }

    /// The route of `topic`: its queues and the brokers that serve them; `None` unless both
    /// exist.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.brokers.get(name).cloned())
            .collect();
        if queues.is_empty() || broker_datas.is_empty() {
            return None;
        }
        let mut filter_server_table = BTreeMap::new();
        for data in &broker_datas {
            for addr in data.broker_addrs.values() {
                if let Some(servers) = self.filter_servers.get(addr) {
                    filter_server_table.insert(addr.clone(), servers.clone());
                }
            }
        }
        Some(TopicRouteData {
            broker_datas,
            filter_server_table,
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
        })
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self
                .clusters
                .iter()
                .map(|(c, names)| (c.clone(), names.iter().cloned().collect()))
                .collect(),
        }
    }

    pub fn all_topics(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// Topics whose topic sys flag (of one broker's queue data, as Java looks at only the
    /// first) satisfies `pick`: GET_UNIT_TOPIC_LIST and its two siblings.
    pub fn topics_with_sys_flag(&self, pick: impl Fn(i32) -> bool) -> Vec<String> {
        self.topics
            .iter()
            .filter(|(_, queues)| {
                queues
                    .values()
                    .next()
                    .is_some_and(|q| pick(q.topic_sys_flag))
            })
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Topics served by any broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(names) = self.clusters.get(cluster) else {
            return Vec::new();
        };
        self.topics
            .iter()
            .filter(|(_, queues)| queues.keys().any(|b| names.contains(b)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster names and broker names, plus one broker address.
    pub fn system_topics(&self) -> (Vec<String>, Option<String>) {
        let mut names: Vec<String> = self.clusters.keys().cloned().collect();
        names.extend(self.brokers.keys().cloned());
        let addr = self
            .brokers
            .values()
            .find_map(|d| d.broker_addrs.values().next().cloned());
        (names, addr)
    }

    /// DELETE_TOPIC_IN_NAMESRV, optionally only for the brokers of one cluster.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster.and_then(|c| self.clusters.get(c)) {
            Some(names) => {
                if let Some(queues) = self.topics.get_mut(topic) {
                    queues.retain(|broker, _| !names.contains(broker));
                    if queues.is_empty() {
                        self.topics.remove(topic);
                    }
                }
            }
            None if cluster.is_some_and(|c| !c.is_empty()) => {}
            None => {
                self.topics.remove(topic);
            }
        }
    }

    /// WIPE / ADD_WRITE_PERM_OF_BROKER: returns how many topics changed.
    pub fn set_write_perm(&mut self, broker_name: &str, writable: bool) -> i32 {
        let mut count = 0;
        for queues in self.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if writable {
                    perm::READ | perm::WRITE
                } else {
                    q.perm & !perm::WRITE
                };
                count += 1;
            }
        }
        count
    }

    pub fn is_live(&self, broker_addr: &str) -> bool {
        self.live.contains_key(broker_addr)
    }
}

//! Clients seen through heartbeats (`ConsumerManager`, `ProducerManager`) and the broker's
//! subscription groups (`SubscriptionGroupManager`, `config/subscriptionGroup.json`).

use crate::config_file::{self, PendingWrite, SnapshotFile};
use ferrocket_protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
    SubscriptionGroupConfig, SubscriptionGroupWrapper,
};
use ferrocket_remoting::Channel;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One client connection of a group.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    pub client_id: String,
    pub channel: Channel,
    pub language: String,
    pub version: i32,
    pub last_update: Instant,
}

/// A consumer group as its members describe it.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// client id → connection
    pub channels: BTreeMap<String, ClientChannel>,
}

/// What a heartbeat changed in a consumer group.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HeartbeatEffect {
    pub members_changed: bool,
    pub subscriptions_changed: bool,
}

#[derive(Debug, Default)]
pub struct Clients {
    consumers: Mutex<HashMap<String, ConsumerGroup>>,
    /// producer group → client id → connection
    producers: Mutex<HashMap<String, BTreeMap<String, ClientChannel>>>,
}

impl Clients {
    pub fn register_consumer(&self, data: &ConsumerData, client: ClientChannel) -> HeartbeatEffect {
        let mut groups = self.consumers.lock().expect("consumers lock");
        let group = groups
            .entry(data.group_name.clone())
            .or_insert_with(|| ConsumerGroup {
                consume_type: data.consume_type,
                message_model: data.message_model,
                consume_from_where: data.consume_from_where,
                subscriptions: BTreeMap::new(),
                channels: BTreeMap::new(),
            });
        group.consume_type = data.consume_type;
        group.message_model = data.message_model;
        group.consume_from_where = data.consume_from_where;
        let members_changed = match group.channels.get(&client.client_id) {
            Some(existing) => existing.channel.peer_addr() != client.channel.peer_addr(),
            None => true,
        };
        group.channels.insert(client.client_id.clone(), client);
        let mut subscriptions_changed = false;
        let mut seen = Vec::new();
        for sub in &data.subscription_data_set {
            seen.push(sub.topic.clone());
            match group.subscriptions.get(&sub.topic) {
                // Same expression: keep the newest version, nothing to notify.
                Some(old) if old.sub_string == sub.sub_string => {
                    if sub.sub_version > old.sub_version {
                        group.subscriptions.insert(sub.topic.clone(), sub.clone());
                    }
                }
                _ => {
                    subscriptions_changed = true;
                    group.subscriptions.insert(sub.topic.clone(), sub.clone());
                }
            }
        }
        let before = group.subscriptions.len();
        group.subscriptions.retain(|topic, _| seen.contains(topic));
        subscriptions_changed |= group.subscriptions.len() != before;
        HeartbeatEffect {
            members_changed,
            subscriptions_changed,
        }
    }

    pub fn register_producer(&self, group: &str, client: ClientChannel) {
        self.producers
            .lock()
            .expect("producers lock")
            .entry(group.to_owned())
            .or_default()
            .insert(client.client_id.clone(), client);
    }

    /// Removes a client from a consumer group; true if it was a member.
    pub fn unregister_consumer(&self, group: &str, client_id: &str) -> bool {
        let mut groups = self.consumers.lock().expect("consumers lock");
        let Some(g) = groups.get_mut(group) else {
            return false;
        };
        let removed = g.channels.remove(client_id).is_some();
        if g.channels.is_empty() {
            groups.remove(group);
        }
        removed
    }

    pub fn unregister_producer(&self, group: &str, client_id: &str) {
        let mut producers = self.producers.lock().expect("producers lock");
        if let Some(g) = producers.get_mut(group) {
            g.remove(client_id);
            if g.is_empty() {
                producers.remove(group);
            }
        }
    }

    /// Drops every client on a closed connection or silent for `expiry`; returns the
    /// consumer groups that lost members.
    pub fn remove_dead(&self, now: Instant, expiry: Duration) -> Vec<String> {
        let dead =
            |c: &ClientChannel| c.channel.is_closed() || now.duration_since(c.last_update) > expiry;
        let mut changed = Vec::new();
        let mut groups = self.consumers.lock().expect("consumers lock");
        for (name, g) in groups.iter_mut() {
            let before = g.channels.len();
            g.channels.retain(|_, c| !dead(c));
            if g.channels.len() != before {
                changed.push(name.clone());
            }
        }
        groups.retain(|_, g| !g.channels.is_empty());
        drop(groups);
        let mut producers = self.producers.lock().expect("producers lock");
        for g in producers.values_mut() {
            g.retain(|_, c| !dead(c));
        }
        producers.retain(|_, g| !g.is_empty());
        changed
    }

    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.consumers
            .lock()
            .expect("consumers lock")
            .get(group)
            .cloned()
    }

    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.consumers
            .lock()
            .expect("consumers lock")
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    /// Whether a consumer's figures for `topic` count: Java's consume statistics skip a topic
    /// the group is online without subscribing to (`findSubscriptionData` is null while
    /// `findSubscriptionDataCount` is not 0).
    pub fn counts_topic(&self, group: &str, topic: &str) -> bool {
        let groups = self.consumers.lock().expect("consumers lock");
        groups
            .get(group)
            .is_none_or(|g| g.subscriptions.is_empty() || g.subscriptions.contains_key(topic))
    }

    /// The connection of one member of a consumer group (`ConsumerManager.findChannel`).
    pub fn find_consumer(&self, group: &str, client_id: &str) -> Option<ClientChannel> {
        self.consumers
            .lock()
            .expect("consumers lock")
            .get(group)?
            .channels
            .get(client_id)
            .cloned()
    }

    /// Every producer group with its connections (`ProducerManager.getProducerTable`).
    pub fn producers(&self) -> Vec<(String, Vec<ClientChannel>)> {
        self.producers
            .lock()
            .expect("producers lock")
            .iter()
            .map(|(group, members)| (group.clone(), members.values().cloned().collect()))
            .collect()
    }

    /// The connection of the producer with `client_id`, whatever its group
    /// (`ProducerManager.findChannel`): where a request-reply reply is pushed.
    pub fn find_producer_channel(&self, client_id: &str) -> Option<Channel> {
        self.producers
            .lock()
            .expect("producers lock")
            .values()
            .find_map(|members| members.get(client_id))
            .map(|member| member.channel.clone())
    }

    pub fn producer_group(&self, group: &str) -> Vec<ClientChannel> {
        self.producers
            .lock()
            .expect("producers lock")
            .get(group)
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Consumer groups subscribed to `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.consumers
            .lock()
            .expect("consumers lock")
            .iter()
            .filter(|(_, g)| g.subscriptions.contains_key(topic))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Subscription groups, auto-created on first use when `autoCreateSubscriptionGroup`.
#[derive(Debug)]
pub struct SubscriptionGroups {
    file: Arc<SnapshotFile>,
    state: Mutex<SubscriptionGroupWrapper>,
}

/// Groups of the broker's own consumers (`MixAll.isSysConsumerGroup`): always auto-created.
const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

const BUILT_IN_GROUPS: [&str; 7] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
];

impl SubscriptionGroups {
    pub fn load(root: &std::path::Path) -> SubscriptionGroups {
        let path = root.join("config").join("subscriptionGroup.json");
        let mut state: SubscriptionGroupWrapper = config_file::load(&path).unwrap_or_default();
        for name in BUILT_IN_GROUPS {
            state
                .subscription_group_table
                .entry(name.to_owned())
                .or_insert_with(|| SubscriptionGroupConfig {
                    group_name: name.to_owned(),
                    ..SubscriptionGroupConfig::default()
                });
        }
        SubscriptionGroups {
            file: SnapshotFile::new(path),
            state: Mutex::new(state),
        }
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.state
            .lock()
            .expect("groups lock")
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// The group's config (`findSubscriptionGroupConfig`); a missing one is created with
    /// defaults when `auto_create` (`autoCreateSubscriptionGroup`) or for a system group
    /// (`CID_RMQ_SYS_…`), and is `None` otherwise.
    pub async fn find(
        &self,
        group: &str,
        auto_create: bool,
    ) -> std::io::Result<Option<SubscriptionGroupConfig>> {
        let (config, write) = {
            let mut state = self.state.lock().expect("groups lock");
            if let Some(g) = state.subscription_group_table.get(group) {
                return Ok(Some(g.clone()));
            }
            if !auto_create && !group.starts_with(SYSTEM_GROUP_PREFIX) {
                return Ok(None);
            }
            let config = SubscriptionGroupConfig {
                group_name: group.to_owned(),
                ..SubscriptionGroupConfig::default()
            };
            state
                .subscription_group_table
                .insert(group.to_owned(), config.clone());
            (config, self.bump_and_snapshot(&mut state))
        };
        write.written().await?;
        Ok(Some(config))
    }

    pub async fn update(&self, config: SubscriptionGroupConfig) -> std::io::Result<()> {
        let write = {
            let mut state = self.state.lock().expect("groups lock");
            state
                .subscription_group_table
                .insert(config.group_name.clone(), config);
            self.bump_and_snapshot(&mut state)
        };
        write.written().await
    }

    pub async fn delete(&self, group: &str) -> std::io::Result<()> {
        let write = {
            let mut state = self.state.lock().expect("groups lock");
            state.subscription_group_table.remove(group);
            self.bump_and_snapshot(&mut state)
        };
        write.written().await
    }

    pub fn wrapper(&self) -> SubscriptionGroupWrapper {
        self.state.lock().expect("groups lock").clone()
    }

    fn bump_and_snapshot(&self, state: &mut SubscriptionGroupWrapper) -> PendingWrite {
        state.data_version.next_version();
        self.file.snapshot(&*state)
    }

    /// Writes the table now, on this thread (at shutdown).
    pub fn persist(&self) -> std::io::Result<()> {
        let write = self
            .file
            .snapshot(&*self.state.lock().expect("groups lock"));
        write.write_blocking()
    }
}

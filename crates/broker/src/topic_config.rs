//! The broker's topics (`TopicConfigManager`), persisted in `config/topics.json`.

use crate::config::BrokerConfig;
use crate::config_file::{self, PendingWrite, SnapshotFile};
use ferrocket_common::names;
use ferrocket_protocol::body::{perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct TopicConfigManager {
    file: Arc<SnapshotFile>,
    state: Mutex<TopicConfigSerializeWrapper>,
    /// The topics this broker made system topics at start (`TopicValidator.addSystemTopic`):
    /// its cluster, its name, the cluster's reply topic and, when enabled, the trace topic.
    own_system_topics: Vec<String>,
}

fn topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::default()
    }
}

impl TopicConfigManager {
    /// Loads `topics.json` (or its `.bak`) and adds the built-in topics Java creates.
    pub fn load(config: &BrokerConfig) -> TopicConfigManager {
        let path = config.store.root_dir.join("config").join("topics.json");
        let mut state: TopicConfigSerializeWrapper = config_file::load(&path).unwrap_or_default();
        let rw = perm::READ | perm::WRITE;
        let inherit = rw | perm::INHERIT;
        let reply_topic = format!("{}_REPLY_TOPIC", config.cluster_name);
        let mut builtin = vec![
            topic(names::SELF_TEST_TOPIC, 1, rw),
            topic(names::BENCHMARK_TOPIC, 1024, rw),
            topic(names::OFFSET_MOVED_EVENT, 1, rw),
            topic(names::SCHEDULE_TOPIC, 18, rw),
            topic(&reply_topic, 1, rw),
            topic(
                &config.cluster_name,
                16,
                if config.cluster_topic_enable {
                    inherit
                } else {
                    perm::INHERIT
                },
            ),
            topic(
                &config.broker_name,
                1,
                if config.broker_topic_enable {
                    inherit
                } else {
                    perm::INHERIT
                },
            ),
        ];
        let mut own_system_topics = vec![
            config.cluster_name.clone(),
            config.broker_name.clone(),
            reply_topic.clone(),
        ];
        if config.trace_topic_enable {
            builtin.push(topic(&config.msg_trace_topic_name, 1, rw));
            own_system_topics.push(config.msg_trace_topic_name.clone());
        }
        if config.auto_create_topic_enable {
            builtin.push(topic(
                names::AUTO_CREATE_TOPIC_KEY,
                config.default_topic_queue_nums,
                inherit,
            ));
        } else {
            state
                .topic_config_table
                .remove(names::AUTO_CREATE_TOPIC_KEY);
        }
        for t in builtin {
            state.topic_config_table.insert(t.topic_name.clone(), t);
        }
        TopicConfigManager {
            file: SnapshotFile::new(path),
            state: Mutex::new(state),
            own_system_topics,
        }
    }

    /// Whether admin may not create or delete `topic` (`TopicValidator.isSystemTopic`).
    pub fn is_system(&self, topic: &str) -> bool {
        ferrocket_common::TopicName::new(topic).is_ok_and(|t| t.is_system())
            || self.own_system_topics.iter().any(|t| t == topic)
    }

    /// Every system topic name, configured here or not (`TopicValidator.getSystemTopicSet`).
    pub fn system_topics(&self) -> Vec<String> {
        names::SYSTEM_TOPICS
            .iter()
            .map(|t| t.to_string())
            .chain(self.own_system_topics.iter().cloned())
            .collect()
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.state
            .lock()
            .expect("topics lock")
            .topic_config_table
            .get(topic)
            .cloned()
    }

    /// `f` of the topic's config, under the table's lock (the send path copies a few fields
    /// instead of cloning the config and its name).
    pub fn get_with<R>(&self, topic: &str, f: impl FnOnce(&TopicConfig) -> R) -> Option<R> {
        self.state
            .lock()
            .expect("topics lock")
            .topic_config_table
            .get(topic)
            .map(f)
    }

    /// A snapshot for registration and GET_ALL_TOPIC_CONFIG.
    pub fn wrapper(&self) -> TopicConfigSerializeWrapper {
        self.state.lock().expect("topics lock").clone()
    }

    pub fn topic_names(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("topics lock")
            .topic_config_table
            .keys()
            .cloned()
            .collect()
    }

    /// Adds or replaces a topic, bumps the data version and persists.
    pub async fn update(&self, config: TopicConfig) -> std::io::Result<()> {
        let write = {
            let mut state = self.state.lock().expect("topics lock");
            state
                .topic_config_table
                .insert(config.topic_name.clone(), config);
            self.bump_and_snapshot(&mut state)
        };
        write.written().await
    }

    pub async fn delete(&self, topic: &str) -> std::io::Result<bool> {
        let write = {
            let mut state = self.state.lock().expect("topics lock");
            if state.topic_config_table.remove(topic).is_none() {
                return Ok(false);
            }
            self.bump_and_snapshot(&mut state)
        };
        write.written().await?;
        Ok(true)
    }

    /// `createTopicInSendMessageMethod`: creates `topic` from the `default_topic` template if
    /// that exists and may be inherited; `None` otherwise.
    pub async fn create_from_template(
        &self,
        topic: &str,
        default_topic: &str,
        client_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> std::io::Result<Option<TopicConfig>> {
        let (created, write) = {
            let mut state = self.state.lock().expect("topics lock");
            if let Some(existing) = state.topic_config_table.get(topic) {
                return Ok(Some(existing.clone()));
            }
            let Some(template) = state.topic_config_table.get(default_topic).cloned() else {
                return Ok(None);
            };
            if template.perm & perm::INHERIT == 0 {
                return Ok(None);
            }
            let queues = client_queue_nums.min(template.write_queue_nums).max(1);
            let created = TopicConfig {
                topic_name: topic.to_owned(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: template.perm & !perm::INHERIT,
                topic_filter_type: template.topic_filter_type,
                topic_sys_flag,
                order: false,
            };
            tracing::info!(topic, queues, "topic auto-created from {default_topic}");
            state
                .topic_config_table
                .insert(topic.to_owned(), created.clone());
            (created, self.bump_and_snapshot(&mut state))
        };
        write.written().await?;
        Ok(Some(created))
    }

    /// `createTopicInSendMessageBackMethod`: retry and dead-letter topics get `queues` queues
    /// with `perm`. Returns the topic's config and whether it was created now.
    pub async fn create_plain(
        &self,
        topic: &str,
        queues: i32,
        perm: i32,
    ) -> std::io::Result<(TopicConfig, bool)> {
        let (created, write) = {
            let mut state = self.state.lock().expect("topics lock");
            if let Some(existing) = state.topic_config_table.get(topic) {
                return Ok((existing.clone(), false));
            }
            let created = TopicConfig {
                topic_name: topic.to_owned(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm,
                ..TopicConfig::default()
            };
            state
                .topic_config_table
                .insert(topic.to_owned(), created.clone());
            (created, self.bump_and_snapshot(&mut state))
        };
        write.written().await?;
        Ok((created, true))
    }

    fn bump_and_snapshot(&self, state: &mut TopicConfigSerializeWrapper) -> PendingWrite {
        state.data_version.next_version();
        self.file.snapshot(&*state)
    }

    /// Writes the table now, on this thread (at start and at shutdown).
    pub fn persist(&self) -> std::io::Result<()> {
        let write = self
            .file
            .snapshot(&*self.state.lock().expect("topics lock"));
        write.write_blocking()
    }

    /// Bumps the version without a change to the table (Java does this when the broker's
    /// permission changes, so name servers take the next registration).
    pub fn next_data_version(&self) {
        self.state
            .lock()
            .expect("topics lock")
            .data_version
            .next_version();
    }

    pub fn data_version(&self) -> DataVersion {
        self.state.lock().expect("topics lock").data_version
    }

    /// Every topic with `perm` replaced (brokers report their own permission when not RW).
    pub fn with_broker_permission(&self, broker_permission: i32) -> TopicConfigSerializeWrapper {
        let mut wrapper = self.wrapper();
        if broker_permission & (perm::READ | perm::WRITE) != perm::READ | perm::WRITE {
            let table: BTreeMap<String, TopicConfig> = wrapper
                .topic_config_table
                .into_iter()
                .map(|(k, mut v)| {
                    v.perm = broker_permission;
                    (k, v)
                })
                .collect();
            wrapper.topic_config_table = table;
        }
        wrapper
    }
}

//! The admin API (`DefaultMQAdminExt`): topics, subscription groups, cluster and route
//! information, consumer connections and lag, message lookup, offset reset.

use crate::consumer::{broker_api, MAX_BODY};
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ClientOptions};
use crate::message::MessageExt;
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::names::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_common::MessageRecord;
use ferrocket_protocol::body::{
    ClusterInfo, ConsumeStats, ConsumerConnection, GroupList, KVTable, MessageQueue, OffsetWrapper,
    ResetOffsetBody, SubscriptionGroupConfig, TopicConfig, TopicList, TopicRouteData,
    TopicStatsTable,
};
use ferrocket_protocol::header::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetConsumeStatsRequestHeader, GetKVConfigRequestHeader,
    GetKVConfigResponseHeader, PutKVConfigRequestHeader, QueryMessageRequestHeader,
    ResetOffsetRequestHeader, TopicRequestHeader, ViewMessageRequestHeader, UNIQUE_KEY_QUERY,
};
use ferrocket_protocol::json::{self, FromJson};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// An admin client.
#[derive(Debug, Clone)]
pub struct Admin {
    instance: Arc<ClientInstance>,
    closed: Arc<AtomicBool>,
}

impl Admin {
    /// Connects with these options (`namesrv_addr` or `NAMESRV_ADDR`).
    pub async fn start(options: ClientOptions) -> Result<Admin> {
        Ok(Admin {
            instance: ClientInstance::acquire(&options)?,
            closed: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Connects to these `;`-separated name servers.
    pub async fn connect(namesrv_addr: &str) -> Result<Admin> {
        Admin::start(ClientOptions {
            namesrv_addr: Some(namesrv_addr.to_owned()),
            ..Default::default()
        })
        .await
    }

    pub async fn shutdown(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            self.instance.release().await;
        }
    }

    /// `request` at a name server, which must answer SUCCESS.
    async fn namesrv_ok(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let response = self.instance.invoke_namesrv(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ClientError::server("name server", &response));
        }
        Ok(response)
    }

    async fn namesrv_body<T: FromJson>(&self, request: RemotingCommand) -> Result<T> {
        let response = self.namesrv_ok(request).await?;
        json::from_slice(response.body_bytes())
            .map_err(|e| ClientError::malformed("name server", e))
    }

    async fn broker_body<T: FromJson>(&self, addr: &str, request: RemotingCommand) -> Result<T> {
        let response = self.instance.invoke_ok(addr, request).await?;
        json::from_slice(response.body_bytes()).map_err(|e| ClientError::malformed(addr, e))
    }

    // ---- cluster and routes --------------------------------------------------------------

    /// GET_BROKER_CLUSTER_INFO.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        self.namesrv_body(RemotingCommand::request(
            RequestCode::GET_BROKER_CLUSTER_INFO,
        ))
        .await
    }

    /// The master addresses of every broker of `cluster`, sorted.
    pub async fn cluster_masters(&self, cluster: &str) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info.cluster_addr_table.get(cluster).ok_or_else(|| {
            ClientError::Invalid(format!("cluster {cluster} is unknown to the name server"))
        })?;
        let mut masters: Vec<String> = names
            .iter()
            .filter_map(|n| info.broker_addr_table.get(n))
            .filter_map(|b| b.master_addr().map(str::to_owned))
            .collect();
        masters.sort();
        Ok(masters)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub async fn topic_list(&self) -> Result<Vec<String>> {
        let list: TopicList = self
            .namesrv_body(RemotingCommand::request(
                RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            ))
            .await?;
        Ok(list.topic_list)
    }

    /// GET_ROUTEINFO_BY_TOPIC.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        self.instance
            .fetch_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: "no name server knows it".into(),
            })
    }

    fn masters_of(route: &TopicRouteData) -> Vec<(String, String)> {
        route
            .broker_datas
            .iter()
            .filter_map(|b| {
                b.master_addr()
                    .map(|a| (b.broker_name.clone(), a.to_owned()))
            })
            .collect()
    }

    // ---- topics --------------------------------------------------------------------------

    /// UPDATE_AND_CREATE_TOPIC at one broker.
    pub async fn create_topic_at(&self, broker_addr: &str, config: &TopicConfig) -> Result<()> {
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: ferrocket_common::names::AUTO_CREATE_TOPIC_KEY.to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type.as_str().to_owned(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
        self.instance.invoke_ok(broker_addr, req).await.map(|_| ())
    }

    /// Creates or updates a topic on every master of `cluster`; returns their addresses.
    pub async fn create_topic(&self, cluster: &str, config: &TopicConfig) -> Result<Vec<String>> {
        ferrocket_common::TopicName::new(config.topic_name.as_str())
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        let masters = self.cluster_masters(cluster).await?;
        for addr in &masters {
            self.create_topic_at(addr, config).await?;
        }
        Ok(masters)
    }

    /// Deletes a topic from every master of `cluster` and from every name server.
    pub async fn delete_topic(&self, cluster: &str, topic: &str) -> Result<()> {
        for addr in self.cluster_masters(cluster).await? {
            let req = RemotingCommand::request_with_header(
                RequestCode::DELETE_TOPIC_IN_BROKER,
                &TopicRequestHeader {
                    topic: topic.to_owned(),
                },
            );
            self.instance.invoke_ok(&addr, req).await?;
        }
        let req = RemotingCommand::request_with_header(
            RequestCode::DELETE_TOPIC_IN_NAMESRV,
            &DeleteTopicFromNamesrvRequestHeader {
                topic: topic.to_owned(),
                cluster_name: Some(cluster.to_owned()),
            },
        );
        self.namesrv_ok(req).await.map(|_| ())
    }

    /// GET_TOPIC_STATS_INFO from every master of the topic, merged.
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let route = self.topic_route(topic).await?;
        let mut merged = TopicStatsTable::default();
        for (_, addr) in Self::masters_of(&route) {
            let stats = self.topic_stats_at(&addr, topic).await?;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
    }

    /// GET_TOPIC_STATS_INFO at one broker.
    async fn topic_stats_at(&self, addr: &str, topic: &str) -> Result<TopicStatsTable> {
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_TOPIC_STATS_INFO,
            &TopicRequestHeader {
                topic: topic.to_owned(),
            },
        );
        self.broker_body(addr, req).await
    }

    // ---- subscription groups and consumers -----------------------------------------------

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on every master of `cluster`.
    pub async fn create_subscription_group(
        &self,
        cluster: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        for addr in self.cluster_masters(cluster).await? {
            self.create_subscription_group_at(&addr, config).await?;
        }
        Ok(())
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP at one broker.
    pub async fn create_subscription_group_at(
        &self,
        broker_addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        ferrocket_common::GroupName::new(config.group_name.as_str())
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        let req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(json::to_vec(config));
        self.instance.invoke_ok(broker_addr, req).await.map(|_| ())
    }

    /// DELETE_SUBSCRIPTIONGROUP on every master of `cluster` (offsets kept).
    pub async fn delete_subscription_group(&self, cluster: &str, group: &str) -> Result<()> {
        for addr in self.cluster_masters(cluster).await? {
            self.delete_subscription_group_at(&addr, group, false)
                .await?;
        }
        Ok(())
    }

    /// DELETE_SUBSCRIPTIONGROUP at one broker; `remove_offset` also drops the group's
    /// committed offsets there.
    pub async fn delete_subscription_group_at(
        &self,
        broker_addr: &str,
        group: &str,
        remove_offset: bool,
    ) -> Result<()> {
        let req = RemotingCommand::request_with_header(
            RequestCode::DELETE_SUBSCRIPTIONGROUP,
            &DeleteSubscriptionGroupRequestHeader {
                group_name: group.to_owned(),
                remove_offset: Some(remove_offset),
            },
        );
        self.instance.invoke_ok(broker_addr, req).await.map(|_| ())
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO at every master of `topic`: the groups that consume it,
    /// sorted.
    pub async fn topic_consumers(&self, topic: &str) -> Result<Vec<String>> {
        let route = self.topic_route(topic).await?;
        let mut groups = Vec::new();
        for (_, addr) in Self::masters_of(&route) {
            let req = RemotingCommand::request_with_header(
                RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
                &TopicRequestHeader {
                    topic: topic.to_owned(),
                },
            );
            let list: GroupList = self.broker_body(&addr, req).await?;
            groups.extend(list.group_list);
        }
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// The brokers holding a group's state: those of its retry topic.
    async fn group_brokers(&self, group: &str) -> Result<Vec<(String, String)>> {
        let route = self
            .topic_route(&format!("{RETRY_GROUP_TOPIC_PREFIX}{group}"))
            .await?;
        Ok(Self::masters_of(&route))
    }

    /// GET_CONSUMER_CONNECTION_LIST: the group's online clients and subscriptions.
    pub async fn consumer_connections(&self, group: &str) -> Result<ConsumerConnection> {
        let brokers = self.group_brokers(group).await?;
        let mut last = None;
        for (_, addr) in brokers {
            match self.consumer_connections_at(&addr, group).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Invalid(format!("group {group} has no broker"))))
    }

    /// GET_CONSUMER_CONNECTION_LIST at one broker.
    pub async fn consumer_connections_at(
        &self,
        broker_addr: &str,
        group: &str,
    ) -> Result<ConsumerConnection> {
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            &ConsumerGroupRequestHeader {
                consumer_group: group.to_owned(),
            },
        );
        self.broker_body(broker_addr, req).await
    }

    /// GET_CONSUME_STATS from every broker of `topic` (or of the group when `None`), merged:
    /// broker and consumer offsets per queue, whose difference is the lag.
    pub async fn consume_stats(&self, group: &str, topic: Option<&str>) -> Result<ConsumeStats> {
        let brokers = match topic {
            Some(t) => Self::masters_of(&self.topic_route(t).await?),
            None => self.group_brokers(group).await?,
        };
        let mut merged = ConsumeStats::default();
        for (_, addr) in brokers {
            let stats = self.consume_stats_at(&addr, group, topic).await?;
            merged.consume_tps += stats.consume_tps;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
    }

    /// GET_CONSUME_STATS at one broker.
    async fn consume_stats_at(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats> {
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUME_STATS,
            &GetConsumeStatsRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.map(str::to_owned),
            },
        );
        self.broker_body(addr, req).await
    }

    /// Moves a group's offsets of `topic` to the first message stored at or after
    /// `timestamp_ms` (−1: the end); with `force` also forward (INVOKE_BROKER_TO_RESET_OFFSET).
    /// Online consumers are told to follow.
    pub async fn reset_offset_by_time(
        &self,
        topic: &str,
        group: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let route = self.topic_route(topic).await?;
        let mut table = BTreeMap::new();
        for (_, addr) in Self::masters_of(&route) {
            let req = RemotingCommand::request_with_header(
                RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
                &ResetOffsetRequestHeader {
                    topic: topic.to_owned(),
                    group: group.to_owned(),
                    timestamp: timestamp_ms,
                    is_force: force,
                },
            );
            let body: ResetOffsetBody = self.broker_body(&addr, req).await?;
            table.extend(body.offset_table);
        }
        Ok(table)
    }

    /// Java's `resetOffsetByTimestampOld`, for a group with no consumer online (the broker
    /// then refuses INVOKE_BROKER_TO_RESET_OFFSET with CONSUMER_NOT_ONLINE): per queue of
    /// `topic`, the offset stored at `timestamp_ms` (−1: the end) is committed for the group
    /// directly, unless it lies ahead of the committed one and `force` is off. A queue the
    /// group never committed counts its minimum offset as the consumer offset.
    pub async fn reset_offset_by_time_offline(
        &self,
        group: &str,
        topic: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> Result<Vec<RollbackStats>> {
        let route = self.topic_route(topic).await?;
        let mut rollbacks = Vec::new();
        for (broker, addr) in Self::masters_of(&route) {
            let stats = self.consume_stats_at(&addr, group, None).await?;
            let mut queues: Vec<(MessageQueue, OffsetWrapper)> = stats
                .offset_table
                .into_iter()
                .filter(|(q, _)| q.topic == topic)
                .collect();
            if queues.is_empty() {
                let read_queues = route
                    .queue_datas
                    .iter()
                    .find(|q| q.broker_name == broker)
                    .map_or(0, |q| q.read_queue_nums);
                let stats = self.topic_stats_at(&addr, topic).await?;
                queues = (0..read_queues)
                    .map(|queue_id| {
                        let q = MessageQueue::new(topic, broker.as_str(), queue_id);
                        let offsets = stats.offset_table.get(&q).cloned().unwrap_or_default();
                        let never_committed = OffsetWrapper {
                            broker_offset: offsets.max_offset,
                            consumer_offset: offsets.min_offset,
                            last_timestamp: 0,
                        };
                        (q, never_committed)
                    })
                    .collect();
            }
            for (q, offsets) in queues {
                rollbacks.push(
                    self.reset_queue(group, &q, &offsets, timestamp_ms, force)
                        .await?,
                );
            }
        }
        Ok(rollbacks)
    }

    /// One queue of [`reset_offset_by_time_offline`](Self::reset_offset_by_time_offline).
    async fn reset_queue(
        &self,
        group: &str,
        q: &MessageQueue,
        offsets: &OffsetWrapper,
        timestamp_ms: i64,
        force: bool,
    ) -> Result<RollbackStats> {
        let instance = &self.instance;
        let found = if timestamp_ms == -1 {
            broker_api::max_offset(instance, q).await?
        } else {
            broker_api::search_offset(instance, q, timestamp_ms).await?
        };
        let moves = force || found <= offsets.consumer_offset;
        if moves {
            broker_api::update_consumer_offset(instance, group, q, found, false).await?;
        }
        Ok(RollbackStats {
            broker_name: q.broker_name.clone(),
            queue_id: q.queue_id,
            broker_offset: offsets.broker_offset,
            consumer_offset: offsets.consumer_offset,
            timestamp_offset: found,
            rollback_offset: if moves {
                found
            } else {
                offsets.consumer_offset
            },
        })
    }

    // ---- brokers and name-server configuration -------------------------------------------

    /// GET_BROKER_RUNTIME_INFO: the broker's statistics and versions, as `mqadmin
    /// brokerStatus` prints them.
    pub async fn broker_runtime_info(&self, broker_addr: &str) -> Result<KVTable> {
        self.broker_body(
            broker_addr,
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
        )
        .await
    }

    /// GET_BROKER_CONFIG: the broker's configuration, as the properties it answers with.
    pub async fn broker_config(&self, broker_addr: &str) -> Result<Vec<(String, String)>> {
        let response = self
            .instance
            .invoke_ok(
                broker_addr,
                RemotingCommand::request(RequestCode::GET_BROKER_CONFIG),
            )
            .await?;
        let text = String::from_utf8_lossy(response.body_bytes());
        Ok(ferrocket_common::config_text::parse(&text))
    }

    /// UPDATE_BROKER_CONFIG with one `key=value` (the broker applies and persists it).
    pub async fn update_broker_config(
        &self,
        broker_addr: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let req = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(format!("{key}={value}\n").into_bytes());
        self.instance.invoke_ok(broker_addr, req).await.map(|_| ())
    }

    /// GET_KV_CONFIG at the name server; `None` when the key is not set.
    pub async fn kv_config(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_KV_CONFIG,
            &GetKVConfigRequestHeader {
                namespace: namespace.to_owned(),
                key: key.to_owned(),
            },
        );
        let response = self.instance.invoke_namesrv(req).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {
                let h: GetKVConfigResponseHeader = response
                    .decode_header()
                    .map_err(|e| ClientError::malformed("name server", e))?;
                Ok(h.value)
            }
            ResponseCode::QUERY_NOT_FOUND => Ok(None),
            _ => Err(ClientError::server("name server", &response)),
        }
    }

    /// PUT_KV_CONFIG at the name server (`ORDER_TOPIC_CONFIG` holds ordered topics' queues).
    pub async fn put_kv_config(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let req = RemotingCommand::request_with_header(
            RequestCode::PUT_KV_CONFIG,
            &PutKVConfigRequestHeader {
                namespace: namespace.to_owned(),
                key: key.to_owned(),
                value: value.to_owned(),
            },
        );
        self.namesrv_ok(req).await.map(|_| ())
    }

    // ---- messages ------------------------------------------------------------------------

    /// VIEW_MESSAGE_BY_ID with an offset message id (store host + commit-log offset).
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let id = OffsetMessageId::decode(offset_msg_id).map_err(|e| {
            ClientError::Invalid(format!("bad offset message id {offset_msg_id}: {e}"))
        })?;
        let addr = id.store_host.to_string();
        let req = RemotingCommand::request_with_header(
            RequestCode::VIEW_MESSAGE_BY_ID,
            &ViewMessageRequestHeader {
                offset: id.commit_log_offset,
            },
        );
        let response = self.instance.invoke_ok(&addr, req).await?;
        let body = response.body.clone().unwrap_or_default();
        let record =
            MessageRecord::decode(&body, false).map_err(|e| ClientError::malformed(&addr, e))?;
        let broker = self.broker_name_of(&addr).await.unwrap_or_default();
        MessageExt::from_record(record, &broker, MAX_BODY)
            .map_err(|e| ClientError::malformed(&addr, e))
    }

    /// The name of the broker serving `addr`, from the cluster info (empty if none does).
    pub async fn broker_name_of(&self, addr: &str) -> Result<String> {
        let info = self.cluster_info().await?;
        Ok(info
            .broker_addr_table
            .values()
            .find(|b| b.broker_addrs.values().any(|a| a == addr))
            .map(|b| b.broker_name.clone())
            .unwrap_or_default())
    }

    /// QUERY_MESSAGE by key at every master of `topic`, stored within the time range
    /// (Unix ms); only messages that really carry `key` are returned.
    pub async fn query_message_by_key(
        &self,
        topic: &str,
        key: &str,
        max: i32,
        begin_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MessageExt>> {
        let found = self.query(topic, key, max, begin_ms, end_ms, false).await?;
        Ok(found
            .into_iter()
            .filter(|m| m.keys().any(|k| k == key))
            .collect())
    }

    /// The message with this `UNIQ_KEY` (the producer's msg id), if any broker has it.
    pub async fn query_message_by_unique_key(
        &self,
        topic: &str,
        id: &str,
    ) -> Result<Option<MessageExt>> {
        Ok(self
            .query_messages_by_unique_key(topic, id)
            .await?
            .into_iter()
            .next())
    }

    /// Every stored copy of the message with this `UNIQ_KEY` (a send retried after a lost
    /// answer is stored twice), at most 32, oldest first.
    pub async fn query_messages_by_unique_key(
        &self,
        topic: &str,
        id: &str,
    ) -> Result<Vec<MessageExt>> {
        let mut found: Vec<MessageExt> = self
            .query(topic, id, 32, 0, i64::MAX, true)
            .await?
            .into_iter()
            .filter(|m| m.msg_id == id)
            .collect();
        found.sort_by_key(|m| (m.store_timestamp, m.commit_log_offset));
        Ok(found)
    }

    async fn query(
        &self,
        topic: &str,
        key: &str,
        max: i32,
        begin_ms: i64,
        end_ms: i64,
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let route = self.topic_route(topic).await?;
        let mut out = Vec::new();
        for (broker, addr) in Self::masters_of(&route) {
            let mut req = RemotingCommand::request_with_header(
                RequestCode::QUERY_MESSAGE,
                &QueryMessageRequestHeader {
                    topic: topic.to_owned(),
                    key: key.to_owned(),
                    max_num: max,
                    begin_timestamp: begin_ms,
                    end_timestamp: end_ms,
                },
            );
            if unique {
                req.ext_mut().insert(UNIQUE_KEY_QUERY, "true");
            }
            let response = self
                .instance
                .invoke(&addr, req, self.instance.options().request_timeout * 5)
                .await?;
            match response.response_code() {
                ResponseCode::SUCCESS => {}
                ResponseCode::QUERY_NOT_FOUND => continue,
                _ => return Err(ClientError::server(&addr, &response)),
            }
            let body = response.body.clone().unwrap_or_default();
            for record in MessageRecord::decode_all(&body, false)
                .map_err(|e| ClientError::malformed(&addr, e))?
            {
                if record.topic != topic {
                    continue;
                }
                out.push(
                    MessageExt::from_record(record, &broker, MAX_BODY)
                        .map_err(|e| ClientError::malformed(&addr, e))?,
                );
            }
        }
        Ok(out)
    }
}

/// One queue of an offline offset reset (Java's `RollbackStats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackStats {
    pub broker_name: String,
    pub queue_id: i32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// The offset stored at the asked time.
    pub timestamp_offset: i64,
    /// The offset committed (the consumer offset when the reset was not forced and would
    /// have moved forward).
    pub rollback_offset: i64,
}

//! The admin API (`DefaultMQAdminExt`): topics, subscription groups, cluster and route
//! information, consumer connections and lag, message lookup, offset reset.

use crate::consumer::MAX_BODY;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ClientOptions};
use crate::message::MessageExt;
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::names::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_common::MessageRecord;
use ferrocket_protocol::body::{
    ClusterInfo, ConsumeStats, ConsumerConnection, MessageQueue, ResetOffsetBody,
    SubscriptionGroupConfig, TopicConfig, TopicList, TopicRouteData, TopicStatsTable,
};
use ferrocket_protocol::header::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetConsumeStatsRequestHeader, QueryMessageRequestHeader,
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

    async fn namesrv_body<T: FromJson>(&self, request: RemotingCommand) -> Result<T> {
        let response = self.instance.invoke_namesrv(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ClientError::server("name server", &response));
        }
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
        let response = self.instance.invoke_namesrv(req).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ClientError::server("name server", &response));
        }
        Ok(())
    }

    /// GET_TOPIC_STATS_INFO from every master of the topic, merged.
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let route = self.topic_route(topic).await?;
        let mut merged = TopicStatsTable::default();
        for (_, addr) in Self::masters_of(&route) {
            let req = RemotingCommand::request_with_header(
                RequestCode::GET_TOPIC_STATS_INFO,
                &TopicRequestHeader {
                    topic: topic.to_owned(),
                },
            );
            let stats: TopicStatsTable = self.broker_body(&addr, req).await?;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
    }

    // ---- subscription groups and consumers -----------------------------------------------

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on every master of `cluster`.
    pub async fn create_subscription_group(
        &self,
        cluster: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        ferrocket_common::GroupName::new(config.group_name.as_str())
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        for addr in self.cluster_masters(cluster).await? {
            let req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(json::to_vec(config));
            self.instance.invoke_ok(&addr, req).await?;
        }
        Ok(())
    }

    /// DELETE_SUBSCRIPTIONGROUP on every master of `cluster`.
    pub async fn delete_subscription_group(&self, cluster: &str, group: &str) -> Result<()> {
        for addr in self.cluster_masters(cluster).await? {
            let req = RemotingCommand::request_with_header(
                RequestCode::DELETE_SUBSCRIPTIONGROUP,
                &DeleteSubscriptionGroupRequestHeader {
                    group_name: group.to_owned(),
                    remove_offset: Some(false),
                },
            );
            self.instance.invoke_ok(&addr, req).await?;
        }
        Ok(())
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
            let req = RemotingCommand::request_with_header(
                RequestCode::GET_CONSUMER_CONNECTION_LIST,
                &ConsumerGroupRequestHeader {
                    consumer_group: group.to_owned(),
                },
            );
            match self.broker_body::<ConsumerConnection>(&addr, req).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Invalid(format!("group {group} has no broker"))))
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
            let req = RemotingCommand::request_with_header(
                RequestCode::GET_CONSUME_STATS,
                &GetConsumeStatsRequestHeader {
                    consumer_group: group.to_owned(),
                    topic: topic.map(str::to_owned),
                },
            );
            let stats: ConsumeStats = self.broker_body(&addr, req).await?;
            merged.consume_tps += stats.consume_tps;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
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

    /// The name of the broker serving `addr`, from the cluster info.
    async fn broker_name_of(&self, addr: &str) -> Result<String> {
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
        let found = self.query(topic, id, 32, 0, i64::MAX, true).await?;
        Ok(found.into_iter().find(|m| m.msg_id == id))
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

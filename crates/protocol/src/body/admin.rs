use super::{
    ConsumeFromWhere, ConsumeType, DataVersion, MessageModel, MessageQueue, SubscriptionData,
};
use crate::json_object;
use std::collections::BTreeMap;

json_object! {
    /// `{"topicList":[…]}` (+ `brokerAddr` for the system topic list).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TopicList {
        "brokerAddr" => pub broker_addr: Option<String>,
        "topicList" => pub topic_list: Vec<String>,
    }
}

json_object! {
    /// `{"table":{"k":"v"}}` (`KVTable`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct KVTable {
        "table" => pub table: BTreeMap<String, String>,
    }
}

json_object! {
    /// QUERY_TOPIC_CONSUME_BY_WHO body.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct GroupList {
        "groupList" => pub group_list: Vec<String>,
    }
}

json_object! {
    /// GET_CONSUMER_LIST_BY_GROUP body (`GetConsumerListByGroupResponseBody`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumerIdList {
        "consumerIdList" => pub consumer_id_list: Vec<String>,
    }
}

json_object! {
    /// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request body.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct LockBatchRequestBody {
        "clientId" => pub client_id: String,
        "consumerGroup" => pub consumer_group: String,
        "mqSet" => pub mq_set: Vec<MessageQueue>,
    }
}

json_object! {
    /// LOCK_BATCH_MQ response body: the queues now held by the caller.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct LockBatchResponseBody {
        "lockOKMQSet" => pub lock_ok_mq_set: Vec<MessageQueue>,
    }
}

json_object! {
    /// A consumer group's settings on a broker (`SubscriptionGroupConfig`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SubscriptionGroupConfig {
        "brokerId" => pub broker_id: i64,
        "consumeBroadcastEnable" => pub consume_broadcast_enable: bool,
        "consumeEnable" => pub consume_enable: bool,
        "consumeFromMinEnable" => pub consume_from_min_enable: bool,
        "groupName" => pub group_name: String,
        "notifyConsumerIdsChangedEnable" => pub notify_consumer_ids_changed_enable: bool,
        "retryMaxTimes" => pub retry_max_times: i32,
        "retryQueueNums" => pub retry_queue_nums: i32,
        "whichBrokerWhenConsumeSlowly" => pub which_broker_when_consume_slowly: i64,
    }
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            group_name: String::new(),
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

json_object! {
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG body and `subscriptionGroup.json`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct SubscriptionGroupWrapper {
        "dataVersion" => pub data_version: DataVersion,
        "subscriptionGroupTable" => pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    }
}

json_object! {
    /// One client connection (`Connection`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Connection {
        "clientAddr" => pub client_addr: String,
        "clientId" => pub client_id: String,
        "language" => pub language: String,
        "version" => pub version: i32,
    }
}

json_object! {
    /// GET_CONSUMER_CONNECTION_LIST body (`ConsumerConnection`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumerConnection {
        "connectionSet" => pub connection_set: Vec<Connection>,
        "consumeFromWhere" => pub consume_from_where: Option<ConsumeFromWhere>,
        "consumeType" => pub consume_type: Option<ConsumeType>,
        "messageModel" => pub message_model: Option<MessageModel>,
        "subscriptionTable" => pub subscription_table: BTreeMap<String, SubscriptionData>,
    }
}

json_object! {
    /// GET_PRODUCER_CONNECTION_LIST body (`ProducerConnection`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ProducerConnection {
        "connectionSet" => pub connection_set: Vec<Connection>,
    }
}

json_object! {
    /// CONSUME_MESSAGE_DIRECTLY client reply (`ConsumeMessageDirectlyResult`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumeMessageDirectlyResult {
        "autoCommit" => pub auto_commit: bool,
        "consumeResult" => pub consume_result: Option<String>,
        "order" => pub order: bool,
        "remark" => pub remark: Option<String>,
        "spentTimeMills" => pub spent_time_mills: i64,
    }
}

json_object! {
    /// Body of a message the broker stores in `OFFSET_MOVED_EVENT` when a pull asks for an
    /// offset the queue no longer (or not yet) holds (`OffsetMovedEvent`, fields in fastjson's
    /// alphabetical order).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct OffsetMovedEvent {
        "consumerGroup" => pub consumer_group: String,
        "messageQueue" => pub message_queue: MessageQueue,
        "offsetNew" => pub offset_new: i64,
        "offsetRequest" => pub offset_request: i64,
    }
}

json_object! {
    /// One producer connection of GET_ALL_PRODUCER_INFO (`ProducerInfo`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ProducerInfo {
        "clientId" => pub client_id: String,
        "language" => pub language: String,
        "lastUpdateTimestamp" => pub last_update_timestamp: i64,
        /// `InetSocketAddress.toString()`: `/127.0.0.1:54321`.
        "remoteIP" => pub remote_ip: String,
        "version" => pub version: i32,
    }
}

json_object! {
    /// GET_ALL_PRODUCER_INFO body (`ProducerTableInfo`): producers by group.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ProducerTableInfo {
        "data" => pub data: BTreeMap<String, Vec<ProducerInfo>>,
    }
}

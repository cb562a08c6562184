use crate::json::{self, FromJson, JsonError, JsonKey, ToJson, Value};
use crate::json_object;
use std::collections::BTreeMap;

json_object! {
    /// A queue of a topic on a broker (`MessageQueue`). Used as a map key, Java writes it as
    /// an object: `{{"brokerName":"b","queueId":0,"topic":"t"}:…}`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub struct MessageQueue {
        "brokerName" => pub broker_name: String,
        "queueId" => pub queue_id: i32,
        "topic" => pub topic: String,
    }
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

impl JsonKey for MessageQueue {
    fn to_key(&self) -> Value {
        self.to_json()
    }

    /// An object key, or (from standard-JSON writers) the object's text as a string key.
    fn from_key(key: &Value) -> Result<Self, JsonError> {
        match key {
            Value::Str(text) => MessageQueue::from_json(&json::parse(text.as_bytes())?),
            other => MessageQueue::from_json(other),
        }
    }
}

json_object! {
    /// Per-queue entry of [`ConsumeStats`] (`OffsetWrapper`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct OffsetWrapper {
        "brokerOffset" => pub broker_offset: i64,
        "consumerOffset" => pub consumer_offset: i64,
        "lastTimestamp" => pub last_timestamp: i64,
    }
}

json_object! {
    /// GET_CONSUME_STATS body (`ConsumeStats`).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConsumeStats {
        "consumeTps" => pub consume_tps: f64,
        "offsetTable" => pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
    }
}

impl ConsumeStats {
    /// Messages not yet consumed, over every queue.
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum()
    }
}

json_object! {
    /// Per-queue entry of [`TopicStatsTable`] (`TopicOffset`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct TopicOffset {
        "lastUpdateTimestamp" => pub last_update_timestamp: i64,
        "maxOffset" => pub max_offset: i64,
        "minOffset" => pub min_offset: i64,
    }
}

json_object! {
    /// GET_TOPIC_STATS_INFO body (`TopicStatsTable`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TopicStatsTable {
        "offsetTable" => pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    }
}

json_object! {
    /// INVOKE_BROKER_TO_RESET_OFFSET response and RESET_CONSUMER_CLIENT_OFFSET body.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ResetOffsetBody {
        "offsetTable" => pub offset_table: BTreeMap<MessageQueue, i64>,
    }
}

json_object! {
    /// `consumerOffset.json` and GET_ALL_CONSUMER_OFFSET: `topic@group → {queueId: offset}`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumerOffsetSerializeWrapper {
        "offsetTable" => pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
    }
}

json_object! {
    /// `delayOffset.json` and GET_ALL_DELAY_OFFSET: `{level: offset}`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct DelayOffsetSerializeWrapper {
        "offsetTable" => pub offset_table: BTreeMap<i32, i64>,
    }
}

json_object! {
    /// One entry of QUERY_CONSUME_TIME_SPAN (`QueueTimeSpan`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct QueueTimeSpan {
        "consumeTimeStamp" => pub consume_time_stamp: i64,
        "delayTime" => pub delay_time: i64,
        "maxTimeStamp" => pub max_time_stamp: i64,
        "messageQueue" => pub message_queue: MessageQueue,
        "minTimeStamp" => pub min_time_stamp: i64,
    }
}

json_object! {
    /// QUERY_CONSUME_TIME_SPAN body.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct QueryConsumeTimeSpanBody {
        "consumeTimeSpanSet" => pub consume_time_span_set: Vec<QueueTimeSpan>,
    }
}

json_object! {
    /// QUERY_CORRECTION_OFFSET body: `{queueId: offset}`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct QueryCorrectionOffsetBody {
        "correctionOffsets" => pub correction_offsets: BTreeMap<i32, i64>,
    }
}

json_object! {
    /// Per-queue entry of a consumer's running info (`ProcessQueueInfo`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct ProcessQueueInfo {
        "cachedMsgCount" => pub cached_msg_count: i32,
        "cachedMsgMaxOffset" => pub cached_msg_max_offset: i64,
        "cachedMsgMinOffset" => pub cached_msg_min_offset: i64,
        "cachedMsgSizeInMiB" => pub cached_msg_size_in_mib: i32,
        "commitOffset" => pub commit_offset: i64,
        "droped" => pub droped: bool,
        "lastConsumeTimestamp" => pub last_consume_timestamp: i64,
        "lastLockTimestamp" => pub last_lock_timestamp: i64,
        "lastPullTimestamp" => pub last_pull_timestamp: i64,
        "locked" => pub locked: bool,
        "transactionMsgCount" => pub transaction_msg_count: i32,
        "transactionMsgMaxOffset" => pub transaction_msg_max_offset: i64,
        "transactionMsgMinOffset" => pub transaction_msg_min_offset: i64,
        "tryUnlockTimes" => pub try_unlock_times: i64,
    }
}

json_object! {
    /// Per-topic consume statistics of a consumer (`ConsumeStatus`).
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct ConsumeStatus {
        "consumeFailedMsgs" => pub consume_failed_msgs: i64,
        "consumeFailedTPS" => pub consume_failed_tps: f64,
        "consumeOKTPS" => pub consume_ok_tps: f64,
        "consumeRT" => pub consume_rt: f64,
        "pullRT" => pub pull_rt: f64,
        "pullTPS" => pub pull_tps: f64,
    }
}

json_object! {
    /// GET_CONSUMER_RUNNING_INFO body (`ConsumerRunningInfo`).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConsumerRunningInfo {
        "jstack" => pub jstack: Option<String>,
        "mqTable" => pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
        "properties" => pub properties: BTreeMap<String, String>,
        "statusTable" => pub status_table: BTreeMap<String, ConsumeStatus>,
        "subscriptionSet" => pub subscription_set: Vec<super::SubscriptionData>,
    }
}

json_object! {
    /// GET_CONSUMER_STATUS bodies (`GetConsumerStatusBody`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct GetConsumerStatusBody {
        "consumerTable" => pub consumer_table: BTreeMap<String, BTreeMap<MessageQueue, i64>>,
        "messageQueueTable" => pub message_queue_table: BTreeMap<MessageQueue, i64>,
    }
}

json_object! {
    /// GET_BROKER_CONSUME_STATS body (`ConsumeStatsList`): every subscription group of the
    /// broker with the stats of each topic it has offsets for.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConsumeStatsList {
        "brokerAddr" => pub broker_addr: Option<String>,
        "consumeStatsList" => pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
        "totalDiff" => pub total_diff: i64,
    }
}

json_object! {
    /// One unit of QUERY_CONSUME_QUEUE (`ConsumeQueueData`). The ext fields stay empty: the
    /// consume-queue extension (`enableConsumeQueueExt`) is not kept.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumeQueueData {
        "bitMap" => pub bit_map: Option<String>,
        "eval" => pub eval: bool,
        "extendDataJson" => pub extend_data_json: Option<String>,
        "msg" => pub msg: Option<String>,
        "physicOffset" => pub physic_offset: i64,
        "physicSize" => pub physic_size: i32,
        "tagsCode" => pub tags_code: i64,
    }
}

json_object! {
    /// QUERY_CONSUME_QUEUE body (`QueryConsumeQueueResponseBody`).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct QueryConsumeQueueResponseBody {
        "filterData" => pub filter_data: Option<String>,
        "maxQueueIndex" => pub max_queue_index: i64,
        "minQueueIndex" => pub min_queue_index: i64,
        "queueData" => pub queue_data: Option<Vec<ConsumeQueueData>>,
        "subscriptionData" => pub subscription_data: Option<super::SubscriptionData>,
    }
}

json_object! {
    /// One window of VIEW_BROKER_STATS_DATA (`BrokerStatsItem`).
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct BrokerStatsItem {
        "avgpt" => pub avgpt: f64,
        "sum" => pub sum: i64,
        "tps" => pub tps: f64,
    }
}

json_object! {
    /// VIEW_BROKER_STATS_DATA body (`BrokerStatsData`): a statistic over the last minute,
    /// hour and day.
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct BrokerStatsData {
        "statsDay" => pub stats_day: BrokerStatsItem,
        "statsHour" => pub stats_hour: BrokerStatsItem,
        "statsMinute" => pub stats_minute: BrokerStatsItem,
    }
}

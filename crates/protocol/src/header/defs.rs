//! The custom headers of every request code that carries one (codes.md §3–§12), named as the
//! Java classes. `req` = `@CFNotNull`.

use crate::codes::RequestCode;
use crate::command::RemotingCommand;
use crate::command_header;
use crate::ProtocolError;

// ---- name server -------------------------------------------------------------------------

command_header! {
    /// REGISTER_BROKER (103).
    pub struct RegisterBrokerRequestHeader {
        req "brokerName" => broker_name: String,
        req "brokerAddr" => broker_addr: String,
        req "clusterName" => cluster_name: String,
        req "haServerAddr" => ha_server_addr: String,
        req "brokerId" => broker_id: i64,
        opt "compressed" => compressed: bool,
        opt "bodyCrc32" => body_crc32: i32,
    }
}

command_header! {
    /// Response to REGISTER_BROKER.
    pub struct RegisterBrokerResponseHeader {
        opt "haServerAddr" => ha_server_addr: String,
        opt "masterAddr" => master_addr: String,
    }
}

command_header! {
    /// UNREGISTER_BROKER (104).
    pub struct UnRegisterBrokerRequestHeader {
        req "brokerName" => broker_name: String,
        req "brokerAddr" => broker_addr: String,
        req "clusterName" => cluster_name: String,
        req "brokerId" => broker_id: i64,
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322).
    pub struct QueryDataVersionRequestHeader {
        req "brokerName" => broker_name: String,
        req "brokerAddr" => broker_addr: String,
        req "clusterName" => cluster_name: String,
        req "brokerId" => broker_id: i64,
    }
}

command_header! {
    /// Response to QUERY_DATA_VERSION.
    pub struct QueryDataVersionResponseHeader {
        req "changed" => changed: bool,
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        req "topic" => topic: String,
        opt "acceptStandardJsonOnly" => accept_standard_json_only: bool,
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        req "topic" => topic: String,
        opt "clusterName" => cluster_name: String,
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224).
    pub struct GetTopicsByClusterRequestHeader {
        req "cluster" => cluster: String,
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205).
    pub struct WipeWritePermOfBrokerRequestHeader {
        req "brokerName" => broker_name: String,
    }
}

command_header! {
    /// Response to WIPE_WRITE_PERM_OF_BROKER.
    pub struct WipeWritePermOfBrokerResponseHeader {
        req "wipeTopicCount" => wipe_topic_count: i32,
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327).
    pub struct AddWritePermOfBrokerRequestHeader {
        req "brokerName" => broker_name: String,
    }
}

command_header! {
    /// Response to ADD_WRITE_PERM_OF_BROKER.
    pub struct AddWritePermOfBrokerResponseHeader {
        req "addTopicCount" => add_topic_count: i32,
    }
}

command_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKVConfigRequestHeader {
        req "namespace" => namespace: String,
        req "key" => key: String,
        req "value" => value: String,
    }
}

command_header! {
    /// GET_KV_CONFIG (101).
    pub struct GetKVConfigRequestHeader {
        req "namespace" => namespace: String,
        req "key" => key: String,
    }
}

command_header! {
    /// Response to GET_KV_CONFIG.
    pub struct GetKVConfigResponseHeader {
        opt "value" => value: String,
    }
}

command_header! {
    /// DELETE_KV_CONFIG (102).
    pub struct DeleteKVConfigRequestHeader {
        req "namespace" => namespace: String,
        req "key" => key: String,
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219).
    pub struct GetKVListByNamespaceRequestHeader {
        req "namespace" => namespace: String,
    }
}

// ---- sending -----------------------------------------------------------------------------

command_header! {
    /// SEND_MESSAGE (10) and SEND_REPLY_MESSAGE (324), with the long field names.
    pub struct SendMessageRequestHeader {
        req "producerGroup" => producer_group: String,
        req "topic" => topic: String,
        req "defaultTopic" => default_topic: String,
        req "defaultTopicQueueNums" => default_topic_queue_nums: i32,
        req "queueId" => queue_id: i32,
        req "sysFlag" => sys_flag: i32,
        req "bornTimestamp" => born_timestamp: i64,
        req "flag" => flag: i32,
        opt "properties" => properties: String,
        opt "reconsumeTimes" => reconsume_times: i32,
        opt "unitMode" => unit_mode: bool,
        opt "batch" => batch: bool,
        opt "maxReconsumeTimes" => max_reconsume_times: i32,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320), SEND_REPLY_MESSAGE_V2 (325): the same
    /// fields under one-letter names.
    pub struct SendMessageRequestHeaderV2 {
        req "a" => a: String,
        req "b" => b: String,
        req "c" => c: String,
        req "d" => d: i32,
        req "e" => e: i32,
        req "f" => f: i32,
        req "g" => g: i64,
        req "h" => h: i32,
        opt "i" => i: String,
        opt "j" => j: i32,
        opt "k" => k: bool,
        opt "l" => l: i32,
        opt "m" => m: bool,
        opt "n" => n: String,
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v2.a,
            topic: v2.b,
            default_topic: v2.c,
            default_topic_queue_nums: v2.d,
            queue_id: v2.e,
            sys_flag: v2.f,
            born_timestamp: v2.g,
            flag: v2.h,
            properties: v2.i,
            reconsume_times: v2.j,
            unit_mode: v2.k,
            max_reconsume_times: v2.l,
            batch: v2.m,
            bname: v2.n,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            a: v1.producer_group,
            b: v1.topic,
            c: v1.default_topic,
            d: v1.default_topic_queue_nums,
            e: v1.queue_id,
            f: v1.sys_flag,
            g: v1.born_timestamp,
            h: v1.flag,
            i: v1.properties,
            j: v1.reconsume_times,
            k: v1.unit_mode,
            l: v1.max_reconsume_times,
            m: v1.batch,
            n: v1.bname,
        }
    }
}

impl SendMessageRequestHeader {
    /// Reads the send header of any send code, in the long or the one-letter form.
    pub fn from_command(cmd: &RemotingCommand) -> Result<Self, ProtocolError> {
        let code = RequestCode(cmd.code);
        if code == RequestCode::SEND_MESSAGE_V2
            || code == RequestCode::SEND_BATCH_MESSAGE
            || code == RequestCode::SEND_REPLY_MESSAGE_V2
        {
            cmd.decode_header::<SendMessageRequestHeaderV2>()
                .map(Into::into)
        } else {
            cmd.decode_header()
        }
    }
}

command_header! {
    /// Response to every send code.
    pub struct SendMessageResponseHeader {
        req "msgId" => msg_id: String,
        req "queueId" => queue_id: i32,
        req "queueOffset" => queue_offset: i64,
        opt "transactionId" => transaction_id: String,
    }
}

// ---- pulling and querying ----------------------------------------------------------------

command_header! {
    /// PULL_MESSAGE (11).
    pub struct PullMessageRequestHeader {
        req "consumerGroup" => consumer_group: String,
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        req "queueOffset" => queue_offset: i64,
        req "maxMsgNums" => max_msg_nums: i32,
        req "sysFlag" => sys_flag: i32,
        req "commitOffset" => commit_offset: i64,
        req "suspendTimeoutMillis" => suspend_timeout_millis: i64,
        opt "subscription" => subscription: String,
        req "subVersion" => sub_version: i64,
        opt "expressionType" => expression_type: String,
        opt "bname" => bname: String,
    }
}

impl PullMessageRequestHeader {
    /// A pull of up to `max_msg_nums` messages from `queue_offset` that carries its TAG
    /// subscription (`FLAG_SUBSCRIPTION`) and does not hold; adjust the fields for more.
    pub fn with_subscription(
        consumer_group: &str,
        topic: &str,
        queue_id: i32,
        queue_offset: i64,
        max_msg_nums: i32,
        expression: &str,
    ) -> Self {
        PullMessageRequestHeader {
            consumer_group: consumer_group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            queue_offset,
            max_msg_nums,
            sys_flag: pull_sys_flag::SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some(expression.to_owned()),
            sub_version: 0,
            expression_type: Some("TAG".to_owned()),
            bname: None,
        }
    }
}

/// `PullSysFlag` bits of [`PullMessageRequestHeader::sys_flag`].
pub mod pull_sys_flag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    pub const SUSPEND: i32 = 0x2;
    pub const SUBSCRIPTION: i32 = 0x4;
    pub const CLASS_FILTER: i32 = 0x8;
    pub const LITE_PULL_MESSAGE: i32 = 0x10;
}

command_header! {
    /// Response to PULL_MESSAGE; the remark carries the store status name.
    pub struct PullMessageResponseHeader {
        req "suggestWhichBrokerId" => suggest_which_broker_id: i64,
        req "nextBeginOffset" => next_begin_offset: i64,
        req "minOffset" => min_offset: i64,
        req "maxOffset" => max_offset: i64,
    }
}

command_header! {
    /// QUERY_MESSAGE (12); the client adds extField `_UNIQUE_KEY_QUERY`.
    pub struct QueryMessageRequestHeader {
        req "topic" => topic: String,
        req "key" => key: String,
        req "maxNum" => max_num: i32,
        req "beginTimestamp" => begin_timestamp: i64,
        req "endTimestamp" => end_timestamp: i64,
    }
}

/// The extField that marks a QUERY_MESSAGE as a lookup by `UNIQ_KEY`.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

command_header! {
    /// Response to QUERY_MESSAGE.
    pub struct QueryMessageResponseHeader {
        req "indexLastUpdateTimestamp" => index_last_update_timestamp: i64,
        req "indexLastUpdatePhyoffset" => index_last_update_phyoffset: i64,
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33): the CommitLog offset from an offset message id.
    pub struct ViewMessageRequestHeader {
        req "offset" => offset: i64,
    }
}

command_header! {
    /// GET_MAX_OFFSET (30).
    pub struct GetMaxOffsetRequestHeader {
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// GET_MIN_OFFSET (31).
    pub struct GetMinOffsetRequestHeader {
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        req "timestamp" => timestamp: i64,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// Response to GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP and
    /// QUERY_CONSUMER_OFFSET.
    pub struct OffsetResponseHeader {
        req "offset" => offset: i64,
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32).
    pub struct GetEarliestMsgStoretimeRequestHeader {
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// Response to GET_EARLIEST_MSG_STORETIME.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        req "timestamp" => timestamp: i64,
    }
}

// ---- consumers and clients ---------------------------------------------------------------

command_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        req "consumerGroup" => consumer_group: String,
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        req "consumerGroup" => consumer_group: String,
        req "topic" => topic: String,
        req "queueId" => queue_id: i32,
        req "commitOffset" => commit_offset: i64,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38), and NOTIFY_CONSUMER_IDS_CHANGED (40) broker→client.
    pub struct ConsumerGroupRequestHeader {
        req "consumerGroup" => consumer_group: String,
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        req "clientID" => client_id: String,
        opt "producerGroup" => producer_group: String,
        opt "consumerGroup" => consumer_group: String,
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36).
    pub struct ConsumerSendMsgBackRequestHeader {
        req "offset" => offset: i64,
        req "group" => group: String,
        req "delayLevel" => delay_level: i32,
        opt "originMsgId" => origin_msg_id: String,
        opt "originTopic" => origin_topic: String,
        opt "unitMode" => unit_mode: bool,
        opt "maxReconsumeTimes" => max_reconsume_times: i32,
        opt "bname" => bname: String,
    }
}

// ---- transactions ------------------------------------------------------------------------

command_header! {
    /// END_TRANSACTION (37), sent oneway.
    pub struct EndTransactionRequestHeader {
        req "producerGroup" => producer_group: String,
        req "tranStateTableOffset" => tran_state_table_offset: i64,
        req "commitLogOffset" => commit_log_offset: i64,
        req "commitOrRollback" => commit_or_rollback: i32,
        opt "fromTransactionCheck" => from_transaction_check: bool,
        req "msgId" => msg_id: String,
        opt "transactionId" => transaction_id: String,
        opt "bname" => bname: String,
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39), broker→producer.
    pub struct CheckTransactionStateRequestHeader {
        req "tranStateTableOffset" => tran_state_table_offset: i64,
        req "commitLogOffset" => commit_log_offset: i64,
        opt "msgId" => msg_id: String,
        opt "transactionId" => transaction_id: String,
        opt "offsetMsgId" => offset_msg_id: String,
    }
}

command_header! {
    /// RESUME_CHECK_HALF_MESSAGE (323).
    pub struct ResumeCheckHalfMessageRequestHeader {
        opt "msgId" => msg_id: String,
    }
}

command_header! {
    /// PUSH_REPLY_MESSAGE_TO_CLIENT (326), broker→requester.
    pub struct ReplyMessageRequestHeader {
        req "producerGroup" => producer_group: String,
        req "topic" => topic: String,
        req "defaultTopic" => default_topic: String,
        req "defaultTopicQueueNums" => default_topic_queue_nums: i32,
        req "queueId" => queue_id: i32,
        req "sysFlag" => sys_flag: i32,
        req "bornTimestamp" => born_timestamp: i64,
        req "flag" => flag: i32,
        opt "properties" => properties: String,
        opt "reconsumeTimes" => reconsume_times: i32,
        opt "unitMode" => unit_mode: bool,
        req "bornHost" => born_host: String,
        req "storeHost" => store_host: String,
        req "storeTimestamp" => store_timestamp: i64,
    }
}

// ---- administration ----------------------------------------------------------------------

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        req "topic" => topic: String,
        req "defaultTopic" => default_topic: String,
        req "readQueueNums" => read_queue_nums: i32,
        req "writeQueueNums" => write_queue_nums: i32,
        req "perm" => perm: i32,
        req "topicFilterType" => topic_filter_type: String,
        opt "topicSysFlag" => topic_sys_flag: i32,
        req "order" => order: bool,
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202), QUERY_TOPIC_CONSUME_BY_WHO (300).
    pub struct TopicRequestHeader {
        req "topic" => topic: String,
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        req "groupName" => group_name: String,
        opt "removeOffset" => remove_offset: bool,
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct GetProducerConnectionListRequestHeader {
        req "producerGroup" => producer_group: String,
    }
}

command_header! {
    /// GET_CONSUME_STATS (208); a blank topic means every topic the group has offsets for.
    pub struct GetConsumeStatsRequestHeader {
        req "consumerGroup" => consumer_group: String,
        opt "topic" => topic: String,
    }
}

command_header! {
    /// Response to GET_BROKER_CONFIG: the DataVersion JSON.
    pub struct GetBrokerConfigResponseHeader {
        req "version" => version: String,
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220).
    pub struct ResetOffsetRequestHeader {
        req "topic" => topic: String,
        req "group" => group: String,
        req "timestamp" => timestamp: i64,
        req "isForce" => is_force: bool,
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307).
    pub struct GetConsumerRunningInfoRequestHeader {
        req "consumerGroup" => consumer_group: String,
        req "clientId" => client_id: String,
        opt "jstackEnable" => jstack_enable: bool,
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309).
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        req "consumerGroup" => consumer_group: String,
        opt "clientId" => client_id: String,
        opt "msgId" => msg_id: String,
        opt "brokerName" => broker_name: String,
    }
}

command_header! {
    /// CLONE_GROUP_OFFSET (314).
    pub struct CloneGroupOffsetRequestHeader {
        req "srcGroup" => src_group: String,
        req "destGroup" => dest_group: String,
        opt "topic" => topic: String,
        opt "offline" => offline: bool,
    }
}

command_header! {
    /// QUERY_CONSUME_TIME_SPAN (303).
    pub struct QueryConsumeTimeSpanRequestHeader {
        req "topic" => topic: String,
        req "group" => group: String,
    }
}

command_header! {
    /// QUERY_CORRECTION_OFFSET (308).
    pub struct QueryCorrectionOffsetHeader {
        opt "filterGroups" => filter_groups: String,
        req "compareGroup" => compare_group: String,
        req "topic" => topic: String,
    }
}

command_header! {
    /// VIEW_BROKER_STATS_DATA (315).
    pub struct ViewBrokerStatsDataRequestHeader {
        req "statsName" => stats_name: String,
        req "statsKey" => stats_key: String,
    }
}

command_header! {
    /// GET_BROKER_CONSUME_STATS (317).
    pub struct GetConsumeStatsInBrokerHeader {
        req "isOrder" => is_order: bool,
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE (321).
    pub struct QueryConsumeQueueRequestHeader {
        opt "topic" => topic: String,
        opt "queueId" => queue_id: i32,
        opt "index" => index: i64,
        opt "count" => count: i32,
        opt "consumerGroup" => consumer_group: String,
    }
}

command_header! {
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) and GET_CONSUMER_STATUS_FROM_CLIENT (221).
    pub struct GetConsumerStatusRequestHeader {
        req "topic" => topic: String,
        req "group" => group: String,
        opt "clientAddr" => client_addr: String,
    }
}

command_header! {
    /// UPDATE_AND_CREATE_ACL_CONFIG (50).
    pub struct CreateAccessConfigRequestHeader {
        req "accessKey" => access_key: String,
        opt "secretKey" => secret_key: String,
        opt "whiteRemoteAddress" => white_remote_address: String,
        opt "admin" => admin: bool,
        opt "defaultTopicPerm" => default_topic_perm: String,
        opt "defaultGroupPerm" => default_group_perm: String,
        opt "topicPerms" => topic_perms: String,
        opt "groupPerms" => group_perms: String,
    }
}

command_header! {
    /// DELETE_ACL_CONFIG (51).
    pub struct DeleteAccessConfigRequestHeader {
        req "accessKey" => access_key: String,
    }
}

command_header! {
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53).
    pub struct UpdateGlobalWhiteAddrsConfigRequestHeader {
        req "globalWhiteAddrs" => global_white_addrs: String,
        req "aclFileFullPath" => acl_file_full_path: String,
    }
}

/// Headers every decoder must accept without a typed struct: a quick check that the
/// macro-generated readers treat them uniformly.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ExtFields;
    use crate::header::CommandHeader;

    #[test]
    fn send_v2_short_names_map_to_v1() {
        let ext: ExtFields = [
            ("a", "PG"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "-1"),
            ("f", "0"),
            ("g", "1795243747973"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
            ("zz", "ignored"),
        ]
        .into_iter()
        .collect();
        let v2 = SendMessageRequestHeaderV2::read_from(&ext).unwrap();
        let v1: SendMessageRequestHeader = v2.clone().into();
        assert_eq!(v1.topic, "TopicTest");
        assert_eq!(v1.queue_id, -1);
        assert_eq!(v1.born_timestamp, 1_795_243_747_973);
        assert_eq!(v1.properties.as_deref(), Some("TAGS\u{1}TagA"));
        assert_eq!(v1.batch, Some(false));
        assert_eq!(v1.max_reconsume_times, None);
        assert_eq!(v1.bname.as_deref(), Some("broker-a"));
        assert_eq!(SendMessageRequestHeaderV2::from(v1), v2);
        let mut out = ExtFields::new();
        v2.write_to(&mut out);
        assert_eq!(out.len(), 13);
        assert_eq!(out.get("g"), Some("1795243747973"));
    }

    #[test]
    fn missing_and_invalid_fields_are_named() {
        let ext: ExtFields = [("topic", "T"), ("queueId", "x")].into_iter().collect();
        assert_eq!(
            GetMaxOffsetRequestHeader::read_from(&ext),
            Err(ProtocolError::InvalidField {
                field: "queueId",
                value: "x".into()
            })
        );
        let ext: ExtFields = [("topic", "T")].into_iter().collect();
        let err = GetMaxOffsetRequestHeader::read_from(&ext).unwrap_err();
        assert_eq!(err, ProtocolError::MissingField("queueId"));
        assert_eq!(err.to_string(), "the custom field <queueId> is null");
        // Unparseable optional fields are dropped, as Java leaves them unset.
        let ext: ExtFields = [("topic", "T"), ("queueId", "1"), ("bname", "b")]
            .into_iter()
            .collect();
        assert_eq!(
            GetMaxOffsetRequestHeader::read_from(&ext).unwrap(),
            GetMaxOffsetRequestHeader {
                topic: "T".into(),
                queue_id: 1,
                bname: Some("b".into())
            }
        );
    }

    #[test]
    fn booleans_parse_like_java() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("false", false),
            ("yes", false),
        ] {
            let ext: ExtFields = [("isOrder", text)].into_iter().collect();
            assert_eq!(
                GetConsumeStatsInBrokerHeader::read_from(&ext)
                    .unwrap()
                    .is_order,
                expected
            );
        }
    }
}

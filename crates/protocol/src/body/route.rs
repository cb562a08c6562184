use crate::json::{self, ToJson, WriteOptions};
use crate::json_object;
use std::collections::BTreeMap;

json_object! {
    /// A topic's queues on one broker (`QueueData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct QueueData {
        "brokerName" => pub broker_name: String,
        "perm" => pub perm: i32,
        "readQueueNums" => pub read_queue_nums: i32,
        "topicSysFlag" => pub topic_sys_flag: i32,
        "writeQueueNums" => pub write_queue_nums: i32,
    }
}

json_object! {
    /// The addresses of one broker name: id 0 is the master (`BrokerData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct BrokerData {
        "brokerAddrs" => pub broker_addrs: BTreeMap<i64, String>,
        "brokerName" => pub broker_name: String,
        "cluster" => pub cluster: String,
    }
}

/// The id of a master broker.
pub const MASTER_ID: i64 = 0;

impl BrokerData {
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

json_object! {
    /// GET_ROUTEINFO_BY_TOPIC response body (`TopicRouteData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TopicRouteData {
        "brokerDatas" => pub broker_datas: Vec<BrokerData>,
        "filterServerTable" => pub filter_server_table: BTreeMap<String, Vec<String>>,
        "orderTopicConf" => pub order_topic_conf: Option<String>,
        "queueDatas" => pub queue_datas: Vec<QueueData>,
    }
}

impl TopicRouteData {
    /// Encodes as the name server answers a client: unquoted broker-id keys for clients older
    /// than 4.9.4 that did not ask for standard JSON, quoted (standard form) otherwise.
    pub fn encode_for_client(
        &self,
        client_version: i32,
        accept_standard_json_only: bool,
    ) -> Vec<u8> {
        let standard = accept_standard_json_only || client_version >= crate::codes::version::V4_9_4;
        json::to_string_with(&self.to_json(), WriteOptions { standard }).into_bytes()
    }
}

json_object! {
    /// GET_BROKER_CLUSTER_INFO response body (`ClusterInfo`); always fastjson's default form.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ClusterInfo {
        "brokerAddrTable" => pub broker_addr_table: BTreeMap<String, BrokerData>,
        "clusterAddrTable" => pub cluster_addr_table: BTreeMap<String, Vec<String>>,
    }
}

//! Broker settings under the Java `BrokerConfig` / `NettyServerConfig` / `MessageStoreConfig`
//! key names. Store keys are passed to [`StoreConfig`].

use ferrocket_protocol::body::perm;
use ferrocket_store::StoreConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    /// `brokerClusterName`.
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`: 0 for a master.
    pub broker_id: i64,
    /// `brokerIP1`: the address written into message ids and registered with name servers.
    pub broker_ip: String,
    /// `listenPort`.
    pub listen_port: u16,
    /// `namesrvAddr`: `;`-separated; `None` means standalone (an embedded name server).
    pub namesrv_addr: Option<String>,
    /// `autoCreateTopicEnable`.
    pub auto_create_topic_enable: bool,
    /// `autoCreateSubscriptionGroup`: a consumer group is created on its first heartbeat or
    /// pull; without it, only groups made by UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (and the
    /// `CID_RMQ_SYS_` groups) exist, and others get SUBSCRIPTION_GROUP_NOT_EXIST.
    pub auto_create_subscription_group: bool,
    /// `traceTopicEnable` / `msgTraceTopicName`: the broker creates the message-trace topic
    /// (1 queue) at start, and it becomes a system topic.
    pub trace_topic_enable: bool,
    pub msg_trace_topic_name: String,
    /// `filterServerNums`: shown only; filter servers (gone from 4.x clients) never start.
    pub filter_server_nums: i32,
    /// `defaultTopicQueueNums`: queues of TBW102 and the cap for auto-created topics.
    pub default_topic_queue_nums: i32,
    /// `brokerPermission`.
    pub broker_permission: i32,
    /// `regionId`, returned as `MSG_REGION` on sends.
    pub region_id: String,
    /// `traceOn`, returned as `TRACE_ON` on sends.
    pub trace_on: bool,
    /// `registerNameServerPeriod`, clamped to 10–60 s as Java does.
    pub register_period: Duration,
    /// `clusterTopicEnable` / `brokerTopicEnable`.
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    /// `longPollingEnable`: a pull that finds nothing is held until a message arrives; without
    /// it, held `shortPollingTimeMills` and answered with whatever is there then.
    pub long_polling_enable: bool,
    pub short_polling_time: Duration,
    /// `slaveReadEnable`: pulls are pointed at the group's `brokerId` instead of the master.
    pub slave_read_enable: bool,
    /// `configBlackList`: `;`-separated keys UPDATE_BROKER_CONFIG refuses, on top of
    /// `brokerConfigPath`, `rocketmqHome` and `configBlackList` itself.
    pub config_black_list: String,
    /// `transactionTimeOut` (ms): a half message younger than this is not checked back yet.
    pub transaction_timeout: Duration,
    /// `transactionCheckMax`: checks of one half message before it is discarded to
    /// `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub transaction_check_max: i32,
    /// `transactionCheckInterval` (ms): time between two check passes.
    pub transaction_check_interval: Duration,
    /// `rejectTransactionMessage`: half messages are refused with NO_PERMISSION.
    pub reject_transaction_message: bool,
    /// `enablePropertyFilter`: SQL92 subscriptions are served (refused with SYSTEM_ERROR
    /// otherwise, Java's default).
    pub enable_property_filter: bool,
    /// `filterSupportRetry`: a group's retry messages are filtered with the SQL92 expression
    /// of the topic they came from.
    pub filter_support_retry: bool,
    /// `filterDataCleanTimeSpan` (ms): how long the filter of a departed consumer is kept.
    pub filter_data_clean_time_span: Duration,
    /// `storeReplyMessageEnable`: a request-reply reply is stored in the reply topic as well as
    /// pushed to its requester.
    pub store_reply_message_enable: bool,
    /// The store's settings (`storePathRootDir`, `flushDiskType`, …).
    pub store: StoreConfig,
    /// The file the settings came from (`mqbroker -c`); UPDATE_BROKER_CONFIG rewrites it, as
    /// Java rewrites its `brokerConfigPath`. Without one, `<storePathRootDir>/config/broker.properties`.
    pub config_file: Option<PathBuf>,
    /// Every `key=value` set (from the file, then by UPDATE_BROKER_CONFIG): what is persisted.
    pub properties: BTreeMap<String, String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_ip: "127.0.0.1".into(),
            listen_port: 10911,
            namesrv_addr: None,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            trace_topic_enable: false,
            msg_trace_topic_name: ferrocket_common::names::TRACE_TOPIC.into(),
            filter_server_nums: 0,
            default_topic_queue_nums: 8,
            broker_permission: perm::READ | perm::WRITE,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            register_period: Duration::from_secs(30),
            cluster_topic_enable: true,
            broker_topic_enable: true,
            slave_read_enable: false,
            long_polling_enable: true,
            short_polling_time: Duration::from_secs(1),
            config_black_list: "configBlackList;brokerConfigPath".into(),
            transaction_timeout: Duration::from_secs(6),
            transaction_check_max: 15,
            transaction_check_interval: Duration::from_secs(60),
            reject_transaction_message: false,
            enable_property_filter: false,
            filter_support_retry: false,
            filter_data_clean_time_span: Duration::from_secs(24 * 3600),
            store_reply_message_enable: true,
            store: StoreConfig::default(),
            config_file: None,
            properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid value `{value}` for `{key}`: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl BrokerConfig {
    /// `brokerIP1:listenPort`.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip, self.listen_port)
    }

    /// `brokerIP1:(listenPort+1)`, the HA address registered with name servers.
    pub fn ha_addr(&self) -> String {
        format!("{}:{}", self.broker_ip, self.listen_port.saturating_add(1))
    }

    /// Applies one setting; `Ok(false)` for a key neither the broker nor the store uses.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let value = value.trim();
        let invalid = |reason: &str| ConfigError {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let boolean = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid("expected true or false")),
        };
        let off_only = |feature: &str| match boolean()? {
            false => Ok(true),
            true => Err(invalid(&format!("{feature} is not supported by Ferrocket"))),
        };
        let millis = || {
            value
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid("expected milliseconds"))
        };
        let known = match key {
            "brokerClusterName" => {
                self.cluster_name = value.to_owned();
                true
            }
            "brokerName" => {
                ferrocket_common::TopicName::new(value).map_err(|e| invalid(&e.to_string()))?;
                self.broker_name = value.to_owned();
                true
            }
            "brokerId" => {
                self.broker_id = value.parse().map_err(|_| invalid("expected an integer"))?;
                true
            }
            "brokerIP1" => {
                value
                    .parse::<std::net::IpAddr>()
                    .map_err(|_| invalid("expected an IP address"))?;
                self.broker_ip = value.to_owned();
                true
            }
            "listenPort" => {
                self.listen_port = value
                    .parse()
                    .map_err(|_| invalid("expected a port number"))?;
                true
            }
            "namesrvAddr" => {
                self.namesrv_addr = (!value.is_empty()).then(|| value.to_owned());
                true
            }
            "autoCreateTopicEnable" => {
                self.auto_create_topic_enable = boolean()?;
                true
            }
            "defaultTopicQueueNums" => {
                self.default_topic_queue_nums = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| invalid("expected a positive count"))?;
                true
            }
            "brokerPermission" => {
                self.broker_permission = value
                    .parse()
                    .ok()
                    .filter(|&p| (0..16).contains(&p))
                    .ok_or_else(|| invalid("expected a permission 0-15"))?;
                true
            }
            "regionId" => {
                self.region_id = value.to_owned();
                true
            }
            "traceOn" => {
                self.trace_on = boolean()?;
                true
            }
            "registerNameServerPeriod" => {
                let ms: u64 = value
                    .parse()
                    .map_err(|_| invalid("expected milliseconds"))?;
                self.register_period = Duration::from_millis(ms.clamp(10_000, 60_000));
                true
            }
            "clusterTopicEnable" => {
                self.cluster_topic_enable = boolean()?;
                true
            }
            "brokerTopicEnable" => {
                self.broker_topic_enable = boolean()?;
                true
            }
            "slaveReadEnable" => {
                self.slave_read_enable = boolean()?;
                true
            }
            "configBlackList" => {
                self.config_black_list = value.to_owned();
                true
            }
            "transactionTimeOut" => {
                self.transaction_timeout = millis()?;
                true
            }
            "transactionCheckMax" => {
                self.transaction_check_max =
                    value.parse().map_err(|_| invalid("expected an integer"))?;
                true
            }
            "transactionCheckInterval" => {
                // Java's service thread waits this long between passes; 0 would spin.
                self.transaction_check_interval = millis()?.max(Duration::from_millis(1));
                true
            }
            "rejectTransactionMessage" => {
                self.reject_transaction_message = boolean()?;
                true
            }
            "enablePropertyFilter" => {
                self.enable_property_filter = boolean()?;
                true
            }
            "filterSupportRetry" => {
                self.filter_support_retry = boolean()?;
                true
            }
            "filterDataCleanTimeSpan" => {
                self.filter_data_clean_time_span = millis()?;
                true
            }
            "storeReplyMessageEnable" => {
                self.store_reply_message_enable = boolean()?;
                true
            }
            "longPollingEnable" => {
                self.long_polling_enable = boolean()?;
                true
            }
            "shortPollingTimeMills" => {
                self.short_polling_time = millis()?;
                true
            }
            "autoCreateSubscriptionGroup" => {
                self.auto_create_subscription_group = boolean()?;
                true
            }
            "traceTopicEnable" => {
                self.trace_topic_enable = boolean()?;
                true
            }
            "msgTraceTopicName" => {
                ferrocket_common::TopicName::new(value).map_err(|e| invalid(&e.to_string()))?;
                self.msg_trace_topic_name = value.to_owned();
                true
            }
            "filterServerNums" => {
                self.filter_server_nums =
                    value.parse().map_err(|_| invalid("expected a number"))?;
                true
            }
            // Features not built: a broker asked for them must not start without them.
            "useTLS" => off_only("TLS")?,
            "aclEnable" => off_only("ACL")?,
            _ => self
                .store
                .set(key, value)
                .map_err(|e| invalid(&e.to_string()))?,
        };
        self.properties.insert(key.to_owned(), value.to_owned());
        Ok(known)
    }

    /// `BrokerStartup`'s rule for `brokerId` by `brokerRole`: a master's id is 0, whatever the
    /// file says; a slave needs an id above 0.
    pub fn settle_broker_id(&mut self) -> Result<(), ConfigError> {
        if self.store.broker_role.is_master() {
            self.broker_id = 0;
        } else if self.broker_id <= 0 {
            return Err(ConfigError {
                key: "brokerId".into(),
                value: self.broker_id.to_string(),
                reason: "a slave's brokerId must be > 0".into(),
            });
        }
        Ok(())
    }

    /// True for a key UPDATE_BROKER_CONFIG must refuse (`AdminBrokerProcessor.configBlackList`).
    pub fn is_black_listed(&self, key: &str) -> bool {
        ferrocket_common::config_text::is_black_listed(
            key,
            &["brokerConfigPath", "rocketmqHome", "configBlackList"],
            &self.config_black_list,
        )
    }

    /// This config with `settings` applied, as UPDATE_BROKER_CONFIG does: every value is
    /// checked first, so a bad one changes nothing; keys the broker does not know are ignored
    /// (Java only updates keys that exist) and returned.
    pub fn updated(
        &self,
        settings: &[(String, String)],
    ) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
        ferrocket_common::config_text::updated(self, settings, BrokerConfig::set, |c| {
            &mut c.properties
        })
    }

    /// Every setting with its current value under the Java key names (GET_BROKER_CONFIG), and
    /// any other key the file held.
    pub fn to_properties(&self) -> String {
        let mut all = self.properties.clone();
        let mut put = |k: &str, v: String| {
            all.insert(k.to_owned(), v);
        };
        put("brokerClusterName", self.cluster_name.clone());
        put("brokerName", self.broker_name.clone());
        put("brokerId", self.broker_id.to_string());
        put("brokerIP1", self.broker_ip.clone());
        put("listenPort", self.listen_port.to_string());
        put("namesrvAddr", self.namesrv_addr.clone().unwrap_or_default());
        put(
            "autoCreateTopicEnable",
            self.auto_create_topic_enable.to_string(),
        );
        put(
            "defaultTopicQueueNums",
            self.default_topic_queue_nums.to_string(),
        );
        put("brokerPermission", self.broker_permission.to_string());
        put(
            "autoCreateSubscriptionGroup",
            self.auto_create_subscription_group.to_string(),
        );
        put("traceTopicEnable", self.trace_topic_enable.to_string());
        put("longPollingEnable", self.long_polling_enable.to_string());
        put(
            "shortPollingTimeMills",
            self.short_polling_time.as_millis().to_string(),
        );
        put("msgTraceTopicName", self.msg_trace_topic_name.clone());
        put("filterServerNums", self.filter_server_nums.to_string());
        put("useTLS", "false".into());
        put("aclEnable", "false".into());
        put("regionId", self.region_id.clone());
        put("traceOn", self.trace_on.to_string());
        put(
            "registerNameServerPeriod",
            self.register_period.as_millis().to_string(),
        );
        put("clusterTopicEnable", self.cluster_topic_enable.to_string());
        put("brokerTopicEnable", self.broker_topic_enable.to_string());
        put("slaveReadEnable", self.slave_read_enable.to_string());
        put("configBlackList", self.config_black_list.clone());
        put(
            "transactionTimeOut",
            self.transaction_timeout.as_millis().to_string(),
        );
        put(
            "transactionCheckMax",
            self.transaction_check_max.to_string(),
        );
        put(
            "transactionCheckInterval",
            self.transaction_check_interval.as_millis().to_string(),
        );
        put(
            "rejectTransactionMessage",
            self.reject_transaction_message.to_string(),
        );
        put(
            "enablePropertyFilter",
            self.enable_property_filter.to_string(),
        );
        put("filterSupportRetry", self.filter_support_retry.to_string());
        put(
            "filterDataCleanTimeSpan",
            self.filter_data_clean_time_span.as_millis().to_string(),
        );
        put(
            "storeReplyMessageEnable",
            self.store_reply_message_enable.to_string(),
        );
        for (k, v) in self.store.to_properties() {
            put(k, v);
        }
        ferrocket_common::config_text::write(&all)
    }

    /// The file UPDATE_BROKER_CONFIG writes.
    pub fn config_file_path(&self) -> PathBuf {
        self.config_file
            .clone()
            .unwrap_or_else(|| self.store.root_dir.join("config").join("broker.properties"))
    }

    /// The settings that were set (not the defaults), as written to [`config_file_path`]:
    /// read back at the next start, they give the same config.
    ///
    /// [`config_file_path`]: Self::config_file_path
    pub fn persisted_properties(&self) -> String {
        ferrocket_common::config_text::write(&self.properties)
    }

    /// The name-server addresses, split on `;`.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_keys_pass_through_to_the_store() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.set("brokerName", "broker-b"), Ok(true));
        assert_eq!(c.set("flushDiskType", "SYNC_FLUSH"), Ok(true));
        assert_eq!(
            c.store.flush_disk_type,
            ferrocket_store::FlushDiskType::SyncFlush
        );
        assert_eq!(c.set("namesrvAddr", "a:9876; b:9876"), Ok(true));
        assert_eq!(c.namesrv_addrs(), vec!["a:9876", "b:9876"]);
        assert_eq!(c.set("whatIsThis", "1"), Ok(false));
        let err = c.set("listenPort", "eleven").unwrap_err();
        assert!(err.to_string().contains("listenPort"));
        assert!(c.set("brokerIP1", "not-an-ip").is_err());
        assert_eq!(c.broker_addr(), "127.0.0.1:10911");
    }

    #[test]
    fn acl_can_be_left_off_but_not_asked_for() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.set("aclEnable", "false"), Ok(true));
        let err = c.set("aclEnable", "true").unwrap_err();
        assert_eq!(err.key, "aclEnable");
        assert!(err.to_string().contains("ACL is not supported"), "{err}");
    }

    #[test]
    fn broker_id_follows_the_role_as_in_broker_startup() {
        let mut c = BrokerConfig::default();
        c.set("brokerId", "3").unwrap();
        c.settle_broker_id().unwrap();
        assert_eq!(c.broker_id, 0, "an ASYNC_MASTER is broker 0");
        c.set("brokerRole", "SLAVE").unwrap();
        let err = c.settle_broker_id().unwrap_err();
        assert_eq!(err.key, "brokerId");
        c.set("brokerId", "2").unwrap();
        c.settle_broker_id().unwrap();
        assert_eq!(c.broker_id, 2);
    }

    fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn updates_apply_whole_or_not_at_all() {
        let mut c = BrokerConfig::default();
        c.set("brokerName", "broker-b").unwrap();
        let (next, ignored) = c
            .updated(&settings(&[
                ("brokerPermission", "4"),
                ("noSuchKey", "1"),
                ("maxMessageSize", "1024"),
            ]))
            .unwrap();
        assert_eq!(next.broker_permission, 4);
        assert_eq!(next.store.max_message_bytes, 1024);
        assert_eq!(ignored, vec!["noSuchKey"]);
        assert_eq!(
            next.persisted_properties(),
            "brokerName=broker-b\nbrokerPermission=4\nmaxMessageSize=1024\n"
        );
        let err = c
            .updated(&settings(&[("traceOn", "false"), ("listenPort", "x")]))
            .unwrap_err();
        assert_eq!(err.key, "listenPort");
        assert!(c.trace_on, "the original is untouched");
    }

    #[test]
    fn black_list_has_java_defaults_and_the_configured_keys() {
        let mut c = BrokerConfig::default();
        for key in ["brokerConfigPath", "rocketmqHome", "configBlackList"] {
            assert!(c.is_black_listed(key), "{key}");
        }
        assert!(!c.is_black_listed("brokerPermission"));
        c.set("configBlackList", "brokerPermission;listenPort")
            .unwrap();
        assert!(c.is_black_listed("listenPort"));
        assert!(c.is_black_listed("brokerPermission"));
        assert!(c.is_black_listed("configBlackList"));
    }

    #[test]
    fn every_shown_setting_reads_back() {
        let mut c = BrokerConfig::default();
        c.set("namesrvAddr", "127.0.0.1:9876").unwrap();
        c.set("deleteWhen", "03;15").unwrap();
        let text = c.to_properties();
        let mut back = BrokerConfig::default();
        for line in text.lines() {
            let (k, v) = line.split_once('=').unwrap();
            assert_eq!(back.set(k, v), Ok(true), "{line}");
        }
        back.properties = c.properties.clone();
        assert_eq!(back, c);
    }
}

//! Broker settings under the Java `BrokerConfig` / `NettyServerConfig` / `MessageStoreConfig`
//! key names. Store keys are passed to [`StoreConfig`].

use ferrocket_protocol::body::perm;
use ferrocket_store::StoreConfig;
use std::collections::BTreeMap;
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
    /// The store's settings (`storePathRootDir`, `flushDiskType`, …).
    pub store: StoreConfig,
    /// Every `key=value` seen, for GET_BROKER_CONFIG.
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
            default_topic_queue_nums: 8,
            broker_permission: perm::READ | perm::WRITE,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            register_period: Duration::from_secs(30),
            cluster_topic_enable: true,
            broker_topic_enable: true,
            store: StoreConfig::default(),
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
            _ => self
                .store
                .set(key, value)
                .map_err(|e| invalid(&e.to_string()))?,
        };
        self.properties.insert(key.to_owned(), value.to_owned());
        Ok(known)
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
}

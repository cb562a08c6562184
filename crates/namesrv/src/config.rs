//! Name server settings under the Java `NamesrvConfig` / `NettyServerConfig` key names.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct NamesrvConfig {
    /// `listenPort`.
    pub listen_port: u16,
    /// `kvConfigPath` (default `~/namesrv/kvConfig.json`).
    pub kv_config_path: PathBuf,
    /// `orderMessageEnable`: add `orderTopicConf` from the KV config to routes.
    pub order_message_enable: bool,
    /// `productEnvName` (default `center`): shown and kept, used by nothing (in Java only by
    /// the cluster-test mode, which Ferrocket does not have: `clusterTest=true` is refused).
    pub product_env_name: String,
    /// How often dead brokers are looked for (Java: 10 s).
    pub scan_interval: Duration,
    /// A broker silent this long is dropped (Java: 120 s).
    pub broker_expiry: Duration,
    /// `configStorePath` (default `~/namesrv/namesrv.properties`): UPDATE_NAMESRV_CONFIG
    /// writes the settings here.
    pub config_store_path: PathBuf,
    /// `configBlackList`: `;`-separated keys UPDATE_NAMESRV_CONFIG refuses, on top of
    /// `configBlackList`, `configStorePath`, `kvConfigPath` and `rocketmqHome`.
    pub config_black_list: String,
    /// Every `key=value` set (from the file, then by UPDATE_NAMESRV_CONFIG): what is persisted.
    pub properties: BTreeMap<String, String>,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        NamesrvConfig {
            listen_port: 9876,
            kv_config_path: home.join("namesrv").join("kvConfig.json"),
            order_message_enable: false,
            product_env_name: "center".into(),
            scan_interval: Duration::from_secs(10),
            broker_expiry: Duration::from_secs(120),
            config_store_path: home.join("namesrv").join("namesrv.properties"),
            config_black_list: "configBlackList;configStorePath;kvConfigPath".into(),
            properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid value `{value}` for `{key}`: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: &'static str,
}

impl NamesrvConfig {
    /// Applies one setting; `Ok(false)` for a key this name server does not use.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let value = value.trim();
        let invalid = |reason| ConfigError {
            key: key.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let known = match key {
            "listenPort" => {
                self.listen_port = value
                    .parse()
                    .map_err(|_| invalid("expected a port number"))?;
                true
            }
            "kvConfigPath" => {
                self.kv_config_path = PathBuf::from(value);
                true
            }
            "configStorePath" => {
                self.config_store_path = PathBuf::from(value);
                true
            }
            "configBlackList" => {
                self.config_black_list = value.to_owned();
                true
            }
            "productEnvName" => {
                self.product_env_name = value.to_owned();
                true
            }
            // Java's cluster-test mode answers routes from another environment's name server.
            "clusterTest" => match value {
                "false" => true,
                "true" => return Err(invalid("the cluster-test mode is not supported")),
                _ => return Err(invalid("expected true or false")),
            },
            // Where a Java name server is installed: kept and shown, nothing to read there.
            "rocketmqHome" => true,
            "orderMessageEnable" => {
                self.order_message_enable = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid("expected true or false")),
                };
                true
            }
            _ => false,
        };
        self.properties.insert(key.to_owned(), value.to_owned());
        Ok(known)
    }

    /// True for a key UPDATE_NAMESRV_CONFIG must refuse (`DefaultRequestProcessor.configBlackList`).
    pub fn is_black_listed(&self, key: &str) -> bool {
        ferrocket_common::config_text::is_black_listed(
            key,
            &[
                "configBlackList",
                "configStorePath",
                "kvConfigPath",
                "rocketmqHome",
            ],
            &self.config_black_list,
        )
    }

    /// This config with `settings` applied (UPDATE_NAMESRV_CONFIG): every value is checked
    /// first, so a bad one changes nothing; keys the name server does not know are ignored, as
    /// Java only updates keys that exist, and returned.
    pub fn updated(
        &self,
        settings: &[(String, String)],
    ) -> Result<(NamesrvConfig, Vec<String>), ConfigError> {
        ferrocket_common::config_text::updated(self, settings, NamesrvConfig::set, |c| {
            &mut c.properties
        })
    }

    /// The settings that were set, as written to `configStorePath`.
    pub fn persisted_properties(&self) -> String {
        ferrocket_common::config_text::write(&self.properties)
    }

    /// The settings as properties text, as GET_NAMESRV_CONFIG returns them.
    pub fn to_properties(&self) -> String {
        let mut all = self.properties.clone();
        all.insert("listenPort".into(), self.listen_port.to_string());
        all.insert(
            "kvConfigPath".into(),
            self.kv_config_path.display().to_string(),
        );
        all.insert(
            "orderMessageEnable".into(),
            self.order_message_enable.to_string(),
        );
        all.insert(
            "configStorePath".into(),
            self.config_store_path.display().to_string(),
        );
        all.insert("configBlackList".into(), self.config_black_list.clone());
        all.insert("productEnvName".into(), self.product_env_name.clone());
        all.insert("clusterTest".into(), "false".into());
        ferrocket_common::config_text::write(&all)
    }
}

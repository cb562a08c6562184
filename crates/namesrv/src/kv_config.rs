//! The name server's KV configuration (`KVConfigManager`): namespace → key → value, persisted
//! to `kvConfig.json` as `{"configTable":{"<ns>":{"<k>":"<v>"}}}` with the tmp/bak scheme.

use ferrocket_protocol::json::{self, JsonError};
use ferrocket_protocol::json_object;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// The namespace whose `topic → "brokerA:4;brokerB:4"` entries order topics.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

json_object! {
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    struct KvConfigFile {
        "configTable" => config_table: BTreeMap<String, BTreeMap<String, String>>,
    }
}

#[derive(Debug)]
pub struct KvConfig {
    path: PathBuf,
    table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvConfig {
    /// Loads `path`, falling back to `path.bak` when it is missing, empty or unreadable.
    pub fn load(path: PathBuf) -> io::Result<KvConfig> {
        let bak = crate::config_file::with_suffix(&path, ".bak");
        let table = match read(&path) {
            Ok(Some(file)) => file.config_table,
            _ => match read(&bak) {
                Ok(Some(file)) => file.config_table,
                _ => BTreeMap::new(),
            },
        };
        Ok(KvConfig { path, table })
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace).filter(|m| !m.is_empty())
    }

    /// Sets a value in memory; [`KvConfig::file_contents`] then holds it.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) {
        self.table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    pub fn delete(&mut self, namespace: &str, key: &str) {
        if let Some(ns) = self.table.get_mut(namespace) {
            ns.remove(key);
        }
    }

    /// Where the table is persisted (`kvConfigPath`).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The table as `kvConfig.json` holds it.
    pub fn file_contents(&self) -> Vec<u8> {
        json::to_vec(&KvConfigFile {
            config_table: self.table.clone(),
        })
    }
}

fn read(path: &std::path::Path) -> Result<Option<KvConfigFile>, JsonError> {
    match std::fs::read(path) {
        Ok(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            json::from_slice(&bytes).map(Some)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_falls_back_to_bak() {
        let dir = std::env::temp_dir().join(format!("ferrocket-kv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("kvConfig.json");
        let mut kv = KvConfig::load(path.clone()).unwrap();
        // Two writes, as two PUT_KV_CONFIG requests make: the first becomes the `.bak`.
        kv.put(ORDER_TOPIC_CONFIG, "T", "broker-a:4");
        crate::config_file::write_durably(&path, &kv.file_contents()).unwrap();
        kv.put("ns", "k", "v");
        crate::config_file::write_durably(&path, &kv.file_contents()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"},"ns":{"k":"v"}}}"#
        );
        let again = KvConfig::load(path.clone()).unwrap();
        assert_eq!(again.get("ns", "k"), Some("v"));
        // A corrupted main file: the previous version in .bak is used.
        std::fs::write(&path, b"{garbage").unwrap();
        let recovered = KvConfig::load(path.clone()).unwrap();
        assert_eq!(recovered.get(ORDER_TOPIC_CONFIG, "T"), Some("broker-a:4"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Committed consumer offsets (`ConsumerOffsetManager`), persisted in
//! `config/consumerOffset.json` as `{"offsetTable":{"topic@group":{queueId:offset}}}`.

use crate::config_file;
use ferrocket_protocol::body::ConsumerOffsetSerializeWrapper;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug)]
pub struct ConsumerOffsets {
    path: PathBuf,
    table: Mutex<BTreeMap<String, BTreeMap<i32, i64>>>,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsets {
    pub fn load(root: &std::path::Path) -> ConsumerOffsets {
        let path = root.join("config").join("consumerOffset.json");
        let table = config_file::load::<ConsumerOffsetSerializeWrapper>(&path)
            .map(|w| w.offset_table)
            .unwrap_or_default();
        ConsumerOffsets {
            path,
            table: Mutex::new(table),
        }
    }

    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.table
            .lock()
            .expect("offsets lock")
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
    }

    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .lock()
            .expect("offsets lock")
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// Every `(topic, queue, offset)` the group has committed.
    pub fn of_group(&self, group: &str) -> Vec<(String, i32, i64)> {
        let suffix = format!("@{group}");
        let table = self.table.lock().expect("offsets lock");
        table
            .iter()
            .filter_map(|(k, v)| k.strip_suffix(&suffix).map(|topic| (topic.to_owned(), v)))
            .flat_map(|(topic, v)| v.iter().map(move |(q, o)| (topic.clone(), *q, *o)))
            .collect()
    }

    /// Groups with offsets for `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        let table = self.table.lock().expect("offsets lock");
        table
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    pub fn remove_group(&self, group: &str) {
        let suffix = format!("@{group}");
        self.table
            .lock()
            .expect("offsets lock")
            .retain(|k, _| !k.ends_with(&suffix));
    }

    pub fn snapshot(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper {
            offset_table: self.table.lock().expect("offsets lock").clone(),
        }
    }

    pub fn persist(&self) -> std::io::Result<()> {
        config_file::persist(&self.path, &self.snapshot())
    }
}

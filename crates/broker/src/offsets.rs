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

    /// Topics the group has committed offsets for (`whichTopicByConsumer`).
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let suffix = format!("@{group}");
        let table = self.table.lock().expect("offsets lock");
        table
            .keys()
            .filter_map(|k| k.strip_suffix(&suffix).map(str::to_owned))
            .collect()
    }

    /// Every offset the group has committed for `topic`, by queue.
    pub fn of_topic(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .lock()
            .expect("offsets lock")
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Copies `src`'s offsets of `topic` to `dest`, replacing what `dest` had
    /// (`ConsumerOffsetManager.cloneOffset`); nothing when `src` has none.
    pub fn clone_offsets(&self, src: &str, dest: &str, topic: &str) {
        let mut table = self.table.lock().expect("offsets lock");
        if let Some(offsets) = table.get(&key(topic, src)).cloned() {
            table.insert(key(topic, dest), offsets);
        }
    }

    /// Per queue of `topic`, the smallest offset any group but `excluded` has committed
    /// that `min_offset` of the queue does not put below the queue's start
    /// (`queryMinOffsetInAllGroup`).
    pub fn min_over_groups(
        &self,
        topic: &str,
        excluded: &[&str],
        min_offset: impl Fn(i32) -> i64,
    ) -> BTreeMap<i32, i64> {
        let prefix = format!("{topic}@");
        let table = self.table.lock().expect("offsets lock");
        let mut min: BTreeMap<i32, i64> = BTreeMap::new();
        for (k, offsets) in table.iter() {
            let Some(group) = k.strip_prefix(&prefix) else {
                continue;
            };
            if excluded.contains(&group) {
                continue;
            }
            for (&queue, &offset) in offsets {
                if offset >= min_offset(queue) {
                    let entry = min.entry(queue).or_insert(offset);
                    *entry = (*entry).min(offset);
                }
            }
        }
        min
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

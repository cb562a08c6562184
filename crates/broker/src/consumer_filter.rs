//! SQL92 filter data per topic and consumer group (`ConsumerFilterManager`), persisted in
//! `config/consumerFilter.json`.
//!
//! Every consumer heartbeat registers the group's non-TAG subscriptions here, compiled; a
//! pull that names no expression of its own filters with the registered one. A subscription
//! the group drops, or a group whose last member leaves, is marked dead and forgotten
//! `filterDataCleanTimeSpan` later. Java also keeps a bloom-filter position set per group for
//! its optional consume-queue bit maps (`enableCalcFilterBitMap`), which Ferrocket does not
//! build: the file carries no `bloomFilterData`, which a Java broker reading it takes as a
//! changed bloom filter and ignores the file (it is rebuilt from the next heartbeats).

use crate::config_file;
use ferrocket_common::sql92::{Selector, SqlError};
use ferrocket_protocol::body::SubscriptionData;
use ferrocket_protocol::json_object;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// `ExpressionType.isTagType`: TAG, or no type at all.
pub fn is_tag_type(expression_type: &str) -> bool {
    expression_type.is_empty() || expression_type == "TAG"
}

/// The remark of CHECK_CLIENT_CONFIG and PULL_MESSAGE for a non-TAG expression on a broker
/// without `enablePropertyFilter`.
pub fn unsupported_remark(expression_type: &str) -> String {
    format!("The broker does not support consumer to filter message by {expression_type}")
}

json_object! {
    /// `ConsumerFilterData`, as Java's file holds it.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct FilterRecord {
        "bornTime" => pub born_time: i64,
        "clientVersion" => pub client_version: i64,
        "consumerGroup" => pub consumer_group: String,
        "dead" => pub dead: bool,
        "deadTime" => pub dead_time: i64,
        "expression" => pub expression: String,
        "expressionType" => pub expression_type: String,
        "topic" => pub topic: String,
    }
}

json_object! {
    /// `ConsumerFilterManager.FilterDataMapByTopic`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TopicFilters {
        "groupFilterData" => pub group_filter_data: BTreeMap<String, FilterRecord>,
        "topic" => pub topic: String,
    }
}

json_object! {
    /// `consumerFilter.json`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumerFilterFile {
        "filterDataByTopic" => pub filter_data_by_topic: BTreeMap<String, TopicFilters>,
    }
}

/// A group's compiled filter for one topic.
#[derive(Debug, Clone)]
pub struct FilterData {
    pub record: FilterRecord,
    /// `None` when the stored expression no longer compiles (Java keeps such an entry with
    /// no compiled expression, and its pulls are not filtered).
    pub selector: Option<Arc<Selector>>,
}

/// Compiled selectors by text, as Java's parser caches its last 100 results: a lite-pull
/// consumer sends its expression with every pull.
const COMPILE_CACHE_SIZE: usize = 100;

#[derive(Debug)]
pub struct ConsumerFilters {
    path: PathBuf,
    /// topic → group → filter
    table: Mutex<BTreeMap<String, BTreeMap<String, FilterData>>>,
    compiled: Mutex<HashMap<String, Result<Arc<Selector>, SqlError>>>,
}

impl ConsumerFilters {
    /// Reads `config/consumerFilter.json`. Every loaded entry counts as dead (its consumers
    /// must heartbeat again), 30 s before now but not before its birth.
    pub fn load(root: &Path, now_ms: i64) -> ConsumerFilters {
        let path = root.join("config").join("consumerFilter.json");
        let filters = ConsumerFilters {
            path,
            table: Mutex::new(BTreeMap::new()),
            compiled: Mutex::new(HashMap::new()),
        };
        let file = config_file::load::<ConsumerFilterFile>(&filters.path).unwrap_or_default();
        let mut table = BTreeMap::new();
        for (topic, by_topic) in file.filter_data_by_topic {
            let mut groups = BTreeMap::new();
            for (group, mut record) in by_topic.group_filter_data {
                if record.dead_time == 0 {
                    record.dead_time = (now_ms - 30_000).max(record.born_time);
                }
                let selector = filters.compile(&record.expression).ok();
                groups.insert(group, FilterData { record, selector });
            }
            table.insert(topic, groups);
        }
        *filters.table.lock().expect("filters lock") = table;
        filters
    }

    /// Compiles an expression (`FilterFactory.get(type).compile`), from the cache if it was
    /// compiled lately.
    pub fn compile(&self, expression: &str) -> Result<Arc<Selector>, SqlError> {
        let mut cache = self.compiled.lock().expect("compile cache lock");
        if let Some(result) = cache.get(expression) {
            return result.clone();
        }
        let result = Selector::compile(expression).map(Arc::new);
        if cache.len() >= COMPILE_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(expression.to_owned(), result.clone());
        result
    }

    /// A heartbeat's subscriptions of `group` (`register(group, subList)`): each non-TAG one
    /// is registered, and the group's filters for topics it no longer subscribes to die.
    pub fn register_group(&self, group: &str, subscriptions: &[SubscriptionData], now_ms: i64) {
        for sub in subscriptions {
            self.register(sub, group, now_ms);
        }
        let mut table = self.table.lock().expect("filters lock");
        for (topic, groups) in table.iter_mut() {
            if subscriptions.iter().any(|s| &s.topic == topic) {
                continue;
            }
            if let Some(data) = groups.get_mut(group) {
                if data.record.dead_time == 0 {
                    data.record.dead_time = now_ms;
                }
            }
        }
    }

    /// `FilterDataMapByTopic.register`: a newer client version replaces the filter (or keeps
    /// it, revived, when the expression is unchanged); an older or equal one changes nothing
    /// but revives a dead filter of the same version. A new expression that does not compile
    /// removes the old filter, so the client's pulls report it.
    fn register(&self, sub: &SubscriptionData, group: &str, now_ms: i64) {
        if is_tag_type(&sub.expression_type) || sub.sub_string.is_empty() {
            return;
        }
        let mut table = self.table.lock().expect("filters lock");
        let groups = table.entry(sub.topic.clone()).or_default();
        if let Some(old) = groups.get_mut(group) {
            if sub.sub_version <= old.record.client_version {
                if sub.sub_version == old.record.client_version && old.record.dead_time != 0 {
                    old.record.dead_time = 0;
                }
                return;
            }
            let unchanged = old.record.expression == sub.sub_string
                && old.record.expression_type == sub.expression_type;
            if unchanged {
                old.record.client_version = sub.sub_version;
                old.record.dead_time = 0;
                return;
            }
        }
        match self.build(sub, group, now_ms) {
            Some(data) => {
                groups.insert(group.to_owned(), data);
            }
            None => {
                groups.remove(group);
            }
        }
    }

    /// `ConsumerFilterManager.build`: `None` when the expression does not compile.
    fn build(&self, sub: &SubscriptionData, group: &str, now_ms: i64) -> Option<FilterData> {
        if sub.expression_type != "SQL92" {
            return None;
        }
        let selector = self.compile(&sub.sub_string).ok()?;
        Some(FilterData {
            record: FilterRecord {
                born_time: now_ms,
                client_version: sub.sub_version,
                consumer_group: group.to_owned(),
                dead: false,
                dead_time: 0,
                expression: sub.sub_string.clone(),
                expression_type: sub.expression_type.clone(),
                topic: sub.topic.clone(),
            },
            selector: Some(selector),
        })
    }

    /// The group's last member left (`unRegister`): its filters die.
    pub fn unregister_group(&self, group: &str, now_ms: i64) {
        let mut table = self.table.lock().expect("filters lock");
        for groups in table.values_mut() {
            if let Some(data) = groups.get_mut(group) {
                if data.record.dead_time == 0 {
                    data.record.dead_time = now_ms;
                }
            }
        }
    }

    /// The client version and selector of a group's filter for `topic`: what a pull needs,
    /// without copying the record.
    pub fn selector_of(&self, topic: &str, group: &str) -> Option<(i64, Option<Arc<Selector>>)> {
        let table = self.table.lock().expect("filters lock");
        let data = table.get(topic)?.get(group)?;
        Some((data.record.client_version, data.selector.clone()))
    }

    /// A copy of a group's whole filter record; pulls use [`selector_of`](Self::selector_of).
    #[cfg(test)]
    fn get(&self, topic: &str, group: &str) -> Option<FilterData> {
        self.table
            .lock()
            .expect("filters lock")
            .get(topic)?
            .get(group)
            .cloned()
    }

    /// Forgets filters dead for `clean_after_ms` or longer, then writes the file.
    pub fn persist(&self, now_ms: i64, clean_after_ms: i64) -> std::io::Result<()> {
        let file = {
            let mut table = self.table.lock().expect("filters lock");
            for groups in table.values_mut() {
                groups.retain(|_, d| {
                    d.record.dead_time == 0 || now_ms - d.record.dead_time < clean_after_ms
                });
            }
            table.retain(|_, groups| !groups.is_empty());
            snapshot(&table)
        };
        config_file::persist(&self.path, &file)
    }
}

fn snapshot(table: &BTreeMap<String, BTreeMap<String, FilterData>>) -> ConsumerFilterFile {
    ConsumerFilterFile {
        filter_data_by_topic: table
            .iter()
            .map(|(topic, groups)| {
                let group_filter_data = groups
                    .iter()
                    .map(|(group, data)| {
                        let mut record = data.record.clone();
                        record.dead = record.dead_time != 0;
                        (group.clone(), record)
                    })
                    .collect();
                let filters = TopicFilters {
                    group_filter_data,
                    topic: topic.clone(),
                };
                (topic.clone(), filters)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(topic: &str, expression: &str, version: i64) -> SubscriptionData {
        SubscriptionData {
            expression_type: "SQL92".into(),
            sub_string: expression.into(),
            sub_version: version,
            topic: topic.into(),
            ..Default::default()
        }
    }

    fn temp_root(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ferrocket-filters-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn versions_decide_which_expression_holds() {
        let filters = ConsumerFilters::load(&temp_root("versions"), 0);
        filters.register_group("G", &[sql("T", "a > 1", 5)], 100);
        assert_eq!(filters.get("T", "G").unwrap().record.expression, "a > 1");
        // An older heartbeat does not replace it; a newer one does.
        filters.register_group("G", &[sql("T", "a > 2", 4)], 200);
        assert_eq!(filters.get("T", "G").unwrap().record.expression, "a > 1");
        filters.register_group("G", &[sql("T", "a > 3", 6)], 300);
        let data = filters.get("T", "G").unwrap();
        assert_eq!(
            (data.record.expression.as_str(), data.record.born_time),
            ("a > 3", 300)
        );
        // A newer expression that does not compile removes the filter.
        filters.register_group("G", &[sql("T", "a >", 7)], 400);
        assert!(filters.get("T", "G").is_none());
        // TAG subscriptions are not filters.
        let tag = SubscriptionData::tag("T", "*", 8);
        filters.register_group("G", &[tag], 500);
        assert!(filters.get("T", "G").is_none());
    }

    #[test]
    fn dropped_topics_and_groups_die_and_revive() {
        let filters = ConsumerFilters::load(&temp_root("dead"), 0);
        filters.register_group("G", &[sql("T", "a = 1", 1), sql("U", "b = 1", 1)], 10);
        filters.register_group("G", &[sql("T", "a = 1", 1)], 20);
        assert_eq!(filters.get("U", "G").unwrap().record.dead_time, 20);
        assert_eq!(filters.get("T", "G").unwrap().record.dead_time, 0);
        filters.unregister_group("G", 30);
        assert_eq!(filters.get("T", "G").unwrap().record.dead_time, 30);
        // The same version comes back: alive again.
        filters.register_group("G", &[sql("T", "a = 1", 1)], 40);
        assert_eq!(filters.get("T", "G").unwrap().record.dead_time, 0);
    }

    #[test]
    fn the_file_round_trips_and_drops_long_dead_filters() {
        let root = temp_root("file");
        let filters = ConsumerFilters::load(&root, 0);
        filters.register_group("G", &[sql("T", "a between 0 and 3", 9)], 1_000);
        filters.register_group("H", &[sql("T", "b = 'x'", 2)], 1_000);
        filters.unregister_group("H", 2_000);
        filters.persist(5_000, 10_000).unwrap();
        let text = std::fs::read_to_string(root.join("config/consumerFilter.json")).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"filterDataByTopic":{"T":{"groupFilterData":{"#,
                r#""G":{"bornTime":1000,"clientVersion":9,"consumerGroup":"G","dead":false,"deadTime":0,"expression":"a between 0 and 3","expressionType":"SQL92","topic":"T"},"#,
                r#""H":{"bornTime":1000,"clientVersion":2,"consumerGroup":"H","dead":true,"deadTime":2000,"expression":"b = 'x'","expressionType":"SQL92","topic":"T"}"#,
                r#"},"topic":"T"}}}"#
            )
        );
        // Reloaded entries count as dead from 30 s before the load.
        let reloaded = ConsumerFilters::load(&root, 100_000);
        let g = reloaded.get("T", "G").unwrap();
        assert_eq!(g.record.dead_time, 70_000);
        assert!(g.selector.is_some());
        // Dead for the clean span: gone at the next write.
        reloaded.persist(100_000, 10_000).unwrap();
        assert!(ConsumerFilters::load(&root, 100_000)
            .get("T", "H")
            .is_none());
        let _ = std::fs::remove_dir_all(root);
    }
}

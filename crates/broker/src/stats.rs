//! The broker's per-topic and per-group counters (`BrokerStatsManager`), read back as
//! minute, hour and day windows by VIEW_BROKER_STATS_DATA (`mqadmin statsAll`, dashboards)
//! and as the consume TPS of the consume-stats requests.
//!
//! Each counter (`StatsItem`) adds a value and a count of calls. A sampler takes a snapshot
//! every 10 s (the last 7 make the minute window), every 10 min (7, the hour) and every hour
//! (25, the day); a window's figures are the differences between its first and last
//! snapshot. A counter takes its first snapshots when it is created, with one more dated a
//! period earlier, as Java's `StatsItem.init` does.

use ferrocket_protocol::body::{BrokerStatsData, BrokerStatsItem};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

/// The sampler's period: the minute window's step.
pub const SAMPLE_PERIOD_MS: i64 = 10_000;
/// Minute-window steps per hour-window step (10 min) and per day-window step (1 h).
const HOUR_STEP_TICKS: u64 = 60;
const DAY_STEP_TICKS: u64 = 360;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Snapshot {
    at_ms: i64,
    times: i64,
    value: i64,
}

/// One window: its snapshots, oldest first, and how many it keeps.
#[derive(Debug)]
struct Window {
    snapshots: VecDeque<Snapshot>,
    keep: usize,
    step_ms: i64,
}

impl Window {
    fn new(keep: usize, step_ms: i64) -> Window {
        Window {
            snapshots: VecDeque::with_capacity(keep + 1),
            keep,
            step_ms,
        }
    }

    fn sample(&mut self, now_ms: i64, times: i64, value: i64) {
        if self.snapshots.is_empty() {
            self.snapshots.push_back(Snapshot {
                at_ms: now_ms - self.step_ms,
                times: 0,
                value: 0,
            });
        }
        self.snapshots.push_back(Snapshot {
            at_ms: now_ms,
            times,
            value,
        });
        if self.snapshots.len() > self.keep {
            self.snapshots.pop_front();
        }
    }

    /// `StatsItem.computeStatsData`.
    fn figures(&self) -> BrokerStatsItem {
        let (Some(first), Some(last)) = (self.snapshots.front(), self.snapshots.back()) else {
            return BrokerStatsItem::default();
        };
        let sum = last.value - first.value;
        let calls = last.times - first.times;
        BrokerStatsItem {
            sum,
            // Java divides by the snapshots' time span even when it is 0 (NaN or infinity).
            tps: sum as f64 * 1000.0 / (last.at_ms - first.at_ms) as f64,
            avgpt: if calls > 0 {
                sum as f64 / calls as f64
            } else {
                0.0
            },
        }
    }
}

/// A counter and its windows (`StatsItem`).
#[derive(Debug)]
pub struct StatsItem {
    value: AtomicI64,
    times: AtomicI64,
    /// minute, hour, day
    windows: Mutex<[Window; 3]>,
}

impl StatsItem {
    fn new(now_ms: i64) -> StatsItem {
        let item = StatsItem {
            value: AtomicI64::new(0),
            times: AtomicI64::new(0),
            windows: Mutex::new([
                Window::new(7, SAMPLE_PERIOD_MS),
                Window::new(7, SAMPLE_PERIOD_MS * HOUR_STEP_TICKS as i64),
                Window::new(25, SAMPLE_PERIOD_MS * DAY_STEP_TICKS as i64),
            ]),
        };
        item.sample(now_ms, [true; 3]);
        item
    }

    pub fn add(&self, value: i64, times: i64) {
        self.value.fetch_add(value, Ordering::Relaxed);
        self.times.fetch_add(times, Ordering::Relaxed);
    }

    fn sample(&self, now_ms: i64, which: [bool; 3]) {
        let times = self.times.load(Ordering::Relaxed);
        let value = self.value.load(Ordering::Relaxed);
        let mut windows = self.windows.lock().expect("stats windows lock");
        for (window, due) in windows.iter_mut().zip(which) {
            if due {
                window.sample(now_ms, times, value);
            }
        }
    }

    /// The minute, hour and day figures.
    pub fn data(&self) -> BrokerStatsData {
        let windows = self.windows.lock().expect("stats windows lock");
        BrokerStatsData {
            stats_minute: windows[0].figures(),
            stats_hour: windows[1].figures(),
            stats_day: windows[2].figures(),
        }
    }
}

/// A count of messages and their size, kept side by side: one lookup counts both.
#[derive(Debug)]
struct Pair {
    nums: StatsItem,
    size: StatsItem,
}

impl Pair {
    fn new(now_ms: i64) -> Pair {
        Pair {
            nums: StatsItem::new(now_ms),
            size: StatsItem::new(now_ms),
        }
    }

    fn add(&self, messages: i64, bytes: i64) {
        self.nums.add(messages, 1);
        self.size.add(bytes, 1);
    }

    fn items(&self) -> [&StatsItem; 2] {
        [&self.nums, &self.size]
    }
}

/// Counters by key (`StatsItemSet`). Keys of the per-group statistics are `topic@group`;
/// they are kept per topic, then per group, so that counting a pull builds no key string.
#[derive(Debug)]
struct StatsSet<T> {
    items: RwLock<HashMap<String, HashMap<String, Arc<T>>>>,
    create: fn(i64) -> T,
}

impl<T> StatsSet<T> {
    fn new(create: fn(i64) -> T) -> StatsSet<T> {
        StatsSet {
            items: RwLock::default(),
            create,
        }
    }

    /// The counter of `(key, sub)`, created on first use. `sub` is "" for single-part keys.
    fn item(&self, key: &str, sub: &str) -> Arc<T> {
        if let Some(item) = self
            .items
            .read()
            .expect("stats lock")
            .get(key)
            .and_then(|m| m.get(sub))
        {
            return item.clone();
        }
        self.items
            .write()
            .expect("stats lock")
            .entry(key.to_owned())
            .or_default()
            .entry(sub.to_owned())
            .or_insert_with(|| Arc::new((self.create)(ferrocket_common::time::now_ms())))
            .clone()
    }

    fn get(&self, key: &str, sub: &str) -> Option<Arc<T>> {
        self.items
            .read()
            .expect("stats lock")
            .get(key)?
            .get(sub)
            .cloned()
    }

    fn all(&self) -> Vec<Arc<T>> {
        self.items
            .read()
            .expect("stats lock")
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }
}

/// Every statistic of the broker.
#[derive(Debug)]
pub struct BrokerStats {
    cluster: String,
    /// TOPIC_PUT_NUMS and TOPIC_PUT_SIZE
    topic_put: StatsSet<Pair>,
    /// GROUP_GET_NUMS and GROUP_GET_SIZE
    group_get: StatsSet<Pair>,
    send_back_nums: StatsSet<StatsItem>,
    /// BROKER_PUT_NUMS and BROKER_GET_NUMS: one key, the cluster's name, so no table.
    broker_put_nums: StatsItem,
    broker_get_nums: StatsItem,
    ticks: AtomicU64,
}

impl BrokerStats {
    /// The broker-wide counters are keyed by the cluster name, as in Java.
    pub fn new(cluster: &str) -> BrokerStats {
        let now = ferrocket_common::time::now_ms();
        BrokerStats {
            cluster: cluster.to_owned(),
            topic_put: StatsSet::new(Pair::new),
            group_get: StatsSet::new(Pair::new),
            send_back_nums: StatsSet::new(StatsItem::new),
            broker_put_nums: StatsItem::new(now),
            broker_get_nums: StatsItem::new(now),
            ticks: AtomicU64::new(0),
        }
    }

    /// A stored send of `messages` messages (one call) of `bytes` bytes in all.
    pub fn record_put(&self, topic: &str, messages: i64, bytes: i64) {
        self.record_topic_put(topic, messages, bytes);
        self.broker_put_nums.add(messages, 1);
    }

    /// Messages stored in `topic` that the broker-wide count leaves out (a send-back's
    /// schedule record).
    pub fn record_topic_put(&self, topic: &str, messages: i64, bytes: i64) {
        self.topic_put.item(topic, "").add(messages, bytes);
    }

    /// A pull that found `messages` messages of `bytes` bytes in all.
    pub fn record_get(&self, group: &str, topic: &str, messages: i64, bytes: i64) {
        self.group_get.item(topic, group).add(messages, bytes);
        self.broker_get_nums.add(messages, 1);
    }

    /// A consumer's send-back of one message.
    pub fn record_send_back(&self, group: &str, topic: &str) {
        self.send_back_nums.item(topic, group).add(1, 1);
    }

    /// Messages per second the group pulled from `topic` over the last minute
    /// (`tpsGroupGetNums`).
    pub fn group_get_tps(&self, group: &str, topic: &str) -> f64 {
        self.group_get
            .get(topic, group)
            .map_or(0.0, |pair| pair.nums.data().stats_minute.tps)
    }

    /// VIEW_BROKER_STATS_DATA: the counter `key` of statistic `name` (`topic@group` for the
    /// per-group ones), if it exists.
    pub fn view(&self, name: &str, key: &str) -> Option<BrokerStatsData> {
        let per_group = || key.split_once('@');
        Some(match name {
            TOPIC_PUT_NUMS => self.topic_put.get(key, "")?.nums.data(),
            TOPIC_PUT_SIZE => self.topic_put.get(key, "")?.size.data(),
            GROUP_GET_NUMS | GROUP_GET_SIZE => {
                let (topic, group) = per_group()?;
                let pair = self.group_get.get(topic, group)?;
                let item = if name == GROUP_GET_NUMS {
                    &pair.nums
                } else {
                    &pair.size
                };
                item.data()
            }
            SNDBCK_PUT_NUMS => {
                let (topic, group) = per_group()?;
                self.send_back_nums.get(topic, group)?.data()
            }
            BROKER_PUT_NUMS if key == self.cluster => self.broker_put_nums.data(),
            BROKER_GET_NUMS if key == self.cluster => self.broker_get_nums.data(),
            _ => return None,
        })
    }

    /// One 10 s step of the sampler: every counter's minute window, and its hour and day
    /// windows when their step is due.
    pub fn sample(&self, now_ms: i64) {
        let tick = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
        let due = [
            true,
            tick.is_multiple_of(HOUR_STEP_TICKS),
            tick.is_multiple_of(DAY_STEP_TICKS),
        ];
        for pair in self.topic_put.all().iter().chain(&self.group_get.all()) {
            for item in pair.items() {
                item.sample(now_ms, due);
            }
        }
        for item in self.send_back_nums.all() {
            item.sample(now_ms, due);
        }
        self.broker_put_nums.sample(now_ms, due);
        self.broker_get_nums.sample(now_ms, due);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_counter_has_a_zero_window_dated_one_step_back() {
        let stats = BrokerStats::new("C");
        stats.record_put("T", 3, 300);
        let data = stats.view(TOPIC_PUT_NUMS, "T").unwrap();
        // Created and sampled before the add: nothing is in any window yet.
        assert_eq!(data.stats_minute.sum, 0);
        assert_eq!(data.stats_minute.tps, 0.0);
        assert!(stats.view(TOPIC_PUT_NUMS, "Other").is_none());
        assert!(stats.view("NO_SUCH_STATS", "T").is_none());
    }

    #[test]
    fn windows_are_differences_between_first_and_last_snapshot() {
        let stats = BrokerStats::new("C");
        let t0 = ferrocket_common::time::now_ms();
        stats.record_get("G", "T", 10, 1000);
        stats.record_get("G", "T", 20, 2000);
        stats.sample(t0 + 10_000);
        let data = stats.view(GROUP_GET_NUMS, "T@G").unwrap();
        assert_eq!(data.stats_minute.sum, 30);
        assert_eq!(data.stats_minute.avgpt, 15.0, "30 messages over 2 pulls");
        assert!(data.stats_minute.tps > 0.0);
        assert_eq!(
            stats.view(GROUP_GET_SIZE, "T@G").unwrap().stats_minute.sum,
            3000
        );
        assert_eq!(
            stats.view(BROKER_GET_NUMS, "C").unwrap().stats_minute.sum,
            30
        );
        assert!(
            stats.view(GROUP_GET_NUMS, "T").is_none(),
            "per-group keys are topic@group"
        );
        // The hour window has only its creation snapshots until 60 ticks have passed.
        assert_eq!(data.stats_hour.sum, 0);
        for i in 2..=HOUR_STEP_TICKS as i64 {
            stats.sample(t0 + i * 10_000);
        }
        let data = stats.view(GROUP_GET_NUMS, "T@G").unwrap();
        assert_eq!(data.stats_hour.sum, 30);
        assert_eq!(
            data.stats_minute.sum, 0,
            "nothing pulled in the last minute"
        );
        assert_eq!(stats.group_get_tps("G", "T"), 0.0);
    }

    #[test]
    fn the_minute_window_keeps_seven_snapshots() {
        let stats = BrokerStats::new("C");
        let t0 = ferrocket_common::time::now_ms();
        for i in 1..=10i64 {
            stats.record_put("T", 1, 10);
            stats.sample(t0 + i * 10_000);
        }
        // Seven snapshots span six steps: the last 60 s, one message per step.
        let minute = stats.view(TOPIC_PUT_NUMS, "T").unwrap().stats_minute;
        assert_eq!(minute.sum, 6);
        assert_eq!(minute.tps, 0.1);
        assert_eq!(minute.avgpt, 1.0);
    }
}

//! Put and get statistics, kept as Java's `StoreStatsService` and `BrokerStats` keep them and
//! reported under their key names (GET_BROKER_RUNTIME_INFO, which `mqadmin clusterList` and
//! `brokerStatus` parse).
//!
//! The counters are sharded by thread, so that the puts of two runtime workers do not bounce
//! one cache line between cores; a reader adds the shards up. [`StoreStats::sample`], called
//! once a second, keeps the last 600 seconds of totals for the TPS figures, closes the put-time
//! distribution once a minute (Java's `printTps`) and takes the day's first totals after
//! midnight (Java's `BrokerStats.record`).

use ferrocket_common::java_format;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// More shards than runtime threads on the machines we target; a shard shared by two
/// threads only costs some contention.
const SHARDS: usize = 8;
/// Java's `MAX_RECORDS_OF_SAMPLING + 1`: a sample a second for ten minutes, and one more.
const SAMPLES: usize = 601;
/// How often the put-time distribution is closed (Java's `printTPSInterval`).
const DISTRIBUTION_PERIOD_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// `PUT_MESSAGE_ENTIRE_TIME_MAX_DESC`: the slots of the put-time distribution.
const DISTRIBUTION_SLOTS: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];
/// Upper bounds (ms) of the slots after the first, which takes 0 and below.
const DISTRIBUTION_BOUNDS: [i64; 11] = [10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10000];

/// `PUT_MESSAGE_ENTIRE_TIME_BUCKETS`, the finer buckets putLatency99/999 interpolate in:
/// (step in ms, number of steps): 1–20, 22–50, 55–100, 110–200, 250–500, 600–1000, 2000–10000,
/// and one bucket for everything above.
const LATENCY_STEPS: [(i64, usize); 7] = [
    (1, 20),
    (2, 15),
    (5, 10),
    (10, 10),
    (50, 6),
    (100, 5),
    (1000, 9),
];
const LATENCY_BUCKETS: usize = 20 + 15 + 10 + 10 + 6 + 5 + 9 + 1;

/// The upper bound (ms) of each bucket, worked out from [`LATENCY_STEPS`] at compile time.
const LATENCY_BOUNDS: [i64; LATENCY_BUCKETS] = {
    let mut bounds = [i64::MAX; LATENCY_BUCKETS];
    let (mut bound, mut i, mut s) = (0, 0, 0);
    while s < LATENCY_STEPS.len() {
        let (step, times) = LATENCY_STEPS[s];
        let mut t = 0;
        while t < times {
            bound += step;
            bounds[i] = bound;
            i += 1;
            t += 1;
        }
        s += 1;
    }
    bounds
};

const PUT_TIMES: usize = 0;
const PUT_BYTES: usize = 1;
const PUT_FAILED: usize = 2;
const GET_FOUND: usize = 3;
const GET_MISS: usize = 4;
const GET_TRANSFERRED: usize = 5;
const COUNTERS: usize = 6;

/// One thread's counters, on cache lines of their own.
#[repr(align(128))]
struct Shard {
    counts: [AtomicU64; COUNTERS],
    distribution: [AtomicU64; DISTRIBUTION_SLOTS.len()],
    latency: [AtomicU64; LATENCY_BUCKETS],
}

impl Shard {
    fn new() -> Shard {
        Shard {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            distribution: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The calling thread's shard.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
    INDEX.with(|i| *i)
}

/// The put-time counts since boot, slot by slot and bucket by bucket.
#[derive(Clone)]
struct PutTimes {
    distribution: [u64; DISTRIBUTION_SLOTS.len()],
    latency: [u64; LATENCY_BUCKETS],
}

impl PutTimes {
    fn zero() -> PutTimes {
        PutTimes {
            distribution: [0; DISTRIBUTION_SLOTS.len()],
            latency: [0; LATENCY_BUCKETS],
        }
    }

    fn minus(&self, earlier: &PutTimes) -> PutTimes {
        PutTimes {
            distribution: std::array::from_fn(|i| {
                self.distribution[i].saturating_sub(earlier.distribution[i])
            }),
            latency: std::array::from_fn(|i| self.latency[i].saturating_sub(earlier.latency[i])),
        }
    }
}

struct Sampling {
    /// (time in ms, counter totals), oldest first.
    samples: VecDeque<(i64, [u64; COUNTERS])>,
    /// When the current distribution period began and the counts at that moment.
    period_start: (i64, PutTimes),
    /// The counts of the last closed period; none before the first closes (Java then
    /// reports `null` and 0.00).
    last_period: Option<PutTimes>,
    /// Day number (UTC) of the last sample, and put / transferred totals at the first sample
    /// of today and of yesterday.
    day: i64,
    today_morning: (u64, u64),
    yesterday_morning: (u64, u64),
}

/// Statistics of one store since it opened.
pub struct StoreStats {
    boot_timestamp: i64,
    shards: Box<[Shard]>,
    put_time_max: AtomicU64,
    get_time_max: AtomicU64,
    sampling: Mutex<Sampling>,
}

impl std::fmt::Debug for StoreStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreStats")
            .field("boot_timestamp", &self.boot_timestamp)
            .finish_non_exhaustive()
    }
}

impl StoreStats {
    pub fn new(boot_timestamp: i64) -> StoreStats {
        StoreStats {
            boot_timestamp,
            shards: (0..SHARDS).map(|_| Shard::new()).collect(),
            put_time_max: AtomicU64::new(0),
            get_time_max: AtomicU64::new(0),
            sampling: Mutex::new(Sampling {
                samples: VecDeque::with_capacity(SAMPLES),
                period_start: (boot_timestamp, PutTimes::zero()),
                last_period: None,
                day: boot_timestamp.div_euclid(DAY_MS),
                today_morning: (0, 0),
                yesterday_morning: (0, 0),
            }),
        }
    }

    fn shard(&self) -> &Shard {
        &self.shards[shard_index()]
    }

    /// Messages stored and the bytes their records took (counted at the append, as Java
    /// counts in `CommitLog.asyncPutMessage`).
    pub(crate) fn record_put(&self, messages: u64, bytes: u64) {
        let counts = &self.shard().counts;
        counts[PUT_TIMES].fetch_add(messages, Ordering::Relaxed);
        counts[PUT_BYTES].fetch_add(bytes, Ordering::Relaxed);
    }

    /// A put the CommitLog refused (Java: a result that is not PUT_OK).
    pub(crate) fn record_put_failed(&self) {
        self.shard().counts[PUT_FAILED].fetch_add(1, Ordering::Relaxed);
    }

    /// How long a put took, flush wait included (`setPutMessageEntireTimeMax`).
    pub(crate) fn record_put_time(&self, elapsed_ms: i64) {
        let shard = self.shard();
        let slot = if elapsed_ms <= 0 {
            0
        } else {
            1 + DISTRIBUTION_BOUNDS
                .iter()
                .position(|&bound| elapsed_ms < bound)
                .unwrap_or(DISTRIBUTION_BOUNDS.len())
        };
        shard.distribution[slot].fetch_add(1, Ordering::Relaxed);
        // Java's `ceilingEntry`: the first bucket whose bound is at least the time.
        let bucket = LATENCY_BOUNDS.partition_point(|&b| b < elapsed_ms);
        shard.latency[bucket.min(LATENCY_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        raise(&self.put_time_max, elapsed_ms);
    }

    /// One read of a queue: whether it found messages, how many it returned, how long it took.
    pub(crate) fn record_get(&self, found: bool, messages: u64, elapsed_ms: i64) {
        let counts = &self.shard().counts;
        counts[if found { GET_FOUND } else { GET_MISS }].fetch_add(1, Ordering::Relaxed);
        counts[GET_TRANSFERRED].fetch_add(messages, Ordering::Relaxed);
        raise(&self.get_time_max, elapsed_ms);
    }

    fn totals(&self) -> [u64; COUNTERS] {
        std::array::from_fn(|i| {
            self.shards
                .iter()
                .map(|s| s.counts[i].load(Ordering::Relaxed))
                .sum()
        })
    }

    fn put_times(&self) -> PutTimes {
        PutTimes {
            distribution: std::array::from_fn(|i| {
                self.shards
                    .iter()
                    .map(|s| s.distribution[i].load(Ordering::Relaxed))
                    .sum()
            }),
            latency: std::array::from_fn(|i| {
                self.shards
                    .iter()
                    .map(|s| s.latency[i].load(Ordering::Relaxed))
                    .sum()
            }),
        }
    }

    /// Messages stored since the store opened (`getPutMessageTimesTotal`).
    pub fn put_messages_total(&self) -> u64 {
        self.totals()[PUT_TIMES]
    }

    /// Messages handed out by reads since the store opened (`getMessageTransferedMsgCount`).
    pub fn transferred_messages_total(&self) -> u64 {
        self.totals()[GET_TRANSFERRED]
    }

    /// Takes a sample; call once a second. `now_ms` is the wall clock.
    pub fn sample(&self, now_ms: i64) {
        let totals = self.totals();
        let mut s = self.sampling.lock().expect("stats lock");
        s.samples.push_back((now_ms, totals));
        while s.samples.len() > SAMPLES {
            s.samples.pop_front();
        }
        if now_ms > s.period_start.0 + DISTRIBUTION_PERIOD_MS {
            let now = self.put_times();
            let (_, began) = std::mem::replace(&mut s.period_start, (now_ms, now.clone()));
            s.last_period = Some(now.minus(&began));
        }
        let day = now_ms.div_euclid(DAY_MS);
        if day != s.day {
            s.day = day;
            s.yesterday_morning = s.today_morning;
            s.today_morning = (totals[PUT_TIMES], totals[GET_TRANSFERRED]);
        }
    }

    /// `BrokerStats`: (msgPutTotalYesterdayMorning, msgPutTotalTodayMorning,
    /// msgGetTotalYesterdayMorning, msgGetTotalTodayMorning).
    pub fn mornings(&self) -> (u64, u64, u64, u64) {
        let s = self.sampling.lock().expect("stats lock");
        (
            s.yesterday_morning.0,
            s.today_morning.0,
            s.yesterday_morning.1,
            s.today_morning.1,
        )
    }

    /// `StoreStatsService.getRuntimeInfo`: every key, every value as Java writes it.
    pub fn runtime_info(&self, now_ms: i64) -> Vec<(&'static str, String)> {
        let totals = self.totals();
        let put_times = totals[PUT_TIMES].max(1);
        let s = self.sampling.lock().expect("stats lock");
        let tps = |counter: usize| {
            [10, 60, 600]
                .map(|window| {
                    window_tps(&s.samples, counter, window)
                        .map_or(String::new(), java_format::double)
                })
                .join(" ")
        };
        let total_tps = [10, 60, 600]
            .map(|window| {
                let found = window_tps(&s.samples, GET_FOUND, window).unwrap_or(0.0);
                let miss = window_tps(&s.samples, GET_MISS, window).unwrap_or(0.0);
                java_format::double(found + miss)
            })
            .join(" ");
        let distribution = s.last_period.as_ref().map_or_else(
            || "null".to_string(),
            |p| {
                DISTRIBUTION_SLOTS
                    .iter()
                    .zip(p.distribution)
                    .map(|(slot, count)| format!("{slot}:{count} "))
                    .collect()
            },
        );
        let latency = |px: f64| {
            java_format::fixed(
                s.last_period
                    .as_ref()
                    .map_or(0.0, |p| percentile(&p.latency, px)),
                2,
            )
        };
        vec![
            ("bootTimestamp", self.boot_timestamp.to_string()),
            ("runtime", format_runtime(now_ms - self.boot_timestamp)),
            (
                "putMessageEntireTimeMax",
                self.put_time_max.load(Ordering::Relaxed).to_string(),
            ),
            ("putMessageTimesTotal", put_times.to_string()),
            ("putMessageFailedTimes", totals[PUT_FAILED].to_string()),
            ("putMessageSizeTotal", totals[PUT_BYTES].to_string()),
            ("putMessageDistributeTime", distribution),
            (
                "putMessageAverageSize",
                java_format::double(totals[PUT_BYTES] as f64 / put_times as f64),
            ),
            // Java never raises it from 0 either.
            ("dispatchMaxBuffer", "0".to_string()),
            (
                "getMessageEntireTimeMax",
                self.get_time_max.load(Ordering::Relaxed).to_string(),
            ),
            ("putTps", tps(PUT_TIMES)),
            ("getFoundTps", tps(GET_FOUND)),
            ("getMissTps", tps(GET_MISS)),
            ("getTotalTps", total_tps),
            ("getTransferedTps", tps(GET_TRANSFERRED)),
            ("putLatency99", latency(0.99)),
            ("putLatency999", latency(0.999)),
        ]
    }
}

fn raise(max: &AtomicU64, value: i64) {
    let value = value.max(0) as u64;
    if value > max.load(Ordering::Relaxed) {
        max.fetch_max(value, Ordering::Relaxed);
    }
}

/// `CallSnapshot.getTPS` between the newest sample and the one `window` samples before it;
/// none while fewer samples exist (Java then reports an empty string).
fn window_tps(
    samples: &VecDeque<(i64, [u64; COUNTERS])>,
    counter: usize,
    window: usize,
) -> Option<f64> {
    if samples.len() <= window {
        return None;
    }
    let (end_ms, end) = samples[samples.len() - 1];
    let (begin_ms, begin) = samples[samples.len() - 1 - window];
    let calls = end[counter].saturating_sub(begin[counter]) as f64;
    Some(calls / (end_ms - begin_ms) as f64 * 1000.0)
}

/// `findPutMessageEntireTimePX`: the bucket the `px` quantile falls in, interpolated
/// linearly between its bounds.
fn percentile(counts: &[u64; LATENCY_BUCKETS], px: f64) -> f64 {
    let bounds = &LATENCY_BOUNDS;
    let total: u64 = counts.iter().sum();
    let index = (total as f64 * px) as u64;
    let mut passed = 0u64;
    for (i, &count) in counts.iter().enumerate() {
        if index <= passed + count {
            let relative = (index - passed) as f64;
            let share = if count == 0 {
                0.0
            } else {
                relative / count as f64
            };
            let bound = bounds[i] as f64;
            return if i == 0 {
                if count == 0 {
                    0.0
                } else {
                    bound * share
                }
            } else {
                let below = bounds[i - 1] as f64;
                below
                    + if count == 0 {
                        0.0
                    } else {
                        (bound - below) * share
                    }
            };
        }
        passed += count;
    }
    0.0
}

/// `getFormatRuntime`: `[ 0 days, 1 hours, 2 minutes, 3 seconds ]` (MessageFormat groups
/// thousands).
fn format_runtime(elapsed_ms: i64) -> String {
    let elapsed = elapsed_ms.max(0);
    let (second, minute, hour, day) = (1000, 60_000, 3_600_000, 86_400_000);
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        group_thousands(elapsed / day),
        (elapsed % day) / hour,
        (elapsed % hour) / minute,
        (elapsed % minute) / second
    )
}

fn group_thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(stats: &StoreStats, now: i64) -> std::collections::HashMap<&'static str, String> {
        stats.runtime_info(now).into_iter().collect()
    }

    #[test]
    fn tps_windows_fill_as_samples_arrive() {
        let boot = 1_000_000;
        let stats = StoreStats::new(boot);
        let fresh = info(&stats, boot);
        assert_eq!(fresh["putTps"], "  ");
        assert_eq!(fresh["getTotalTps"], "0.0 0.0 0.0");
        assert_eq!(
            fresh["putMessageTimesTotal"], "1",
            "Java reports at least 1"
        );
        for second in 1..=11 {
            // 50 messages of 100 bytes a second, and a found and a missed read.
            for _ in 0..50 {
                stats.record_put(1, 100);
            }
            stats.record_get(true, 32, 0);
            stats.record_get(false, 0, 3);
            stats.sample(boot + second * 1000);
        }
        let now = info(&stats, boot + 11_000);
        assert_eq!(now["putTps"], "50.0  ");
        assert_eq!(now["getFoundTps"], "1.0  ");
        assert_eq!(now["getTransferedTps"], "32.0  ");
        assert_eq!(now["getTotalTps"], "2.0 0.0 0.0");
        assert_eq!(now["putMessageTimesTotal"], "550");
        assert_eq!(now["putMessageSizeTotal"], "55000");
        assert_eq!(now["putMessageAverageSize"], "100.0");
        assert_eq!(now["getMessageEntireTimeMax"], "3");
        assert_eq!(now["runtime"], "[ 0 days, 0 hours, 0 minutes, 11 seconds ]");
        assert_eq!(stats.transferred_messages_total(), 11 * 32);
    }

    #[test]
    fn put_times_are_reported_for_the_last_closed_minute() {
        let boot = 0;
        let stats = StoreStats::new(boot);
        for ms in [
            0, 0, 5, 12, 70, 150, 300, 700, 1500, 2500, 3500, 4500, 7000, 12_000,
        ] {
            stats.record_put_time(ms);
        }
        stats.sample(30_000);
        let open = info(&stats, 30_000);
        assert_eq!(open["putMessageDistributeTime"], "null");
        assert_eq!(open["putLatency99"], "0.00");
        assert_eq!(open["putMessageEntireTimeMax"], "12000");
        stats.sample(61_000);
        let closed = info(&stats, 61_000);
        assert_eq!(
            closed["putMessageDistributeTime"],
            "[<=0ms]:2 [0~10ms]:1 [10~50ms]:1 [50~100ms]:1 [100~200ms]:1 [200~500ms]:1 \
             [500ms~1s]:1 [1~2s]:1 [2~3s]:1 [3~4s]:1 [4~5s]:1 [5~10s]:1 [10s~]:1 "
        );
        // 14 puts: index 13 of the 99th percentile is the end of the bucket of the 7 s put.
        assert_eq!(closed["putLatency99"], "7000.00");
        // The next minute starts empty.
        stats.record_put_time(0);
        stats.sample(122_000);
        let next = info(&stats, 122_000);
        assert!(next["putMessageDistributeTime"].starts_with("[<=0ms]:1 [0~10ms]:0 "));
        assert_eq!(next["putLatency99"], "0.00");
    }

    #[test]
    fn percentiles_interpolate_within_a_bucket() {
        let bounds = LATENCY_BOUNDS;
        assert_eq!(bounds[..3], [1, 2, 3]);
        assert_eq!(bounds[20], 22);
        assert_eq!(bounds[LATENCY_BUCKETS - 2], 10_000);
        let mut counts = [0u64; LATENCY_BUCKETS];
        counts[0] = 100; // 100 puts of at most 1 ms
        assert_eq!(percentile(&counts, 0.99), 0.99);
        counts[4] = 100; // and 100 of 4-5 ms
        assert_eq!(percentile(&counts, 0.99), 4.98);
    }

    #[test]
    fn mornings_roll_at_midnight() {
        let day = DAY_MS;
        let stats = StoreStats::new(day + 5);
        stats.record_put(7, 700);
        stats.record_get(true, 3, 0);
        stats.sample(day + 1000);
        assert_eq!(stats.mornings(), (0, 0, 0, 0));
        stats.sample(2 * day + 1000);
        assert_eq!(stats.mornings(), (0, 7, 0, 3));
        stats.record_put(1, 100);
        stats.sample(3 * day);
        assert_eq!(stats.mornings(), (7, 8, 3, 3));
    }

    #[test]
    fn runtime_groups_days_in_thousands() {
        assert_eq!(
            format_runtime(1234 * DAY_MS + 3_723_000),
            "[ 1,234 days, 1 hours, 2 minutes, 3 seconds ]"
        );
    }
}

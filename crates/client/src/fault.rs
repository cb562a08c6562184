//! Latency fault tolerance (`MQFaultStrategy`, `LatencyFaultToleranceImpl`): a broker that
//! answered slowly or failed is avoided for a while when picking a queue.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Latency thresholds (ms) and how long a broker at or above each is isolated (ms).
const LATENCY_MAX: [u64; 7] = [50, 100, 550, 1000, 2000, 3000, 15000];
const NOT_AVAILABLE_DURATION: [u64; 7] = [0, 0, 30000, 60000, 120000, 180000, 600000];

/// Brokers to avoid until a given instant.
#[derive(Debug, Default)]
pub struct LatencyFaults {
    until: Mutex<HashMap<String, Instant>>,
}

impl LatencyFaults {
    /// Records how a send to `broker` went; a failure counts as 30 s of latency.
    pub fn record(&self, broker: &str, latency: Duration, failed: bool) {
        let latency_ms = if failed {
            30_000
        } else {
            latency.as_millis() as u64
        };
        let isolation = isolation_for(latency_ms);
        let mut until = self.until.lock().expect("faults lock");
        until.insert(broker.to_owned(), Instant::now() + isolation);
    }

    pub fn is_available(&self, broker: &str) -> bool {
        self.until
            .lock()
            .expect("faults lock")
            .get(broker)
            .is_none_or(|t| Instant::now() >= *t)
    }
}

/// The isolation for a latency: the duration of the highest threshold it reaches.
pub fn isolation_for(latency_ms: u64) -> Duration {
    let idx = LATENCY_MAX.iter().rposition(|&max| latency_ms >= max);
    Duration::from_millis(idx.map_or(0, |i| NOT_AVAILABLE_DURATION[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_table() {
        assert_eq!(isolation_for(10), Duration::ZERO);
        assert_eq!(isolation_for(100), Duration::ZERO);
        assert_eq!(isolation_for(550), Duration::from_secs(30));
        assert_eq!(isolation_for(2500), Duration::from_secs(120));
        assert_eq!(isolation_for(30_000), Duration::from_secs(600));
    }

    #[test]
    fn failed_broker_is_avoided() {
        let f = LatencyFaults::default();
        assert!(f.is_available("a"));
        f.record("a", Duration::from_millis(5), true);
        assert!(!f.is_available("a"));
        f.record("b", Duration::from_millis(5), false);
        assert!(f.is_available("b"));
    }
}

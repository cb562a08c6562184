//! How a clustering group shares a topic's queues (`AllocateMessageQueueStrategy`,
//! `behaviour.md` §9).

use ferrocket_protocol::body::MessageQueue;

/// The allocation strategies every member of a group must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllocateStrategy {
    /// Contiguous runs, earlier consumers taking one extra (`AVG`, the default).
    #[default]
    Averagely,
    /// Queue `j` to consumer `j % n` (`AVG_BY_CIRCLE`).
    AveragelyByCircle,
}

impl AllocateStrategy {
    /// The queues `me` owns; empty when `me` is not among `consumers`. Both lists must be
    /// sorted identically by every member.
    pub fn allocate(
        self,
        me: &str,
        queues: &[MessageQueue],
        consumers: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = consumers.iter().position(|c| c == me) else {
            return Vec::new();
        };
        if queues.is_empty() {
            return Vec::new();
        }
        let (m, n) = (queues.len(), consumers.len());
        match self {
            AllocateStrategy::Averagely => {
                let modulo = m % n;
                let size = if m <= n {
                    1
                } else if modulo > 0 && index < modulo {
                    m / n + 1
                } else {
                    m / n
                };
                let start = if modulo > 0 && index < modulo {
                    index * size
                } else {
                    index * size + modulo
                };
                let take = size.min(m.saturating_sub(start));
                queues[start.min(m)..start.min(m) + take].to_vec()
            }
            AllocateStrategy::AveragelyByCircle => queues
                .iter()
                .enumerate()
                .filter(|(j, _)| j % n == index)
                .map(|(_, q)| q.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[MessageQueue]) -> Vec<i32> {
        v.iter().map(|q| q.queue_id).collect()
    }

    fn setup(m: i32, n: usize) -> (Vec<MessageQueue>, Vec<String>) {
        let qs = (0..m).map(|i| MessageQueue::new("T", "b", i)).collect();
        let cs = (0..n).map(|i| format!("c{i}")).collect();
        (qs, cs)
    }

    #[test]
    fn averagely_matches_the_java_examples() {
        let (qs, cs) = setup(8, 3);
        let a = AllocateStrategy::Averagely;
        assert_eq!(ids(&a.allocate("c0", &qs, &cs)), [0, 1, 2]);
        assert_eq!(ids(&a.allocate("c1", &qs, &cs)), [3, 4, 5]);
        assert_eq!(ids(&a.allocate("c2", &qs, &cs)), [6, 7]);
        let (qs, cs) = setup(2, 3);
        assert_eq!(ids(&a.allocate("c0", &qs, &cs)), [0]);
        assert_eq!(ids(&a.allocate("c1", &qs, &cs)), [1]);
        assert!(a.allocate("c2", &qs, &cs).is_empty());
        assert!(a.allocate("stranger", &qs, &cs).is_empty());
    }

    #[test]
    fn every_queue_owned_exactly_once() {
        for m in 0..20 {
            for n in 1..7 {
                let (qs, cs) = setup(m, n);
                for s in [
                    AllocateStrategy::Averagely,
                    AllocateStrategy::AveragelyByCircle,
                ] {
                    let mut all: Vec<i32> = cs
                        .iter()
                        .flat_map(|c| ids(&s.allocate(c, &qs, &cs)))
                        .collect();
                    all.sort();
                    assert_eq!(all, (0..m).collect::<Vec<_>>(), "{s:?} m={m} n={n}");
                }
            }
        }
    }

    #[test]
    fn by_circle() {
        let (qs, cs) = setup(5, 2);
        let s = AllocateStrategy::AveragelyByCircle;
        assert_eq!(ids(&s.allocate("c0", &qs, &cs)), [0, 2, 4]);
        assert_eq!(ids(&s.allocate("c1", &qs, &cs)), [1, 3]);
    }
}

//! Queue locks for orderly consumers (`RebalanceLockManager`): a queue of a group belongs to
//! one client until it unlocks or stops renewing for 60 s.

use ferrocket_protocol::body::MessageQueue;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `rocketmq.broker.rebalance.lockMaxLiveTime`.
pub const LOCK_MAX_LIVE: Duration = Duration::from_secs(60);

/// queue → (owning client id, last renewal)
type GroupLocks = HashMap<MessageQueue, (String, Instant)>;

#[derive(Debug, Default)]
pub struct QueueLocks {
    /// group → its queue locks
    table: Mutex<HashMap<String, GroupLocks>>,
}

impl QueueLocks {
    /// Locks (or renews) what `client_id` may hold; returns the queues it now holds.
    pub fn lock(
        &self,
        group: &str,
        client_id: &str,
        queues: &[MessageQueue],
        now: Instant,
    ) -> Vec<MessageQueue> {
        let mut table = self.table.lock().expect("locks lock");
        let locks = table.entry(group.to_owned()).or_default();
        let mut held = Vec::new();
        for mq in queues {
            let free = match locks.get(mq) {
                None => true,
                Some((owner, at)) => owner == client_id || now.duration_since(*at) > LOCK_MAX_LIVE,
            };
            if free {
                locks.insert(mq.clone(), (client_id.to_owned(), now));
                held.push(mq.clone());
            }
        }
        held
    }

    /// Releases the queues `client_id` holds among `queues`.
    pub fn unlock(&self, group: &str, client_id: &str, queues: &[MessageQueue]) {
        let mut table = self.table.lock().expect("locks lock");
        if let Some(locks) = table.get_mut(group) {
            for mq in queues {
                if locks.get(mq).is_some_and(|(owner, _)| owner == client_id) {
                    locks.remove(mq);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_until_unlock_or_expiry() {
        let locks = QueueLocks::default();
        let q = |i| MessageQueue::new("T", "b", i);
        let t0 = Instant::now();
        assert_eq!(locks.lock("G", "c1", &[q(0), q(1)], t0).len(), 2);
        assert_eq!(locks.lock("G", "c2", &[q(0), q(1), q(2)], t0), vec![q(2)]);
        assert_eq!(locks.lock("G", "c1", &[q(0)], t0), vec![q(0)], "renewal");
        locks.unlock("G", "c2", &[q(0)]);
        assert!(
            locks.lock("G", "c2", &[q(0)], t0).is_empty(),
            "only the owner unlocks"
        );
        locks.unlock("G", "c1", &[q(0)]);
        assert_eq!(locks.lock("G", "c2", &[q(0)], t0), vec![q(0)]);
        let later = t0 + LOCK_MAX_LIVE + Duration::from_secs(1);
        assert_eq!(
            locks.lock("G", "c3", &[q(1)], later),
            vec![q(1)],
            "expired lock taken over"
        );
        assert!(
            locks.lock("OtherGroup", "c9", &[q(1)], t0).len() == 1,
            "groups are independent"
        );
    }
}

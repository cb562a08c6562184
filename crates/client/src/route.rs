//! A topic's route turned into the queue lists producers and consumers use
//! (`topicRouteData2TopicPublishInfo`, `topicRouteData2TopicSubscribeInfo`).

use ferrocket_protocol::body::{perm, MessageQueue, TopicRouteData};

/// The route of one topic and the queues derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRoute {
    pub data: TopicRouteData,
    /// Writable queues on brokers with a master, sorted by broker name then queue id.
    pub publish: Vec<MessageQueue>,
    /// Readable queues, sorted by broker name then queue id.
    pub subscribe: Vec<MessageQueue>,
}

impl TopicRoute {
    pub fn new(topic: &str, data: TopicRouteData) -> TopicRoute {
        let mut publish = Vec::new();
        if let Some(conf) = data.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            // Ordered topics pin their layout: "brokerName:queueNums;…".
            for item in conf.split(';') {
                if let Some((broker, nums)) = item.split_once(':') {
                    let nums: i32 = nums.trim().parse().unwrap_or(0);
                    publish.extend((0..nums).map(|q| MessageQueue::new(topic, broker, q)));
                }
            }
        } else {
            let mut queue_datas = data.queue_datas.clone();
            queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in &queue_datas {
                if !perm::is_writeable(qd.perm) {
                    continue;
                }
                let has_master = data
                    .broker_datas
                    .iter()
                    .any(|b| b.broker_name == qd.broker_name && b.master_addr().is_some());
                if has_master {
                    publish.extend(
                        (0..qd.write_queue_nums)
                            .map(|q| MessageQueue::new(topic, qd.broker_name.clone(), q)),
                    );
                }
            }
        }
        let mut subscribe: Vec<MessageQueue> = data
            .queue_datas
            .iter()
            .filter(|qd| perm::is_readable(qd.perm))
            .flat_map(|qd| {
                (0..qd.read_queue_nums).map(|q| MessageQueue::new(topic, qd.broker_name.clone(), q))
            })
            .collect();
        subscribe.sort();
        TopicRoute {
            data,
            publish,
            subscribe,
        }
    }

    /// The route of a topic the broker will create on first send, borrowed from the
    /// auto-create topic's route with at most `queue_nums` queues per broker.
    pub fn for_auto_create(
        topic: &str,
        mut template: TopicRouteData,
        queue_nums: i32,
    ) -> TopicRoute {
        for qd in &mut template.queue_datas {
            let n = queue_nums.min(qd.write_queue_nums);
            qd.write_queue_nums = n;
            qd.read_queue_nums = n;
        }
        TopicRoute::new(topic, template)
    }

    /// The master address of `broker_name`, if the route knows it.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.data
            .broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(|b| b.master_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::body::{BrokerData, QueueData};

    fn route(qds: Vec<QueueData>, brokers: &[&str]) -> TopicRouteData {
        TopicRouteData {
            broker_datas: brokers
                .iter()
                .map(|b| BrokerData {
                    broker_addrs: [(0, format!("{b}:10911"))].into_iter().collect(),
                    broker_name: b.to_string(),
                    cluster: "c".into(),
                })
                .collect(),
            queue_datas: qds,
            ..Default::default()
        }
    }

    fn qd(name: &str, r: i32, w: i32, perm: i32) -> QueueData {
        QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: r,
            write_queue_nums: w,
            topic_sys_flag: 0,
        }
    }

    #[test]
    fn publish_queues_follow_broker_order_perm_and_master() {
        let data = route(
            vec![
                qd("b", 2, 2, 6),
                qd("a", 3, 1, 6),
                qd("c", 2, 2, 4),
                qd("d", 1, 1, 6),
            ],
            &["a", "b", "c"],
        );
        let r = TopicRoute::new("T", data);
        let names: Vec<_> = r
            .publish
            .iter()
            .map(|q| format!("{}{}", q.broker_name, q.queue_id))
            .collect();
        // c is read-only; d has no master.
        assert_eq!(names, ["a0", "b0", "b1"]);
        let subs: Vec<_> = r
            .subscribe
            .iter()
            .map(|q| format!("{}{}", q.broker_name, q.queue_id))
            .collect();
        assert_eq!(subs, ["a0", "a1", "a2", "b0", "b1", "c0", "c1", "d0"]);
    }

    #[test]
    fn order_topic_conf_pins_the_publish_layout() {
        let mut data = route(vec![qd("a", 8, 8, 6)], &["a"]);
        data.order_topic_conf = Some("a:2;b:1".into());
        let r = TopicRoute::new("T", data);
        assert_eq!(r.publish.len(), 3);
        assert_eq!(r.publish[2], MessageQueue::new("T", "b", 0));
    }

    #[test]
    fn auto_create_caps_queue_numbers() {
        let r = TopicRoute::for_auto_create("New", route(vec![qd("a", 8, 8, 7)], &["a"]), 4);
        assert_eq!(r.publish.len(), 4);
        assert!(r.publish.iter().all(|q| q.topic == "New"));
    }
}

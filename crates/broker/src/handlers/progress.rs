//! Consumer progress as the administration tools read it (`AdminBrokerProcessor`): consume
//! statistics of one group or of the whole broker, consume time spans, correction offsets,
//! cloning a group's offsets and the whole offset table.

use super::admin::{error, json_ok, queue};
use crate::Broker;
use ferrocket_protocol::body::*;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use std::sync::Arc;

/// Store time of the message at `offset` of a queue, or -1 (`getMessageStoreTimeStamp`).
fn store_time(broker: &Broker, topic: &str, queue_id: i32, offset: i64) -> i64 {
    broker
        .store
        .store_time_at(topic, queue_id, offset)
        .unwrap_or(-1)
}

/// Adds the group's offsets of `queues` queues of `topic` to `stats`, as both consume-stats
/// requests build them; the group's consume TPS is added by the caller.
fn add_topic(broker: &Broker, stats: &mut ConsumeStats, group: &str, topic: &str, queues: i32) {
    for q in 0..queues {
        let consumer_offset = broker.offsets.query(group, topic, q).unwrap_or(0).max(0);
        let last_timestamp = if consumer_offset > 0 {
            store_time(broker, topic, q, consumer_offset - 1).max(0)
        } else {
            0
        };
        stats.offset_table.insert(
            queue(broker, topic, q),
            OffsetWrapper {
                broker_offset: broker.store.max_offset(topic, q).max(0),
                consumer_offset,
                last_timestamp,
            },
        );
    }
}

/// GET_CONSUME_STATS (208): one group, over its read queues of one topic or of every topic it
/// has offsets for. A topic the group is online without subscribing to is left out.
pub fn consume_stats(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: GetConsumeStatsRequestHeader = request.decode_header()?;
    let group = h.consumer_group.as_str();
    let topics = match h.topic.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => vec![t.to_owned()],
        None => broker.offsets.topics_of_group(group),
    };
    let mut stats = ConsumeStats::default();
    for topic in topics {
        let Some(config) = broker.topics.get(&topic) else {
            continue;
        };
        if !broker.clients.counts_topic(group, &topic) {
            continue;
        }
        add_topic(broker, &mut stats, group, &topic, config.read_queue_nums);
        stats.consume_tps += broker.broker_stats.group_get_tps(group, &topic);
    }
    json_ok(&stats)
}

/// GET_BROKER_CONSUME_STATS (317): every subscription group with the stats of each topic
/// it has offsets for (write queues; with `isOrder`, ordered topics only) and the backlog
/// over all of them.
pub fn broker_consume_stats(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: GetConsumeStatsInBrokerHeader = request.decode_header()?;
    let mut list = ConsumeStatsList {
        broker_addr: Some(broker.boot_config.broker_addr()),
        ..ConsumeStatsList::default()
    };
    for group in broker.groups.wrapper().subscription_group_table.into_keys() {
        let mut of_group = Vec::new();
        for topic in broker.offsets.topics_of_group(&group) {
            let Some(config) = broker.topics.get(&topic) else {
                continue;
            };
            if (h.is_order && !config.order) || !broker.clients.counts_topic(&group, &topic) {
                continue;
            }
            let mut stats = ConsumeStats::default();
            add_topic(broker, &mut stats, &group, &topic, config.write_queue_nums);
            stats.consume_tps += broker.broker_stats.group_get_tps(&group, &topic);
            list.total_diff += stats.total_diff();
            of_group.push(stats);
        }
        list.consume_stats_list
            .push(std::iter::once((group, of_group)).collect());
    }
    json_ok(&list)
}

/// QUERY_CONSUME_TIME_SPAN (303): per write queue, the store times of the first and last
/// message and of the last one the group consumed, and how long the next has waited.
pub fn consume_time_span(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: QueryConsumeTimeSpanRequestHeader = request.decode_header()?;
    let Some(config) = broker.topics.get(&h.topic) else {
        return error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        );
    };
    let now = ferrocket_common::time::now_ms();
    let mut body = QueryConsumeTimeSpanBody::default();
    for q in 0..config.write_queue_nums {
        let min_time = broker.store.earliest_store_time(&h.topic, q);
        let max = broker.store.max_offset(&h.topic, q);
        let consumer_offset = broker.offsets.query(&h.group, &h.topic, q).unwrap_or(-1);
        let consume_time = if consumer_offset > 0 {
            store_time(broker, &h.topic, q, consumer_offset - 1)
        } else {
            min_time
        };
        let delay_time = if consumer_offset < max {
            now - store_time(broker, &h.topic, q, consumer_offset)
        } else {
            0
        };
        body.consume_time_span_set.push(QueueTimeSpan {
            consume_time_stamp: consume_time,
            delay_time,
            max_time_stamp: store_time(broker, &h.topic, q, max - 1),
            message_queue: queue(broker, &h.topic, q),
            min_time_stamp: min_time,
        });
    }
    json_ok(&body)
}

/// QUERY_CORRECTION_OFFSET (308): per queue, the smallest offset of the groups not in
/// `filterGroups`, or `Long.MAX_VALUE` where `compareGroup` is behind it. (Java's version
/// also deletes the filtered groups' offsets from the table, which is not copied here.)
pub fn correction_offset(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: QueryCorrectionOffsetHeader = request.decode_header()?;
    let excluded: Vec<&str> = h
        .filter_groups
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| f.split(',').collect())
        .unwrap_or_default();
    let mut correction = broker.offsets.min_over_groups(&h.topic, &excluded, |q| {
        broker.store.min_offset(&h.topic, q)
    });
    for (q, compared) in broker.offsets.of_topic(&h.compare_group, &h.topic) {
        match correction.get_mut(&q) {
            Some(min) if *min > compared => *min = i64::MAX,
            Some(_) => {}
            // Java unboxes a missing entry here and fails.
            None => {
                return error(
                    ResponseCode::SYSTEM_ERROR,
                    "java.lang.NullPointerException".into(),
                )
            }
        }
    }
    json_ok(&QueryCorrectionOffsetBody {
        correction_offsets: correction,
    })
}

/// CLONE_GROUP_OFFSET (314). Java's loop passes the request's topic, not the topic of the
/// iteration, to `cloneOffset`: without a topic nothing is cloned, and with one it is cloned
/// if the topic exists and (unless `offline`) the online source group subscribes to it.
pub fn clone_group_offset(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: CloneGroupOffsetRequestHeader = request.decode_header()?;
    if let Some(topic) = h.topic.as_deref().filter(|t| !t.trim().is_empty()) {
        let subscribed =
            h.offline.unwrap_or(false) || broker.clients.counts_topic(&h.src_group, topic);
        if broker.topics.get(topic).is_some() && subscribed {
            broker
                .offsets
                .clone_offsets(&h.src_group, &h.dest_group, topic);
        }
    }
    Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)))
}

/// GET_ALL_CONSUMER_OFFSET (43): the offset table as `consumerOffset.json` holds it (a slave
/// copies it from its master).
pub fn all_consumer_offsets(
    broker: &Arc<Broker>,
    _: &Channel,
    _: &RemotingCommand,
) -> HandlerResult {
    json_ok(&broker.offsets.snapshot())
}

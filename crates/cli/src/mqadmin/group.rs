//! Consumer-group commands: updateSubGroup, deleteSubGroup, consumerProgress,
//! consumerConnection, resetOffsetByTime.

use super::options::{Opt, Parsed};
use super::print::{date_time, front, parse_date, subscription_group};
use super::{version_desc, Command, CommandError, CommandResult};
use ferrocket_client::{Admin, ClientError};
use ferrocket_common::java_format::fixed;
use ferrocket_common::names::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use ferrocket_protocol::body::{
    ConsumeStats, ConsumeType, ConsumerConnection, MessageQueue, SubscriptionGroupConfig,
};
use ferrocket_protocol::ResponseCode;
use std::fmt::Write as _;

/// Java's `MessageQueue.compareTo` order: topic, broker name, queue id.
fn java_order(a: &MessageQueue, b: &MessageQueue) -> std::cmp::Ordering {
    (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id))
}

pub const UPDATE_SUB_GROUP: Command = Command {
    name: "updateSubGroup",
    desc: "Update or create subscription group",
    options: &[
        Opt::arg(
            'b',
            "brokerAddr",
            "create subscription group to which broker",
        ),
        Opt::arg(
            'c',
            "clusterName",
            "create subscription group to which cluster",
        ),
        Opt::required('g', "groupName", "consumer group name"),
        Opt::arg('s', "consumeEnable", "consume enable"),
        Opt::arg('m', "consumeFromMinEnable", "from min offset"),
        Opt::arg('d', "consumeBroadcastEnable", "broadcast"),
        Opt::arg('q', "retryQueueNums", "retry queue nums"),
        Opt::arg('r', "retryMaxTimes", "retry max times"),
        Opt::arg('i', "brokerId", "consumer from which broker id"),
        Opt::arg(
            'w',
            "whichBrokerWhenConsumeSlowly",
            "which broker id when consume slowly",
        ),
        Opt::arg('a', "notifyConsumerIdsChanged", "notify consumerId changed"),
    ],
    one_of: &[&['b', 'c']],
};

pub async fn update_sub_group(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let defaults = SubscriptionGroupConfig::default();
    // The command turns broadcast and from-min off unless asked, unlike the class defaults.
    let config = SubscriptionGroupConfig {
        group_name: p.req('g').to_owned(),
        consume_enable: p.bool('s').unwrap_or(defaults.consume_enable),
        consume_from_min_enable: p.bool('m').unwrap_or(false),
        consume_broadcast_enable: p.bool('d').unwrap_or(false),
        retry_queue_nums: p.number('q')?.unwrap_or(defaults.retry_queue_nums),
        retry_max_times: p.number('r')?.unwrap_or(defaults.retry_max_times),
        broker_id: p.number('i')?.unwrap_or(defaults.broker_id),
        which_broker_when_consume_slowly: p
            .number('w')?
            .unwrap_or(defaults.which_broker_when_consume_slowly),
        notify_consumer_ids_changed_enable: p
            .bool('a')
            .unwrap_or(defaults.notify_consumer_ids_changed_enable),
    };
    for addr in super::target_brokers(admin, p).await? {
        admin.create_subscription_group_at(&addr, &config).await?;
        let _ = writeln!(out, "create subscription group to {addr} success.");
    }
    out.push_str(&subscription_group(&config));
    Ok(())
}

pub const DELETE_SUB_GROUP: Command = Command {
    name: "deleteSubGroup",
    desc: "Delete subscription group from broker.",
    options: &[
        Opt::arg(
            'b',
            "brokerAddr",
            "delete subscription group from which broker",
        ),
        Opt::arg(
            'c',
            "clusterName",
            "delete subscription group from which cluster",
        ),
        Opt::required('g', "groupName", "subscription group name"),
        Opt::arg('r', "removeOffset", "remove offset"),
    ],
    one_of: &[&['b', 'c']],
};

pub async fn delete_sub_group(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let group = p.req('g');
    let remove_offset = p.bool('r').unwrap_or(false);
    if let Some(addr) = p.get('b') {
        admin
            .delete_subscription_group_at(addr, group, remove_offset)
            .await?;
        let _ = writeln!(
            out,
            "delete subscription group [{group}] from broker [{addr}] success."
        );
        return Ok(());
    }
    let cluster = p.req('c');
    for addr in admin.cluster_masters(cluster).await? {
        admin
            .delete_subscription_group_at(&addr, group, remove_offset)
            .await?;
        let _ = writeln!(
            out,
            "delete subscription group [{group}] from broker [{addr}] in cluster [{cluster}] success."
        );
    }
    // Then the group's retry and dead-letter topics; Java only reports a failure here.
    for prefix in [RETRY_GROUP_TOPIC_PREFIX, DLQ_GROUP_TOPIC_PREFIX] {
        let topic = format!("{prefix}{group}");
        match admin.delete_topic(cluster, &topic).await {
            Ok(()) => {
                let _ = writeln!(
                    out,
                    "delete topic [{topic}] from cluster [{cluster}] success."
                );
                let _ = writeln!(out, "delete topic [{topic}] from NameServer success.");
            }
            Err(e) => {
                let _ = writeln!(out, "delete topic [{topic}] failed: {e}");
            }
        }
    }
    Ok(())
}

pub const CONSUMER_PROGRESS: Command = Command {
    name: "consumerProgress",
    desc: "Query consumers's progress, speed",
    options: &[Opt::arg('g', "groupName", "consumer group name")],
    one_of: &[],
};

/// `examineConsumeStats`, which treats an empty offset table as the group not being online.
pub(super) async fn consume_stats(admin: &Admin, group: &str) -> Result<ConsumeStats, ClientError> {
    let stats = admin.consume_stats(group, None).await?;
    if stats.offset_table.is_empty() {
        return Err(ClientError::Server {
            addr: "the group's brokers".into(),
            code: ResponseCode::CONSUMER_NOT_ONLINE,
            remark: "Not found the consumer group consume stats, because return offset table is empty, maybe the consumer not consume any message".into(),
        });
    }
    Ok(stats)
}

pub async fn consumer_progress(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let Some(group) = p.get('g') else {
        return all_groups_progress(admin, out).await;
    };
    let stats = consume_stats(admin, group).await?;
    let mut queues: Vec<_> = stats.offset_table.iter().collect();
    queues.sort_by(|a, b| java_order(a.0, b.0));
    let _ = writeln!(
        out,
        "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  #LastTime",
        "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff",
    );
    let mut diff_total = 0i64;
    for (q, o) in queues {
        let diff = o.broker_offset - o.consumer_offset;
        diff_total += diff;
        let last = if o.last_timestamp == 0 {
            "N/A".to_owned()
        } else {
            date_time(o.last_timestamp)
        };
        let _ = writeln!(
            out,
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {last}",
            front(&q.topic, 64),
            front(&q.broker_name, 32),
            q.queue_id,
            o.broker_offset,
            o.consumer_offset,
            diff
        );
    }
    out.push('\n');
    let _ = writeln!(out, "Consume TPS: {}", fixed(stats.consume_tps, 2));
    let _ = writeln!(out, "Diff Total: {diff_total}");
    Ok(())
}

/// Without `-g`: one line per group that has a retry topic.
async fn all_groups_progress(admin: &Admin, out: &mut String) -> CommandResult {
    let _ = writeln!(
        out,
        "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  #Diff Total",
        "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS"
    );
    for topic in admin.topic_list().await? {
        let Some(group) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
            continue;
        };
        let stats = consume_stats(admin, group).await.ok();
        let connection = admin.consumer_connections(group).await.ok();
        let count = connection.as_ref().map_or(0, |c| c.connection_set.len());
        let (version, kind, model) = match connection.as_ref().filter(|_| count > 0) {
            Some(c) => group_kind(c),
            None => ("OFFLINE".to_owned(), String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
            front(group, 64),
            count,
            version,
            kind,
            model,
            stats.as_ref().map_or(0, |s| s.consume_tps as i64),
            stats.as_ref().map_or(0, ConsumeStats::total_diff)
        );
    }
    Ok(())
}

/// `GroupConsumeInfo`'s version, type and model columns of an online group.
fn group_kind(c: &ConsumerConnection) -> (String, String, String) {
    let min_version = c
        .connection_set
        .iter()
        .map(|c| c.version)
        .min()
        .unwrap_or_default();
    let push = c.consume_type != Some(ConsumeType::ConsumeActively);
    let model = match (push, c.message_model) {
        (true, Some(m)) => m.as_str().to_owned(),
        _ => String::new(),
    };
    let kind = if push { "PUSH" } else { "PULL" };
    (version_desc(min_version), kind.to_owned(), model)
}

pub const CONSUMER_CONNECTION: Command = Command {
    name: "consumerConnection",
    desc: "Query consumer's socket connection, client version and subscription",
    options: &[
        Opt::required('g', "consumerGroup", "consumer group name"),
        Opt::arg('b', "brokerAddr", "broker address"),
    ],
    one_of: &[],
};

pub async fn consumer_connection(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let group = p.req('g');
    let cc = match p.get('b') {
        Some(addr) => admin.consumer_connections_at(addr, group).await?,
        None => admin.consumer_connections(group).await?,
    };
    let _ = writeln!(
        out,
        "{:<36} {:<22} {:<10} #Version",
        "#ClientId", "#ClientAddr", "#Language"
    );
    for conn in &cc.connection_set {
        let _ = writeln!(
            out,
            "{:<36} {:<22} {:<10} {}",
            conn.client_id,
            conn.client_addr,
            conn.language,
            version_desc(conn.version)
        );
    }
    out.push_str("\nBelow is subscription:\n");
    let _ = writeln!(out, "{:<20} #SubExpression", "#Topic");
    for sd in cc.subscription_table.values() {
        let _ = writeln!(out, "{:<20} {}", sd.topic, sd.sub_string);
    }
    out.push('\n');
    let name = |v: Option<&str>| v.unwrap_or("null").to_owned();
    let _ = writeln!(
        out,
        "ConsumeType: {}",
        name(cc.consume_type.map(|t| t.as_str()))
    );
    let _ = writeln!(
        out,
        "MessageModel: {}",
        name(cc.message_model.map(|m| m.as_str()))
    );
    let _ = writeln!(
        out,
        "ConsumeFromWhere: {}",
        name(cc.consume_from_where.map(|w| w.as_str()))
    );
    Ok(())
}

pub const RESET_OFFSET_BY_TIME: Command = Command {
    name: "resetOffsetByTime",
    desc: "Reset consumer offset by timestamp(without client restart).",
    options: &[
        Opt::required('g', "group", "set the consumer group"),
        Opt::required('t', "topic", "set the topic"),
        Opt::required(
            's',
            "timestamp",
            "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]",
        ),
        Opt::arg(
            'f',
            "force",
            "set the force rollback by timestamp switch[true|false]",
        ),
        Opt::flag('c', "cplus", "reset c++ client offset"),
    ],
    one_of: &[],
};

pub async fn reset_offset_by_time(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let (group, topic, text) = (p.req('g'), p.req('t'), p.req('s'));
    let timestamp = if text == "now" {
        -1
    } else {
        match text.parse::<i64>() {
            Ok(ms) => ms,
            Err(_) => parse_date(text).ok_or_else(|| {
                CommandError::Usage(format!(
                    "timestamp `{text}` is not now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS"
                ))
            })?,
        }
    };
    // `Boolean.valueOf`: anything but "true" is false; absent means forced.
    let force = p.bool('f').unwrap_or(true);
    let table = match admin
        .reset_offset_by_time(topic, group, timestamp, force)
        .await
    {
        Ok(table) => table,
        Err(e) if e.response_code() == Some(ResponseCode::CONSUMER_NOT_ONLINE) => {
            return reset_offline(admin, p, timestamp, force, out).await;
        }
        Err(e) => return Err(e.into()),
    };
    let _ = writeln!(
        out,
        "rollback consumer offset by specified group[{group}], topic[{topic}], force[{force}], timestamp(string)[{text}], timestamp(long)[{timestamp}]"
    );
    let _ = writeln!(
        out,
        "{:<40}  {:<40}  {:<40}",
        "#brokerName", "#queueId", "#offset"
    );
    for (q, offset) in &table {
        let _ = writeln!(
            out,
            "{:<40}  {:<40}  {:<40}",
            front(&q.broker_name, 32),
            q.queue_id,
            offset
        );
    }
    Ok(())
}

/// `ResetOffsetByTimeOldCommand`: with no consumer online, the offsets are written directly.
async fn reset_offline(
    admin: &Admin,
    p: &Parsed,
    timestamp: i64,
    force: bool,
    out: &mut String,
) -> CommandResult {
    let (group, topic, text) = (p.req('g'), p.req('t'), p.req('s'));
    let rollbacks = admin
        .reset_offset_by_time_offline(group, topic, timestamp, force)
        .await?;
    let _ = writeln!(
        out,
        "rollback consumer offset by specified consumerGroup[{group}], topic[{topic}], force[{force}], timestamp(string)[{text}], timestamp(long)[{timestamp}]"
    );
    let _ = writeln!(
        out,
        "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
        "#brokerName",
        "#queueId",
        "#brokerOffset",
        "#consumerOffset",
        "#timestampOffset",
        "#rollbackOffset"
    );
    for r in rollbacks {
        let _ = writeln!(
            out,
            "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
            front(&r.broker_name, 32),
            r.queue_id,
            r.broker_offset,
            r.consumer_offset,
            r.timestamp_offset,
            r.rollback_offset
        );
    }
    Ok(())
}

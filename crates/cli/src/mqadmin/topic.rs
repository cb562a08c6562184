//! Topic commands: updateTopic, deleteTopic, topicList, topicRoute, topicStatus.

use super::options::{Opt, Parsed};
use super::print::{front, human_time, pretty_json, topic_config};
use super::{Command, CommandResult};
use ferrocket_client::Admin;
use ferrocket_common::names::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use ferrocket_protocol::body::TopicConfig;
use ferrocket_protocol::json::ToJson;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The name-server namespace of ordered topics' `brokerName:queues` lists.
const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

pub const UPDATE_TOPIC: Command = Command {
    name: "updateTopic",
    desc: "Update or create topic",
    options: &[
        Opt::arg('b', "brokerAddr", "create topic to which broker"),
        Opt::arg('c', "clusterName", "create topic to which cluster"),
        Opt::required('t', "topic", "topic name"),
        Opt::arg('r', "readQueueNums", "set read queue nums"),
        Opt::arg('w', "writeQueueNums", "set write queue nums"),
        Opt::arg(
            'p',
            "perm",
            "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]",
        ),
        Opt::arg('o', "order", "set topic's order(true|false)"),
        Opt::arg('u', "unit", "is unit topic (true|false)"),
        Opt::arg('s', "hasUnitSub", "has unit sub (true|false)"),
    ],
    one_of: &[&['b', 'c']],
};

pub async fn update_topic(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let unit = p.bool('u').unwrap_or(false);
    let unit_sub = p.bool('s').unwrap_or(false);
    // TopicSysFlag.buildSysFlag: bit 0 unit, bit 1 unit subscription.
    let config = TopicConfig {
        topic_name: p.req('t').to_owned(),
        read_queue_nums: p.number('r')?.unwrap_or(8),
        write_queue_nums: p.number('w')?.unwrap_or(8),
        perm: p.number('p')?.unwrap_or(6),
        topic_sys_flag: i32::from(unit) | (i32::from(unit_sub) << 1),
        order: p.bool('o').unwrap_or(false),
        ..TopicConfig::default()
    };
    if let Some(addr) = p.get('b') {
        admin.create_topic_at(addr, &config).await?;
        if config.order {
            let broker = admin.broker_name_of(addr).await?;
            // Java merges this broker's entry into the topic's existing list.
            let old = admin
                .kv_config(ORDER_TOPIC_CONFIG, &config.topic_name)
                .await?;
            let mut entries: BTreeMap<String, String> = old
                .iter()
                .flat_map(|v| v.split(';'))
                .filter_map(|e| e.split_once(':'))
                .map(|(b, n)| (b.to_owned(), n.to_owned()))
                .collect();
            entries.insert(broker.clone(), config.write_queue_nums.to_string());
            let merged: Vec<String> = entries.iter().map(|(b, n)| format!("{b}:{n}")).collect();
            admin
                .put_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name, &merged.join(";"))
                .await?;
            let _ = write!(
                out,
                "set broker orderConf. isOrder=true, orderConf=[{broker}:{}]",
                config.write_queue_nums
            );
        }
        let _ = writeln!(out, "create topic to {addr} success.");
        out.push_str(&topic_config(&config));
        return Ok(());
    }
    let cluster = p.req('c');
    for addr in admin.cluster_masters(cluster).await? {
        admin.create_topic_at(&addr, &config).await?;
        let _ = writeln!(out, "create topic to {addr} success.");
    }
    if config.order {
        let info = admin.cluster_info().await?;
        let order_conf: Vec<String> = info
            .cluster_addr_table
            .get(cluster)
            .into_iter()
            .flatten()
            .map(|b| format!("{b}:{}", config.write_queue_nums))
            .collect();
        let order_conf = order_conf.join(";");
        admin
            .put_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name, &order_conf)
            .await?;
        let _ = write!(
            out,
            "set cluster orderConf. isOrder=true, orderConf=[{order_conf}]"
        );
    }
    out.push_str(&topic_config(&config));
    Ok(())
}

pub const DELETE_TOPIC: Command = Command {
    name: "deleteTopic",
    desc: "Delete topic from broker and NameServer.",
    options: &[
        Opt::required('t', "topic", "topic name"),
        Opt::required('c', "clusterName", "delete topic from which cluster"),
    ],
    one_of: &[],
};

pub async fn delete_topic(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let (topic, cluster) = (p.req('t'), p.req('c'));
    admin.delete_topic(cluster, topic).await?;
    let _ = writeln!(
        out,
        "delete topic [{topic}] from cluster [{cluster}] success."
    );
    let _ = writeln!(out, "delete topic [{topic}] from NameServer success.");
    Ok(())
}

pub const TOPIC_LIST: Command = Command {
    name: "topicList",
    desc: "Fetch all topic list from name server",
    options: &[Opt::flag('c', "clusterModel", "clusterModel")],
    one_of: &[],
};

pub async fn topic_list(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let topics = admin.topic_list().await?;
    if !p.has('c') {
        for topic in topics {
            let _ = writeln!(out, "{topic}");
        }
        return Ok(());
    }
    let info = admin.cluster_info().await?;
    let _ = writeln!(
        out,
        "{:<20}  {:<48}  {:<48}",
        "#Cluster Name", "#Topic", "#Consumer Group"
    );
    for topic in topics {
        if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
        {
            continue;
        }
        // As in Java, a topic whose route or consumers cannot be read is listed without them.
        let cluster = match admin.topic_route(&topic).await {
            Ok(route) => route
                .broker_datas
                .first()
                .and_then(|b| {
                    info.cluster_addr_table
                        .iter()
                        .find(|(_, names)| names.contains(&b.broker_name))
                        .map(|(c, _)| c.clone())
                })
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let mut groups = admin.topic_consumers(&topic).await.unwrap_or_default();
        if groups.is_empty() {
            groups.push(String::new());
        }
        for group in groups {
            let _ = writeln!(
                out,
                "{:<20}  {:<64}  {:<64}",
                front(&cluster, 20),
                front(&topic, 64),
                front(&group, 64)
            );
        }
    }
    Ok(())
}

pub const TOPIC_ROUTE: Command = Command {
    name: "topicRoute",
    desc: "Examine topic route info",
    options: &[
        Opt::required('t', "topic", "topic name"),
        Opt::flag('l', "list", "Use list format to print data"),
    ],
    one_of: &[],
};

pub async fn topic_route(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let mut route = admin.topic_route(p.req('t')).await?;
    if !p.has('l') {
        let _ = writeln!(out, "{}", pretty_json(&route.to_json()));
        return Ok(());
    }
    route_row(
        out,
        [
            "#ClusterName",
            "#BrokerName",
            "#BrokerAddrs",
            "#ReadQueue",
            "#WriteQueue",
            "#Perm",
        ],
    );
    let (mut read, mut write, mut brokers) = (0, 0, 0);
    route
        .broker_datas
        .sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    for b in &route.broker_datas {
        let Some(q) = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == b.broker_name)
        else {
            continue;
        };
        brokers += 1;
        read += q.read_queue_nums;
        write += q.write_queue_nums;
        // Java prints the address map with `Map.toString`: `{0=127.0.0.1:10911}`.
        let addrs: Vec<String> = b
            .broker_addrs
            .iter()
            .map(|(id, a)| format!("{id}={a}"))
            .collect();
        route_row(
            out,
            [
                &b.cluster,
                &b.broker_name,
                &format!("{{{}}}", addrs.join(", ")),
                &q.read_queue_nums.to_string(),
                &q.write_queue_nums.to_string(),
                &q.perm.to_string(),
            ],
        );
    }
    out.push_str(&"-".repeat(158));
    out.push('\n');
    route_row(
        out,
        [
            "Total:",
            &brokers.to_string(),
            "",
            &read.to_string(),
            &write.to_string(),
            "",
        ],
    );
    Ok(())
}

/// One line of `topicRoute -l` (`TopicRouteSubCommand.FORMAT`).
fn route_row(out: &mut String, c: [&str; 6]) {
    let _ = writeln!(
        out,
        "{:<45} {:<32} {:<50} {:<10} {:<11} {:<5}",
        c[0], c[1], c[2], c[3], c[4], c[5]
    );
}

pub const TOPIC_STATUS: Command = Command {
    name: "topicStatus",
    desc: "Examine topic Status info",
    options: &[Opt::required('t', "topic", "topic name")],
    one_of: &[],
};

pub async fn topic_status(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let stats = admin.topic_stats(p.req('t')).await?;
    let _ = writeln!(
        out,
        "{:<32}  {:<4}  {:<20}  {:<20}    #Last Updated",
        "#Broker Name", "#QID", "#Min Offset", "#Max Offset"
    );
    // One topic: the table's (broker, queue id) order is Java's MessageQueue order.
    for (q, offsets) in &stats.offset_table {
        let updated = if offsets.last_update_timestamp > 0 {
            human_time(offsets.last_update_timestamp)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<32}  {:<4}  {:<20}  {:<20}    {updated}",
            front(&q.broker_name, 32),
            q.queue_id,
            offsets.min_offset,
            offsets.max_offset
        );
    }
    Ok(())
}

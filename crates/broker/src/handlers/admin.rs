//! Administration (`AdminBrokerProcessor`): topics, subscription groups, statistics,
//! connections, runtime info, broker config, queue locks.

use crate::handlers::offsets::empty_header_response;
use crate::Broker;
use ferrocket_common::java_format;
use ferrocket_common::{names, TopicName};
use ferrocket_protocol::body::*;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

fn ok() -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

pub(crate) fn error(code: ResponseCode, remark: String) -> HandlerResult {
    Ok(Some(RemotingCommand::response(code, Some(remark))))
}

pub(crate) fn json_ok(value: &impl json::ToJson) -> HandlerResult {
    Ok(Some(ok().with_body(json::to_vec(value))))
}

pub async fn create_topic(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: CreateTopicRequestHeader = request.decode_header()?;
    let topic = match TopicName::new(h.topic.as_str()) {
        Ok(t) => t,
        Err(e) => return error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    if broker.topics.is_system(topic.as_str()) {
        return conflict_with_system_topic(&h.topic);
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: TopicFilterType::from_name(&h.topic_filter_type).unwrap_or_default(),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
    };
    broker.topics.update(config).await?;
    broker.registration_needed();
    // Java leaves the default remark of a response created without a header class.
    Ok(Some(ok().with_remark("not set any response code")))
}

fn conflict_with_system_topic(topic: &str) -> HandlerResult {
    error(
        ResponseCode::SYSTEM_ERROR,
        format!("The topic[{topic}] is conflict with system topic."),
    )
}

pub async fn delete_topic(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: TopicRequestHeader = request.decode_header()?;
    if let Err(e) = TopicName::new(h.topic.as_str()) {
        return error(ResponseCode::SYSTEM_ERROR, e.to_string());
    }
    if broker.topics.is_system(&h.topic) {
        return conflict_with_system_topic(&h.topic);
    }
    broker.topics.delete(&h.topic).await?;
    clean_unconfigured_topics(&broker).await?;
    broker.registration_needed();
    Ok(Some(ok()))
}

/// As Java's `cleanUnusedTopic`: every topic no longer configured loses its consume queues
/// and queue offsets, except the schedule and transaction-op topics, which have no config of
/// their own.
async fn clean_unconfigured_topics(broker: &Broker) -> std::io::Result<()> {
    let configured: std::collections::HashSet<String> =
        broker.topics.topic_names().into_iter().collect();
    let store = broker.store.clone();
    tokio::task::spawn_blocking(move || {
        store.clean_unused_topics(&|topic| {
            configured.contains(topic)
                || topic == names::SCHEDULE_TOPIC
                || topic == names::TRANS_OP_HALF_TOPIC
        })
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(())
}

/// CLEAN_UNUSED_TOPIC (316): drops the queues of topics that have no config.
pub async fn clean_unused_topics(
    broker: Arc<Broker>,
    _: Channel,
    _: RemotingCommand,
) -> HandlerResult {
    clean_unconfigured_topics(&broker).await?;
    Ok(Some(ok()))
}

/// CLEAN_EXPIRED_CONSUMEQUEUE (306): destroys the consume queues whose every record has
/// expired from the CommitLog (`cleanExpiredConsumeQueue`).
pub async fn clean_expired_consume_queues(
    broker: Arc<Broker>,
    _: Channel,
    _: RemotingCommand,
) -> HandlerResult {
    tracing::warn!("invoke cleanExpiredConsumeQueue start.");
    let store = broker.store.clone();
    tokio::task::spawn_blocking(move || store.clean_expired_consume_queues())
        .await
        .map_err(std::io::Error::other)??;
    tracing::warn!("invoke cleanExpiredConsumeQueue end.");
    Ok(Some(ok()))
}

/// DELETE_EXPIRED_COMMITLOG (329): the next retention passes delete expired segments
/// whatever the hour (`executeDeleteFilesManually`).
pub fn delete_expired_commit_log(
    broker: &Arc<Broker>,
    _: &Channel,
    _: &RemotingCommand,
) -> HandlerResult {
    broker.store.delete_expired_files_manually();
    Ok(Some(ok()))
}

pub fn all_topic_config(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    let mut r = empty_header_response();
    r.body = Some(json::to_vec(&broker.topics.wrapper()).into());
    Ok(Some(r))
}

pub async fn update_group(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let config: SubscriptionGroupConfig = json::from_slice(request.body_bytes())?;
    broker.groups.update(config).await?;
    Ok(Some(ok()))
}

pub fn all_groups(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    json_ok(&broker.groups.wrapper())
}

pub async fn delete_group(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: DeleteSubscriptionGroupRequestHeader = request.decode_header()?;
    broker.groups.delete(&h.group_name).await?;
    if h.remove_offset.unwrap_or(false) {
        broker.offsets.remove_group(&h.group_name);
    }
    Ok(Some(ok()))
}

/// A queue of this broker.
pub(crate) fn queue(broker: &Broker, topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue::new(topic, broker.boot_config.broker_name.clone(), queue_id)
}

pub fn topic_stats(broker: &Arc<Broker>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
    let h: TopicRequestHeader = request.decode_header()?;
    let Some(config) = broker.topics.get(&h.topic) else {
        return error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        );
    };
    let mut table = TopicStatsTable::default();
    for q in 0..config.write_queue_nums {
        let max = broker.store.max_offset(&h.topic, q);
        let last = if max > 0 {
            broker
                .store
                .store_time_at(&h.topic, q, max - 1)
                .unwrap_or(0)
        } else {
            0
        };
        table.offset_table.insert(
            queue(broker, &h.topic, q),
            TopicOffset {
                last_update_timestamp: last,
                max_offset: max,
                min_offset: broker.store.min_offset(&h.topic, q),
            },
        );
    }
    json_ok(&table)
}

fn connection(c: &crate::consumers::ClientChannel) -> Connection {
    Connection {
        client_addr: c.channel.peer_addr().to_string(),
        client_id: c.client_id.clone(),
        language: c.language.clone(),
        version: c.version,
    }
}

pub fn consumer_connections(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: ConsumerGroupRequestHeader = request.decode_header()?;
    let Some(group) = broker.clients.consumer_group(&h.consumer_group) else {
        return error(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        );
    };
    json_ok(&ConsumerConnection {
        connection_set: group.channels.values().map(connection).collect(),
        consume_from_where: Some(group.consume_from_where),
        consume_type: Some(group.consume_type),
        message_model: Some(group.message_model),
        subscription_table: group.subscriptions.clone(),
    })
}

pub fn producer_connections(
    broker: &Arc<Broker>,
    _: &Channel,
    request: &RemotingCommand,
) -> HandlerResult {
    let h: GetProducerConnectionListRequestHeader = request.decode_header()?;
    let members = broker.clients.producer_group(&h.producer_group);
    if members.is_empty() {
        return error(
            ResponseCode::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        );
    }
    json_ok(&ProducerConnection {
        connection_set: members.iter().map(connection).collect(),
    })
}

/// GET_ALL_PRODUCER_INFO (328, `mqadmin producer`): every producer connection by group.
pub fn all_producers(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    let now_ms = ferrocket_common::time::now_ms();
    let mut table = ProducerTableInfo::default();
    for (group, members) in broker.clients.producers() {
        let infos = members
            .iter()
            .map(|c| ProducerInfo {
                client_id: c.client_id.clone(),
                language: c.language.clone(),
                // Heartbeats are timed on the monotonic clock; Java reports wall-clock time.
                last_update_timestamp: now_ms - c.last_update.elapsed().as_millis() as i64,
                remote_ip: format!("/{}", c.channel.peer_addr()),
                version: c.version,
            })
            .collect();
        table.data.insert(group, infos);
    }
    json_ok(&table)
}

pub fn consumed_by(broker: &Arc<Broker>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
    let h: TopicRequestHeader = request.decode_header()?;
    let mut groups = broker.clients.groups_of_topic(&h.topic);
    groups.extend(broker.offsets.groups_of_topic(&h.topic));
    groups.sort();
    groups.dedup();
    json_ok(&GroupList { group_list: groups })
}

pub fn system_topics(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    json_ok(&TopicList {
        broker_addr: None,
        topic_list: broker.topics.system_topics(),
    })
}

/// VIEW_BROKER_STATS_DATA (315): one counter's minute, hour and day figures.
pub fn view_stats(broker: &Arc<Broker>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
    let h: ViewBrokerStatsDataRequestHeader = request.decode_header()?;
    match broker.broker_stats.view(&h.stats_name, &h.stats_key) {
        Some(data) => json_ok(&data),
        None => error(
            ResponseCode::SYSTEM_ERROR,
            format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        ),
    }
}

/// GET_ALL_DELAY_OFFSET (45): the scheduler's progress, as `delayOffset.json` holds it (a
/// slave copies it from its master).
pub fn all_delay_offsets(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    let body = json::to_vec(&broker.delay_offsets.snapshot());
    Ok(Some(
        RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(body),
    ))
}

/// GET_BROKER_RUNTIME_INFO (`AdminBrokerProcessor.prepareRuntimeInfo`): the store's
/// statistics and disk figures with the broker's own, every key Java reports, so that
/// `mqadmin clusterList` and `brokerStatus` read it as they read a Java broker's.
pub fn runtime_info(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    let store = &broker.store;
    let log = store.commit_log();
    let config = broker.config();
    let now = ferrocket_common::time::now_ms();
    let mut table: BTreeMap<String, String> = store.runtime_info(now).into_iter().collect();
    let mut put = |k: &str, v: String| {
        table.insert(k.to_owned(), v);
    };
    put("brokerVersionDesc", "V4_9_8".into());
    put(
        "brokerVersion",
        ferrocket_protocol::codes::version::CURRENT.to_string(),
    );
    let stats = store.stats();
    let (put_yesterday, put_today, get_yesterday, get_today) = stats.mornings();
    put("msgPutTotalYesterdayMorning", put_yesterday.to_string());
    put("msgPutTotalTodayMorning", put_today.to_string());
    put(
        "msgPutTotalTodayNow",
        stats.put_messages_total().to_string(),
    );
    put("msgGetTotalYesterdayMorning", get_yesterday.to_string());
    put("msgGetTotalTodayMorning", get_today.to_string());
    put(
        "msgGetTotalTodayNow",
        stats.transferred_messages_total().to_string(),
    );
    // Java queues requests for its send, pull, query and end-transaction thread pools; here
    // a request runs as soon as its connection reads it, so those queues are always empty.
    // The capacities are the configured ones, as Java reports them.
    let setting = |key: &str, default: &str| {
        config
            .properties
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    for (size, capacity, default) in [
        (
            "sendThreadPoolQueueSize",
            "sendThreadPoolQueueCapacity",
            "10000",
        ),
        (
            "pullThreadPoolQueueSize",
            "pullThreadPoolQueueCapacity",
            "100000",
        ),
        (
            "queryThreadPoolQueueSize",
            "queryThreadPoolQueueCapacity",
            "20000",
        ),
    ] {
        put(size, "0".into());
        put(capacity, setting(capacity, default));
    }
    put("EndTransactionQueueSize", "0".into());
    put(
        "EndTransactionThreadPoolQueueCapacity",
        setting("endTransactionPoolQueueCapacity", "100000"),
    );
    for key in [
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueHeadWaitTimeMills",
    ] {
        put(key, "0".into());
    }
    // `ScheduleMessageService.buildRunningStats`: each level that delivered something, as
    // "next offset to deliver,max offset".
    for (level, offset) in broker.delay_offsets.snapshot().offset_table {
        let max = store.max_offset(names::SCHEDULE_TOPIC, level - 1);
        put(
            &format!("scheduleMessageOffset_{level}"),
            format!("{offset},{max}"),
        );
    }
    // Queue units are written with the record; the index follows within milliseconds, and
    // Java counts its index builder into this figure too.
    put(
        "dispatchBehindBytes",
        store.index_behind_bytes().to_string(),
    );
    // Java: how long the put in progress has held the CommitLog lock. Ours holds it for
    // microseconds, which Java's millisecond clock reads as 0.
    put("pageCacheLockTimeMills", "0".into());
    put(
        "earliestMessageTimeStamp",
        store.earliest_message_time().to_string(),
    );
    put(
        "startAcceptSendRequestTimeStamp",
        setting("startAcceptSendRequestTimeStamp", "0"),
    );
    // No transient store pool: Java reports Integer.MAX_VALUE then.
    put("remainTransientStoreBufferNumbs", i32::MAX.to_string());
    put(
        "remainHowManyDataToFlush",
        java_format::human_readable_bytes(
            log.max_offset().saturating_sub(log.flushed_offset()) as i64
        ),
    );
    if let Ok(space) = ferrocket_store::segment::disk_space(store.root_dir()) {
        put(
            "commitLogDirCapacity",
            format!(
                "Total : {}, Free : {}.",
                java_format::human_readable_bytes(space.total as i64),
                java_format::human_readable_bytes(space.usable as i64)
            ),
        );
    }
    json_ok(&KVTable { table })
}

/// GET_BROKER_CONFIG: every setting with its current value; the header carries the
/// configuration's version (not the topics').
pub fn broker_config(broker: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    let text = broker.config().to_properties();
    let version = json::to_vec(&broker.config_version());
    Ok(Some(
        RemotingCommand::response_with_header(
            ResponseCode::SUCCESS,
            &GetBrokerConfigResponseHeader {
                version: String::from_utf8_lossy(&version).into_owned(),
            },
        )
        .with_body(text.into_bytes()),
    ))
}

/// UPDATE_BROKER_CONFIG (`AdminBrokerProcessor.updateBrokerConfig`): the body is properties
/// text; a black-listed key refuses the whole update with NO_PERMISSION; no body is a no-op.
/// Unlike Java, which skips a value it cannot parse and still answers SUCCESS, a bad value is
/// answered SYSTEM_ERROR naming the key, and nothing changes.
pub async fn update_broker_config(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let Some(body) = &request.body else {
        return Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)));
    };
    let text = String::from_utf8_lossy(body);
    let settings = ferrocket_common::config_text::parse(&text);
    let live = broker.config();
    if settings.iter().any(|(k, _)| live.is_black_listed(k)) {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::NO_PERMISSION,
            Some("Can not update config in black list.".into()),
        )));
    }
    Ok(Some(match broker.update_config(&settings).await {
        Ok(()) => RemotingCommand::response(ResponseCode::SUCCESS, None),
        Err(e) => RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some(e.to_string())),
    }))
}

pub fn lock_batch(broker: &Arc<Broker>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
    let body: LockBatchRequestBody = json::from_slice(request.body_bytes())?;
    let held = broker.locks.lock(
        &body.consumer_group,
        &body.client_id,
        &body.mq_set,
        Instant::now(),
    );
    json_ok(&LockBatchResponseBody {
        lock_ok_mq_set: held,
    })
}

pub fn unlock_batch(broker: &Arc<Broker>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
    let body: LockBatchRequestBody = json::from_slice(request.body_bytes())?;
    broker
        .locks
        .unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    Ok(Some(ok()))
}

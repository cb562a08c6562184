//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320)
//! (`SendMessageProcessor`, `AbstractSendMessageProcessor.msgCheck`).

use super::FAQ;
use crate::{redirect, transaction};
use crate::{Broker, BrokerConfig};
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::properties::{self, keys, JavaMap};
use ferrocket_common::{batch, names, sysflag, TopicNameRef};
use ferrocket_protocol::body::{perm, TopicConfig, TopicFilterType};
use ferrocket_protocol::header::{SendMessageRequestHeaderRef, SendMessageResponseHeader};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use ferrocket_store::{PutMessage, PutStatus, PutWait, StoreError};
use std::sync::Arc;

/// `preSend`: every send response carries `MSG_REGION` and `TRACE_ON`, whatever its code.
fn response(broker: &Broker, code: ResponseCode, remark: Option<String>) -> RemotingCommand {
    let mut r = RemotingCommand::response(code, remark);
    add_region_and_trace(&mut r, &broker.config());
    r
}

pub(crate) fn add_region_and_trace(response: &mut RemotingCommand, live: &BrokerConfig) {
    let ext = response.ext_mut();
    ext.push(keys::MSG_REGION, &live.region_id);
    ext.push(
        keys::TRACE_SWITCH,
        if live.trace_on { "true" } else { "false" },
    );
}

fn illegal_message(broker: &Broker) -> RemotingCommand {
    response(
        broker,
        ResponseCode::MESSAGE_ILLEGAL,
        Some(format!(
            "the message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
            broker.config().store.max_message_bytes
        )),
    )
}

/// What a send needs of its topic's config, copied out of the table (no strings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendTarget {
    read_queue_nums: i32,
    write_queue_nums: i32,
    filter_type: TopicFilterType,
}

impl SendTarget {
    fn of(config: &TopicConfig) -> SendTarget {
        SendTarget {
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            filter_type: config.topic_filter_type,
        }
    }
}

/// Checks the target topic and queue (`msgCheck`), creating the topic if allowed.
pub(crate) async fn check(
    broker: &Broker,
    live: &BrokerConfig,
    h: &SendMessageRequestHeaderRef<'_>,
) -> Result<SendTarget, RemotingCommand> {
    if !perm::is_writeable(live.broker_permission) {
        return Err(response(
            broker,
            ResponseCode::NO_PERMISSION,
            Some(format!(
                "the broker[{}] sending message is forbidden",
                broker.boot_config.broker_ip
            )),
        ));
    }
    let topic = TopicNameRef::new(h.topic).map_err(|e| {
        let remark = match e {
            ferrocket_common::NameError::Blank { .. } => "The specified topic is blank.".to_owned(),
            ferrocket_common::NameError::TooLong { .. } => "The specified topic is longer than topic max length.".to_owned(),
            ferrocket_common::NameError::IllegalCharacters { .. } => format!(
                "The specified topic[{}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$",
                h.topic
            ),
        };
        response(broker, ResponseCode::SYSTEM_ERROR, Some(remark))
    })?;
    if topic.is_not_allowed_send() {
        return Err(response(
            broker,
            ResponseCode::NO_PERMISSION,
            Some(format!(
                "Sending message to topic[{}] is forbidden.",
                h.topic
            )),
        ));
    }
    let mut target = broker.topics.get_with(h.topic, SendTarget::of);
    if target.is_none() {
        let sys_flag = if h.unit_mode.unwrap_or(false) { 1 } else { 0 };
        let created = broker
            .topics
            .create_from_template(
                h.topic,
                h.default_topic,
                h.default_topic_queue_nums,
                sys_flag,
            )
            .await
            .map_err(|e| response(broker, ResponseCode::SYSTEM_ERROR, Some(e.to_string())))?;
        if created.is_some() {
            broker.registration_needed();
        }
        target = created.as_ref().map(SendTarget::of);
        if target.is_none() && topic.is_retry() {
            let created = broker
                .create_send_back_topic(h.topic, 1)
                .await
                .map_err(|e| response(broker, ResponseCode::SYSTEM_ERROR, Some(e.to_string())))?;
            target = Some(SendTarget::of(&created));
        }
    }
    let Some(target) = target else {
        return Err(response(
            broker,
            ResponseCode::TOPIC_NOT_EXIST,
            Some(format!(
                "topic[{}] not exist, apply first please!{FAQ}",
                h.topic
            )),
        ));
    };
    let queue_limit = target.read_queue_nums.max(target.write_queue_nums);
    if h.queue_id >= queue_limit {
        return Err(response(
            broker,
            ResponseCode::SYSTEM_ERROR,
            Some(format!(
                "request queueId[{}] is illegal, {:?} Producer: {}",
                h.queue_id,
                broker.topics.get(h.topic),
                h.producer_group
            )),
        ));
    }
    Ok(target)
}

/// A single send's stored form (`asyncSendMessage`): the client's map plus `CLUSTER`, written
/// without `WAIT` (Java leaves it out to save bytes). A half message or a delayed one is
/// written again from the whole map, `WAIT` put back included: the half goes to the
/// transaction half queue, the delayed one through the CommitLog's redirect.
fn stored_form<'a>(
    broker: &Broker,
    live: &BrokerConfig,
    client: Option<&str>,
    half: bool,
    sys_flag: i32,
    topic: &'a str,
    queue_id: i32,
) -> redirect::StoredForm<'a> {
    let levels = &live.store.message_delay_level;
    let mut map = JavaMap::parse(client.unwrap_or(""), 4);
    map.put(keys::CLUSTER, &broker.boot_config.cluster_name);
    let wait = map.remove(keys::WAIT_STORE_MSG_OK);
    if let Some(wait) = wait {
        if half || redirect::delay_level(levels, sys_flag, &map).is_some() {
            map.put(keys::WAIT_STORE_MSG_OK, wait);
        }
    }
    if half {
        let queue_text = queue_id.to_string();
        return transaction::half_form(levels, map, topic, &queue_text);
    }
    redirect::for_store(levels, sys_flag, map, topic, queue_id)
}

/// The part of a batch's stored properties the broker adds to each message's own
/// (`MessageExtEncoder.encode(MessageExtBatch)`): the header's map plus `CLUSTER`, in Java
/// order.
fn batch_properties(broker: &Broker, header: Option<&str>) -> String {
    let mut map = JavaMap::parse(header.unwrap_or(""), 1);
    map.put(keys::CLUSTER, &broker.boot_config.cluster_name);
    let mut out = String::with_capacity(map.encoded_len());
    map.write(&mut out);
    out
}

/// A batch message's stored properties: its own string as the client wrote it, a separator
/// unless it ends with one, then the batch's part.
fn write_batch_item_properties(out: &mut String, own: &str, batch: &str) {
    out.push_str(own);
    if !own.is_empty() && !batch.is_empty() && !own.ends_with(properties::PROPERTY_SEPARATOR) {
        out.push(properties::PROPERTY_SEPARATOR);
    }
    out.push_str(batch);
}

pub(crate) fn choose_queue(h: &SendMessageRequestHeaderRef<'_>, target: &SendTarget) -> i32 {
    if h.queue_id >= 0 {
        return h.queue_id;
    }
    // Java: a random queue of the writable ones.
    random_queue(target.write_queue_nums)
}

/// A random queue of `n` (Java: `nextInt(99999999) % n`), from the clock's nanoseconds.
pub(crate) fn random_queue(n: i32) -> i32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos % n.max(1) as u32) as i32
}

fn store_error_response(broker: &Broker, e: &StoreError) -> RemotingCommand {
    match e {
        StoreError::MessageTooLarge { .. } | StoreError::Codec(_) => illegal_message(broker),
        StoreError::DiskFull { .. }
        | StoreError::Poisoned(_)
        | StoreError::ShutDown
        | StoreError::SlaveMode => response(
            broker,
            ResponseCode::SERVICE_NOT_AVAILABLE,
            Some(format!(
                "service not available now. It may be caused by one of the following reasons: the broker's disk is full [{}], messages are put to the slave, message store has been shut down, etc.",
                disk_util(broker)
            )),
        ),
        StoreError::Io(_) => response(
            broker,
            ResponseCode::SYSTEM_ERROR,
            Some(format!(
                "create mapped file failed, server is busy or broken: {e}"
            )),
        ),
    }
}

/// Java's `diskUtil()`: the used fraction of the disks holding the CommitLog, the consume
/// queues and the index (-1 where it cannot be read).
fn disk_util(broker: &Broker) -> String {
    let root = broker.store.root_dir();
    let used = |dir: &str| ferrocket_store::segment::disk_usage(&root.join(dir)).unwrap_or(-1.0);
    format!(
        "CL: {:5.2} CQ: {:5.2} INDEX: {:5.2}",
        used("commitlog"),
        used("consumequeue"),
        used("index")
    )
}

/// The message's `WAIT` property (absent means true, anything but `true` false, as Java's
/// `Boolean.parseBoolean`): whether the send waits for the flush and the slave.
pub(crate) fn put_wait(properties: Option<&str>) -> PutWait {
    match properties.and_then(|p| properties::find(p, keys::WAIT_STORE_MSG_OK)) {
        Some(v) if !v.eq_ignore_ascii_case("true") => PutWait::Appended,
        _ => PutWait::StoreOk,
    }
}

pub async fn send_message(
    broker: Arc<Broker>,
    channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h = SendMessageRequestHeaderRef::from_command(&request)?;
    // One snapshot of the live settings for the whole request.
    let live = broker.config();
    let target = match check(&broker, &live, &h).await {
        Ok(c) => c,
        Err(resp) => return Ok(Some(resp)),
    };
    let body = request.body_bytes();
    if body.len() > live.store.max_message_bytes {
        return Ok(Some(illegal_message(&broker)));
    }
    let is_batch = RequestCode(request.code) == RequestCode::SEND_BATCH_MESSAGE;
    let queue_id = choose_queue(&h, &target);
    let mut sys_flag = h.sys_flag;
    if target.filter_type == TopicFilterType::MultiTag {
        sys_flag |= sysflag::MULTI_TAGS_FLAG;
    }
    let born_host = channel.peer_addr();
    let store_host = broker.store_host(&channel);
    let base = PutMessage {
        topic: h.topic,
        queue_id,
        flag: h.flag,
        sys_flag,
        born_timestamp: h.born_timestamp,
        born_host,
        store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body,
        properties: "",
    };

    let (status, first, ids) = if is_batch {
        match put_batch(&broker, &h, base).await {
            Ok(r) => r,
            Err(resp) => return Ok(Some(resp)),
        }
    } else {
        let dead_letter = match retry_destination(&broker, &request, &h).await {
            Ok(d) => d,
            Err(resp) => return Ok(Some(resp)),
        };
        let (topic, queue_id) = match &dead_letter {
            Some((dlq, queue)) => (dlq.as_str(), *queue),
            None => (h.topic, queue_id),
        };
        let half = transaction::is_half_message(h.properties);
        if half && live.reject_transaction_message {
            return Ok(Some(response(
                &broker,
                ResponseCode::NO_PERMISSION,
                Some(format!(
                    "the broker[{}] sending transaction message is forbidden",
                    broker.boot_config.broker_ip
                )),
            )));
        }
        let form = stored_form(
            &broker,
            &live,
            h.properties,
            half,
            sys_flag,
            topic,
            queue_id,
        );
        if form.properties.len() > i16::MAX as usize {
            return Ok(Some(illegal_message(&broker)));
        }
        let msg = PutMessage {
            topic: form.topic,
            queue_id: form.queue_id,
            properties: &form.properties,
            // A half message is stored as a plain one: only its topic hides it.
            sys_flag: if half {
                transaction::with_transaction_type(sys_flag, sysflag::TRANSACTION_NOT_TYPE)
            } else {
                sys_flag
            },
            ..base
        };
        let r = match broker.store.put_waiting(&msg, put_wait(h.properties)).await {
            Ok(r) => r,
            Err(e) => return Ok(Some(store_error_response(&broker, &e))),
        };
        let stats = &broker.broker_stats;
        stats.record_put(form.topic, 1, i64::from(r.append.size));
        (
            r.status,
            r.append,
            OffsetMessageId::new(store_host, r.append.physical_offset as i64).encode(),
        )
    };
    let code = match status {
        PutStatus::PutOk => ResponseCode::SUCCESS,
        PutStatus::FlushDiskTimeout => ResponseCode::FLUSH_DISK_TIMEOUT,
        PutStatus::SlaveNotAvailable => ResponseCode::SLAVE_NOT_AVAILABLE,
    };
    let mut resp = RemotingCommand::response_with_header(
        code,
        &SendMessageResponseHeader {
            msg_id: ids,
            queue_id,
            queue_offset: first.queue_offset,
            transaction_id: None,
        },
    );
    add_region_and_trace(&mut resp, &live);
    Ok(Some(resp))
}

/// `MQVersion.Version.V3_4_9.ordinal()`: clients from this version on say how many times a
/// message may be reconsumed; older ones leave it to the group's `retryMaxTimes`.
const VERSION_3_4_9: i32 = 121;

/// How many times a message may be reconsumed before it goes to the dead-letter topic: the
/// request's own figure from a client of V3_4_9 or later, else the group's.
pub(crate) fn max_reconsume_times(
    request: &RemotingCommand,
    from_header: Option<i32>,
    group: &ferrocket_protocol::body::SubscriptionGroupConfig,
) -> i32 {
    match from_header {
        Some(max) if request.version >= VERSION_3_4_9 => max,
        _ => group.retry_max_times,
    }
}

/// `handleRetryAndDLQ`: a message sent to a group's retry topic (a consumer's fallback when
/// its send-back failed) goes to the group's dead-letter topic, queue 0, once it has been
/// consumed `maxReconsumeTimes` times. `Some` names that topic and queue.
async fn retry_destination(
    broker: &Broker,
    request: &RemotingCommand,
    h: &SendMessageRequestHeaderRef<'_>,
) -> Result<Option<(String, i32)>, RemotingCommand> {
    let Some(group) = h.topic.strip_prefix(names::RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok(None);
    };
    let config = broker
        .find_group(group)
        .await
        .map_err(|e| response(broker, ResponseCode::SYSTEM_ERROR, Some(e.to_string())))?
        .ok_or_else(|| {
            response(
                broker,
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                Some(format!("subscription group not exist, {group} {FAQ}")),
            )
        })?;
    if h.reconsume_times.unwrap_or(0) < max_reconsume_times(request, h.max_reconsume_times, &config)
    {
        return Ok(None);
    }
    let dlq = format!("{}{group}", names::DLQ_GROUP_TOPIC_PREFIX);
    broker
        .create_send_back_topic(&dlq, DLQ_QUEUES)
        .await
        .map_err(|e| response(broker, ResponseCode::SYSTEM_ERROR, Some(e.to_string())))?;
    Ok(Some((dlq, 0)))
}

/// `DLQ_NUMS_PER_GROUP`: a group's dead-letter topic has one queue.
pub(crate) const DLQ_QUEUES: i32 = 1;

/// Stores every message of a batch body in the same queue, back to back with consecutive
/// queue offsets, and waits once for the flush (unless the batch's `WAIT` says not to).
async fn put_batch(
    broker: &Broker,
    h: &SendMessageRequestHeaderRef<'_>,
    base: PutMessage<'_>,
) -> Result<(PutStatus, ferrocket_store::AppendResult, String), RemotingCommand> {
    if TopicNameRef::new(h.topic).is_ok_and(|t| t.is_retry()) {
        return Err(response(
            broker,
            ResponseCode::MESSAGE_ILLEGAL,
            Some("Retry Group is not supported for batching".into()),
        ));
    }
    let items = batch::decode(base.body).map_err(|_| illegal_message(broker))?;
    if items.is_empty() {
        return Err(illegal_message(broker));
    }
    // Every message's stored properties, one after the other in one string.
    let batch_part = batch_properties(broker, h.properties);
    let extra = batch_part.len() + 1;
    let mut all_properties =
        String::with_capacity(items.iter().map(|item| item.properties.len() + extra).sum());
    let mut property_ranges = Vec::with_capacity(items.len());
    for item in &items {
        if properties::find(item.properties, keys::DELAY_TIME_LEVEL).is_some_and(|l| l != "0") {
            return Err(response(
                broker,
                ResponseCode::MESSAGE_ILLEGAL,
                Some("not support batch message delay".into()),
            ));
        }
        let start = all_properties.len();
        write_batch_item_properties(&mut all_properties, item.properties, &batch_part);
        if all_properties.len() - start > i16::MAX as usize {
            return Err(illegal_message(broker));
        }
        property_ranges.push(start..all_properties.len());
    }
    let msgs: Vec<PutMessage<'_>> = items
        .iter()
        .zip(property_ranges)
        .map(|(item, properties)| PutMessage {
            flag: item.flag,
            body: item.body,
            properties: &all_properties[properties],
            ..base
        })
        .collect();
    // Offset message ids are 32 hex characters (IPv4 store host), plus the commas.
    let mut ids = String::with_capacity(msgs.len() * 33);
    let mut first = None;
    let mut bytes = 0i64;
    let status = broker
        .store
        .put_batch(&msgs, put_wait(h.properties), |appended| {
            bytes += i64::from(appended.size);
            if first.is_none() {
                first = Some(*appended);
            } else {
                ids.push(',');
            }
            OffsetMessageId::new(base.store_host, appended.physical_offset as i64)
                .encode_into(&mut ids);
        })
        .await
        .map_err(|e| store_error_response(broker, &e))?;
    broker
        .broker_stats
        .record_put(h.topic, msgs.len() as i64, bytes);
    Ok((status, first.expect("a batch has a message"), ids))
}

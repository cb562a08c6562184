//! CONSUMER_SEND_MSG_BACK (36) (`SendMessageProcessor.asyncConsumerSendMsgBack`): a consumer
//! hands back a message it failed to consume. The broker stores a copy for the group's retry
//! topic, through the schedule (level `3 + reconsumeTimes` unless the consumer chose one), or
//! in the group's dead-letter topic once the message has been reconsumed too often.

use super::send::{max_reconsume_times, random_queue, DLQ_QUEUES};
use super::FAQ;
use crate::{redirect, Broker};
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::names;
use ferrocket_common::properties::{self, keys};
use ferrocket_common::record::RecordView;
use ferrocket_protocol::body::perm;
use ferrocket_protocol::header::ConsumerSendMsgBackRequestHeader;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use ferrocket_store::{PutMessage, PutStatus, PutWait, StoreError};
use std::sync::Arc;

fn answer(code: ResponseCode, remark: impl Into<Option<String>>) -> HandlerResult {
    Ok(Some(RemotingCommand::response(code, remark.into())))
}

pub async fn send_back(
    broker: Arc<Broker>,
    _channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: ConsumerSendMsgBackRequestHeader = request.decode_header()?;
    let group = match broker.find_group(&h.group).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            return answer(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {} {FAQ}", h.group),
            )
        }
        Err(e) => return answer(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    let live = broker.config();
    if !perm::is_writeable(live.broker_permission) {
        return answer(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                broker.boot_config.broker_ip
            ),
        );
    }
    if group.retry_queue_nums <= 0 {
        return answer(ResponseCode::SUCCESS, None);
    }
    let retry_topic = format!("{}{}", names::RETRY_GROUP_TOPIC_PREFIX, h.group);
    let retry_config = match broker
        .create_send_back_topic(&retry_topic, group.retry_queue_nums)
        .await
    {
        Ok(c) => c,
        Err(e) => return answer(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    if !perm::is_writeable(retry_config.perm) {
        return answer(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{retry_topic}] sending message is forbidden"),
        );
    }
    let record = u64::try_from(h.offset)
        .ok()
        .and_then(|at| broker.store.commit_log().record_at(at));
    let Some(view) = record
        .as_deref()
        .and_then(|r| RecordView::decode(r, false).ok())
    else {
        return answer(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let max = max_reconsume_times(&request, h.max_reconsume_times, &group);
    let reconsumed = view.header.reconsume_times;
    let dead_letter = reconsumed >= max || h.delay_level < 0;
    let (topic, queue_id, delay) = if dead_letter {
        let dlq = format!("{}{}", names::DLQ_GROUP_TOPIC_PREFIX, h.group);
        if let Err(e) = broker.create_send_back_topic(&dlq, DLQ_QUEUES).await {
            return answer(ResponseCode::SYSTEM_ERROR, e.to_string());
        }
        (dlq, 0, 0)
    } else {
        let delay = if h.delay_level == 0 {
            3 + reconsumed
        } else {
            h.delay_level
        };
        (retry_topic, random_queue(group.retry_queue_nums), delay)
    };
    // The message's id as the store knows it (`MessageDecoder.decode` gives the offset id).
    let original_id = OffsetMessageId::new(view.header.store_host, h.offset).encode();
    let form = redirect::send_back(
        &live.store.message_delay_level,
        view.properties,
        view.topic,
        view.header.sys_flag,
        delay,
        &original_id,
        &topic,
        queue_id,
    );
    let msg = PutMessage {
        reconsume_times: reconsumed + 1,
        ..PutMessage::restored(&view, form.topic, form.queue_id, &form.properties)
    };
    match broker.store.put_waiting(&msg, PutWait::Appended).await {
        Ok(r) if r.status == PutStatus::PutOk => {
            let stats = &broker.broker_stats;
            if form.topic == names::SCHEDULE_TOPIC {
                stats.record_topic_put(form.topic, 1, i64::from(r.append.size));
            }
            let back_topic =
                properties::find(view.properties, keys::RETRY_TOPIC).unwrap_or(view.topic);
            stats.record_send_back(&h.group, back_topic);
            answer(ResponseCode::SUCCESS, None)
        }
        Ok(r) => answer(ResponseCode::SYSTEM_ERROR, format!("{:?}", r.status)),
        Err(e) => answer(ResponseCode::SYSTEM_ERROR, put_status_name(&e).to_owned()),
    }
}

/// The `PutMessageStatus` name Java puts in the remark when a send-back cannot be stored.
fn put_status_name(e: &StoreError) -> &'static str {
    match e {
        StoreError::MessageTooLarge { .. } | StoreError::Codec(_) => "MESSAGE_ILLEGAL",
        StoreError::DiskFull { .. } | StoreError::ShutDown | StoreError::SlaveMode => {
            "SERVICE_NOT_AVAILABLE"
        }
        StoreError::Poisoned(_) | StoreError::Io(_) => "UNKNOWN_ERROR",
    }
}

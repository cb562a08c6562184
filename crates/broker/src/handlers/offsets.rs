//! Consumer offsets and queue offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29),
//! GET_EARLIEST_MSG_STORETIME (32), INVOKE_BROKER_TO_RESET_OFFSET (222).

use crate::Broker;
use ferrocket_protocol::body::{MessageQueue, ResetOffsetBody};
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::HandlerResult;
use std::collections::BTreeMap;

/// A response built from a header class with no fields: Java sends `"extFields":{}`.
pub(crate) fn empty_header_response() -> RemotingCommand {
    let mut r = RemotingCommand::response(ResponseCode::SUCCESS, None);
    r.ext_fields = Some(Default::default());
    r
}

fn offset(offset: i64) -> HandlerResult {
    Ok(Some(RemotingCommand::response_with_header(
        ResponseCode::SUCCESS,
        &OffsetResponseHeader { offset },
    )))
}

pub fn query_consumer_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: QueryConsumerOffsetRequestHeader = request.decode_header()?;
    if let Some(o) = broker
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
    {
        return offset(o);
    }
    // No committed offset: a young queue (first message still in memory) starts at 0.
    if broker.store.min_offset(&h.topic, h.queue_id) <= 0 {
        return offset(0);
    }
    Ok(Some(RemotingCommand::response(
        ResponseCode::QUERY_NOT_FOUND,
        Some("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".to_owned()),
    )))
}

pub fn update_consumer_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: UpdateConsumerOffsetRequestHeader = request.decode_header()?;
    broker
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(Some(empty_header_response()))
}

pub fn max_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: GetMaxOffsetRequestHeader = request.decode_header()?;
    offset(broker.store.max_offset(&h.topic, h.queue_id))
}

pub fn min_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: GetMinOffsetRequestHeader = request.decode_header()?;
    offset(broker.store.min_offset(&h.topic, h.queue_id))
}

pub fn search_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: SearchOffsetRequestHeader = request.decode_header()?;
    offset(
        broker
            .store
            .offset_by_time(&h.topic, h.queue_id, h.timestamp),
    )
}

pub fn earliest_store_time(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: GetEarliestMsgStoretimeRequestHeader = request.decode_header()?;
    Ok(Some(RemotingCommand::response_with_header(
        ResponseCode::SUCCESS,
        &GetEarliestMsgStoretimeResponseHeader {
            timestamp: broker.store.earliest_store_time(&h.topic, h.queue_id),
        },
    )))
}

/// INVOKE_BROKER_TO_RESET_OFFSET (`Broker2Client.resetOffset`): works out each write
/// queue's offset at `timestamp` (−1: the max offset) — kept when not earlier than the
/// group's offset unless `isForce` — and tells every online consumer of the group to move
/// there (RESET_CONSUMER_CLIENT_OFFSET, oneway). The consumers commit the new offsets; the
/// broker itself stores nothing here, as in Java.
pub fn reset_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: ResetOffsetRequestHeader = request.decode_header()?;
    let Some(topic) = broker.topics.get(&h.topic) else {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!(
                "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                h.topic
            )),
        )));
    };
    let mut table = BTreeMap::new();
    for queue_id in 0..topic.write_queue_nums {
        let Some(current) = broker.offsets.query(&h.group, &h.topic, queue_id) else {
            return Ok(Some(RemotingCommand::response(
                ResponseCode::SYSTEM_ERROR,
                Some(format!("THe consumer group <{}> not exist", h.group)),
            )));
        };
        let at_time = if h.timestamp == -1 {
            broker.store.max_offset(&h.topic, queue_id)
        } else {
            broker.store.offset_by_time(&h.topic, queue_id, h.timestamp)
        }
        .max(0);
        let target = if h.is_force || at_time < current {
            at_time
        } else {
            current
        };
        let queue = MessageQueue::new(
            h.topic.clone(),
            broker.boot_config.broker_name.clone(),
            queue_id,
        );
        table.insert(queue, target);
    }
    let body = json::to_vec(&ResetOffsetBody {
        offset_table: table,
    });
    let members = broker
        .clients
        .consumer_group(&h.group)
        .map(|g| g.channels.into_values().collect::<Vec<_>>())
        .unwrap_or_default();
    if members.is_empty() {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::CONSUMER_NOT_ONLINE,
            Some(format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                h.group, h.topic, h.timestamp
            )),
        )));
    }
    for member in members {
        let mut notice = RemotingCommand::request_with_header(
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
            &ResetOffsetRequestHeader {
                topic: h.topic.clone(),
                group: h.group.clone(),
                timestamp: h.timestamp,
                is_force: h.is_force,
            },
        )
        .with_body(body.clone());
        notice.mark_oneway();
        tokio::spawn(async move {
            if let Err(e) = member.channel.invoke_oneway(notice).await {
                tracing::debug!("reset offset notice to {} failed: {e}", member.client_id);
            }
        });
    }
    Ok(Some(
        RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(body),
    ))
}

pub(crate) use empty_header_response as empty_ext_response;
